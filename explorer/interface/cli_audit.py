"""python -m explorer audit FILE.py:FUNCTION: the decay audit of your own model (explorer.analysis.audit)."""
from __future__ import annotations

import argparse
import importlib.util
import inspect
import sys
from pathlib import Path

from explorer.analysis.audit import COLUMNS, RULES, audit, grouping
from explorer.core.forms import OPTIMIZERS
from explorer.core.schedules import SCHEDULES
from explorer.interface.params import Spec

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
    p.add_argument("--no-decay", default="none", type=_grouping, metavar="RULE",
                   help="your grouping, the tensors left out of the decay: " + "; ".join(
                       f"{k}: {v}" for k, v in RULES.items()) + "; or comma-separated name substrings "
                                                                 "(e.g. bias,norm); default none")
    p.add_argument("--out", default="-", help="output CSV file, or - for stdout; default -")


def _grouping(text: str):
    try:
        grouping(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e).split(": ", 1)[-1]) from None
    return text


def load_model(target: str):
    """FUNCTION() from FILE.py (FILE.py:FUNCTION), imported as a module of its own; ValueError in one line."""
    from torch import nn

    file, sep, name = target.rpartition(":")
    if not sep or not file or not name.isidentifier():
        raise ValueError(f"expected FILE.py:FUNCTION, got {target!r}")
    path = Path(file)
    if not path.is_file():
        raise ValueError(f"{file}: no such file")
    module = _import(path)
    fn = getattr(module, name, None)
    if not callable(fn):
        raise ValueError(f"{file} has no function {name}")
    try:
        with _beside(path):
            model = fn()
    except (Exception, SystemExit) as e:
        raise ValueError(f"{name}() raised {_one_line(e)}") from None
    if not isinstance(model, nn.Module):
        raise ValueError(f"{name}() returned {type(model).__name__}, not a torch.nn.Module")
    return model


def _import(path: Path):
    spec = importlib.util.spec_from_file_location(f"_explorer_audit_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise ValueError(f"{path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module            # dataclasses and pickling look their module up here
    try:
        with _beside(path):
            spec.loader.exec_module(module)
    except (Exception, SystemExit) as e:
        del sys.modules[spec.name]
        raise ValueError(f"{path} failed to import: {_one_line(e)}") from None
    return module


class _beside:
    """The file's folder first on sys.path while it runs, so it imports its neighbours as it would at home."""

    def __init__(self, path: Path):
        self.folder = str(path.resolve().parent)

    def __enter__(self):
        sys.path.insert(0, self.folder)

    def __exit__(self, *exc):
        if self.folder in sys.path:
            sys.path.remove(self.folder)


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


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
