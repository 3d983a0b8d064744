"""--ray [ADDRESS] for `sweep` (lr rows, --axis rows, --model FILE.py:FUNCTION) and `map`: the grid's parts as Ray
tasks (explorer.runs.cluster), the same CSV as without it, progress on stderr."""
from __future__ import annotations

import argparse
import contextlib
import sys
import time

from explorer.runs.chunks import ALIGN_RUNS, check_chunk_runs


def _chunk_runs(text: str) -> int:
    try:
        return check_chunk_runs(int(text))
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e) if text.strip().lstrip("-").isdigit() else
                                         f"expected a whole number, got {text!r}") from None


def add_arguments(p) -> None:
    p.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                   help="run the grid's parts as Ray tasks: alone, on the cluster at RAY_ADDRESS or else a new Ray "
                        "instance on this machine; with ADDRESS, on that cluster. The same CSV as without it "
                        "(needs pip install -r requirements-ray.txt)")
    p.add_argument("--chunk-runs", type=_chunk_runs, default=None, metavar="N",
                   help=f"with --ray: runs per task, a multiple of {ALIGN_RUNS} (default: about two tasks per CPU of "
                        "the cluster)")
    p.add_argument("--quiet", action="store_true", help="with --ray: no progress lines on stderr")


def check(parser, args) -> None:
    """--chunk-runs without --ray, or --ray without Ray installed: exit 2 with one line."""
    from explorer.runs import cluster
    if args.ray is None:
        if args.chunk_runs is not None:
            parser.error("argument --chunk-runs: needs --ray")
        return
    if not cluster.available():
        parser.error(f"argument --ray: {cluster.RayMissing()}")
    if getattr(args, "robustness", False):
        parser.error("argument --ray: not with --robustness (its variants run here)")
    if args.device not in (None, "cpu"):
        parser.error("argument --device: with --ray the parts run on the cluster's CPUs (cpu)")


class ChunkProgress:
    """chunks done/total and the time left (from the measured rate) on stderr: a line rewritten in place on a
    terminal, else a line per change at most every `every` seconds (and the last)."""

    def __init__(self, prog: str, stream=None, every: float = 1.0):
        self.prog, self.stream, self.every = prog, stream or sys.stderr, every
        self.t0 = self.shown = time.perf_counter()
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()

    def __call__(self, done: int, total: int, left: float | None) -> None:
        now = time.perf_counter()
        if 0 < done < total and now - self.shown < self.every and not self.tty:
            return
        self.shown = now
        if done == total:
            text = f"{done}/{total} chunks done in {now - self.t0:.1f} s"
        else:
            text = f"{done}/{total} chunks done" + ("" if left is None else f", about {left:.0f} s left")
        start, end = ("\r" if self.tty else ""), ("\n" if done == total or not self.tty else "")
        print(f"{start}{self.prog}: ray: {text}", end=end, file=self.stream, flush=True)


@contextlib.contextmanager
def joined(parser, args):
    """The Ray runner joined to --ray's cluster for the block, left after it (a local instance it started stops;
    a process already on a cluster stays there); a cluster that cannot be joined: exit 2 with one line."""
    from explorer.runs import cluster
    try:
        joined_here = cluster.connect(args.ray or None)
    except Exception as e:              # noqa: BLE001  (Ray refuses with many kinds: say which, in one line)
        where = args.ray or "RAY_ADDRESS or a new local instance"
        parser.error(f"argument --ray: cannot join the Ray cluster ({where}): {' '.join(str(e).split())[:200]}")
    try:
        yield cluster
    finally:
        if joined_here:             # (a caller that had joined a cluster itself, e.g. from Python, stays on it)
            cluster.shutdown()


def compute(parser, args, cfg):
    """A sweep (lr rows or --axis rows) or a map (regime.MapConfig) on the cluster: its frame, as computed here."""
    from explorer.runs.regime import MapConfig
    from explorer.runs.transfer import AxisSweep
    show = None if args.quiet else ChunkProgress(parser.prog)
    with joined(parser, args) as cluster:
        run = (cluster.run_map if isinstance(cfg, MapConfig) else
               cluster.run_transfer if isinstance(cfg, AxisSweep) else cluster.run_sweep)
        return run(cfg, args.device, chunk_runs=args.chunk_runs, chunks_done=show)


def model(parser, args, train, test, cfg, notice):
    """The sweep of --model FILE.py:FUNCTION on the cluster, one task per seed (its file's text shipped)."""
    from explorer.runs.chunks import ModelSource
    show = None if args.quiet else ChunkProgress(parser.prog)
    with joined(parser, args) as cluster:
        return cluster.run_model(ModelSource.read(args.model), train, test, cfg, loss=args.loss,
                                 no_decay=args.no_decay, device=args.device, notice=notice, chunks_done=show)
