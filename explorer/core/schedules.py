"""The schedule multiplier η_t of the paper (t = 1, 2, … is the step being taken; lr_t = α·η_t).

Each kind equals its torch.optim.lr_scheduler construction (tested), with an optional linear warm-up:

    constant       η_t = 1                                                        (no scheduler)
    cosine         η_t = η_min + (1−η_min)·½(1 + cos(π·(t−1)/T))                  CosineAnnealingLR(T)
    step           η_t = γ^⌊(t−1)/step_size⌋                                      StepLR(step_size, γ)
    warm_restarts  cosine over periods T_0, T_0·T_mult, … (SGDR)                  CosineAnnealingWarmRestarts
    linear         η_t = 1 − (t−1)/T, to zero                                     LinearLR(1, 0, T)
    wsd            warm-up, stable at 1, then linear to zero over the last
                   fraction of the steps (warmup-stable-decay)                    SequentialLR(ConstantLR, LinearLR)
    warm-up W      η_t = t/W for t ≤ W, then the schedule over the other T − W    SequentialLR(LinearLR(1/W), …)
"""
from __future__ import annotations

import math
from dataclasses import dataclass

SCHEDULES = ("constant", "cosine", "step", "warm_restarts", "linear", "wsd")


@dataclass(frozen=True)
class Schedule:
    kind: str = "constant"
    total_steps: int = 1000
    t0: int = 200
    t_mult: int = 2
    step_size: int = 0          # 0 → (total_steps − warmup) // 3
    gamma: float = 0.1
    eta_min: float = 0.0
    warmup: int = 0             # steps of linear warm-up before the schedule
    decay_fraction: float = 0.2  # wsd: the share of the (post-warm-up) steps spent decaying to zero

    def __post_init__(self):
        if self.kind not in SCHEDULES:
            raise ValueError(f"unknown schedule {self.kind!r}; choose from {', '.join(SCHEDULES)}")
        if self.warmup < 0 or not 0 < self.decay_fraction <= 1:
            raise ValueError("warm-up must be ≥ 0 steps and the wsd decay fraction in (0, 1]")

    def multiplier(self, t: int) -> float:
        if t <= self.warmup:
            return t / self.warmup
        return self._after_warmup(t - self.warmup, max(1, self.total_steps - self.warmup))

    def _after_warmup(self, t: int, total: int) -> float:
        e = t - 1  # steps already taken
        if self.kind == "constant":
            return 1.0
        if self.kind == "step":
            every = self.step_size or max(1, total // 3)
            return self.gamma ** (e // every)
        if self.kind == "linear":
            return max(0.0, 1.0 - e / total)
        if self.kind == "wsd":
            decaying = max(1, round(self.decay_fraction * total))
            return 1.0 if e < total - decaying else max(0.0, 1.0 - (e - (total - decaying)) / decaying)
        if self.kind == "cosine":
            t_cur, t_i = e, total
        else:
            t_cur, t_i = e, max(1, self.t0)
            while t_cur >= t_i:
                t_cur -= t_i
                t_i *= max(1, self.t_mult)
        return self.eta_min + (1.0 - self.eta_min) * 0.5 * (1.0 + math.cos(math.pi * t_cur / t_i))

    def multipliers(self, steps: int) -> list[float]:
        return [self.multiplier(t) for t in range(1, steps + 1)]
