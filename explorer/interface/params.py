"""Typed, validated parameters: one definition drives the CLI options, the app's widgets and the URL."""
from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any, Callable

from explorer.analysis.convert import CONVENTIONS
from explorer.core.data import MAX_TRAIN
from explorer.core.fmt import fmt
from explorer.core.forms import OPTIMIZERS, Decay, Precond, decoupled_rule, decoupled_shrink, form_choices, form_help
from explorer.core.models import MODELS, NO_DECAY
from explorer.core.schedules import SCHEDULES
from explorer.core.surfaces import SURFACES
from explorer.runs.axes import REGIME_AXES, ROW_AXES
from explorer.runs.sweep import PRESETS
from explorer.runs.train import TrainConfig
from explorer.viz.sweep_charts import SWEEP_METRICS


def _decades(lo: int, hi: int, mantissas=(1, 2, 5)) -> tuple[float, ...]:
    """1-2-5 log grid from 10^lo to 10^hi: the values the log sliders step through."""
    vals = [float(f"{m}e{e}") for e in range(lo, hi) for m in mantissas] + [float(f"1e{hi}")]
    return tuple(vals)


def _respelled(raw: str, choices) -> str:
    """A choice in the spelling older links and scripts use (`batch_size`) as it is written now (`batch-size`)."""
    alt = raw.replace("_", "-")
    return alt if raw not in choices and alt in choices else raw


def _integral(raw: str) -> int | None:
    """A whole number written as a float ("1000.0", "1e3") as an int; None for anything else."""
    try:
        v = float(raw)
    except ValueError:
        return None
    return int(v) if math.isfinite(v) and v.is_integer() else None


@dataclass(frozen=True)
class Spec:
    name: str
    default: Any
    help: str
    kind: str = "float"              # float | int | choice | list (of choices) | floats | point
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    choices: tuple[str, ...] = ()
    options: tuple = ()              # the app's slider stops (its URL accepts exactly these)
    step: float | None = None        # the app's slider step where the widget is a plain slider
    widget: str = ""                 # "" = from the kind: choice → selectbox, options → select_slider,
                                     # numbers → slider; or "radio", "number_input", "toggle"
    labels: tuple[tuple[str, str], ...] = ()   # (choice, the text the widget shows for it); a label is
                                               # accepted for its choice (older links wrote the label)

    def parse(self, text: Any) -> Any:
        """Text (CLI, URL) or a value → a checked value; ValueError with a one-line reason."""
        raw = str(text).strip()
        if len(raw) > 100:
            raise ValueError(f"{self.name}: value too long ({len(raw)} characters)")
        if self.kind == "bool":
            if raw.lower() not in ("true", "false"):
                raise ValueError(f"{self.name}: expected true or false, got {raw!r}")
            return raw.lower() == "true"
        if self.kind == "choice":
            raw = _respelled({label: c for c, label in self.labels}.get(raw, raw), self.choices)
            if raw not in self.choices:
                raise ValueError(f"{self.name}: unknown value {raw!r}; choose from {', '.join(self.choices)}")
            return raw
        if self.kind == "list":
            items = [x.strip() for x in raw.split(",") if x.strip()]
            bad = [x for x in items if x not in self.choices]
            if not items or bad:
                raise ValueError(f"{self.name}: unknown value {(bad or [raw])[0]!r}; "
                                 f"choose from {', '.join(self.choices)}")
            return tuple(dict.fromkeys(items))
        if self.kind == "floats":
            parts = [x for x in raw.split(",") if x.strip()]
            if not parts or len(parts) > 64:
                raise ValueError(f"{self.name}: expected 1 to 64 comma-separated numbers, got {raw!r}")
            return tuple(sorted(set(self._check(self._number(x.strip(), float)) for x in parts)))
        if self.kind == "point":
            parts = raw.split(",")
            if len(parts) != 2:
                raise ValueError(f"{self.name}: expected X,Y (two numbers), got {raw!r}")
            return tuple(self._number(p, float) for p in parts)
        return self._check(self._number(raw, int if self.kind == "int" else float))

    def _number(self, raw: str, typ: Callable) -> float:
        try:
            v = typ(raw)
        except (TypeError, ValueError):
            v = _integral(raw) if typ is int else None   # "1000.0" and "1e3" name the integer 1000
        if v is None:
            raise ValueError(f"{self.name}: expected {'an integer' if typ is int else 'a number'}, "
                             f"got {raw!r}")
        if isinstance(v, float) and not math.isfinite(v):
            raise ValueError(f"{self.name}: must be a finite number, got {raw!r}")
        return v

    def _check(self, v):
        if self.lo is not None and (v < self.lo or (self.lo_open and v == self.lo)):
            raise ValueError(f"{self.name}: must be {'>' if self.lo_open else '≥'} {fmt(self.lo)}, got {fmt(v)}")
        if self.hi is not None and (v > self.hi or (self.hi_open and v == self.hi)):
            raise ValueError(f"{self.name}: must be {'<' if self.hi_open else '≤'} {fmt(self.hi)}, got {fmt(v)}")
        return v


def _preconditioner_specs(default: dict) -> tuple[Spec, ...]:
    return (Spec("beta1", default["beta1"], "Adam β1", lo=0.0, hi=0.999, step=0.001),
            Spec("beta2", default["beta2"], "Adam β2", lo=0.0, hi=1.0, hi_open=True,
                 options=(0.9, 0.95, 0.99, 0.995, 0.999, 0.9995, 0.9999)),
            Spec("eps", default["eps"], "Adam ε", lo=0.0, lo_open=True, options=EPS_OPTIONS),
            Spec("momentum", default["momentum"], "SGD momentum μ", lo=0.0, hi=0.99, step=0.01))


LR_OPTIONS = _decades(-4, 0)
DECAY_FORMS = form_choices()
_FORM = Spec("form", DECAY_FORMS[0], form_help(), kind="choice", choices=DECAY_FORMS, widget="radio")
_DECAY_FOLLOWS = Spec("decay_follows", True, "decoupled decay follows the schedule (η_t multiplies it, as in the "
                      "paper; η_t² in the corrected form); false: constant decay λ or α·λ per step. L2 is unchanged: "
                      "its λθ passes through the schedule like every gradient", kind="bool", widget="toggle")
WD_OPTIONS = (0.0,) + _decades(-4, 1)
EPS_OPTIONS = tuple(float(f"1e{e}") for e in range(-12, 0))

# The trajectory view. Defaults show the difference at first sight: on the ill-conditioned
# quadratic, Adam+L2 shrinks only the flat coordinate, AdamW shrinks both alike.
TRAJECTORY: dict[str, Spec] = {s.name: s for s in (
    Spec("surface", "quadratic", "2-D test function", kind="choice", choices=tuple(SURFACES)),
    Spec("optimizer", "adamw-torch", "named optimizer; decoupled decay per step: " + ", ".join(
        f"{f.name} {f.rate}" for f in OPTIMIZERS.values() if f.decay is Decay.DECOUPLED), kind="choice",
         choices=tuple(OPTIMIZERS)),
    Spec("pair", "adam", "which pair the app compares: Adam+L2 vs AdamW, or SGD+L2 vs SGDW",
         kind="choice", choices=("adam", "sgd"), widget="radio"),
    _FORM,
    Spec("lr", 0.05, "learning rate α", lo=0.0, lo_open=True, options=LR_OPTIONS),
    Spec("wd", 1.0, "decay λ: the L2 coefficient (…-l2) or the decoupled rate (sgdw, adamw, adamw-torch)",
         lo=0.0, options=WD_OPTIONS),
    *_preconditioner_specs(dict(beta1=0.9, beta2=0.999, eps=1e-8, momentum=0.0)),
    Spec("steps", 500, "number of updates", kind="int", lo=1, hi=5000, step=1),
    Spec("start", None, "start point X,Y (default: the surface's own)", kind="point"),
    Spec("schedule", "constant", "schedule multiplier η_t", kind="choice", choices=SCHEDULES),
    Spec("warmup", 0, "linear warm-up steps before the schedule (η_t = t/W)", kind="int", lo=0, hi=5000, step=1),
    _DECAY_FOLLOWS,
    Spec("t0", 100, "warm restarts: first period T_0 (steps)", kind="int", lo=1, hi=100_000, widget="number_input"),
    Spec("t_mult", 2, "warm restarts: period multiplier T_mult", kind="int", lo=1, hi=10, widget="number_input"),
    Spec("noise", 0.0, "gradient noise σ (stochastic gradients; the same noise for every run)", lo=0.0,
         options=(0.0, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)),
    Spec("seed", 0, "random seed (noise)", kind="int", lo=0, hi=2**31 - 1, widget="number_input"),
)}

# The trajectory tab's start sliders (the CLI has one option for both: start X,Y); their bounds and defaults
# are the shown surface's, filled in where they are drawn (explorer/ui/trajectories.py).
START: dict[str, Spec] = {s.name: s for s in (
    Spec("x0", None, "start x (or click the surface)"), Spec("y0", None, "start y (or click the surface)"))}


# The live-training view: every default is TrainConfig's (the run configuration owns its defaults).
_TRAIN = {f.name: fmt(f.default) if isinstance(f.default, tuple) else f.default for f in fields(TrainConfig)}


def _train_spec(name: str, help: str, **kw) -> Spec:
    """A live-training setting whose default is TrainConfig's."""
    return Spec(name, _TRAIN[name], help, **kw)


TRAIN_LR_OPTIONS = _decades(-5, 0)
INIT_SCALES = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
TRAIN: dict[str, Spec] = {s.name: s for s in (
    _train_spec("optimizers", "comma-separated named optimizers, all Adam or all SGD",
         kind="list", choices=tuple(OPTIMIZERS)),
    Spec("pair", "adam", "which pair the app trains: Adam+L2 vs AdamW, or SGD+L2 vs SGDW",
         kind="choice", choices=("adam", "sgd"), widget="radio"),
    _FORM,
    _train_spec("model", "mlp, or mlp-ln (LayerNorm without affine before each ReLU)", kind="choice",
         choices=tuple(MODELS)),
    _train_spec("width", "hidden units per layer", kind="int", lo=4, hi=1024, options=(16, 32, 64, 128, 256, 512)),
    _train_spec("depth", "hidden layers", kind="int", lo=1, hi=6, step=1),
    _train_spec("init_scale", "initial weight matrices × k (1: PyTorch's nn.Linear default)", lo=0.0,
         lo_open=True, hi=64.0, options=INIT_SCALES),
    _train_spec("lr", "learning rate α", lo=0.0, lo_open=True, options=TRAIN_LR_OPTIONS),
    _train_spec("wd", "decay λ (the same number for both runs; what it does depends on the form)",
         lo=0.0, options=WD_OPTIONS),
    _train_spec("no_decay", "parameters left out of the decay (λ = 0 for them, in every form); biases-and-output: "
         "the biases and the output layer's weights", kind="choice", choices=tuple(NO_DECAY)),
    *_preconditioner_specs(_TRAIN),
    _train_spec("batch_size", "mini-batch size", kind="int", lo=1, hi=MAX_TRAIN, options=(8, 16, 32, 64, 128, 256)),
    _train_spec("steps", "number of updates", kind="int", lo=1, hi=200_000,
         options=(100, 250, 500, 1000, 1500, 2000, 3000, 5000, 10000)),
    _train_spec("train_samples", "training digits used (test set: a fixed 597)", kind="int", lo=10,
         hi=MAX_TRAIN, options=(50, 100, 200, 300, 600, 900, 1200)),
    _train_spec("schedule", "schedule multiplier η_t", kind="choice", choices=SCHEDULES),
    _train_spec("warmup", "linear warm-up steps before the schedule (η_t = t/W)", kind="int", lo=0, hi=200_000,
         options=(0, 25, 50, 100, 250, 500, 1000)),
    _DECAY_FOLLOWS,
    _train_spec("t0", "warm restarts: first period T_0 (steps; default: steps // 5)", kind="int", lo=1),
    _train_spec("t_mult", "warm restarts: period multiplier T_mult", kind="int", lo=1, hi=10),
    _train_spec("seed", "random seed (initial weights and batch order)", kind="int", lo=0, hi=2**31 - 1,
         widget="number_input"),
    _train_spec("eval_every", "evaluate every K steps (default: steps // 30, at least 1)", kind="int", lo=1,
         hi=100_000),
)}


# The sweep tab's grid controls (their defaults come from the chosen preset). Names here and in every app table
# are the controls' own; the app's URL adds the tab's prefix (explorer/ui/urlstate.py: s_ for the sweep tab).
SWEEP_GRID: dict[str, Spec] = {s.name: s for s in (
    Spec("topk", 3, "circle the best k cells", kind="int", lo=1, hi=10, step=1),
    Spec("lr_range", None, "learning rates: log₂ range", kind="int", lo=-16, hi=0, step=1),
    Spec("n_lr", None, "rows (learning rates)", kind="int", lo=2, hi=9, step=1),
    Spec("n_wd", None, "columns (λ values)", kind="int", lo=2, hi=9, step=1),
    # one λ range per optimizer a preset can hold (wd_adamw …)
    *(Spec(f"wd_{n}", None, f"λ of {n}: log₂ range", kind="int", lo=-24, hi=10, step=1) for n in OPTIMIZERS),
    Spec("seeds", None, "seeds averaged", kind="int", lo=1, hi=4, step=1),
    Spec("steps", None, "steps per run", kind="int", lo=1, options=(100, 300, 600, 1000, 1500, 3000, 6000)),
    Spec("samples", None, "train samples", kind="int", lo=10, options=(100, 300, 600, 1200)),
    Spec("metric", "test_loss", "what the colour and the best λ show", kind="choice",
         choices=tuple(SWEEP_METRICS), labels=tuple(SWEEP_METRICS.items()), widget="radio"),
    Spec("corrected", False, "a fourth heat map: decay η_t²·α·λ (AdamC; timm's corrected weight decay), on the "
         "PyTorch form's λ grid", kind="bool", widget="toggle"),
    Spec("normalized", None, "the λ axis is λ_norm; each run uses λ = λ_norm·√(b/(B·T))", kind="bool",
         widget="toggle"),
    Spec("robust", False, "also run the grid under 12 variants of choices that should not matter (seed pairs, "
         "batch order, init stream) and give every slope its median and range over them (12× the cost; the "
         "presets' ship precomputed)", kind="bool", widget="toggle"),
    # rows along another setting than lr (explorer.transfer): at one lr, a range of stops of that setting
    Spec("axis", "lr", "what the rows vary: the learning rate, or one training setting at one lr",
         kind="choice", choices=ROW_AXES),
    Spec("lr", None, "the one learning rate (log₂) when the rows vary another setting", kind="int", lo=-16,
         hi=0, step=1),
    Spec("rows_steps", (150, 600), "steps per run: the rows' range of stops", kind="floats", lo=1,
         options=(75, 150, 300, 600, 1200, 2400, 4800)),
    Spec("rows_train_samples", (150, 600), "training digits: the rows' range of stops", kind="floats", lo=10,
         options=(75, 150, 300, 600, 1200)),
    Spec("rows_batch_size", (8, 32), "batch size: the rows' range of stops", kind="floats", lo=1,
         options=(4, 8, 16, 32, 64, 128, 256)),
)}

# The decay converter (CLI: python -m explorer convert; the Insights tab's panel 6).
CONVERT: dict[str, Spec] = {s.name: s for s in (
    Spec("source", "adamw-torch", "the form your λ is written in: " + ", ".join(f"{f.name} ({f.rate})"
                                                                            for f in CONVENTIONS.values()),
         kind="choice", choices=tuple(CONVENTIONS)),
    Spec("lr", 1e-3, "peak learning rate α", lo=0.0, lo_open=True, hi=100.0, step=1e-4, widget="number_input"),
    Spec("wd", 0.1, "decay λ, in the form given", lo=0.0, hi=1e6, step=1e-3, widget="number_input"),
    Spec("steps", 10_000, "training steps", kind="int", lo=1, hi=1_000_000, widget="number_input"),
    Spec("schedule", "cosine", "schedule multiplier η_t (warm restarts: T_0 = steps // 5, T_mult = 2)",
         kind="choice", choices=SCHEDULES),
    Spec("train_samples", 50_000, "training examples (one epoch)", kind="int", lo=1, hi=10**10,
         widget="number_input"),
    Spec("batch_size", 128, "batch size", kind="int", lo=1, hi=10**10, widget="number_input"),
)}

# The regime map (sweep tab, below the heat maps): one sweep per value of one training setting. A range
# slider per axis picks consecutive stops; the defaults are five points each.
REGIME_MAP: dict[str, Spec] = {s.name: s for s in (
    Spec("map_axis", "init-scale", "the training setting the map varies (the rest: the sweep above)",
         kind="choice", choices=REGIME_AXES),
    Spec("map_steps", (100, 1000), "steps per run: the range of stops the map visits", kind="floats", lo=1,
         options=(100, 200, 300, 600, 1000, 1500, 3000, 6000)),
    Spec("map_init_scale", (1.0, 16.0), "initial weights × k: the range of stops the map visits", kind="floats",
         lo=0.0, lo_open=True, options=INIT_SCALES),
    Spec("map_batch_size", (8, 128), "batch size: the range of stops the map visits", kind="floats", lo=1,
         options=(8, 16, 32, 64, 128, 256)),
)}

_NOISE_STOPS = (0.0, 0.1, 0.3, 1.0, 3.0)
# The insight panels' controls, one table per panel (its number: the URL's i1_ … i6_, explorer/ui/urlstate.py).
def _table(*specs: Spec) -> dict[str, Spec]:
    return {s.name: s for s in specs}


def _heavy(help: str) -> Spec:
    """A panel's switch for minutes-scale work (a link may hold it on; only a click starts the work)."""
    return Spec("model", False, help, kind="bool", widget="toggle")


def _adam_surface(*more: Spec) -> dict[str, Spec]:
    return _table(Spec("surface", "quadratic", "2-D test function", kind="choice", choices=tuple(SURFACES)), _FORM,
                  Spec("lr", 0.05, "learning rate α", lo=0.0, lo_open=True, options=LR_OPTIONS),
                  Spec("wd", 1.0, "decay λ", lo=0.0, options=WD_OPTIONS),
                  Spec("noise", 0.0, "gradient noise σ", lo=0.0, options=_NOISE_STOPS), *more)


INSIGHT: dict[int, dict[str, Spec]] = {
    1: _table(
        Spec("surface", "rosenbrock", "2-D test function", kind="choice", choices=tuple(SURFACES)),
        Spec("lr", 0.001, "learning rate α", lo=0.0, lo_open=True, options=LR_OPTIONS),
        Spec("lam", 0.01, "SGDW's decay λ (SGD+L2 uses λ/α)", lo=0.0, options=WD_OPTIONS),
        Spec("momentum", 0.0, "SGD momentum μ", lo=0.0, hi=0.99, step=0.01),
        Spec("schedule", "constant", "schedule multiplier η_t", kind="choice", choices=SCHEDULES),
        _heavy("also on the digits model: SGD+L2 and SGDW trained for 300 steps")),
    2: _adam_surface(),
    3: _adam_surface(_heavy("also per layer on the digits network: the pair trained for 500 steps")),
    4: _table(
        Spec("lam", 0.5, "λ_torch", lo=0.0, lo_open=True, options=WD_OPTIONS[1:]),
        Spec("lr", 0.001, "base learning rate α", lo=0.0, lo_open=True, options=TRAIN_LR_OPTIONS),
        Spec("steps", 1000, "steps", kind="int", lo=1, options=(300, 1000, 3000)),
        Spec("norm", 0.05, "λ_norm", lo=0.0, hi=10.0, step=0.01, widget="number_input"),
        Spec("b", 128, "batch size b", kind="int", lo=1, hi=100_000, widget="number_input"),
        Spec("B", 50_000, "training points B", kind="int", lo=1, hi=10_000_000, widget="number_input"),
        Spec("T", 100, "epochs T", kind="int", lo=1, hi=10_000, widget="number_input"),
        Spec("t0", 100, "warm restarts: first period T_0 (steps)", kind="int", lo=1, hi=10_000, widget="number_input"),
        Spec("tmult", 2, "warm restarts: period multiplier T_mult", kind="int", lo=1, hi=4, widget="number_input"),
        Spec("total", 700, "steps shown", kind="int", lo=1, options=(300, 700, 1500, 3100))),
    5: _table(
        Spec("model", "mlp", "mlp, or mlp-ln (LayerNorm without affine before each ReLU)", kind="choice",
             choices=tuple(MODELS)),
        Spec("wd", 0.05, "decay λ", lo=0.0, options=WD_OPTIONS),
        Spec("steps", 1500, "steps", kind="int", lo=1, options=(300, 750, 1500)),
        Spec("kind", "pca", "plane: PCA of both paths, or filter-normalized random directions", kind="choice",
             choices=("pca", "random"), widget="radio"),
        Spec("n", 41, "grid points per side", kind="int", lo=2, options=(21, 41, 61, 81)),
        replace(_heavy("train the pair, then evaluate the loss on the grid"), name="go")),
    6: CONVERT,
}


def sanity_notes(optimizers, lr: float, wd: float, beta1: float, beta2: float, eps: float) -> list[str]:
    """Plain-language notes on hyperparameter combinations that are legal but rarely sensible."""
    notes = []
    adam = any(OPTIMIZERS[n].precond is Precond.ADAM for n in optimizers)
    if adam and beta2 < beta1:
        notes.append(f"β2 = {fmt(beta2)} < β1 = {fmt(beta1)}: the second-moment average forgets faster than "
                     "the first, so |m̂|/√v̂ can exceed 1 and steps can be larger than α.")
    if adam and eps >= 0.1:
        notes.append(f"ε = {fmt(eps)} is large: for gradients much smaller than ε Adam acts like SGD with "
                     f"learning rate α/ε.")
    for n in optimizers:
        rule = decoupled_rule(n)
        rate = decoupled_shrink(n, lr, wd) or 0.0
        if rate >= 1:
            notes.append(f"{OPTIMIZERS[n].label}: the decay factor 1 − {'α·λ' if rule[1] else 'λ'}"
                         f" = {1 - rate:.3g} ≤ 0, so each step zeroes or flips the weights.")
    return notes


# The sweep view's parameters (CLI: python -m explorer sweep). None = the preset's value.
SWEEP: dict[str, Spec] = {s.name: s for s in (
    Spec("preset", "coupling", "a measured starting point (docs/science.md lists what each measures)", kind="choice",
         choices=tuple(PRESETS)),
    Spec("pair", None, "adam: Adam+L2, AdamW (paper form), AdamW (PyTorch form); sgd: SGD+L2, SGDW "
         "(default: the preset's)",
         kind="choice", choices=("adam", "sgd"), widget="radio"),
    Spec("lrs", None, "comma-separated learning rates (default: the preset's, 2^-8 … 2^-2)", kind="floats",
         lo=0.0, lo_open=True),
    Spec("wds", None, "comma-separated λ values used by every optimizer as its own λ (default: the "
         "preset's grid per optimizer)", kind="floats", lo=0.0, lo_open=True),
    Spec("steps", None, "updates per run (default: the preset's, 300)", kind="int", lo=1, hi=200_000),
    Spec("seeds", None, "seeds averaged before the argmin (default: the preset's, 2)", kind="int", lo=1,
         hi=20),
    Spec("model", None, "default: the preset's", kind="choice", choices=tuple(MODELS)),
    Spec("init_scale", None, "initial weight matrices × k (default: the preset's)", lo=0.0, lo_open=True,
         hi=64.0, options=INIT_SCALES),
    Spec("train_samples", None, "training digits used (default: the preset's, 300)", kind="int", lo=10,
         hi=MAX_TRAIN),
    Spec("batch_size", None, "mini-batch size (default: the preset's, 32)", kind="int", lo=1, hi=MAX_TRAIN),
    Spec("schedule", None, "schedule multiplier η_t (default: the preset's, cosine)", kind="choice",
         choices=SCHEDULES),
    Spec("warmup", None, "linear warm-up steps before the schedule (default: the preset's, 0)", kind="int", lo=0,
         hi=200_000),
    Spec("decay_follows", None, "true: decoupled decay follows the schedule (η_t; η_t² corrected); false: "
         "constant decay (default: the preset's, true)", kind="bool"),
    Spec("seed", None, "first seed; seeds are seed, seed+1, … (default 0)", kind="int", lo=0, hi=2**31 - 1),
)}


AXIS: dict[str, Spec] = {s.name: s for s in (
    Spec("axis", "lr", "what the sweep's rows vary: lr (the coupling), or steps, train-samples, batch-size at "
         "one lr (the first of --lrs; default the middle of the preset's lrs)", kind="choice", choices=ROW_AXES),
    Spec("values", None, "comma-separated row values of --axis (steps, train-samples, batch-size: whole numbers)",
         kind="floats", lo=0.0, lo_open=True),
)}
