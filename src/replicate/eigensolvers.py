"""Block Lanczos and power iteration for the k extreme eigenpairs of a symmetric operator given as products.

Pure functions over a callable `op(V) -> A V` acting on a block of rows (p, n), as in hessian-eigenthings: the
curvature operators of `replicate.sharpness` are one such operator, a dense matrix another (the tests'
oracle). Start vectors are drawn in float64 on the CPU from the caller's generator, so a seed gives the same
start on every device and precision; the projected eigenproblem is solved in float64 (scipy.linalg.eigh).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.linalg
import torch
from torch import Tensor


def _rows(v0: Tensor, n: int, like: Tensor) -> Tensor:
    if v0.dim() not in (1, 2) or v0.shape[-1] != n:
        raise ValueError(f"v0 must have shape ({n},) or (j, {n}); got {tuple(v0.shape)}")
    return v0.reshape(-1, n).to(like)


def _start_block(n: int, p: int, v0: Tensor | None, gen: torch.Generator, like: Tensor) -> Tensor:
    """p start vectors (p, n): random Gaussian; v0's rows replace the first ones (p = 1: v0's rows summed)."""
    rows = like.new_empty(0, n)
    if v0 is not None:
        rows = _rows(v0, n, like)
        if p == 1:
            rows = rows.sum(0, keepdim=True)  # a block of previous eigenvectors: start from their sum
        norms = rows.norm(dim=1)
        if not (torch.isfinite(norms).all() and (norms > 0).all()):
            raise ValueError("v0 must be a finite, nonzero vector")
    # drawn in float64, so that a float32 and a float64 run start from the same vectors
    fill = torch.randn(max(p - len(rows), 0), n, generator=gen, dtype=torch.float64, device="cpu").to(like)
    return torch.cat([rows[:p], fill])


def _orthonormalise(V: Tensor, Q: Tensor, floor: float, gen: torch.Generator, against_q: bool = True) -> Tensor:
    """Rows of V made orthonormal to Q's rows and to each other (Gram-Schmidt twice, row by row).

    against_q=False: V's rows are already orthogonal to Q (Lanczos residuals), only to each other not.
    A row whose norm falls below ``floor`` lies in span(Q) (an invariant subspace was reached): it is
    replaced by a random vector orthogonalised against everything, so the iteration can find further
    copies. Returns at most n − len(Q) rows.
    """
    n = V.shape[1]
    out: list[Tensor] = []
    for v in V:
        if len(Q) + len(out) >= n:
            break
        for attempt in range(3):
            parts = ([Q] if against_q or attempt else []) + [o[None] for o in out]
            if parts:
                basis = torch.cat(parts) if len(parts) > 1 else parts[0]
                for _ in range(2):
                    v = v - basis.T @ (basis @ v)
            norm = v.norm()
            if norm > floor:
                out.append(v / norm)
                break
            v = torch.randn(n, generator=gen, dtype=torch.float64, device="cpu").to(V)
            floor = 0.0 if attempt else floor  # a random vector: any nonzero remainder is a direction
    return torch.stack(out) if out else V[:0]


def lanczos(op: Callable[[Tensor], Tensor], n: int, k: int, *, which: str = "largest", tol: float,
            max_iter: int, v0: Tensor | None, gen: torch.Generator, like: Tensor, block_size: int | None = None
            ) -> tuple[Tensor, Tensor, Tensor, Tensor, int, list[float]]:
    """Block Lanczos with full reorthogonalisation for the k extreme eigenpairs of a symmetric A.

    Why a block: a Krylov space K_m(A, v) built from ONE vector holds a single direction of each
    eigenspace, so single-vector Lanczos sees an eigenvalue of multiplicity r once, and reports the
    next one as converged in its place. A block of p random start vectors sees min(r, p) copies
    (with probability one); p = k (the default) returns the top k with their multiplicities.

    Each step multiplies a block of p orthonormal vectors, then Rayleigh-Ritz on the whole basis:
    T = QᵀAQ (float64, from the products already made) and eigh(T). Residuals come from the block
    Lanczos relation A Q = Q T + R E_lastᵀ (R: the last products, orthogonalised against Q), i.e.
    ‖A y − θ y‖ = ‖Rᵀ s_last‖ (no extra products). A block row that vanishes (an invariant subspace) is
    replaced by a fresh random vector orthogonal to Q. Converged: residual ≤ tol·max(|θ|, 100·ε·‖T‖)
    (the floor lets exact zero eigenvalues converge). max_iter caps the basis size (= products, and
    memory max_iter × n). Returns (θ, Ritz vectors (k, n), residuals, converged, block steps, history).
    """
    p = k if block_size is None else block_size
    if p < 1:
        raise ValueError(f"block_size must be a positive integer; got {block_size}")
    basis = torch.empty(min(max(max_iter, p), n), n, dtype=like.dtype, device=like.device)  # Q = basis[:m]
    m, T = 0, np.zeros((0, 0))
    history: list[float] = []
    tiny = 100 * torch.finfo(like.dtype).eps
    scale, steps = 0.0, 0
    V = _start_block(n, p, v0, gen, like)
    while True:
        B = _orthonormalise(V, basis[:m], tiny * scale, gen, against_q=steps == 0)
        b = len(B)
        basis[m:m + b] = B
        W = torch.stack([op(q) for q in B])
        Q = basis[:m + b]
        proj = Q @ W.T  # (m + b, b): the new columns of T = QᵀAQ
        cols = proj.double().cpu().numpy()
        if not np.isfinite(cols).all():
            raise ValueError("the curvature-vector product is not finite at the given parameters")
        T = np.block([[T, cols[:m]], [cols[:m].T, (cols[m:] + cols[m:].T) / 2]])
        # Classical Gram-Schmidt twice ("CGS2") keeps Q orthonormal to rounding; the first pass reuses the
        # projections QᵀW just made for T (every pass reads the whole basis: 3 reads a step instead of 5).
        R = torch.addmm(W, proj.T, Q, alpha=-1)
        R = torch.addmm(R, R @ Q.T, Q, alpha=-1)
        steps += 1
        G = (R @ R.T).double().cpu().numpy()  # Gram matrix of the residual block
        scale = max(scale, float(np.abs(T).max()), float(np.sqrt(np.diag(G).max())))
        theta, S = scipy.linalg.eigh(T)
        idx = np.arange(len(theta))[::-1][:k] if which == "largest" else np.arange(len(theta))[:k]
        last = S[m:, idx]  # coefficients of the Ritz vectors on the last block
        m += b
        res = np.sqrt(np.maximum(np.einsum("bi,bc,ci->i", last, G, last), 0.0))
        history.append(float(theta[idx[0]]))
        ok = res <= tol * np.maximum(np.abs(theta[idx]), tiny * scale)
        # Stop when converged, when Q spans everything, or before a block would overflow max_iter < n (a
        # truncated block would leave part of R outside Q and break the residual formula above; one that
        # completes the whole space leaves R = 0).
        if (len(idx) == k and ok.all()) or m >= n or (m + p > max_iter and max_iter < n):
            break
        V = R
    vecs = torch.from_numpy(np.ascontiguousarray(S[:, idx].T)).to(like) @ Q
    return torch.from_numpy(theta[idx].copy()), vecs, torch.from_numpy(res), torch.from_numpy(ok), steps, history


def power_iteration(op: Callable[[Tensor], Tensor], n: int, k: int, *, which: str = "largest", tol: float,
                    max_iter: int, v0: Tensor | None, gen: torch.Generator, like: Tensor
                    ) -> tuple[Tensor, Tensor, Tensor, Tensor, int, list[float]]:
    """Power iteration (k = 1) or simultaneous iteration with Rayleigh-Ritz (k > 1, all k vectors at once).

    Each step: W = B V, Ritz pairs of VᵀW (float64), residuals ‖A y − λ y‖ from the same products, then
    V ← orth(W); stops when every residual ≤ tol·|λ|. Power iteration finds the eigenvalue of largest
    *magnitude* μ, so a first single-vector run on A finds μ; if k = 1 and μ has the wanted sign it is the
    answer, else the run continues on B = sA + |μ|I (s = +1 for 'largest', −1 for 'smallest'), whose
    spectrum is ≥ 0 with the wanted eigenvalues on top. The shift shrinks the relative gap and slows
    convergence — one reason Lanczos is the default. max_iter is per run.
    """
    history: list[float] = []
    n_iter = 0
    rows = None if v0 is None else _rows(v0, n, like)

    def run(sign: float, shift: float, V: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        nonlocal n_iter
        V = torch.linalg.qr(V.T).Q.T
        for _ in range(max_iter):
            W = torch.stack([sign * op(v) + shift * v for v in V])
            T = (V @ W.T).double()
            theta, S = torch.linalg.eigh((T + T.T) / 2)
            theta, S = theta.flip(0), S.flip(1).to(like)
            if not torch.isfinite(theta).all():
                raise ValueError("the curvature-vector product is not finite at the given parameters")
            Y, BY = S.T @ V, S.T @ W  # Ritz vectors and B times them
            lam = sign * (theta - shift)
            res = (BY - theta.to(like)[:, None] * Y).norm(dim=1).double()  # = ‖A y − λ y‖
            ok = res <= tol * lam.abs()
            n_iter += 1
            history.append(float(lam[0]))
            if ok.all():
                break
            V = torch.linalg.qr(BY.T).Q.T
        return lam, Y, res, ok

    def start(count: int) -> Tensor:
        V = torch.randn(count, n, generator=gen, dtype=torch.float64, device="cpu").to(like)
        if rows is not None:
            V[: len(rows)] = rows[:count]
        return V

    sign = 1.0 if which == "largest" else -1.0
    mu, y, res, ok = run(1.0, 0.0, start(1))
    if not (k == 1 and sign * mu[0] >= 0):
        mu, y, res, ok = run(sign, abs(float(mu[0])), start(k))
    return mu, y, res, ok, n_iter, history
