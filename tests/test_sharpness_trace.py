"""Hutchinson / Hutch++ traces and the SLQ spectral density against the dense Hessian of small networks."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from replicate.losses import cross_entropy, mse
from replicate.sharpness import dense_curvature
from replicate.spectrum import estimate_trace, hessian_trace, spectral_density

F64 = torch.float64


def small_net(h: int = 8) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, h), nn.Tanh(), nn.Linear(h, 3)).to(F64)
    gen = torch.Generator().manual_seed(1)
    return model, torch.randn(30, 4, generator=gen, dtype=F64), torch.randint(0, 3, (30,), generator=gen)


def test_hutchpp_with_a_full_sketch_is_exact():
    model, X, y = small_net()
    H = dense_curvature(model, cross_entropy, X, y)
    n = H.shape[0]
    res = hessian_trace(model, cross_entropy, X, y, n_matvecs=3 * n)  # Q spans everything: no estimate left
    assert res.value == pytest.approx(float(H.trace()), rel=1e-9) and res.n_matvecs == 3 * n


@pytest.mark.parametrize("curvature", ["hessian", "gauss_newton"])
def test_hutchinson_is_within_four_standard_errors(curvature: str):
    model, X, y = small_net()
    exact = float(dense_curvature(model, cross_entropy, X, y, curvature=curvature).trace())
    res = hessian_trace(model, cross_entropy, X, y, method="hutchinson", n_matvecs=200, curvature=curvature, seed=3)
    assert abs(res.value - exact) <= 4 * res.std_error  # a 4σ band of the estimator's own spread


def test_hutchpp_beats_hutchinson_on_a_decaying_spectrum():
    """A = Q diag(1/i²) Qᵀ: Hutch++'s error ∝ 1/m against Hutchinson's 1/√m (Meyer et al. 2021, Thm 1)."""
    n, m = 200, 30
    gen = torch.Generator().manual_seed(0)
    Q = torch.linalg.qr(torch.randn(n, n, generator=gen, dtype=F64))[0]
    A = Q @ torch.diag(1 / torch.arange(1, n + 1, dtype=F64) ** 2) @ Q.T
    like = torch.empty(0, dtype=F64)
    errors = {method: [abs(estimate_trace(lambda v: A @ v, n, m, method=method, like=like,
                                          gen=torch.Generator().manual_seed(s)).value - float(A.trace()))
                       for s in range(10)] for method in ("hutch++", "hutchinson")}
    assert sum(errors["hutch++"]) < sum(errors["hutchinson"]) / 3


def test_trace_bad_input():
    like = torch.empty(0, dtype=F64)
    with pytest.raises(ValueError, match="method must be one of"):
        estimate_trace(lambda v: v, 5, 9, method="xtrace", gen=torch.Generator(), like=like)
    with pytest.raises(ValueError, match="n_matvecs must be >= 3"):
        estimate_trace(lambda v: v, 5, 2, gen=torch.Generator(), like=like)


def test_slq_quadrature_is_exact_for_low_degree_moments():
    """m Lanczos steps integrate polynomials of degree < 2m exactly: Σ w_j θ_j^p = qᵀA^p q (per vector)."""
    model, X, y = small_net()
    H = dense_curvature(model, cross_entropy, X, y)
    n = H.shape[0]
    dens = spectral_density(model, cross_entropy, X, y, n_vectors=3, n_steps=5, seed=2)
    gen = torch.Generator().manual_seed(2)
    Z = (torch.randint(0, 2, (3, n), generator=gen) * 2 - 1).to(F64)  # the same probes slq draws first
    q = Z / math.sqrt(n)
    for p in (0, 1, 2, 3, 9):
        exact = torch.einsum("vi,ij,vj->v", q, torch.linalg.matrix_power(H, p), q)
        assert torch.allclose((dens.weights * dens.nodes**p).sum(dim=1), exact, rtol=1e-8, atol=1e-12), p


def test_slq_density_matches_the_dense_spectrum():
    model, X, y = small_net(h=12)
    ev = torch.linalg.eigvalsh(dense_curvature(model, mse, X, torch.nn.functional.one_hot(y, 3).to(F64)))
    n = len(ev)
    dens = spectral_density(model, mse, X, torch.nn.functional.one_hot(y, 3).to(F64), n_vectors=20, n_steps=n)
    assert torch.allclose(dens.weights.sum(dim=1), torch.ones(20, dtype=F64), atol=1e-10)
    assert dens.nodes.min() >= ev.min() - 1e-8 and dens.nodes.max() <= ev.max() + 1e-8
    assert dens.expect(lambda t: t) == pytest.approx(float(ev.mean()), rel=0.1)
    # Kolmogorov distance between the SLQ measure and the dense one (1/n per eigenvalue); each probe's
    # weight on an eigenvalue has spread ~√2/n, so the CDF error over 20 probes is ~√(2/(20 n)) ≈ 0.03.
    grid = torch.linspace(float(ev.min()) - 1e-6, float(ev.max()) + 1e-6, 400, dtype=F64)
    slq_cdf = ((dens.nodes[None] <= grid[:, None, None]) * dens.weights[None]).sum(dim=2).mean(dim=1)
    dense_cdf = (ev[None] <= grid[:, None]).double().mean(dim=1)
    assert float((slq_cdf - dense_cdf).abs().max()) <= 0.1
    smooth = dens.density(torch.linspace(float(ev.min()) - 1, float(ev.max()) + 1, 4000, dtype=F64), sigma=0.05)
    assert float(smooth.sum() * (float(ev.max() - ev.min()) + 2) / 3999) == pytest.approx(1.0, rel=1e-3)
