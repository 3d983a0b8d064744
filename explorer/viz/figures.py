"""Each view's figures, composed the same way for the app and for `python -m explorer export`."""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import altair as alt
import pandas as pd

from explorer.analysis import transfer as transfer_analysis
from explorer.analysis.interpret import coupling
from explorer.core.fmt import fmt
from explorer.core.forms import OPTIMIZERS, pair_optimizers
from explorer.core.schedules import Schedule
from explorer.core.surfaces import SURFACES
from explorer.runs import transfer
from explorer.runs.axes import AXES
from explorer.runs.sweep import SweepConfig, run_sweep
from explorer.runs.train import TrainConfig, Trainer
from explorer.runs.trajectory import fixed_point, run_trajectories
from explorer.viz import training_charts
from explorer.viz.sweep_charts import sweep_heatmap
from explorer.viz.trajectory_charts import trajectory_panel
from explorer.viz.transfer_chart import transfer_chart


@dataclass
class Figure:
    chart: alt.TopLevelMixin    # the whole view as one chart (export)
    frame: pd.DataFrame         # its data
    meta: dict                  # the parameters that reproduce it


# ---------------------------------------------------------------- trajectories
def schedule_text(kind: str, warmup: int, decay_follows: bool) -> str:
    return kind + (f" (warm-up {warmup})" if warmup else "") + ("" if decay_follows else " · constant decay")


def trajectory_subtitle(p: dict) -> str:
    s = f"α={fmt(p['lr'])} λ={fmt(p['wd'])}"
    s += (f" β=({fmt(p['beta1'])}, {fmt(p['beta2'])}) ε={fmt(p['eps'])}" if p["pair"] == "adam"
          else f" μ={fmt(p['momentum'])}")
    s += f" · {p['steps']} steps · {schedule_text(p['schedule'], p['warmup'], p['decay_follows'])}"
    s += f" · σ={fmt(p['noise'])}" if p["noise"] else ""
    return s + f" · start ({fmt(p['start'][0])}, {fmt(p['start'][1])})"


def trajectory_data(p: dict, names=None):
    """(frame, diverged, fixed points) for the view's parameters (keys of params.TRAJECTORY); `names`
    overrides the pair (the CLI runs one named optimizer)."""
    names = tuple(names or pair_optimizers(p["pair"], p["form"]))
    sched = Schedule(p["schedule"], total_steps=p["steps"], t0=p["t0"], t_mult=p["t_mult"], warmup=p["warmup"])
    follows = p["decay_follows"]
    res = run_trajectories(p["surface"], names, lr=p["lr"], wd=p["wd"], beta1=p["beta1"], beta2=p["beta2"],
                           eps=p["eps"], momentum=p["momentum"], steps=p["steps"], start=p["start"],
                           schedule=sched, noise=p["noise"], seed=p["seed"], decay_follows_schedule=follows)
    eta = sched.multiplier(p["steps"])
    fixed = {n: fixed_point(p["surface"], n, p["lr"], p["wd"], p["momentum"], eta, follows) for n in names}
    return res.frame, res.diverged, fixed


def trajectory_charts(p: dict, frame, diverged, fixed, clickable: bool = False,
                      subtitle: bool = True) -> dict[str, alt.Chart]:
    """Both panels and the loss and ‖θ‖ charts, each with the playback step `kit.RACE` (default: the last);
    clickable: the panels report a click's start cell (the app). subtitle=False: no settings line under the titles
    (the app writes it once above the panels, and its charts then keep one spec while only their data change)."""
    names = pair_optimizers(p["pair"], p["form"])
    sub = trajectory_subtitle(p) if subtitle else ""
    out = {}
    for name, other in ((names[0], names[1]), (names[1], names[0])):
        out[name] = trajectory_panel(
            p["surface"], frame, name, other, fixed[name], diverged[name],
            title=f"{OPTIMIZERS[name].label} · {SURFACES[p['surface']].title}", subtitle=sub, race=True,
            clickable=clickable)
    out["loss"] = training_charts.metric_chart(frame, "loss", "f(θ), without the decay term", names, log=True,
                                      subtitle=sub, race=True)
    out["norm"] = training_charts.metric_chart(frame, "norm", "‖θ‖", names, subtitle=sub, race=True)
    return out


def race_chart(p: dict, frame, diverged, fixed) -> alt.Chart:
    """The race: both panels side by side (the animated export's figure)."""
    c = trajectory_charts(p, frame, diverged, fixed)
    names = pair_optimizers(p["pair"], p["form"])
    return alt.hconcat(c[names[0]], c[names[1]])


def trajectory_figure(p: dict) -> Figure:
    p = {**p, "start": p["start"] or SURFACES[p["surface"]].start}
    frame, diverged, fixed = trajectory_data(p)
    c = trajectory_charts(p, frame, diverged, fixed)
    names = pair_optimizers(p["pair"], p["form"])
    chart = alt.vconcat(alt.hconcat(c[names[0]], c[names[1]]), alt.hconcat(c["loss"], c["norm"]))
    return Figure(chart, frame, {**p, "optimizers": names})


# ---------------------------------------------------------------- live training
def _samples(cfg: TrainConfig) -> str:
    """The training set in a subtitle: "300 digits", or "300 rows of data.csv"."""
    return f"{cfg.train_count} digits" if cfg.data is None else f"{cfg.train_count} rows of {cfg.data.name[:40]}"


def train_subtitle(cfg: TrainConfig) -> str:
    return (f"α={fmt(cfg.lr)} λ={fmt(cfg.wd)} · {cfg.model} {cfg.width}×{cfg.depth} · batch {cfg.batch_size}"
            f" · {_samples(cfg)} · {cfg.steps} steps · "
            f"{schedule_text(cfg.schedule, cfg.warmup, cfg.decay_follows)} · seed {cfg.seed}"
            + ("" if cfg.no_decay == "none" else f" · not decayed: {cfg.no_decay}"))


def train_parts(rows: pd.DataFrame, names, dist: pd.DataFrame, step: int) -> dict[str, training_charts.LivePart]:
    parts = {m: training_charts.training_part(rows, m, names)
             for m in ("train_loss", "test_loss", "test_acc", "weight_norm")}
    parts["layer_norms"] = training_charts.layer_norm_part(rows, names)
    parts["effective_decay"] = training_charts.decay_part(dist, names, step)
    return parts


def train_figure(cfg: TrainConfig, device: str | None = None) -> Figure:
    tr = Trainer(cfg, device)
    frame = pd.DataFrame(tr.run())
    parts = train_parts(frame, list(cfg.optimizers), tr.effective_decay(), tr.step_count)
    sub = train_subtitle(cfg)
    c = {k: training_charts.to_altair(v, sub) for k, v in parts.items()}
    chart = alt.vconcat(alt.hconcat(c["train_loss"], c["test_loss"], c["test_acc"]),
                        alt.hconcat(c["weight_norm"], c["layer_norms"]), c["effective_decay"])
    return Figure(chart, frame, dataclasses.asdict(cfg) | {"device": str(tr.device)})


# ---------------------------------------------------------------- sweeps
def sweep_subtitle(cfg: SweepConfig | transfer.AxisSweep) -> str:
    """The sweep's settings; along another axis than lr, its one lr and not the setting its rows vary."""
    base, row = transfer.base_of(cfg), transfer.row_column(cfg)
    t = base.train
    shown = (("train_samples", _samples(t)), ("batch_size", f"batch {t.batch_size}"),
             ("steps", f"{t.steps} steps"))
    parts = [t.model] + [text for field, text in shown if field != row]
    parts += [schedule_text(t.schedule, t.warmup, t.decay_follows), f"{base.seeds} seed(s)"]
    parts += ["normalized λ"] if base.normalized else []
    return " · ".join(parts) + ("" if row == "lr" else f" · α = {fmt(base.lrs[0])}")


def sweep_charts(cfg: SweepConfig | transfer.AxisSweep, frame: pd.DataFrame, metric: str = "test_loss",
                 top_k: int = 3):
    """Each form's heat map (rows: lr, or the axis of an AxisSweep) and its coupling measure."""
    base, row = transfer.base_of(cfg), transfer.row_column(cfg)
    valid = frame.loc[~frame["diverged"] & frame[metric].notna(), metric]
    cap = math.log(10) if metric == "test_loss" else 0.9        # chance level
    domain = (float(valid.min()) if len(valid) else 0.0,
              min(float(valid.max()) if len(valid) else 1.0, cap))
    couplings = {n: coupling(frame, n, metric, row=row) for n in base.optimizers}
    label = "λ_norm" if base.normalized else "λ"
    title = AXES[cfg.axis].title if row != "lr" else AXES["lr"].title
    out = {n: sweep_heatmap(frame, n, metric, couplings[n], domain, top_k, wd_label=label,
                                   subtitle=sweep_subtitle(cfg), row=row, row_title=title) for n in base.optimizers}
    return out, couplings


def sweep_figure(cfg: SweepConfig | transfer.AxisSweep, metric: str = "test_loss", top_k: int = 3,
                 device: str | None = None) -> Figure:
    """The heat maps side by side; along another axis than lr, the transfer chart (best λ per row) below."""
    along = isinstance(cfg, transfer.AxisSweep)
    frame = transfer.run(cfg, device) if along else run_sweep(cfg, device)
    c, _ = sweep_charts(cfg, frame, metric, top_k)
    chart = alt.hconcat(*c.values()).resolve_scale(color="shared")
    meta = dataclasses.asdict(cfg) | {"metric": metric}
    if along:
        chart = alt.vconcat(chart, transfer_chart(transfer_analysis.transfer(cfg, frame, metric), sweep_subtitle(cfg)))
    return Figure(chart, frame, meta)
