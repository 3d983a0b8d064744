"""python -m explorer sweep --model FILE.py:FUNCTION --data TRAIN.csv --target COLUMN: the lr × λ sweep of your own
model on your own data (explorer.runs.model_sweep), with every other sweep option as for the built-in models."""
from __future__ import annotations

import argparse

from explorer.core.grouping import RULES, grouping
from explorer.core.models import MODELS
from explorer.core.tables import DEFAULT_TEST_FRACTION, LOSSES
from explorer.runs.model_file import load_builder

# sweep options that describe the built-in digits models only
_BUILT_IN_ONLY = ("train_samples", "init_scale")


def _model(text: str) -> str:
    if text in MODELS or ":" in text:
        return text
    raise argparse.ArgumentTypeError(f"unknown value {text!r}; choose from {', '.join(MODELS)} or give "
                                     "FILE.py:FUNCTION")


def grouping_arg(text: str) -> str:
    """--no-decay's value checked (explorer.core.grouping.grouping), for argparse."""
    try:
        grouping(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e).split(": ", 1)[-1]) from None
    return text


def _fraction(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        v = None
    if v is None or not 0 < v < 1:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {text!r}")
    return v


def add_arguments(p) -> None:
    """The sweep's --model (a built-in name or your FILE.py:FUNCTION) and the options of your own data."""
    p.add_argument("--model", type=_model, default=None, metavar="NAME",
                   help=f"a built-in model ({', '.join(MODELS)}; default: the preset's) or your own: FILE.py:FUNCTION, "
                        "a function that takes no arguments and returns the torch.nn.Module (then --data, --target)")
    p.add_argument("--data", default=None, metavar="TRAIN.csv",
                   help="with --model FILE.py:FUNCTION: the training data, numeric feature columns and --target")
    p.add_argument("--target", default=None, metavar="COLUMN", help="the target column of --data")
    p.add_argument("--test-data", default=None, metavar="TEST.csv",
                   help="the test data, the same columns (default: a seeded shuffle of --data split off)")
    p.add_argument("--test-fraction", type=_fraction, default=None, metavar="F",
                   help="without --test-data: the share of --data held out for testing "
                        f"(default {DEFAULT_TEST_FRACTION:g})")
    p.add_argument("--loss", choices=LOSSES, default="cross-entropy",
                   help="cross-entropy (targets are class labels) or mse (targets are numbers); default cross-entropy")
    p.add_argument("--standardize", action="store_true",
                   help="standardize the features with the training set's mean and standard deviation "
                        "(default: as given)")
    p.add_argument("--no-decay", default="none", type=grouping_arg, metavar="RULE",
                   help="with --model FILE.py:FUNCTION, the tensors left out of the decay: " + "; ".join(
                       f"{k}: {v}" for k, v in RULES.items()) + "; or comma-separated name substrings; default none")


def is_file_model(args) -> bool:
    return args.model is not None and args.model not in MODELS


def check_built_in(parser, args) -> None:
    """A built-in sweep given options that only a model file takes: one line naming the first."""
    for flag in ("data", "target", "test_data", "test_fraction"):
        if getattr(args, flag) is not None:
            parser.error(f"argument --{flag.replace('_', '-')}: needs --model FILE.py:FUNCTION")
    if args.loss != "cross-entropy" or args.standardize or args.no_decay != "none":
        parser.error("arguments --loss, --standardize, --no-decay: need --model FILE.py:FUNCTION")


def _check(parser, args) -> None:
    for name in _BUILT_IN_ONLY:
        if getattr(args, name) is not None:
            parser.error(f"argument --{name.replace('_', '-')}: describes the built-in models, not --model FILE.py")
    if args.axis != "lr" or args.values is not None:
        parser.error("argument --axis: a sweep of your own model varies lr (its rows)")
    if args.data is None or args.target is None:
        parser.error("argument --data: --model FILE.py:FUNCTION needs --data TRAIN.csv and --target COLUMN")
    if args.chunk_runs is not None:
        parser.error("argument --chunk-runs: a sweep of your own model is split by seeds (one task per seed)")
    if args.test_data is not None and args.test_fraction is not None:
        parser.error("argument --test-fraction: give --test-data or --test-fraction, not both")


def run(parser, args, sweep_config, write, check_device) -> int:
    import torch

    from explorer.analysis.transfer import slope_lines
    from explorer.core.tables import load_tables
    from explorer.interface import cli_ray
    from explorer.runs.cost import sweep_threads_now, torch_threads
    from explorer.runs.model_sweep import stderr_notice, sweep_model

    check_device(parser, args.device)
    _check(parser, args)
    try:
        build = load_builder(args.model)
    except ValueError as e:
        parser.error(f"argument --model: {e}")
    try:
        train, test = load_tables(args.data, args.target, args.loss, args.test_data, args.test_fraction,
                                  args.standardize)
    except ValueError as e:
        parser.error(str(e))
    cfg = sweep_config(parser, argparse.Namespace(**{**vars(args), "model": None}))
    torch.set_flush_denormal(True)
    try:
        if args.ray is not None:
            frame = cli_ray.model(parser, args, (train.x, train.y), (test.x, test.y), cfg, stderr_notice(parser.prog))
        else:
            with torch_threads(sweep_threads_now(0)):
                frame = sweep_model(build, (train.x, train.y), (test.x, test.y), cfg=cfg, loss=args.loss,
                                    no_decay=args.no_decay, device=args.device, notice=stderr_notice(parser.prog))
    except ValueError as e:
        parser.error(f"argument --model: {e}")
    if not write(parser, frame, args.out):
        return 2
    for line in slope_lines(frame.attrs["sweep_config"], frame):
        print(line)
    return 0
