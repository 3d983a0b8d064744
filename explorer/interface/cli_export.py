"""python -m explorer export: a view's figure or data without a browser, with the view's own options."""
from __future__ import annotations

import argparse
import sys

from explorer.core.surfaces import SURFACES
from explorer.interface.options import CORRECTED_HELP, VIEWS, OneLineParser, spec_option
from explorer.interface.params import AXIS, SWEEP, TRAIN, TRAJECTORY


def view_parser(view: str) -> argparse.ArgumentParser:
    """The options of one view for `export`: the same specs (and defaults) as the app's widgets."""
    p = OneLineParser(prog=f"python -m explorer export --view {view}", add_help=True)
    if view == "trajectory":
        for name, spec in TRAJECTORY.items():
            if name != "optimizer":
                spec_option(p, spec)
        p.add_argument("--frames", type=int, default=None, help="gif: frames (2 to 600); default 48")
        p.add_argument("--fps", type=float, default=None, help="gif: frames per second (1 to 50); default 12")
    elif view == "train":
        for name, spec in TRAIN.items():
            if name != "optimizers":
                spec_option(p, spec)
        p.add_argument("--device", default=None)
    else:
        for spec in (*SWEEP.values(), *AXIS.values()):
            spec_option(p, spec)
        p.add_argument("--metric", default="test_loss", choices=("test_loss", "test_error"))
        p.add_argument("--top-k", type=int, default=3, dest="top_k")
        p.add_argument("--normalized", action="store_true")
        p.add_argument("--corrected", action="store_true", help=CORRECTED_HELP)
        p.add_argument("--device", default=None)
    return p


def run(parser, args, rest, sweep_config, along, check_device) -> int:
    """The export command (the sweep's configuration, its axis and the device check are the CLI's own)."""
    import torch

    from explorer.core.forms import pair_optimizers
    from explorer.runs.train import TrainConfig
    from explorer.viz import figures
    from explorer.viz.export import export

    view = view_parser(args.view)
    opts = view.parse_args(rest)
    torch.set_flush_denormal(True)
    if args.fmt == "gif" and args.view != "trajectory":
        parser.error("argument --format: gif is for --view trajectory (the race animated)")
    if args.view == "trajectory" and args.fmt != "gif" and (opts.frames is not None or opts.fps is not None):
        view.error("argument --frames/--fps: only with --format gif")
    if args.fmt == "gif":
        from explorer.viz.animate import DEFAULT_FPS, DEFAULT_FRAMES, MAX_FPS, MAX_FRAMES, race_gif
        frames = DEFAULT_FRAMES if opts.frames is None else opts.frames
        fps = DEFAULT_FPS if opts.fps is None else opts.fps
        if not 2 <= frames <= MAX_FRAMES:
            view.error(f"argument --frames: must be between 2 and {MAX_FRAMES}, got {frames}")
        if not 1 <= fps <= MAX_FPS:          # NaN fails too
            view.error(f"argument --fps: must be between 1 and {MAX_FPS}, got {fps:g}")
        p = {k: v for k, v in vars(opts).items() if k not in ("frames", "fps")}
        data = race_gif({**p, "start": p["start"] or SURFACES[p["surface"]].start}, frames, fps)
    elif args.view == "trajectory":
        fig = figures.trajectory_figure({k: v for k, v in vars(opts).items() if k not in ("frames", "fps")})
    elif args.view == "train":
        check_device(view, opts.device)
        kw = {k: v for k, v in vars(opts).items() if k not in ("pair", "form", "device")}
        cfg = TrainConfig(optimizers=pair_optimizers(opts.pair, opts.form), **kw)
        fig = figures.train_figure(cfg, opts.device)
    else:
        check_device(view, opts.device)
        fig = figures.sweep_figure(along(view, opts, sweep_config(view, opts)), opts.metric, opts.top_k,
                                   opts.device)
    if args.fmt != "gif":
        data = export(fig.chart, fig.frame, args.fmt, fig.meta)
    try:
        if args.out == "-":
            sys.stdout.buffer.write(data)
        else:
            with open(args.out, "wb") as f:
                f.write(data)
    except OSError as e:
        print(f"{parser.prog}: error: cannot write {args.out}: {e.strerror or e}", file=sys.stderr)
        return 2
    return 0


def view_help(argv: list[str]) -> str | None:
    """`export --view VIEW --help`: the view's own options (the export parser would print its generic help and
    stop before the view is known); None when the command line asks for something else."""
    if not ({"-h", "--help"} & set(argv)):
        return None
    view = next((argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--view"), None)
    view = view or next((a.split("=", 1)[1] for a in argv if a.startswith("--view=")), None)
    if view not in VIEWS:
        return None
    return view_parser(view).format_help()
