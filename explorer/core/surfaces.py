"""2-D test functions with closed-form value and gradient (checked against autograd in the tests).

Each function takes the two coordinates as tensors of any (equal) shape, so one call evaluates a
whole batch of runs, a whole trajectory, or a whole contour grid.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

Tensor = torch.Tensor


@dataclass(frozen=True)
class Surface:
    name: str
    title: str
    latex: str
    value: Callable[[Tensor, Tensor], Tensor]
    grad: Callable[[Tensor, Tensor], tuple[Tensor, Tensor]]
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    start: tuple[float, float]
    minima: tuple[tuple[float, float], ...]
    note: str


# --- ill-conditioned quadratic, minimum away from the origin -------------------------------------
# Curvatures differ 100×, so Adam's per-coordinate 1/√v̂ rescales the L2 pull very differently on
# the two axes, while decoupled decay shrinks both at the same rate.
QA, QB, QC = 10.0, 0.1, (2.0, 2.0)


def _quad_value(x, y):
    return 0.5 * (QA * (x - QC[0]) ** 2 + QB * (y - QC[1]) ** 2)


def _quad_grad(x, y):
    return QA * (x - QC[0]), QB * (y - QC[1])


def _rosen_value(x, y):
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


def _rosen_grad(x, y):
    r = torch.addcmul(y, x, x, value=-1)                       # y − x²
    return torch.addcmul(2 * (x - 1), x, r, value=-400), 200 * r


def _himmel_value(x, y):
    return (x * x + y - 11) ** 2 + (x + y * y - 7) ** 2


def _himmel_grad(x, y):
    a, b = torch.addcmul(y - 11, x, x), torch.addcmul(x - 7, y, y)     # x²+y−11, x+y²−7
    return torch.addcmul(2 * b, x, a, value=4), torch.addcmul(2 * a, y, b, value=4)


def _rastrigin_value(x, y):
    tau = 2 * math.pi
    return 20 + x * x - 10 * torch.cos(tau * x) + y * y - 10 * torch.cos(tau * y)


def _rastrigin_grad(x, y):
    tau = 2 * math.pi
    return (torch.add(2 * x, torch.sin(tau * x), alpha=10 * tau),
            torch.add(2 * y, torch.sin(tau * y), alpha=10 * tau))


SURFACES: dict[str, Surface] = {s.name: s for s in (
    Surface("quadratic", "Ill-conditioned quadratic",
            r"f(x,y)=\tfrac12\left(%g\,(x-%g)^2+%g\,(y-%g)^2\right)" % (QA, QC[0], QB, QC[1]),
            _quad_value, _quad_grad, (-1.0, 3.0), (-1.0, 3.0), (-0.5, -0.5), (QC,),
            "curvatures 10 and 0.1; minimum at (2, 2), away from the origin where decay pulls"),
    Surface("rosenbrock", "Rosenbrock", r"f(x,y)=(1-x)^2+100\,(y-x^2)^2",
            _rosen_value, _rosen_grad, (-2.0, 2.0), (-1.0, 3.0), (-1.5, 2.5), ((1.0, 1.0),),
            "curved valley; minimum at (1, 1)"),
    Surface("himmelblau", "Himmelblau", r"f(x,y)=(x^2+y-11)^2+(x+y^2-7)^2",
            _himmel_value, _himmel_grad, (-5.0, 5.0), (-5.0, 5.0), (0.0, -0.5),
            ((3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848127)),
            "four minima of value 0"),
    Surface("rastrigin", "Rastrigin",
            r"f(x,y)=20+\sum_{u\in\{x,y\}}\left(u^2-10\cos 2\pi u\right)",
            _rastrigin_value, _rastrigin_grad, (-5.12, 5.12), (-5.12, 5.12), (3.3, 2.6), ((0.0, 0.0),),
            "many local minima; global minimum at the origin"),
)}


def grid(surface: Surface, n: int = 120) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Values of f on an n×n grid over the surface's plotting window: (xs, ys, f[y, x])."""
    xs = torch.linspace(*surface.xlim, n, dtype=torch.float64)
    ys = torch.linspace(*surface.ylim, n, dtype=torch.float64)
    yy, xx = torch.meshgrid(ys, xs, indexing="ij")
    return xs.numpy(), ys.numpy(), surface.value(xx, yy).numpy()


def constrained_minimum(surface: Surface, l2: float = 0.0, box: float | None = None,
                        n: int = 201) -> tuple[float, float]:
    """argmin f(θ) + l2/2·‖θ‖² over the plotting window, optionally subject to ‖θ‖∞ ≤ box.

    l2 > 0, box None: the L2-regularized optimum, the point Adam+L2 (and SGD+L2) must end at if it
    converges — its fixed points are the zeros of ∇f + λθ.
    l2 = 0, box = 1/λ_eff: the deterministic limit of AdamW. Its fixed points satisfy
    m̂/(√v̂+ε) = −λ_eff·θ; with exact gradients m̂/√v̂ → sign(∇f), so a coordinate stops either where
    ∇f ≈ 0 inside |θ_i| < 1/λ_eff or at the wall |θ_i| = 1/λ_eff (Xie & Li 2024: AdamW solves an
    ℓ∞-constrained problem). With gradient noise √v̂ grows and the wall moves inwards.
    Global search on an n×n grid, then projected Newton steps (active set for the box, backtracking on
    the objective) from the best grid point, in float64. No scipy: importing scipy.optimize cost the
    first page 0.4 s.
    """
    lo = np.array([surface.xlim[0], surface.ylim[0]], dtype=float)
    hi = np.array([surface.xlim[1], surface.ylim[1]], dtype=float)
    if box is not None:
        lo, hi = np.maximum(lo, -box), np.minimum(hi, box)
        if np.any(lo > hi):                     # the box misses the window: clip to what is shown
            lo, hi = np.minimum(lo, hi), np.minimum(lo, hi)

    def objective(v: np.ndarray) -> tuple[float, np.ndarray]:
        x, y = torch.tensor(v[0], dtype=torch.float64), torch.tensor(v[1], dtype=torch.float64)
        gx, gy = surface.grad(x, y)
        f = surface.value(x, y) + 0.5 * l2 * (x * x + y * y)
        return float(f), np.array([float(gx) + l2 * v[0], float(gy) + l2 * v[1]])

    xs = torch.linspace(lo[0], hi[0], n, dtype=torch.float64)
    ys = torch.linspace(lo[1], hi[1], n, dtype=torch.float64)
    yy, xx = torch.meshgrid(ys, xs, indexing="ij")
    vals = surface.value(xx, yy) + 0.5 * l2 * (xx * xx + yy * yy)
    k = int(torch.argmin(vals))
    v = np.array([float(xx.flatten()[k]), float(yy.flatten()[k])])
    v = _projected_newton(objective, v, lo, hi)
    return float(v[0]), float(v[1])


def _projected_newton(objective, v: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Minimize objective (v ↦ (f, ∇f)) from v within the box [lo, hi]: Newton steps on the free coordinates
    (active set: a coordinate at a bound whose gradient points outwards stays there), Hessian by central
    differences, a gradient step where Newton's is no descent, backtracking on the objective."""
    f, g = objective(v)
    scale = float(np.max(hi - lo)) or 1.0
    for _ in range(200):
        # coordinates held at a bound by a gradient pointing outwards stay there
        free = ~(((v <= lo) & (g > 0)) | ((v >= hi) & (g < 0)))
        if not free.any() or np.max(np.abs(g[free])) < 1e-13:
            break
        h = 1e-6 * scale
        hess = np.array([(objective(v + e)[1] - objective(v - e)[1]) / (2 * h) for e in np.eye(2) * h])
        hess = (hess + hess.T) / 2
        d = np.zeros(2)
        sub = hess[np.ix_(free, free)]
        try:
            step = -np.linalg.solve(sub, g[free])
            if step @ g[free] >= 0:             # not a descent direction (non-convex): gradient step
                raise np.linalg.LinAlgError
        except np.linalg.LinAlgError:
            step = -g[free] * (scale / max(np.linalg.norm(g[free]), 1e-300))
        d[free] = step
        t = 1.0
        while t > 1e-12:
            w = np.clip(v + t * d, lo, hi)
            fw, gw = objective(w)
            if fw <= f - 1e-4 * abs(g @ (w - v)) or fw < f:
                break
            t /= 2
        else:
            break
        if np.max(np.abs(w - v)) < 1e-15 * scale:
            v, f, g = w, fw, gw
            break
        v, f, g = w, fw, gw
    return v
