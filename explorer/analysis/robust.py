"""How sure a slope is: its median and range over the variants of the irrelevant choices (explorer.runs.variants),
and verdicts that are said only when the whole range supports them.

A frame with a `variant` column holds the same sweep under several variants; each variant's slope is the usual
measure on that variant's rows alone (its seeds averaged, as the page averages them). A verdict compares an
interval [lo, hi] with what it claims: it holds when the whole interval supports the claim, fails when the whole
interval contradicts it, and is *mixed* otherwise — then the page says so and shows which interval crosses where.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from explorer.analysis.interpret import coupling

TOLERANCE = 0.5     # a slope "matches" a prediction within this (the page's rule for a single measurement too)
HOLDS, FAILS, MIXED = "holds", "fails", "mixed"


def signed(x: float) -> str:
    """+0.57, −0.07 as ASCII (+0.57, -0.07); a slope that rounds to zero is +0.00, never -0.00."""
    return f"{round(x, 2) + 0.0:+.2f}"


@dataclass(frozen=True)
class Spread:
    """One slope over K variants: median and range of the variants that have one (nan where none has)."""
    median: float
    lo: float
    hi: float
    values: dict[str, float]        # variant → its slope (nan: fewer than two rows where λ matters)

    @property
    def k(self) -> int:
        return sum(math.isfinite(v) for v in self.values.values())

    def text(self) -> str:
        """`+0.57 [+0.29, +0.71] over 12 variants` (the CLI's and the page's spelling)."""
        if not self.k:
            return f"n/a (no variant of {len(self.values)} has two rows where λ matters)"
        missing = len(self.values) - self.k
        left = f" ({missing} without a slope)" if missing else ""
        many = "variant" if self.k == 1 else "variants"
        return f"{signed(self.median)} [{signed(self.lo)}, {signed(self.hi)}] over {self.k} {many}{left}"


def spread(values: dict[str, float]) -> Spread:
    """Median and [min, max] of the finite values (nan when none is)."""
    finite = [v for v in values.values() if math.isfinite(v)]
    if not finite:
        return Spread(math.nan, math.nan, math.nan, dict(values))
    return Spread(float(np.median(finite)), float(min(finite)), float(max(finite)), dict(values))


def by_variant(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The frame's rows per variant, in the order the variants first appear (one 'variant' when it has no column)."""
    if "variant" not in frame.columns:
        return {"as run": frame}
    return {str(v): frame[frame["variant"] == v] for v in pd.unique(frame["variant"])}


def robust_slopes(frame: pd.DataFrame, optimizers, metric: str = "test_loss", row: str = "lr",
                  exclude_edges: bool = False) -> dict[str, Spread]:
    """Per optimizer: the coupling measure (explorer.analysis.interpret.coupling) of every variant, as a Spread."""
    parts = by_variant(frame)
    return {n: spread({v: coupling(f, n, metric, row=row, exclude_edges=exclude_edges).slope
                       for v, f in parts.items()}) for n in optimizers}


def side(s: Spread, threshold: float) -> str:
    """Whether the whole interval lies at or above the threshold (HOLDS), wholly below it (FAILS), or crosses it."""
    if not s.k:
        return MIXED
    if s.lo >= threshold:
        return HOLDS
    return FAILS if s.hi < threshold else MIXED


def within(s: Spread, target: float, tolerance: float = TOLERANCE) -> str:
    """Whether the whole interval lies within target ± tolerance (HOLDS), wholly outside it (FAILS), or both."""
    if not s.k:
        return MIXED
    if target - tolerance <= s.lo and s.hi <= target + tolerance:
        return HOLDS
    return FAILS if s.hi < target - tolerance or s.lo > target + tolerance else MIXED


def matches(spreads: dict[str, Spread], predicted: dict[str, float], tolerance: float = TOLERANCE) -> str:
    """A prediction of several slopes: HOLDS when every interval lies within its prediction ± tolerance, FAILS when
    one lies wholly outside, MIXED otherwise."""
    said = [within(spreads[n], p, tolerance) for n, p in predicted.items() if n in spreads]
    if not said or FAILS in said:
        return FAILS if said else MIXED
    return HOLDS if all(s == HOLDS for s in said) else MIXED


def crossing(name: str, s: Spread, target: float, tolerance: float = TOLERANCE) -> str:
    """Why a verdict is mixed, in words: `PyTorch form −0.07 [−0.64, +0.00] reaches outside 0 ± 0.5`."""
    return f"{name} {s.text()} reaches outside {target:+g} ± {tolerance:g}"


def gap_spread(frame: pd.DataFrame, l2: str, other: str, metric: str = "test_loss") -> Spread:
    """|slope(L2) − slope(other form)| per variant: how visible the coupling is, variant by variant."""
    gaps = {}
    for v, f in by_variant(frame).items():
        gaps[v] = abs(coupling(f, l2, metric).slope - coupling(f, other, metric).slope)
    return spread(gaps)


def robust_lines(spreads: dict[str, Spread], suffix: str = "") -> list[str]:
    """The CLI's lines: `robust slope NAME: MEDIAN [LO, HI] over K variants`."""
    return [f"robust slope {n}: {s.text()}{suffix}" for n, s in spreads.items()]


def _label(name: str) -> str:
    from explorer.core.forms import OPTIMIZERS
    return OPTIMIZERS[name].label if name in OPTIMIZERS else name


def _why_mixed(spreads: dict[str, Spread], predicted: dict[str, float]) -> str:
    return "; ".join(crossing(_label(n), spreads[n], p) for n, p in predicted.items()
                     if n in spreads and within(spreads[n], p) != HOLDS)


def coupling_verdict(gap: Spread, l2: str, other: str, threshold: float) -> str:
    """Whether the coupling is visible (|slope(L2) − slope(other)| ≥ threshold) over every variant."""
    said = side(gap, threshold)
    size = (f"{gap.median:.2f} [{gap.lo:.2f}, {gap.hi:.2f}] over {gap.k} variants" if gap.k else gap.text())
    head = f"**Over the variants.** The gap between {_label(l2)}'s slope and {_label(other)}'s is {size}: "
    if said == HOLDS:
        return head + f"the whole interval is at or above {threshold:g} — the coupling is visible in every variant."
    if said == FAILS:
        return head + f"the whole interval is below {threshold:g} — the coupling is not visible in any variant."
    below = sum(v < threshold for v in gap.values.values() if math.isfinite(v))
    return head + (f"the interval crosses {threshold:g} — **the evidence is mixed**: the gap is below {threshold:g} in "
                   f"{below} of {gap.k} variants, so whether the coupling shows depends on choices that should not "
                   "matter (seeds, batch order, init stream).")


def regime_verdict(spreads: dict[str, Spread], scale_invariant: bool = True) -> str:
    """Which regime's prediction the AdamW forms' intervals support, only where the whole intervals do (the
    rotational one only for a model with scale-invariant weights)."""
    from explorer.analysis.predictions import REGIMES
    said = {p.name: matches(spreads, p.slopes) for p in REGIMES.values()
            if scale_invariant or p.name != "rotational"}
    measured = ", ".join(f"{_label(n)} {spreads[n].text()}" for n in ("adamw-torch", "adamw") if n in spreads)
    held = [n for n, r in said.items() if r == HOLDS]
    if held:
        return (f"**Over the variants** ({measured}) the whole intervals support the *{'* and *'.join(held)}* "
                f"prediction (each slope within {TOLERANCE:g} of it in every variant).")
    mixed = [n for n, r in said.items() if r == MIXED]
    if mixed:
        why = " | ".join(f"*{n}*: {_why_mixed(spreads, REGIMES[n].slopes)}" for n in mixed)
        return (f"**Over the variants** ({measured}) **the evidence is mixed**: no prediction holds in every "
                f"variant. {why}.")
    return f"**Over the variants** ({measured}) no prediction holds in any variant."


def transfer_verdict(axis: str, spreads: dict[str, Spread]) -> str:
    """Per rule, whether the decoupled forms' intervals all lie within its predicted slope ± TOLERANCE."""
    from explorer.analysis.predictions import RULES
    from explorer.analysis.transfer import predicted_slope
    parts = []
    for rule in RULES:
        pred = {n: p for n in spreads if (p := predicted_slope(rule, axis, n)) is not None}
        if not pred:
            continue
        said = matches(spreads, pred)
        if said == HOLDS:
            parts.append(f"*{rule}*: **matches** in every variant")
        elif said == FAILS:
            parts.append(f"*{rule}*: does not match ({_why_mixed(spreads, pred)})")
        else:
            parts.append(f"*{rule}*: **the evidence is mixed** ({_why_mixed(spreads, pred)})")
    return "**Over the variants.** " + "; ".join(parts) + "." if parts else ""


@dataclass(frozen=True)
class Robust:
    """What a sweep run under several variants says, with how sure it is."""
    row: str                          # the frame's row column (lr, steps, train_samples, batch_size)
    spreads: dict[str, Spread]        # per optimizer
    gap: Spread | None                # lr sweeps: |slope(L2) − slope(decoupled form closest to 0)| per variant
    verdicts: list[str]               # markdown, each said only as far as the whole intervals support it

    def lines(self) -> list[str]:
        return robust_lines(self.spreads)


def robust_summary(cfg, frame: pd.DataFrame, metric: str = "test_loss") -> Robust:
    """cfg: the SweepConfig or AxisSweep the frame (with a `variant` column) was run from."""
    from explorer.analysis.interpret import COUPLING_VISIBLE
    from explorer.runs.transfer import AxisSweep, base_of, row_column
    base, row = base_of(cfg), row_column(cfg)
    spreads = robust_slopes(frame, base.optimizers, metric, row=row)
    if isinstance(cfg, AxisSweep):
        verdict = transfer_verdict(cfg.axis, spreads)
        return Robust(row, spreads, None, [verdict] if verdict else [])
    l2 = "adam-l2" if base.pair == "adam" else "sgd-l2"
    others = [n for n in base.optimizers if n != l2 and spreads[n].k]
    gap, verdicts = None, []
    if l2 in spreads and others:
        closest = min(others, key=lambda n: abs(spreads[n].median))
        gap = gap_spread(frame, l2, closest, metric)
        verdicts.append(coupling_verdict(gap, l2, closest, COUPLING_VISIBLE))
    if base.pair == "adam" and {"adamw", "adamw-torch"} <= set(spreads):
        verdicts.append(regime_verdict({n: spreads[n] for n in ("adamw-torch", "adamw")}, base.train.model == "mlp-ln"))
    return Robust(row, spreads, gap, verdicts)


def plain(markdown: str) -> str:
    """A verdict for a terminal: the page's emphasis marks dropped."""
    return markdown.replace("**", "").replace("*", "")
