"""What a run's decay timescales mean, in words: the regime a run is in and what the theory predicts there."""
from __future__ import annotations

from explorer.core.measures import EQUILIBRIUM_N, NEGLIGIBLE_N, Timescale, predicts_rotation, run_timescales


def regime_of(t: Timescale, scale_invariant_layers: bool) -> str:
    """Which regime the decay of this run is in, by its N (and whether some layers are scale-invariant)."""
    if t.lam_torch is None:
        return "no single timescale: Adam+L2's decay runs through √v̂"
    if t.lam_torch == 0:
        return "no decay"
    if t.negligible:
        return "decay barely acts (N < 0.1)"
    if t.n < EQUILIBRIUM_N:
        return f"transient: the start is not forgotten (N < {EQUILIBRIUM_N:g})"
    if scale_invariant_layers and predicts_rotation(t.optimizer):
        return "equilibrium: LayerNorm layers should turn at the predicted rate, the output layer sit at a fixed point"
    if predicts_rotation(t.optimizer):
        return "equilibrium: near AdamW's fixed point m̂/(√v̂+ε) = −λ_torch·θ"
    return "equilibrium: the start is forgotten"


def describe(t: Timescale) -> str:
    """One timescale in words (the CLI's line; the page shows the same numbers)."""
    if t.lam_torch is None:
        return (f"{t.optimizer}: no single timescale (its decay α·λ/(√v̂+ε) differs per weight and moves "
                "with v̂)")
    if t.lam_torch == 0:
        return f"{t.optimizer}: no decay"
    text = (f"{t.optimizer}: λ_torch = {t.lam_torch:.4g}, τ = 1/(α·λ_torch) = {t.tau_steps:,.4g} steps "
            f"({t.tau_epochs:,.4g} epochs), N = α·λ_torch·Ση_t = {t.n:.4g}, e^-N = {t.surviving:.4g} of the "
            "initial weights would survive without gradients")
    if t.negligible:
        text += f"; N < {NEGLIGIBLE_N}: the decay can barely act in this run"
    return text


def timescale_lines(cfg) -> list[str]:
    return ["timescale " + describe(t) for t in run_timescales(cfg)]
