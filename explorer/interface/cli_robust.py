"""--robustness for `sweep` (lr and --axis sweeps) and `map`: the same run under every variant of the irrelevant
choices (explorer.runs.variants), each slope then printed as its median and range over them."""
from __future__ import annotations

import sys

from explorer.runs.variants import VARIANTS

HELP = ("also run the sweep under every variant of choices that should not matter — seed pairs (+0, +10, +20), "
        "batch order (shuffled epochs, draws with replacement), init stream (the engine's, nn.Linear's under "
        "torch.manual_seed) — and print, after the usual output, one line per form: robust slope NAME: MEDIAN "
        f"[LO, HI] over K variants. {len(VARIANTS)} variants cost {len(VARIANTS)}× the sweep; the CSV gets every "
        "variant's rows with a first column `variant`")


def add_arguments(p) -> None:
    p.add_argument("--robustness", action="store_true", help=HELP)
    p.add_argument("--variants", default=None, metavar="NAME[,NAME…]",
                   help="with --robustness: these variants only (default all: " + ", ".join(VARIANTS) + ")")


def chosen(parser, args) -> tuple[str, ...] | None:
    """The variants asked for (None without --robustness); a bad combination ends with exit 2 and one line."""
    from explorer.runs.variants import variants_named
    if not getattr(args, "robustness", False):
        if getattr(args, "variants", None) is not None:
            parser.error("argument --variants: only with --robustness")
        return None
    names = None if args.variants is None else [n.strip() for n in args.variants.split(",") if n.strip()]
    if names is not None and not names:
        parser.error("argument --variants: no variant given")
    try:
        return tuple(v.name for v in variants_named(names))
    except ValueError as e:
        parser.error(f"argument --variants: {e}")


def report(cfg, frame, metric: str = "test_loss") -> None:
    """The robust lines, then each verdict, on stdout."""
    from explorer.analysis.robust import plain, robust_summary
    r = robust_summary(cfg, frame, metric)
    for line in r.lines():
        print(line)
    for verdict in r.verdicts:
        print("robust verdict: " + plain(verdict))
    sys.stdout.flush()
