"""Repeated eigenvalues: top_eigenvalues(k > 1) against scipy eigsh and curvlinops (float64).

A single-vector Krylov space holds one direction per eigenspace; these spectra have multiplicities, so a
solver that ignores them returns (4, 2, 1) for (4, 4, 4, 2, 1, …) and reports it converged.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse.linalg
import torch
from torch import nn

from replicate.losses import cross_entropy, mse
from replicate.eigensolvers import lanczos
from replicate.sharpness import curvature_operator, top_eigenvalues

F64 = torch.float64


def eigsh_top(matvec, n: int, k: int) -> np.ndarray:
    """scipy's ARPACK on a LinearOperator: the k largest algebraic eigenvalues, descending."""
    lin = scipy.sparse.linalg.LinearOperator((n, n), matvec=matvec, dtype=np.float64)
    return np.sort(scipy.sparse.linalg.eigsh(lin, k=k, which="LA", tol=1e-12)[0])[::-1]


def repeated_spectrum_matrix(n: int = 60, seed: int = 0) -> tuple[torch.Tensor, np.ndarray]:
    gen = torch.Generator().manual_seed(seed)
    tail = torch.rand(n - 5, generator=gen, dtype=F64) * 0.9
    spectrum = torch.cat([torch.tensor([4.0, 4.0, 4.0, 2.0, 1.0], dtype=F64), tail])
    Q = torch.linalg.qr(torch.randn(n, n, generator=gen, dtype=F64))[0]
    return Q @ torch.diag(spectrum) @ Q.T, np.sort(spectrum.numpy())[::-1]


@pytest.mark.parametrize("k", [3, 5])
def test_lanczos_returns_multiplicities_like_eigsh(k: int):
    A, spectrum = repeated_spectrum_matrix()
    n = A.shape[0]
    vals, vecs, res, ok, _, _ = lanczos(lambda v: A @ v, n, k, tol=1e-10, max_iter=n, v0=None,
                                        gen=torch.Generator().manual_seed(0), like=torch.empty(0, dtype=F64))
    ref = eigsh_top(lambda v: (A @ torch.from_numpy(np.asarray(v).ravel())).numpy(), n, k)
    np.testing.assert_allclose(ref, spectrum[:k], rtol=1e-10)
    np.testing.assert_allclose(vals.numpy(), ref, rtol=1e-8)
    assert bool(ok.all())
    assert torch.allclose(vecs @ vecs.T, torch.eye(k, dtype=F64), atol=1e-8)  # k independent eigenvectors
    assert torch.allclose((vecs @ A - vals[:, None] * vecs).norm(dim=1), res, atol=1e-9)


def test_single_vector_block_cannot_see_a_multiplicity_and_says_so_honestly():
    """block_size=1 is plain Lanczos: the copies are out of its Krylov space, so it must not claim them."""
    A, spectrum = repeated_spectrum_matrix()
    n = A.shape[0]
    vals, _, res, ok, _, _ = lanczos(lambda v: A @ v, n, 3, tol=1e-10, max_iter=n, v0=None, block_size=1,
                                     gen=torch.Generator().manual_seed(0), like=torch.empty(0, dtype=F64))
    # Whatever it returns, every pair reported converged is a true eigenpair (residual ≤ tol·|θ|) ...
    assert (res[ok] <= 1e-10 * vals[ok].abs() + 1e-12).all()
    # ... and the default block (k) gets the multiplicity right.
    full = lanczos(lambda v: A @ v, n, 3, tol=1e-10, max_iter=n, v0=None, gen=torch.Generator().manual_seed(0),
                   like=torch.empty(0, dtype=F64))[0]
    np.testing.assert_allclose(full.numpy(), spectrum[:3], rtol=1e-8)


@pytest.mark.parametrize("method", ["lanczos", "power"])
def test_k_output_linear_model_mse_has_k_fold_eigenvalues(method: str):
    """f(x) = Wx with K outputs under losses.mse: H = I_K ⊗ XᵀX/n, every eigenvalue K-fold."""
    n, d, K = 40, 5, 3
    gen = torch.Generator().manual_seed(2)
    X = torch.randn(n, d, generator=gen, dtype=F64) * torch.tensor([3.0, 2.0, 1.5, 1.0, 0.5], dtype=F64)
    y = torch.randn(n, K, generator=gen, dtype=F64)
    model = nn.Linear(d, K, bias=False).to(F64)
    dense = torch.kron(torch.eye(K, dtype=F64), X.T @ X / n)
    exact = torch.linalg.eigvalsh(dense).flip(0).numpy()
    k = 2 * K + 1
    res = top_eigenvalues(model, mse, X, y, k=k, method=method, tol=1e-9, max_iter=2000, chunk_size=16)
    with curvature_operator(model, mse, X, y) as op:
        ref = eigsh_top(lambda v: op(torch.from_numpy(np.asarray(v).ravel())).numpy(), op.n_params, k)
    np.testing.assert_allclose(ref, exact[:k], rtol=1e-9)
    np.testing.assert_allclose(res.eigenvalues.numpy(), ref, rtol=1e-6)
    assert res.all_converged


def test_unconverged_result_is_marked_not_converged():
    A, _ = repeated_spectrum_matrix()
    vals, _, res, ok, _, _ = lanczos(lambda v: A @ v, 60, 3, tol=1e-12, max_iter=6, v0=None,
                                     gen=torch.Generator().manual_seed(0), like=torch.empty(0, dtype=F64))
    assert not bool(ok.all()) and (res[~ok] > 1e-12 * vals[~ok].abs()).all()


# --- against curvlinops (test-only dependency: pip install --no-deps, see benchmarks/requirements.txt) ----
class ConvBN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 4 * 4, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def _case(name: str):
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    if name == "conv_bn_eval":
        model = ConvBN().to(F64).eval()
        with torch.no_grad():
            model.net[1].running_mean.uniform_(-0.5, 0.5)
            model.net[1].running_var.uniform_(0.5, 2.0)
        X = torch.randn(20, 1, 6, 6, generator=gen, dtype=F64)
        return model, X, torch.randint(0, 3, (20,), generator=gen), "ce", "eval"
    model = nn.Sequential(nn.Linear(4, 32), nn.Tanh(), nn.Linear(32, 3)).to(F64)  # 259 parameters
    X = torch.randn(24, 4, generator=gen, dtype=F64)
    if name == "mlp_mse":
        return model, X, torch.randn(24, 3, generator=gen, dtype=F64), "mse", None
    return model, X, torch.randint(0, 3, (24,), generator=gen), "ce", None


@pytest.mark.parametrize("name", ["mlp_mse", "mlp_ce", "conv_bn_eval", "linear_k_outputs"])
def test_top_eigenvalues_match_curvlinops_eigsh(name: str):
    curvlinops = pytest.importorskip("curvlinops")
    if name == "linear_k_outputs":
        gen = torch.Generator().manual_seed(3)
        model, bn_mode, loss = nn.Linear(4, 3, bias=False).to(F64), None, "mse"
        X, y = torch.randn(30, 4, generator=gen, dtype=F64), torch.randn(30, 3, generator=gen, dtype=F64)
    else:
        model, X, y, loss, bn_mode = _case(name)
    K = 3
    # losses.mse = ½·mean over samples of Σ_outputs = (K/2)·nn.MSELoss(mean over samples and outputs)
    ours_loss, theirs, factor = (mse, nn.MSELoss(), K / 2) if loss == "mse" else (cross_entropy, nn.CrossEntropyLoss(), 1)
    params = [p for p in model.parameters() if p.requires_grad]
    H = curvlinops.HessianLinearOperator(model, theirs, params, [(X[:10], y[:10]), (X[10:], y[10:])]).to_scipy()
    k = 4
    ref = np.sort(scipy.sparse.linalg.eigsh(H, k=k, which="LA", tol=1e-12)[0])[::-1] * factor
    res = top_eigenvalues(model, ours_loss, X, y, k=k, bn_mode=bn_mode, tol=1e-9, chunk_size=10)
    np.testing.assert_allclose(res.eigenvalues.numpy(), ref, rtol=1e-6)
    assert res.all_converged
    n_params = sum(p.numel() for p in params)
    assert name == "linear_k_outputs" or res.n_matvecs < n_params  # converged, not merely exhausted the space
    if name == "linear_k_outputs":  # I_3 ⊗ XᵀX/n: the top eigenvalue three times
        np.testing.assert_allclose(res.eigenvalues[:3].numpy(), np.full(3, ref[0]), rtol=1e-8)
