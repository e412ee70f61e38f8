"""replicate.sharpness against closed forms and dense oracles (float64, relative error ≤ 1e-4)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from replicate.losses import cross_entropy, mse
from replicate.sharpness import (
    DEFAULT_HVP_MODE,
    SharpnessTracker,
    curvature_operator,
    dense_curvature,
    hvp,
    ntk_matrix,
    top_eigenvalues,
)

F64 = torch.float64


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(((a - b).abs() / b.abs()).max())


def mlp(act: type[nn.Module], bn: bool = False, seed: int = 0, d: int = 4, h: int = 6, o: int = 3) -> nn.Module:
    torch.manual_seed(seed)
    layers: list[nn.Module] = [nn.Linear(d, h)]
    if bn:
        layers.append(nn.BatchNorm1d(h))
    layers += [act(), nn.Linear(h, o)]
    return nn.Sequential(*layers).to(F64)


def data(n: int = 24, d: int = 4, o: int = 3, seed: int = 1, classes: bool = False):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g, dtype=F64)
    y = torch.randint(0, o, (n,), generator=g) if classes else torch.randn(n, o, generator=g, dtype=F64)
    return X, y


class Quadratic(nn.Module):
    """model(x) = w repeated per sample; with loss ½ wᵀAw the Hessian is A."""

    def __init__(self, d: int) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.randn(d, dtype=F64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.w.expand(x.shape[0], -1)


class TwoLayerLinear(nn.Module):
    """The catapult chapter's f(x) = vᵀu·x/√n."""

    def __init__(self, n: int, seed: int = 0) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.n = n
        self.u = nn.Parameter(torch.randn(n, generator=g, dtype=F64))
        self.v = nn.Parameter(torch.randn(n, generator=g, dtype=F64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.u @ self.v) * x / math.sqrt(self.n)


# --- closed forms --------------------------------------------------------------------------------
def test_linear_regression_hessian_is_XtX_over_n_with_uneven_chunks():
    X, _ = data(n=50, d=6, o=1)
    y = torch.randn(50, 1, dtype=F64)
    model = nn.Linear(6, 1, bias=False).to(F64)
    exact = torch.linalg.eigvalsh(X.T @ X / 50).flip(0)[:3]
    res = top_eigenvalues(model, mse, X, y, k=3, chunk_size=16)  # chunks 16, 16, 16, 2: weighting matters
    assert rel_err(res.eigenvalues, exact) <= 1e-4 and res.all_converged
    assert res.n_matvecs <= 6  # Lanczos on a 6×6 matrix needs at most 6 products
    assert res.loss == pytest.approx(float(0.5 * (model(X) - y).detach().pow(2).mean()))


def test_quadratic_with_dominant_negative_eigenvalue_returns_top_algebraic():
    torch.manual_seed(0)
    spectrum = torch.tensor([-10.0, 3.0, 2.0, 1.0, 0.5, -1.0], dtype=F64)
    Qm = torch.linalg.qr(torch.randn(6, 6, dtype=F64))[0]
    A = Qm @ torch.diag(spectrum) @ Qm.T
    loss = lambda out, _y: 0.5 * torch.einsum("ni,ij,nj->n", out, A, out).mean()  # noqa: E731
    X, y = torch.zeros(3, 1, dtype=F64), torch.zeros(3, 1, dtype=F64)
    model = Quadratic(6)
    for method in ("lanczos", "power"):
        top = top_eigenvalues(model, loss, X, y, k=2, method=method, tol=1e-8, max_iter=2000)
        assert rel_err(top.eigenvalues, torch.tensor([3.0, 2.0], dtype=F64)) <= 1e-4, method
        assert top.all_converged, method
        bottom = top_eigenvalues(model, loss, X, y, k=2, method=method, which="smallest", tol=1e-8, max_iter=2000)
        assert rel_err(bottom.eigenvalues, torch.tensor([-10.0, -1.0], dtype=F64)) <= 1e-4, method  # ascending
        assert bottom.all_converged, method
    # eigenvectors are unit vectors satisfying A v = λ v
    v = top.eigenvectors[0]
    assert torch.allclose(A @ v, 3.0 * v, atol=1e-6) and v.norm().item() == pytest.approx(1.0)


@pytest.mark.parametrize("at_interpolation", [True, False])
def test_two_layer_linear_model_catapult_lambda0(at_interpolation: bool):
    n = 20
    model = TwoLayerLinear(n)
    X = torch.ones(1, 1, dtype=F64)
    with torch.no_grad():
        f = model(X)
    y = f.clone() if at_interpolation else f + 1.5
    lam0 = (model.u.detach().norm() ** 2 + model.v.detach().norm() ** 2) / n
    gn = top_eigenvalues(model, mse, X, y, curvature="gauss_newton")
    assert rel_err(gn.eigenvalues, lam0.reshape(1)) <= 1e-4 and gn.all_converged
    assert torch.linalg.eigvalsh(ntk_matrix(model, X))[-1].item() == pytest.approx(lam0.item(), rel=1e-10)
    hess = top_eigenvalues(model, mse, X, y, k=2)
    if at_interpolation:  # H = ∇f∇fᵀ: rank one, eigenvalues λ0 and 0 (the zero one converges via breakdown)
        assert rel_err(hess.eigenvalues[:1], lam0.reshape(1)) <= 1e-4 and hess.all_converged
        assert abs(hess.eigenvalues[1].item()) <= 1e-10
    else:  # the residual term (f − y)∇²f moves the Hessian off the NTK; check against the dense Hessian
        exact = torch.linalg.eigvalsh(dense_curvature(model, mse, X, y)).flip(0)[:2]
        assert rel_err(hess.eigenvalues, exact) <= 1e-4 and hess.all_converged
        assert abs(hess.eigenvalues[0].item() - lam0.item()) > 1e-2


# --- dense oracles -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "act, bn, bn_mode, loss, chunk",
    [
        (nn.ReLU, False, None, "ce", 10),
        (nn.Tanh, False, None, "mse", 7),
        (nn.Tanh, True, "train", "ce", None),
        (nn.ReLU, True, "eval", "mse", 10),
    ],
)
def test_mlp_top_eigenvalues_match_dense_hessian(act, bn, bn_mode, loss, chunk):
    model = mlp(act, bn=bn)
    X, y = data(classes=loss == "ce")
    loss_fn = cross_entropy if loss == "ce" else mse
    if bn:  # non-trivial running statistics so that eval mode differs from train mode
        with torch.no_grad():
            model[1].running_mean.uniform_(-0.5, 0.5)
            model[1].running_var.uniform_(0.5, 2.0)
    H = dense_curvature(model, loss_fn, X, y, chunk_size=chunk, bn_mode=bn_mode)
    assert torch.allclose(H, H.T, atol=1e-10)
    ev = torch.linalg.eigvalsh(H)
    top = top_eigenvalues(model, loss_fn, X, y, k=3, chunk_size=chunk, bn_mode=bn_mode)
    assert rel_err(top.eigenvalues, ev.flip(0)[:3]) <= 1e-4 and top.all_converged
    bottom = top_eigenvalues(model, loss_fn, X, y, k=1, which="smallest", chunk_size=chunk, bn_mode=bn_mode)
    assert rel_err(bottom.eigenvalues, ev[:1]) <= 1e-4 and bottom.all_converged
    # reported residuals (from the Lanczos relation) equal ‖Hv − θv‖ computed densely
    dense_res = (top.eigenvectors @ H - top.eigenvalues[:, None] * top.eigenvectors).norm(dim=1)
    assert torch.allclose(top.residuals, dense_res, atol=1e-9)


def test_power_iteration_matches_dense_and_reports_residual():
    model = mlp(nn.Tanh)
    X, y = data(classes=True)
    H = dense_curvature(model, cross_entropy, X, y)
    ev = torch.linalg.eigvalsh(H)
    res = top_eigenvalues(model, cross_entropy, X, y, method="power", tol=1e-7)
    assert rel_err(res.eigenvalues, ev[-1:]) <= 1e-4 and res.all_converged
    v, lam = res.eigenvectors[0], res.eigenvalues[0]
    assert (H @ v - lam * v).norm().item() == pytest.approx(res.residuals[0].item(), rel=1e-6, abs=1e-12)
    assert res.n_matvecs == res.n_iter > 1


def test_gauss_newton_matches_ntk_and_dense_gauss_newton():
    model = mlp(nn.Tanh, o=2)
    X, y = data(n=30, o=2)
    ntk_top = torch.linalg.eigvalsh(ntk_matrix(model, X))[-1]
    gn = top_eigenvalues(model, mse, X, y, k=2, curvature="gauss_newton", chunk_size=8)
    assert rel_err(gn.eigenvalues[:1], ntk_top.reshape(1)) <= 1e-4 and gn.all_converged
    G = dense_curvature(model, mse, X, y, curvature="gauss_newton")
    assert rel_err(gn.eigenvalues, torch.linalg.eigvalsh(G).flip(0)[:2]) <= 1e-4
    # for cross-entropy the generic G = Jᵀ H_out J is checked against the dense one
    Xc, yc = data(n=30, o=2, classes=True)
    gce = top_eigenvalues(model, cross_entropy, Xc, yc, curvature="gauss_newton", hvp_mode="double_backward")
    Gce = dense_curvature(model, cross_entropy, Xc, yc, curvature="gauss_newton")
    assert rel_err(gce.eigenvalues, torch.linalg.eigvalsh(Gce)[-1:]) <= 1e-4 and gce.all_converged


# --- HVP modes and fallback ----------------------------------------------------------------------
@pytest.mark.parametrize("curvature", ["hessian", "gauss_newton"])
def test_forward_over_reverse_equals_double_backward(curvature: str):
    model = mlp(nn.Tanh, bn=True)
    X, y = data(classes=True)
    v = torch.randn(sum(p.numel() for p in model.parameters()), dtype=F64)
    kw = dict(curvature=curvature, chunk_size=10, bn_mode="eval")
    a = hvp(model, cross_entropy, X, y, v, hvp_mode="forward_over_reverse", **kw)
    b = hvp(model, cross_entropy, X, y, v, hvp_mode="double_backward", **kw)
    dense = dense_curvature(model, cross_entropy, X, y, curvature=curvature, chunk_size=10, bn_mode="eval") @ v
    assert torch.allclose(a, b, rtol=1e-10, atol=1e-12) and torch.allclose(a, dense, rtol=1e-8, atol=1e-10)
    with curvature_operator(model, cross_entropy, X, y, hvp_mode="reuse_graph", **kw) as op:
        reused = [op(v), op(2 * v)]  # the second product runs through the graph kept from the first
        assert op.hvp_mode == "reuse_graph" and op._graph is not None
    assert op._graph is None  # released on leaving the context
    assert top_eigenvalues(model, cross_entropy, X, y, bn_mode="eval").hvp_mode == DEFAULT_HVP_MODE["cpu"]
    assert top_eigenvalues(model, cross_entropy, X, y, bn_mode="eval", chunk_size=10).hvp_mode == "double_backward"
    assert torch.allclose(reused[0], b, rtol=1e-10, atol=1e-12) and torch.allclose(reused[1], 2 * b, rtol=1e-10)


class _Square(torch.autograd.Function):
    """x² as an old-style autograd.Function: fine for double backward, rejected by torch.func transforms."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 2 * x * g


def test_fast_path_failure_falls_back_to_double_backward_with_reason():
    model = mlp(nn.Tanh)
    X, y = data()
    loss = lambda out, t: 0.5 * _Square.apply(out[:, 0] - t[:, 0]).mean()  # noqa: E731  (uses part of the output)
    with pytest.warns(RuntimeWarning, match="falling back to double_backward"):
        res = top_eigenvalues(model, loss, X, y, hvp_mode="forward_over_reverse")
    assert res.hvp_mode == "double_backward" and "forward_over_reverse raised" in res.fallback_reason
    exact = top_eigenvalues(model, lambda out, t: 0.5 * (out[:, 0] - t[:, 0]).pow(2).mean(), X, y,
                            hvp_mode="forward_over_reverse")
    assert exact.fallback_reason is None and exact.hvp_mode == "forward_over_reverse"
    assert rel_err(res.eigenvalues, exact.eigenvalues) <= 1e-8


# --- state --------------------------------------------------------------------------------------
@pytest.mark.parametrize("bn_mode", ["train", "eval"])
def test_parameters_buffers_and_mode_untouched(bn_mode: str):
    model = mlp(nn.ReLU, bn=True)
    model.train()
    model[0].eval()  # a mixed state must come back exactly
    X, y = data(classes=True)
    with torch.no_grad():
        model[1].running_mean.uniform_(-1, 1)
    before = {k: t.clone() for k, t in model.state_dict().items()}
    flags = [m.training for m in model.modules()]
    for curvature in ("hessian", "gauss_newton"):
        for hvp_mode in ("reuse_graph", "forward_over_reverse", "double_backward"):
            top_eigenvalues(model, cross_entropy, X, y, k=2, curvature=curvature, bn_mode=bn_mode, chunk_size=9,
                            hvp_mode=hvp_mode)
    dense_curvature(model, cross_entropy, X, y, bn_mode=bn_mode)
    ntk_matrix(model, X, bn_mode=bn_mode)
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # parameters and every buffer, bit-exact
    assert after["1.num_batches_tracked"].item() == 0
    assert [m.training for m in model.modules()] == flags
    assert all(p.grad is None for p in model.parameters())


def test_bn_mode_changes_the_answer_and_is_required():
    model = mlp(nn.Tanh, bn=True)
    X, y = data(classes=True)
    with torch.no_grad():
        model[1].running_var.fill_(4.0)
    tr = top_eigenvalues(model, cross_entropy, X, y, bn_mode="train")
    ev = top_eigenvalues(model, cross_entropy, X, y, bn_mode="eval")
    assert abs(tr.eigenvalues[0] - ev.eigenvalues[0]) > 1e-3 * ev.eigenvalues[0]
    with pytest.raises(ValueError, match="bn_mode must be 'train' or 'eval' for a model with BatchNorm1d"):
        top_eigenvalues(model, cross_entropy, X, y)
    with pytest.raises(ValueError, match="Dropout"):
        top_eigenvalues(nn.Sequential(nn.Linear(4, 3), nn.Dropout(0.5)).to(F64), mse, X, torch.randn(24, 3,
                        dtype=F64), bn_mode="train")


# --- seeding, warm start, tracking, dtype ------------------------------------------------------
def test_seeded_start_is_reproducible_and_warm_start_is_cheaper():
    model = mlp(nn.Tanh, h=16)
    X, y = data(n=40, classes=True)
    a = top_eigenvalues(model, cross_entropy, X, y, seed=3)
    b = top_eigenvalues(model, cross_entropy, X, y, seed=3)
    assert torch.equal(a.eigenvalues, b.eigenvalues) and a.n_matvecs == b.n_matvecs
    warm = top_eigenvalues(model, cross_entropy, X, y, v0=a.eigenvectors[0])
    assert warm.n_matvecs < a.n_matvecs and rel_err(warm.eigenvalues, a.eigenvalues) <= 1e-8


def _diagonal_problem(y_of_x):
    """A linear model under MSE with H = diag(λ), λ1 = 10 above the rest in [0.1, 5] (X = √n diag(√λ))."""
    lam = torch.cat([torch.tensor([10.0], dtype=F64), torch.linspace(5.0, 0.1, 49, dtype=F64)])
    X = math.sqrt(len(lam)) * torch.diag(lam.sqrt())
    model = nn.Linear(len(lam), 1, bias=False).to(F64)
    nn.init.zeros_(model.weight)
    return model, X, y_of_x(X, model), lam


def test_gradient_start_finds_an_eigenvector_the_gradient_lacks():
    # y = (0, 1, …, 1) at w = 0: ∇L = −Xᵀy/n has no component on e1, the top eigenvector. Lanczos from the
    # gradient alone never leaves e1's orthogonal complement (shown: v0=g); the default ĝ + r̂ finds λ1 = 10.
    model, X, y, lam = _diagonal_problem(lambda X, m: torch.cat([torch.zeros(1, 1), torch.ones(49, 1)]).to(F64))
    with curvature_operator(model, mse, X, y) as op:
        g = op.gradient()
    assert g[0] == 0 and g.norm() > 0
    torch.testing.assert_close(g, -(X.T @ y).flatten() / len(X))
    from_g = top_eigenvalues(model, mse, X, y, v0=g, max_iter=20, tol=1e-8)
    assert float(from_g.eigenvalues[0]) < 9.0
    res = top_eigenvalues(model, mse, X, y, max_iter=20, tol=1e-8)
    assert bool(res.converged[0]) and rel_err(res.eigenvalues, lam[:1]) <= 1e-10


def test_gradient_start_at_a_minimum_falls_back_to_a_random_start():
    model, X, y, lam = _diagonal_problem(lambda X, m: torch.zeros(len(X), 1, dtype=F64))  # w = 0 fits: ∇L = 0
    res = top_eigenvalues(model, mse, X, y, max_iter=20, tol=1e-8)
    assert bool(res.converged[0]) and rel_err(res.eigenvalues, lam[:1]) <= 1e-10
    assert torch.equal(res.eigenvalues, top_eigenvalues(model, mse, X, y, max_iter=20, tol=1e-8,
                                                        start="random").eigenvalues)


def test_gradient_start_needs_fewer_products_on_a_classifier():
    # the benchmark's observation at test size: an MLP classifier at init, median over start seeds
    model = mlp(nn.ReLU, h=32, d=20, o=10)
    X, y = data(n=200, d=20, classes=True)
    count = lambda **kw: sorted(top_eigenvalues(model, cross_entropy, X, y, seed=s, tol=1e-4, **kw).n_matvecs
                                for s in range(5))[2]  # noqa: E731
    assert count() <= count(start="random")


def test_tracker_warm_starts_fewer_matvecs_than_cold():
    model = mlp(nn.Tanh, h=16)
    X, y = data(n=40, classes=True)
    tracker = SharpnessTracker(cross_entropy, X, y, every=3)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    cold = []
    for step in range(13):
        if tracker.maybe_update(step, model) is not None:
            cold.append(top_eigenvalues(model, cross_entropy, X, y))
            assert rel_err(tracker.last.eigenvalues, cold[-1].eigenvalues) <= 1e-6
        opt.zero_grad()
        cross_entropy(model(X), y).backward()
        opt.step()
    frame = tracker.to_frame()
    assert frame["step"].tolist() == [0, 3, 6, 9, 12] and frame["converged"].all()
    assert (frame["n_matvecs"].iloc[1:].to_numpy() < [c.n_matvecs for c in cold[1:]]).all()
    assert tracker.maybe_update(4, model) is None and len(tracker.rows) == 5


def test_float32_model_and_float64_validation_path():
    model = mlp(nn.Tanh).to(torch.float32)
    X, y = data(classes=True)
    X = X.float()
    exact = torch.linalg.eigvalsh(dense_curvature(mlp(nn.Tanh).to(torch.float32).to(F64), cross_entropy,
                                                  X.double(), y))[-1:]
    f32 = top_eigenvalues(model, cross_entropy, X, y)
    f64 = top_eigenvalues(model, cross_entropy, X, y, dtype=F64)
    assert f32.eigenvectors.dtype == torch.float32 and f64.eigenvectors.dtype == F64
    assert rel_err(f32.eigenvalues, exact) <= 1e-4 and f32.all_converged
    assert rel_err(f64.eigenvalues, exact) <= 1e-8 and f64.all_converged
    assert next(model.parameters()).dtype == torch.float32  # the fp64 path works on a copy


# --- bad input ---------------------------------------------------------------------------------
def test_bad_input_raises_clear_errors():
    model = mlp(nn.Tanh)
    X, y = data()
    n_params = sum(p.numel() for p in model.parameters())
    cases = [
        (dict(X=X[:0], y=y[:0]), "X must hold at least one sample"),
        (dict(k=n_params + 1), f"k must be between 1 and the number of parameters \\({n_params}\\)"),
        (dict(y=y * float("nan")), "loss must be finite"),
        (dict(method="arnoldi"), "method must be one of"),
        (dict(which="magnitude"), "which must be one of"),
        (dict(curvature="fisher"), "curvature must be one of"),
        (dict(bn_mode="test"), "bn_mode must be one of"),
        (dict(hvp_mode="reverse"), "hvp_mode must be one of"),
        (dict(y=y[:5]), "y must have as many samples as X"),
        (dict(v0=torch.ones(n_params + 1, dtype=F64)), "v0 must have shape"),
        (dict(v0=torch.zeros(n_params, dtype=F64)), "v0 must be a finite, nonzero vector"),
        (dict(chunk_size=0), "chunk_size must be a positive integer"),
    ]
    for kwargs, match in cases:
        args = dict(X=X, y=y) | kwargs
        with pytest.raises(ValueError, match=match):
            top_eigenvalues(model, mse, args.pop("X"), args.pop("y"), **args)
    with pytest.raises(ValueError, match="X must hold at least one sample"):
        ntk_matrix(model, X[:0])
    with curvature_operator(model, mse, X, y) as op:
        assert op.n_params == n_params and op(torch.zeros(n_params)).abs().max() == 0
