"""python -m explorer map: the regime map without a browser (the sweep's options, plus an axis and its values)."""
from __future__ import annotations

import math
import sys

from explorer.interface.params import REGIME_MAP, SWEEP, Spec
from explorer.runs.axes import AXES, REGIME_AXES

MAP: dict[str, Spec] = {s.name: s for s in (
    Spec("axis", REGIME_MAP["map_axis"].default, "the training setting the map varies", kind="choice",
         choices=REGIME_AXES),
    Spec("values", None, "comma-separated values of the axis (default: the app's default range for that axis)",
         kind="floats", lo=0.0, lo_open=True),
)}
POINT_COLUMNS = ["axis_value", "optimizer", "slope", "seed_min", "seed_max", "seed_slopes", "counted_rows",
                 "edge_rows", "flat_rows", "n_median"]
ROBUST_COLUMNS = ["robust_median", "robust_lo", "robust_hi", "robust_k"]     # --robustness: the slope over variants


def add_parser(sub, option) -> None:
    m = sub.add_parser("map", help="regime map: the coupling slope of each form along steps, initial scale or "
                                   "batch size (one sweep per value)",
                       description="Run the sweep (its options and preset as for `sweep`) at every value of one "
                                   "training setting and write one row per value and optimizer: "
                                   + ",".join(POINT_COLUMNS) + ". slope: seeds averaged, then the coupling "
                                   "measure with rows whose best λ lies on the grid's edge left out (like flat "
                                   "rows); seed_slopes: each seed alone; n_median: N = α·λ_torch·Ση_t at the "
                                   "counted rows' best cells. Needs 2 or more seeds.")
    for spec in SWEEP.values():
        option(m, spec)
    for spec in MAP.values():
        option(m, spec)
    m.add_argument("--normalized", action="store_true", help="read --wds as λ_norm (paper App. B.1)")
    m.add_argument("--metric", default="test_loss", choices=("test_loss", "test_error"),
                   help="what the best λ minimizes; default test_loss")
    m.add_argument("--runs", default=None, metavar="FILE.csv", help="also write every run (one row per value, "
                   "cell and seed)")
    m.add_argument("--device", default=None, help="cpu or cuda; default cuda when available")
    m.add_argument("--out", default="-", help="output CSV file, or - for stdout; default -")
    from explorer.interface.cli_robust import add_arguments as add_robust_arguments
    add_robust_arguments(m)
    from explorer.interface.cli_ray import add_arguments as add_ray_arguments
    add_ray_arguments(m)


def _values(parser, axis: str, given) -> tuple:
    if given is None:
        spec = REGIME_MAP[f"map_{AXES[axis].field}"]
        lo, hi = spec.default
        return tuple(v for v in spec.options if lo <= v <= hi)
    try:
        return AXES[axis].check(given)
    except ValueError as e:
        parser.error(f"argument --values: {e}")


def _robust(row) -> str:
    from explorer.analysis.robust import signed
    if not row.robust_k:
        return "; robust slope n/a (no variant has two rows counted)"
    return (f"; robust slope {signed(row.robust_median)} [{signed(row.robust_lo)}, {signed(row.robust_hi)}] over "
            f"{row.robust_k} variants")


def run(parser, args, sweep_config, check_device, write) -> int:
    import pandas as pd
    import torch

    from explorer.analysis.regime import map_points, points_frame
    from explorer.interface import cli_ray
    from explorer.interface.cli_robust import chosen
    from explorer.runs.cost import sweep_threads_now, torch_threads
    from explorer.runs.regime import MapConfig, run_map
    from explorer.runs.variants import run_variants

    cli_ray.check(parser, args)
    variants = chosen(parser, args)
    check_device(parser, args.device)
    if args.runs is not None and args.runs in ("-", args.out):
        parser.error("argument --runs: needs a file name of its own (not - nor --out's)")
    base = sweep_config(parser, args)
    if base.pair != "adam":
        parser.error("argument --pair: the regime map compares the three Adam forms (adam)")
    try:
        cfg = MapConfig(base, args.axis, _values(parser, args.axis, args.values))
    except ValueError as e:
        parser.error(f"argument --seeds: {e}" if "seeds" in str(e) else str(e))
    torch.set_flush_denormal(True)
    if args.ray is not None:
        frame = cli_ray.compute(parser, args, cfg)
    else:
        with torch_threads(sweep_threads_now(0)):
            frame = run_variants(cfg, variants, args.device, run=run_map) if variants else run_map(cfg, args.device)
    table = points_frame(map_points(cfg, frame, args.metric))[POINT_COLUMNS + (ROBUST_COLUMNS if variants else [])]
    if not write(parser, table, args.out) or (args.runs and not write(parser, frame, args.runs)):
        return 2
    for row in pd.DataFrame(table).itertuples():
        slope = "n/a" if math.isnan(row.slope) else f"{row.slope:+.2f}"
        print(f"{args.axis}={row.axis_value:g} {row.optimizer}: slope {slope} (seeds {row.seed_slopes}; "
              f"{row.counted_rows} rows counted, {row.edge_rows} on the edge, {row.flat_rows} flat; "
              f"N median {row.n_median:.3g})" + (_robust(row) if variants else ""), file=sys.stderr)
    return 0
