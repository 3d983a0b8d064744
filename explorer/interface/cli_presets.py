"""python -m explorer presets: the presets' shipped results (explorer/runs/presets/), listed or regenerated."""
from __future__ import annotations

import sys

HELP = "the presets' shipped results: list them, or recompute and write them (--write)"


def add_parser(sub) -> None:
    p = sub.add_parser("presets", help=HELP,
                       description="The app shows each preset's default sweep at once from a CSV shipped in "
                                   "explorer/runs/presets/ (its run_sweep frame, written as the app's CSV download "
                                   "writes it, with a JSON file recording the configuration, the CSV's SHA-256 "
                                   "and the time it took). Without --write: list every preset, its file and "
                                   "whether it matches the preset's definition. With --write: compute each "
                                   "preset's default sweep as the app does (CPU, one torch thread) and write it.")
    p.add_argument("--write", action="store_true", help="recompute and write the files (minutes per preset)")
    p.add_argument("--robust", action="store_true",
                   help="the presets' runs under every variant of the irrelevant choices (<name>.robust.csv; "
                        "12× a preset's time): list or, with --write, write those")
    p.add_argument("--only", default=None, metavar="NAME[,NAME…]",
                   help="these presets only (comma-separated); default every preset")


def run(parser, args) -> int:
    from explorer.runs import precomputed
    from explorer.runs.sweep import PRESETS, grid_cells
    from explorer.runs.variants import VARIANTS

    names = list(PRESETS) if args.only is None else [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in names if n not in PRESETS]
    if unknown or not names:
        parser.error(f"argument --only: unknown preset(s) {', '.join(unknown) or '(none given)'}; "
                     f"choose from {', '.join(PRESETS)}")
    kind = precomputed.ROBUST if args.robust else ""
    for name in names:
        cfg = PRESETS[name]
        size = f"{len(grid_cells(cfg))} cells × {cfg.seeds} seed(s) × {cfg.train.steps:,} steps"
        size += f" × {len(VARIANTS)} variants" if kind else ""
        if args.write:
            print(f"{name}: computing {size} …", file=sys.stderr, flush=True)
            frame, seconds = precomputed.compute(name, kind)
            path, nbytes = precomputed.write(name, frame, seconds, kind)
            print(f"{name}: wrote {path} ({nbytes:,} bytes, {len(frame)} rows) in {seconds:.1f} s")
            continue
        found = precomputed.shipped(cfg, kind)
        path = precomputed.csv_path(name, kind)
        command = precomputed.WRITE_COMMAND + (" --robust" if kind else "")
        state = (f"{path.stat().st_size:,} bytes, computed in {found.seconds:.1f} s with {found.threads} thread(s) "
                 f"on {found.machine}" if found else
                 f"stale or missing: regenerate with {command} --only {name}")
        print(f"{name}: {size}; {state}")
    return 0
