"""The command line: python -m explorer <command> … (the same computations as the app)."""
from __future__ import annotations

import argparse
import sys

from explorer.analysis.snippets import LIBRARIES
from explorer.core.fmt import fmt
from explorer.core.measures import LAYER_STATS_COLUMNS
from explorer.core.surfaces import SURFACES
from explorer.interface.options import CORRECTED_HELP, VIEWS, OneLineParser, spec_option
from explorer.interface.params import AXIS, CONVERT, SWEEP, TRAIN, TRAJECTORY

TRAIN_COLUMNS = ["optimizer", "step", "train_loss", "test_loss", "test_acc", "weight_norm"]


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="python -m explorer",
                      description="Decoupled weight decay explorer: the app's figures without a browser.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    t = sub.add_parser("trajectory", help="run one optimizer on a 2-D surface, write step,x,y,loss as CSV",
                       description="Run one optimizer on a 2-D surface and write CSV with columns "
                                   "step,x,y,loss (row step 0 is the start point).")
    for name in ("surface", "optimizer", "lr", "wd", "beta1", "beta2", "eps", "momentum", "steps",
                 "start", "schedule", "warmup", "decay_follows", "t0", "t_mult", "noise", "seed"):
        spec_option(t, TRAJECTORY[name])
    t.add_argument("--out", default="-", help="output CSV file, or - for stdout; default -")
    _add_training_commands(sub)
    ex = sub.add_parser("export", help="a view's figure (png, svg) or its data (csv, json), as in the app",
                        description="Produce a view's figure or data without a browser. The view's own "
                                    "options follow: see `python -m explorer export --view VIEW --help`.")
    ex.add_argument("--view", required=True, choices=VIEWS, help="which view: " + ", ".join(VIEWS))
    ex.add_argument("--format", required=True, choices=("png", "svg", "csv", "json", "gif"), dest="fmt",
                    help="png or svg (the figure, rendered by vl-convert), csv or json (its data), gif (the "
                         "trajectory race animated: --frames N, --fps F)")
    ex.add_argument("--out", required=True, help="output file, or - for stdout")
    la = sub.add_parser("landscape", help="loss on a plane through a trained Adam+L2 / AdamW pair",
                        description="Train the pair (same init and batches), then evaluate the training loss on "
                                    "an N×N grid over a plane through weight space as one batched computation. "
                                    "Writes a,b,loss for the grid to --out and optimizer,step,a,b,loss for the "
                                    "projected trajectories to the same name with .trajectories before the "
                                    "extension.")
    for name, spec in TRAIN.items():
        if name not in ("optimizers",):
            spec_option(la, spec)
    la.add_argument("--plane", choices=("pca", "random"), default="pca",
                    help="pca: through both end points and the main PCA direction; random: filter-normalized "
                         "random directions (Li et al. 2018); default pca")
    la.add_argument("--grid", type=int, default=41, help="grid points per axis (5 to 201); default 41")
    la.add_argument("--device", default=None, help="cpu or cuda; default cuda when available")
    la.add_argument("--out", required=True, help="grid CSV file (the trajectories go next to it)")
    cv = sub.add_parser("convert", help="a decay λ in every library's form: equivalent λ, τ, N, e^-N",
                        description="Convert a decoupled weight decay between its forms — paper (η_t·λ), "
                                    "PyTorch (η_t·α·λ), corrected (η_t²·α·λ), Composer (lr_t/lr_0·λ) — and print "
                                    "the timescale τ = 1/(α·λ_torch) in steps and epochs, the number N of "
                                    "timescales the run lasts and the share e^-N of the initial weights left.")
    for name, spec in CONVERT.items():
        spec_option(cv, spec, "--from" if name == "source" else None)
    cv.add_argument("--code", choices=(*LIBRARIES, "all"), default=None, metavar="LIBRARY",
                    help="print the code instead of the table: the optimizer and schedule that give the same shrink "
                         "per step in " + ", ".join(LIBRARIES) + " or all")
    from explorer.interface.cli_map import add_parser as add_map_parser
    add_map_parser(sub, spec_option)
    from explorer.interface.cli_presets import add_parser as add_presets_parser
    add_presets_parser(sub)
    from explorer.interface.cli_audit import add_parser as add_audit_parser
    add_audit_parser(sub, spec_option)
    sub.add_parser("surfaces", help="list the surfaces with their formulas")
    return p


def _add_training_commands(sub) -> None:
    """`train` and `sweep`: digits models, one per optimizer or grid cell, trained as one batched computation."""
    tr = sub.add_parser("train", help="train a small model on digits with several optimizers at once",
                        description="Train one small model per optimizer on scikit-learn's digits — the "
                                    "same initial weights and mini-batches for all, in one batched "
                                    "computation — and write CSV with columns " + ",".join(TRAIN_COLUMNS)
                                    + " (row step 0 is before any update).")
    for spec in TRAIN.values():
        if spec.name not in ("pair", "form"):
            spec_option(tr, spec)
    tr.add_argument("--device", default=None, help="cpu or cuda; default cuda when available")
    tr.add_argument("--out", default="-", help="output CSV file, or - for stdout; default -")
    tr.add_argument("--layer-stats", default=None, metavar="FILE.csv",
                    help="also write per weight matrix, at every evaluation step: " + ",".join(LAYER_STATS_COLUMNS)
                         + " (rotation: mean angle between W_t-1 and W_t over the steps since the last row, "
                         "radians per step; predicted_rotation: AdamW's equilibrium rotation on scale-invariant "
                         "layers, Kosson et al. 2024, empty where it does not apply)")
    sw = sub.add_parser("sweep", help="lr × λ grid: one training run per cell, all cells batched; prints "
                                      "the coupling slope of each optimizer",
                        description="Train one model per (optimizer, lr, λ, seed) cell — all cells of a seed "
                                    "as one batched computation — and write CSV with columns "
                                    "optimizer,lr,wd,seed,train_loss,test_loss,test_error,diverged (wd is "
                                    "that optimizer's own λ). The coupling slope of each optimizer (slope of "
                                    "log2 best λ on log2 lr) is printed on stdout, after the CSV with --out -.")
    for spec in (*SWEEP.values(), *AXIS.values()):
        if spec.name != "model":
            spec_option(sw, spec)
    from explorer.interface.cli_model import add_arguments as add_model_arguments
    add_model_arguments(sw)
    sw.add_argument("--normalized", action="store_true",
                    help="read --wds as λ_norm: each run uses λ = λ_norm·√(b/(B·T)) (paper App. B.1)")
    sw.add_argument("--corrected", action="store_true", help=CORRECTED_HELP)
    from explorer.interface.cli_robust import add_arguments as add_robust_arguments
    add_robust_arguments(sw)
    sw.add_argument("--device", default=None, help="cpu or cuda; default cuda when available")
    sw.add_argument("--out", default="-", help="output CSV file, or - for stdout; default -")
    from explorer.interface.cli_ray import add_arguments as add_ray_arguments
    add_ray_arguments(sw)




def _fix_negative_values(argv: list[str]) -> list[str]:
    """Let `--start -1.5,2` work: argparse would read '-1.5,2' as an option."""
    out, i = [], 0
    while i < len(argv):
        if argv[i] == "--start" and i + 1 < len(argv):
            out.append(f"--start={argv[i + 1]}")
            i += 2
        else:
            out.append(argv[i])
            i += 1
    return out


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = _fix_negative_values(list(sys.argv[1:] if argv is None else argv))
    if argv[:1] == ["export"]:
        from explorer.interface.cli_export import view_help
        if (text := view_help(argv)) is not None:
            print(text)
            return 0
        args, rest = parser.parse_known_args(argv)
    else:
        args, rest = parser.parse_args(argv), []
    if args.command == "surfaces":
        for s in SURFACES.values():
            print(f"{s.name:<12} {s.title}: {s.latex}\n{'':<12} window x∈[{fmt(s.xlim[0])}, {fmt(s.xlim[1])}], "
                  f"y∈[{fmt(s.ylim[0])}, {fmt(s.ylim[1])}]; default start {fmt(s.start)}; {s.note}")
        return 0
    if args.command == "train":
        return _train(parser, args)
    if args.command == "sweep":
        return _sweep(parser, args)
    if args.command == "export":
        from explorer.interface import cli_export
        return cli_export.run(parser, args, rest, _sweep_config, _along, _check_device)
    if args.command == "map":
        from explorer.interface.cli_map import run as run_map_command
        return run_map_command(parser, args, _sweep_config, _check_device, _write)
    if args.command == "presets":
        from explorer.interface.cli_presets import run as run_presets_command
        return run_presets_command(parser, args)
    if args.command == "landscape":
        return _landscape(parser, args)
    if args.command == "audit":
        from explorer.interface.cli_audit import run as run_audit_command
        return run_audit_command(parser, args, _write)
    if args.command == "convert":
        return _convert(args)
    _notes([args.optimizer], args)
    from explorer.viz.figures import trajectory_data
    frame, diverged, _ = trajectory_data(vars(args), names=[args.optimizer])
    if not _write(parser, frame[["step", "x", "y", "loss"]], args.out):
        return 2
    k = diverged[args.optimizer]
    if k is not None:
        print(f"{parser.prog}: warning: {args.optimizer} diverged at step {k}", file=sys.stderr)
    return 0


def _write(parser, table, out: str) -> bool:
    try:
        table.to_csv(sys.stdout if out == "-" else out, index=False, float_format="%.10g",
                     lineterminator="\n")
        return True
    except OSError as e:
        print(f"{parser.prog}: error: cannot write {out}: {e.strerror or e}", file=sys.stderr)
        return False


def _train(parser, args) -> int:
    import dataclasses

    import pandas as pd
    import torch

    from explorer.analysis.timescales import timescale_lines
    from explorer.core.forms import OPTIMIZERS
    from explorer.core.measures import attach
    from explorer.runs.train import TrainConfig, Trainer

    if args.layer_stats == "-" or (args.layer_stats is not None and args.layer_stats == args.out):
        parser.error("argument --layer-stats: needs a file name of its own (not - nor --out's)")
    if len({OPTIMIZERS[n].precond for n in args.optimizers}) != 1:
        parser.error("argument --optimizers: one batch needs one preconditioner (all Adam or all SGD)")
    _check_device(parser, args.device)
    cfg = TrainConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)
                         if f.name != "data" and hasattr(args, f.name)})
    _notes(cfg.optimizers, args)
    torch.set_flush_denormal(True)
    trainer = Trainer(cfg, args.device)
    stats = attach(trainer) if args.layer_stats else None
    if not _write(parser, pd.DataFrame(trainer.run())[TRAIN_COLUMNS], args.out):
        return 2
    if stats is not None and not _write(parser, pd.DataFrame(stats.rows)[LAYER_STATS_COLUMNS], args.layer_stats):
        return 2
    for line in timescale_lines(cfg):
        print(f"{parser.prog}: {line}", file=sys.stderr)
    for name, k in trainer.diverged().items():
        if k is not None:
            print(f"{parser.prog}: warning: {name} diverged at step {k}", file=sys.stderr)
    return 0


def _check_device(parser, device):
    import torch
    if device not in (None, "cpu", "cuda") or (device == "cuda" and not torch.cuda.is_available()):
        parser.error(f"argument --device: {device!r} is not available here "
                     f"(cpu{', cuda' if torch.cuda.is_available() else ''})")


def _sweep(parser, args) -> int:
    import torch

    from explorer.analysis import transfer as transfer_analysis
    from explorer.interface import cli_model, cli_ray, cli_robust
    from explorer.runs import transfer
    from explorer.runs.cost import sweep_threads_now, torch_threads
    from explorer.runs.sweep import run_sweep
    from explorer.runs.variants import first_rows, run_robust
    cli_ray.check(parser, args)
    if cli_model.is_file_model(args):
        if args.robustness:
            parser.error("argument --robustness: not for your own model (--model FILE.py:FUNCTION): its init and "
                         "batches are your script's")
        return cli_model.run(parser, args, _sweep_config, _write, _check_device)
    cli_model.check_built_in(parser, args)
    variants = cli_robust.chosen(parser, args)
    _check_device(parser, args.device)
    cfg = _along(parser, args, _sweep_config(parser, args))
    along = isinstance(cfg, transfer.AxisSweep)
    torch.set_flush_denormal(True)
    if args.ray is not None:
        frame = cli_ray.compute(parser, args, cfg)
    else:
        with torch_threads(sweep_threads_now(0)):      # the idle cores only: a busy machine collapses otherwise
            if variants:
                everything = run_robust(cfg, args.device, variants=variants)
                frame = first_rows(everything)
            else:
                frame = transfer.run(cfg, args.device) if along else run_sweep(cfg, args.device)
    if not _write(parser, everything if variants else frame, args.out):
        return 2
    for line in transfer_analysis.slope_lines(cfg, frame):
        print(line)
    if variants:
        cli_robust.report(cfg, everything)
    return 0


def _along(parser, args, cfg):
    """--axis and --values: the sweep's rows (lr, or another training setting at one lr)."""
    from explorer.runs.transfer import axis_sweep
    if args.axis == "lr" and args.values is not None and args.lrs is not None:
        parser.error("argument --values: with --axis lr give the learning rates once (--lrs or --values)")
    if args.axis != "lr" and args.values is None:
        parser.error(f"argument --values: --axis {args.axis} needs its values, e.g. --values 150,300,600")
    if args.axis != "lr" and args.lrs is not None and len(args.lrs) != 1:
        parser.error(f"argument --lrs: a sweep along {args.axis} uses one learning rate, got {len(args.lrs)}")
    try:
        return axis_sweep(cfg, args.axis, args.values)
    except ValueError as e:
        parser.error(f"argument --values: {e}")


def _sweep_config(parser, args):
    """The preset, overridden by whatever the command line gives."""
    import dataclasses

    from explorer.core.forms import pair_forms
    from explorer.runs.sweep import PRESETS, with_extra_forms
    base = PRESETS[args.preset]
    pair = args.pair or base.pair
    if pair != base.pair and args.wds is None:
        parser.error(f"argument --pair: preset {args.preset!r} is for {base.pair}; give --wds for {pair}")
    train = dataclasses.replace(
        base.train, **{k: getattr(args, k) for k in ("steps", "model", "init_scale", "train_samples", "schedule",
                                                     "warmup", "decay_follows", "batch_size", "seed")
                       if getattr(args, k) is not None})
    wds = base.wds if args.wds is None else tuple((n, args.wds) for n in pair_forms(pair))
    cfg = dataclasses.replace(base, pair=pair, wds=wds, lrs=args.lrs or base.lrs,
                              seeds=args.seeds or base.seeds, normalized=args.normalized or base.normalized,
                              train=train)
    if getattr(args, "corrected", False):      # (the regime map has no fourth form)
        if pair != "adam":
            parser.error("argument --corrected: the corrected form is an AdamW form (--pair adam)")
        cfg = with_extra_forms(cfg)
    return cfg


def _notes(optimizers, args) -> None:
    from explorer.interface.params import sanity_notes
    for note in sanity_notes(optimizers, args.lr, args.wd, args.beta1, args.beta2, args.eps):
        print(f"note: {note}", file=sys.stderr)


def _landscape(parser, args) -> int:
    from pathlib import Path

    import torch

    from explorer.core.forms import pair_optimizers
    from explorer.runs.landscape import landscape
    from explorer.runs.train import TrainConfig

    _check_device(parser, args.device)
    if not 5 <= args.grid <= 201:
        parser.error(f"argument --grid: must be between 5 and 201, got {args.grid}")
    if args.out == "-":
        parser.error("argument --out: needs a file name (two files are written)")
    kw = {k: getattr(args, k) for k in TRAIN if k not in ("optimizers", "pair", "form")}
    cfg = TrainConfig(optimizers=pair_optimizers(args.pair, args.form), **kw)
    torch.set_flush_denormal(True)
    res = landscape(cfg, args.plane, args.grid, device=args.device)
    out = Path(args.out)
    paths = out.with_name(out.stem + ".trajectories" + (out.suffix or ".csv"))
    if not (_write(parser, res.grid, str(out)) and _write(parser, res.paths, str(paths))):
        return 2
    print(f"wrote {out} ({len(res.grid)} grid points) and {paths}", file=sys.stderr)
    return 0


def _convert(args) -> int:
    from explorer.analysis.convert import convert_params, report, schedule_of
    from explorer.analysis.snippets import snippet
    c = convert_params(vars(args))
    if args.code:
        names = list(LIBRARIES) if args.code == "all" else [args.code]
        print("\n\n".join(snippet(name, c, schedule_of(vars(args))) for name in names), end="")
    else:
        print(report(c, args.schedule))
    if c.warning():
        print(f"python -m explorer: warning: {c.warning()}", file=sys.stderr)
    return 0
