"""python -m explorer audit FILE.py:FUNCTION: the decay audit of your own model (explorer.analysis.audit)."""
from __future__ import annotations

import inspect
import sys

from explorer.analysis.audit import COLUMNS, RULES, audit
from explorer.core.forms import OPTIMIZERS
from explorer.core.schedules import SCHEDULES
from explorer.interface.cli_model import grouping_arg
from explorer.interface.params import Spec
from explorer.runs.model_file import load_model

_DEFAULT = {k: p.default for k, p in inspect.signature(audit).parameters.items()}   # audit() owns its defaults
AUDIT: dict[str, Spec] = {s.name: s for s in (
    Spec("optimizer", _DEFAULT["optimizer"], "the optimizer you train with, as its decay form", kind="choice",
         choices=tuple(OPTIMIZERS)),
    Spec("lr", _DEFAULT["lr"], "peak learning rate α", lo=0.0, lo_open=True),
    Spec("wd", _DEFAULT["wd"], "decay λ, as your optimizer takes it (torch.optim.AdamW's weight_decay for "
         "adamw-torch)", lo=0.0),
    Spec("steps", _DEFAULT["steps"], "training steps: checks N, the decay timescales the run lasts (default: not "
         "checked)", kind="int", lo=1, hi=10**9),
    Spec("schedule", _DEFAULT["schedule"], "schedule multiplier η_t (warm restarts: T_0 = steps // 5, T_mult = 2)",
         kind="choice", choices=SCHEDULES),
)}
HELP = "your own model's decay, tensor by tensor: kinds, three common grouping rules, rounding, N"


def add_parser(sub, option) -> None:
    p = sub.add_parser("audit", help=HELP,
                       description="Audit the weight decay of your own torch.nn.Module: FUNCTION, in FILE.py, "
                                   "takes no arguments and returns the model (your file runs as your code does). "
                                   "Writes one row per parameter tensor: " + ",".join(COLUMNS) + "; then a "
                                   "summary (on stdout, or on stderr when the CSV goes to stdout).")
    p.add_argument("target", metavar="FILE.py:FUNCTION", help="the file and the function that returns the model")
    for spec in AUDIT.values():
        option(p, spec)
    p.add_argument("--no-decay", default="none", type=grouping_arg, metavar="RULE",
                   help="your grouping, the tensors left out of the decay: " + "; ".join(
                       f"{k}: {v}" for k, v in RULES.items()) + "; or comma-separated name substrings "
                                                                 "(e.g. bias,norm); default none")
    p.add_argument("--out", default="-", help="output CSV file, or - for stdout; default -")


def run(parser, args, write) -> int:
    try:
        model = load_model(args.target)
    except ValueError as e:
        parser.error(f"argument FILE.py:FUNCTION: {e}")
    result = audit(model, lr=args.lr, wd=args.wd, optimizer=args.optimizer, schedule=args.schedule,
                   steps=args.steps, no_decay=args.no_decay)
    if not write(parser, result.table, args.out):
        return 2
    print(result.summary, file=sys.stderr if args.out == "-" else sys.stdout)
    return 0
