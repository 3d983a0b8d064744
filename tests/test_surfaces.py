import numpy as np
import pytest
import torch

from explorer.core.surfaces import SURFACES, constrained_minimum


@pytest.mark.parametrize("name", sorted(SURFACES))
def test_closed_form_gradient_equals_autograd(name):
    s = SURFACES[name]
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(200, generator=g, dtype=torch.float64) * (s.xlim[1] - s.xlim[0]) + s.xlim[0]).requires_grad_()
    y = (torch.rand(200, generator=g, dtype=torch.float64) * (s.ylim[1] - s.ylim[0]) + s.ylim[0]).requires_grad_()
    s.value(x, y).sum().backward()
    gx, gy = s.grad(x.detach(), y.detach())
    torch.testing.assert_close(gx, x.grad, rtol=1e-12, atol=1e-10)
    torch.testing.assert_close(gy, y.grad, rtol=1e-12, atol=1e-10)


@pytest.mark.parametrize("name", sorted(SURFACES))
def test_listed_minima_are_stationary_and_lowest(name):
    s = SURFACES[name]
    for mx, my in s.minima:
        gx, gy = s.grad(torch.tensor(mx, dtype=torch.float64), torch.tensor(my, dtype=torch.float64))
        assert abs(gx) < 1e-4 and abs(gy) < 1e-4
    fx, fy = constrained_minimum(s)
    best = min(float(s.value(torch.tensor(a), torch.tensor(b))) for a, b in s.minima)
    assert float(s.value(torch.tensor(fx), torch.tensor(fy))) == pytest.approx(best, abs=1e-8)


def test_l2_optimum_of_the_quadratic_is_closed_form():
    from explorer.core.surfaces import QA, QB, QC
    s = SURFACES["quadratic"]
    for lam in (0.01, 0.1, 1.0, 5.0):
        x, y = constrained_minimum(s, l2=lam)
        assert x == pytest.approx(QA * QC[0] / (QA + lam), abs=1e-7)
        assert y == pytest.approx(QB * QC[1] / (QB + lam), abs=1e-7)


@pytest.mark.parametrize("name", sorted(SURFACES))
def test_l2_optimum_zeroes_the_regularized_gradient(name):
    s = SURFACES[name]
    lam = 0.3
    x, y = constrained_minimum(s, l2=lam)
    gx, gy = s.grad(torch.tensor(x, dtype=torch.float64), torch.tensor(y, dtype=torch.float64))
    assert abs(float(gx) + lam * x) < 1e-5 and abs(float(gy) + lam * y) < 1e-5


def test_box_constrained_minimum():
    s = SURFACES["quadratic"]
    assert constrained_minimum(s, box=1.0) == pytest.approx((1.0, 1.0), abs=1e-9)
    assert constrained_minimum(s, box=10.0) == pytest.approx((2.0, 2.0), abs=1e-7)


@pytest.mark.parametrize("name", list(SURFACES))
@pytest.mark.parametrize("l2,box", [(0.0, None), (0.1, None), (1.0, None), (0.0, 0.5), (0.0, 1.5)])
def test_constrained_minimum_meets_its_optimality_conditions(name, l2, box):
    """KKT of argmin f + l2/2‖θ‖² in the window (and the box): zero gradient where a coordinate is free,
    a gradient pushing outwards where it sits on a bound; and no grid point is lower."""
    from explorer.core.surfaces import constrained_minimum, grid
    s = SURFACES[name]
    x, y = constrained_minimum(s, l2=l2, box=box)
    lo = [s.xlim[0], s.ylim[0]] if box is None else [max(s.xlim[0], -box), max(s.ylim[0], -box)]
    hi = [s.xlim[1], s.ylim[1]] if box is None else [min(s.xlim[1], box), min(s.ylim[1], box)]
    gx, gy = s.grad(torch.tensor(x, dtype=torch.float64), torch.tensor(y, dtype=torch.float64))
    for v, g, a, b in ((x, float(gx) + l2 * x, lo[0], hi[0]), (y, float(gy) + l2 * y, lo[1], hi[1])):
        assert a - 1e-12 <= v <= b + 1e-12
        if v <= a + 1e-9:
            assert g >= -1e-6
        elif v >= b - 1e-9:
            assert g <= 1e-6
        else:
            assert abs(g) < 1e-6, (v, g)
    xs, ys, f = grid(s, 201)
    xx, yy = np.meshgrid(xs, ys)
    inside = (xx >= lo[0]) & (xx <= hi[0]) & (yy >= lo[1]) & (yy <= hi[1])
    best = float(s.value(torch.tensor(x, dtype=torch.float64), torch.tensor(y, dtype=torch.float64))) \
        + l2 / 2 * (x * x + y * y)
    assert best <= (f + l2 / 2 * (xx ** 2 + yy ** 2))[inside].min() + 1e-9
