"""The decay forms: where λ enters the update, one record per named optimizer.

Every other table of the explorer — the CLI's and the URL's accepted names, the app's *AdamW form* radio, the
sweep's pairs, the chart colours, the formulas and captions, the converter's conventions, the timescales — is
derived from FORMS. Adding a form is one record here (and its parity test): the engine reads only `precond`,
`decay`, `eta_power` and `scaled`.

    Adam + L2 : g ← g + λθ  →  u ← m̂/(√v̂+ε)  →  θ ← θ − η_t·α·u
    AdamW     :                u ← m̂/(√v̂+ε)  →  θ ← θ − η_t·α·u − η_t^p·(α·)λ·θ
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Callable


class Decay(str, Enum):
    NONE = "none"
    L2 = "l2"                  # λθ added to the gradient, before the preconditioner
    DECOUPLED = "decoupled"    # the weights shrink outside the gradient step: θ ← θ·(1 − η_t^p·(α·)λ)


class Precond(str, Enum):
    SGD = "sgd"    # heavy-ball momentum μ, torch convention: b ← μ·b + g, θ ← θ − η_t·α·b
    ADAM = "adam"  # β1, β2, ε with bias correction


L2_COLOR, DECOUPLED_COLOR, PLAIN_COLOR = "#d95f02", "#1f78b4", "#7f7f7f"
_ADAM_STEP = r"\eta_t\,\alpha\,\frac{\hat m_t}{\sqrt{\hat v_t}+\epsilon}"


@dataclass(frozen=True)
class TorchReference:
    """The torch.optim construction a form equals at a constant schedule: torch's class and its weight_decay
    from (α, λ) — the parity tests build it with `fused=True`."""
    cls: str                                   # "Adam", "AdamW" or "SGD"
    weight_decay: Callable[[float, float], float]

    def build(self, params, lr: float, wd: float, **kw):
        import torch
        return getattr(torch.optim, self.cls)(params, lr=lr, weight_decay=self.weight_decay(lr, wd), **kw)


@dataclass(frozen=True)
class DecayForm:
    name: str                  # the optimizer's name: CLI, URL, CSV
    precond: Precond
    decay: Decay
    label: str                 # "AdamW (PyTorch form)"
    eta_power: int = 0         # decoupled: the shrink per step is η_t^eta_power·λ·(α if scaled)
    scaled: bool = False       # decoupled: λ multiplied by α
    form: str | None = None    # the value of the app's "AdamW form" control that picks it (None: not offered)
    in_pair: bool = False      # one of its pair's default sweep heat maps
    color: str = PLAIN_COLOR   # its family's colour in the race: L2 orange, decoupled blue, none grey
    hue: str = PLAIN_COLOR     # its own colour where several forms share a chart
    formula: str = ""          # the update in LaTeX
    caption: str = ""          # what the form does and where the race's ◆ is, one paragraph
    library: str = ""          # who writes λ this way (the converter's rows)
    torch: TorchReference | None = None

    @property
    def short(self) -> str:
        """The label's distinguishing word: "PyTorch" for "AdamW (PyTorch form)"; the label where there is none."""
        inner = self.label.partition("(")[2].removesuffix(")").removesuffix(" form")
        return inner or self.label

    @property
    def rule(self) -> str:
        """The decay's update in short: θ·(1−η·α·λ), θ − η·λ·θ, θ·(1−η²·α·λ) (decoupled forms only)."""
        eta = {0: "", 1: "η·", 2: "η²·"}.get(self.eta_power, f"η^{self.eta_power}·")
        return f"θ·(1−{eta}α·λ)" if self.scaled else f"θ − {eta}λ·θ"

    @property
    def rate(self) -> str:
        """The shrink per step as text: η_t·λ, η_t·α·λ, η_t²·α·λ (decoupled forms only)."""
        eta = {0: "", 1: "η_t·", 2: "η_t²·"}.get(self.eta_power, f"η_t^{self.eta_power}·")
        return f"{eta}{'α·' if self.scaled else ''}λ"


def _adam_decoupled(shrink: str) -> str:
    return (r"\begin{aligned}g_t&=\nabla f(\theta_{t-1})\\\theta_t&=\theta_{t-1}\big(1-\textcolor{#1f78b4}{"
            + shrink + r"}\big)-" + _ADAM_STEP + r"\end{aligned}")


FORMS: dict[str, DecayForm] = {}


def register(form: DecayForm) -> DecayForm:
    """Add a form (before the interface's tables are built, i.e. before explorer.interface is imported)."""
    if form.decay is Decay.DECOUPLED and form.eta_power < 0:
        raise ValueError(f"{form.name}: η power must be ≥ 0")
    FORMS[form.name] = form
    return form


for _form in (
    DecayForm("sgd", Precond.SGD, Decay.NONE, "SGD", torch=TorchReference("SGD", lambda lr, wd: 0.0)),
    DecayForm("sgd-l2", Precond.SGD, Decay.L2, "SGD + L2", in_pair=True, color=L2_COLOR, hue=L2_COLOR,
              formula=r"\begin{aligned}b_t&=\mu b_{t-1}+\nabla f(\theta_{t-1})+\textcolor{#d95f02}{\lambda\theta_{t-1}}"
                      r"\\\theta_t&=\theta_{t-1}-\eta_t\,\alpha\,b_t\end{aligned}",
              caption="SGD scales every coordinate alike, so L2 here is plain weight decay with rate α·λ; it stops "
                      "at ◆, the minimum of f + λ/2‖θ‖².",
              library="torch.optim.SGD(weight_decay=λ)", torch=TorchReference("SGD", lambda lr, wd: wd)),
    DecayForm("sgdw", Precond.SGD, Decay.DECOUPLED, "SGDW", eta_power=1, in_pair=True, color=DECOUPLED_COLOR,
              hue=DECOUPLED_COLOR,
              formula=r"\begin{aligned}b_t&=\mu b_{t-1}+\nabla f(\theta_{t-1})\\"
                      r"\theta_t&=\theta_{t-1}-\eta_t\,\alpha\,b_t-\textcolor{#1f78b4}{\eta_t\lambda\,\theta_{t-1}}"
                      r"\end{aligned}",
              caption="Decoupled: θ shrinks by η_t·λ per step. Without momentum this is SGD+L2 with λ' = λ/α "
                      "(Proposition 1); it stops at ◆, the L2 optimum for λ(1−μ)/α.",
              library="the paper's SGDW (no torch class)"),
    DecayForm("adam", Precond.ADAM, Decay.NONE, "Adam", torch=TorchReference("Adam", lambda lr, wd: 0.0)),
    DecayForm("adam-l2", Precond.ADAM, Decay.L2, "Adam + L2", in_pair=True, color=L2_COLOR, hue=L2_COLOR,
              formula=r"\begin{aligned}g_t&=\nabla f(\theta_{t-1})+\textcolor{#d95f02}{\lambda\theta_{t-1}}\\"
                      r"\theta_t&=\theta_{t-1}-" + _ADAM_STEP + r"\end{aligned}",
              caption="The L2 pull λθ enters the gradient, so Adam divides it by √v̂+ε like everything else: "
                      "coordinates with large gradients are barely regularized, flat ones a lot. It stops at ◆, "
                      "the minimum of f + λ/2‖θ‖².",
              library="torch.optim.Adam(weight_decay=λ)", torch=TorchReference("Adam", lambda lr, wd: wd)),
    DecayForm("adamw", Precond.ADAM, Decay.DECOUPLED, "AdamW (paper form)", eta_power=1, form="paper", in_pair=True,
              color=DECOUPLED_COLOR, hue="#1b9e77",
              formula=r"\begin{aligned}g_t&=\nabla f(\theta_{t-1})\\\theta_t&=\theta_{t-1}-" + _ADAM_STEP
                      + r"-\textcolor{#1f78b4}{\eta_t\lambda\,\theta_{t-1}}\end{aligned}",
              caption="The decay bypasses Adam's scaling and shrinks every coordinate at the same rate η_t·λ "
                      "(not multiplied by α). With exact gradients Adam's step ≈ sign(∇f), so it stops at ◆: the "
                      "minimum of f inside the dashed box ‖θ‖∞ ≤ α/λ.",
              library="paper (Loshchilov & Hutter)",
              torch=TorchReference("AdamW", lambda lr, wd: wd / lr)),
    DecayForm("adamw-torch", Precond.ADAM, Decay.DECOUPLED, "AdamW (PyTorch form)", eta_power=1, scaled=True,
              form="torch", in_pair=True, color=DECOUPLED_COLOR, hue=DECOUPLED_COLOR,
              formula=_adam_decoupled(r"\eta_t\alpha\lambda"),
              caption="The decay bypasses Adam's scaling and shrinks every coordinate at the same rate "
                      "η_t·α·λ. With exact gradients Adam's step ≈ sign(∇f), so it stops at ◆: the minimum "
                      "of f inside the dashed box ‖θ‖∞ ≤ 1/λ.",
              library="PyTorch / optax / Keras AdamW", torch=TorchReference("AdamW", lambda lr, wd: wd)),
    DecayForm("adamw-corrected", Precond.ADAM, Decay.DECOUPLED, "AdamW (corrected form)", eta_power=2, scaled=True,
              form="corrected", color=DECOUPLED_COLOR, hue="#7570b3",
              formula=_adam_decoupled(r"\eta_t^2\alpha\lambda"),
              caption="The decay bypasses Adam's scaling and shrinks every coordinate by η_t²·α·λ = "
                      "lr_t²/lr_max·λ (AdamC; timm's corrected weight decay): a normalized layer's equilibrium norm "
                      "∝ √(lr_t/λ_t) stays put as the schedule decays. With a constant schedule it is the PyTorch "
                      "form. ◆ is the last step's fixed point, the minimum of f inside ‖θ‖∞ ≤ 1/(λ·η_T): as η_t "
                      "falls the box grows, so the run chases a moving target.",
              library="corrected (AdamC; timm)",
              torch=TorchReference("AdamW", lambda lr, wd: wd)),
):
    register(_form)

OPTIMIZERS = FORMS      # the same table under the name the engine and the CLI have always used


def decoupled_rule(form: DecayForm | str, follows_schedule: bool = True) -> tuple[int, bool] | None:
    """A decoupled form's shrink per step η_t^power·λ·(α if scaled): (power, scaled); None if not decoupled."""
    form = FORMS[form] if isinstance(form, str) else form
    if form.decay is not Decay.DECOUPLED:
        return None
    return (form.eta_power if follows_schedule else 0), form.scaled


def decoupled_shrink(optimizer: str, lr: float, wd: float) -> float | None:
    """A decoupled optimizer's shrink per step at η_t = 1: λ (paper form, SGDW) or α·λ; None without one."""
    rule = decoupled_rule(optimizer)
    return None if rule is None else lr * wd if rule[1] else wd


def pair_forms(precond: Precond | str) -> tuple[str, ...]:
    """A pair's default sweep forms: its L2 form first, then its decoupled forms (registry order)."""
    return tuple(f.name for f in FORMS.values() if f.precond == Precond(precond) and f.in_pair)


def decoupled_forms(precond: Precond | str = Precond.ADAM) -> tuple[str, ...]:
    return tuple(f.name for f in FORMS.values() if f.precond == Precond(precond) and f.decay is Decay.DECOUPLED)


DEFAULT_FORM = "torch"   # the form the app shows first: what torch.optim.AdamW does


def form_choices() -> tuple[str, ...]:
    """The values of the app's "AdamW form" control (and its URL), the default first, then registry order."""
    return (DEFAULT_FORM,) + tuple(f.form for f in FORMS.values() if f.form and f.form != DEFAULT_FORM)


def by_form(form: str) -> str:
    return next(f.name for f in FORMS.values() if f.form == form)


def pair_optimizers(pair: str, form: str) -> tuple[str, str]:
    """The two optimizers the app races: (L2 variant, decoupled variant)."""
    if pair == "sgd":
        return "sgd-l2", "sgdw"
    return "adam-l2", by_form(form)


def form_help() -> str:
    """The "AdamW form" control's help: each value with its update, from the registry."""
    forms = [FORMS[by_form(v)] for v in form_choices()]
    return "decoupled decay form: " + ", ".join(f"{f.form} ({f.rule})" for f in forms)
