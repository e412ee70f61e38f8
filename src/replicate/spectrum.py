"""Trace and spectral density of the curvature operator (PyHessian's other two outputs, on our faster product).

Hutchinson / Hutch++ estimate tr H; stochastic Lanczos quadrature estimates the spectral measure
(1/n) Σ_i δ(λ_i). Both act on `sharpness.curvature_operator`, so every product mode and chunking applies.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from replicate.eigensolvers import lanczos
from replicate.sharpness import LossFn, _check, curvature_operator

TRACE_METHODS = ("hutch++", "hutchinson")


@dataclass
class TraceResult:
    """tr(A) estimate; std_error: the sample standard error (Hutchinson only, NaN for Hutch++)."""

    value: float
    std_error: float
    n_matvecs: int
    method: str


def _rademacher(count: int, n: int, gen: torch.Generator, like: Tensor) -> Tensor:
    return (torch.randint(0, 2, (count, n), generator=gen) * 2 - 1).to(like)


def estimate_trace(op: Callable[[Tensor], Tensor], n: int, n_matvecs: int, *, method: str = "hutch++",
                   gen: torch.Generator, like: Tensor) -> TraceResult:
    """Hutchinson: tr A ≈ (1/m) Σ zᵢᵀ A zᵢ (z Rademacher; unbiased, variance 2‖A‖_F² − 2Σ A_ii² per sample).

    Hutch++ (Meyer, Musco, Musco & Woodruff 2021, Alg. 1): with m/3 products each, Q = orth(A S),
    tr A ≈ tr(QᵀAQ) + (3/m) tr(Gᵀ(I − QQᵀ)A(I − QQᵀ)G): the top of the spectrum exactly, Hutchinson
    only on the rest, so the error falls as 1/m instead of 1/√m when the spectrum decays (Hessians).
    """
    _check("method", method, TRACE_METHODS)
    if method == "hutchinson":
        if n_matvecs < 2:
            raise ValueError(f"n_matvecs must be >= 2 for Hutchinson; got {n_matvecs}")
        Z = _rademacher(n_matvecs, n, gen, like)
        samples = torch.stack([z @ op(z) for z in Z]).double()
        return TraceResult(float(samples.mean()), float(samples.std() / math.sqrt(n_matvecs)), n_matvecs, method)
    third = n_matvecs // 3
    if third < 1:
        raise ValueError(f"n_matvecs must be >= 3 for Hutch++; got {n_matvecs}")
    S, G = _rademacher(third, n, gen, like), _rademacher(third, n, gen, like)
    Q = torch.linalg.qr(torch.stack([op(s) for s in S]).T).Q.T  # (third, n), orthonormal rows
    top = sum(float(q @ op(q)) for q in Q)
    G = G - (G @ Q.T) @ Q
    rest = sum(float(g @ op(g)) for g in G) / third
    return TraceResult(top + rest, math.nan, 3 * third, method)


def hessian_trace(model: nn.Module, loss_fn: LossFn, X: Tensor, y: Tensor, *, n_matvecs: int = 60,
                  method: str = "hutch++", seed: int = 0, **kwargs) -> TraceResult:
    """tr of the Hessian (or Gauss-Newton) matrix of the mean loss by ``estimate_trace``.

    Keywords as in ``curvature_operator`` (curvature, chunk_size, bn_mode, hvp_mode).
    """
    with curvature_operator(model, loss_fn, X, y, **kwargs) as op:
        like = torch.empty(0, dtype=op.dtype, device=op.device)
        return estimate_trace(op, op.n_params, n_matvecs, method=method, gen=torch.Generator().manual_seed(seed),
                              like=like)


@dataclass
class SpectralDensity:
    """Stochastic Lanczos quadrature (Ubaru, Chen & Saad 2017; Ghorbani et al. 2019): for each Rademacher
    z (‖z‖² = n), m Lanczos steps from q = z/√n give nodes θ_j (Ritz values) and weights w_j = (e₁ᵀs_j)²
    with Σ_j w_j f(θ_j) = qᵀf(A)q exactly for polynomials f of degree < 2m; averaging over z estimates
    the spectral measure μ = (1/n) Σ_i δ(λ_i), i.e. tr f(A)/n. nodes, weights: (n_vectors, m).
    """

    nodes: Tensor
    weights: Tensor
    n_matvecs: int

    def expect(self, f: Callable[[Tensor], Tensor]) -> float:
        """∫ f dμ ≈ tr f(A)/n."""
        return float((self.weights * f(self.nodes)).sum(dim=1).mean())

    def density(self, grid: Tensor, sigma: float) -> Tensor:
        """μ smoothed by a Gaussian of width sigma, on grid (integrates to 1 over a wide grid)."""
        z = (grid.double()[:, None, None] - self.nodes[None]) / sigma
        return (self.weights[None] * torch.exp(-0.5 * z**2)).sum(dim=2).mean(dim=1) / (sigma * math.sqrt(2 * math.pi))


def slq(op: Callable[[Tensor], Tensor], n: int, *, n_vectors: int, n_steps: int, gen: torch.Generator,
        like: Tensor) -> SpectralDensity:
    """``SpectralDensity`` of op from n_vectors runs of n_steps Lanczos steps (full reorthogonalisation)."""
    if n_vectors < 1 or n_steps < 1:
        raise ValueError(f"n_vectors and n_steps must be >= 1; got {n_vectors}, {n_steps}")
    steps = min(n_steps, n)
    nodes, weights = [], []
    for z in _rademacher(n_vectors, n, gen, like):
        q = z / z.norm()
        theta, vecs, *_ = lanczos(op, n, steps, tol=0.0, max_iter=steps, v0=q, gen=gen, like=like, block_size=1)
        nodes.append(theta)
        weights.append((vecs @ q).double() ** 2)  # Ritz vector y_j = Q s_j, so y_jᵀq = s_j[0]
    return SpectralDensity(torch.stack(nodes), torch.stack(weights), n_vectors * steps)


def spectral_density(model: nn.Module, loss_fn: LossFn, X: Tensor, y: Tensor, *, n_vectors: int = 4,
                     n_steps: int = 80, seed: int = 0, **kwargs) -> SpectralDensity:
    """Spectral density of the Hessian (or Gauss-Newton) matrix by ``slq``; keywords as in ``curvature_operator``."""
    with curvature_operator(model, loss_fn, X, y, **kwargs) as op:
        like = torch.empty(0, dtype=op.dtype, device=op.device)
        return slq(op, op.n_params, n_vectors=n_vectors, n_steps=n_steps, gen=torch.Generator().manual_seed(seed),
                   like=like)
