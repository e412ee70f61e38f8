"""Sharpness: the extreme eigenvalues of the loss Hessian (or Gauss-Newton matrix) over a data set.

The loss is the mean over a whole data set (or a fixed subset) X, y, evaluated in chunks:

    L(θ) = Σ_c (n_c / n) · L_c(θ),   L_c = loss_fn(model(X_c; θ), y_c)  (a mean over the chunk),

so H v = Σ_c (n_c / n) ∇²L_c(θ) v exactly, whatever the chunk sizes. Curvature-vector products act on
the flattened trainable parameters (``requires_grad=True``, in ``named_parameters()`` order):

* ``curvature="hessian"``: H v by one of three modes (``hvp_mode``):
  ``"reuse_graph"`` builds the first-order gradient g = ∇L with ``create_graph`` ONCE per chunk, keeps
  those graphs for the life of the operator, and gets every product as one backward pass
  H v = ∂⟨g, v⟩/∂θ through them (memory: the double-backward graph of the WHOLE data set at once — the
  activations and the first backward's saved tensors of every chunk, roughly 2–3× the activation memory
  of one full-batch training step; ``chunk_size`` then bounds only the build, not what is kept);
  ``"double_backward"`` rebuilds that graph per chunk and per product (memory: one chunk's graph);
  ``"forward_over_reverse"`` is ``jvp`` of ``grad`` (torch.func; memory: one chunk's graph).
  ``"auto"`` (the default) takes ``DEFAULT_HVP_MODE`` for the device, chosen by measurement
  (benchmarks/sharpness.py), or ``BOUNDED_HVP_MODE`` when ``chunk_size`` is given (memory of one chunk). If a mode raises, the operator warns, names the reason and falls back
  (reuse_graph → forward_over_reverse → double_backward).
* ``curvature="gauss_newton"``: G v = Jᵀ H_out J v, J the Jacobian of the outputs, H_out the Hessian of
  the loss w.r.t. the outputs. For ``losses.mse`` (L = 1/(2m) Σ‖f − y‖²), G = JᵀJ/m, whose nonzero
  eigenvalues are those of the empirical NTK Θ = JJᵀ/m (the catapult paper's λ0).

Eigenvalues come from block Lanczos with full reorthogonalisation (projected eigenproblem in float64)
or from power iteration (`replicate.eigensolvers`) (the trace and the spectral density, on the same operator: `replicate.spectrum`). Nothing about the model changes: parameters are read,
never written; buffers (BatchNorm running statistics, ``num_batches_tracked``) are cloned inside every
evaluation so the model's own are never touched; train/eval flags are set from ``bn_mode`` and restored
afterwards.
"""

from __future__ import annotations

import copy
import math
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pandas as pd
import torch
from torch import Tensor, nn
from torch.func import functional_call, grad, hessian, jacrev, jvp, vjp

from replicate.eigensolvers import lanczos, power_iteration

LossFn = Callable[[Tensor, Tensor], Tensor]

CURVATURES = ("hessian", "gauss_newton")
HVP_MODES = ("auto", "reuse_graph", "forward_over_reverse", "double_backward")
# Per device type, the fastest mode measured by benchmarks/sharpness.py (CPU, 1 thread, process time).
# CUDA/MPS: unmeasured here (no GPU in this session); forward-over-reverse keeps memory at one chunk.
DEFAULT_HVP_MODE = {"cpu": "reuse_graph", "cuda": "forward_over_reverse", "mps": "forward_over_reverse"}
# With chunk_size given (the caller bounds memory by one chunk): the fastest one-chunk mode measured.
BOUNDED_HVP_MODE = {"cpu": "double_backward", "cuda": "forward_over_reverse", "mps": "forward_over_reverse"}
BN_MODES = ("train", "eval")
METHODS = ("lanczos", "power")
WHICH = ("largest", "smallest")
STARTS = ("gradient", "random")

# Modules whose forward depends on model.train()/eval(): with any of these, bn_mode must be given.
_MODE_DEPENDENT = (nn.modules.batchnorm._NormBase, nn.modules.dropout._DropoutNd)


def _check(name: str, value: object, allowed: tuple) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {list(allowed)}; got {value!r}")


@contextmanager
def _model_mode(model: nn.Module, bn_mode: str | None) -> Iterator[None]:
    """Set train/eval for the whole model from bn_mode; restore every module's own flag afterwards."""
    if bn_mode is not None:
        _check("bn_mode", bn_mode, BN_MODES)
    stateful = [m for m in model.modules() if isinstance(m, _MODE_DEPENDENT)]
    if stateful and bn_mode is None:
        names = sorted({type(m).__name__ for m in stateful})
        raise ValueError(f"bn_mode must be 'train' or 'eval' for a model with {', '.join(names)}; got None")
    if bn_mode == "train" and any(isinstance(m, nn.modules.dropout._DropoutNd) and m.p > 0 for m in stateful):
        raise ValueError("bn_mode='train' with active Dropout makes the curvature random; use bn_mode='eval'")
    flags = [(m, m.training) for m in model.modules()]
    try:
        if bn_mode is not None:
            model.train(bn_mode == "train")
        yield
    finally:
        for m, flag in flags:
            m.training = flag


class CurvatureOperator:
    """v ↦ A v on flat parameter vectors, A the Hessian or Gauss-Newton matrix of the chunk-weighted mean loss.

    Use inside ``curvature_operator(...)`` (which sets and restores the model's train/eval flags).
    Counts its products in ``n_matvecs``; ``fallback_reason`` says why the fast path was abandoned.
    """

    def __init__(self, model: nn.Module, loss_fn: LossFn, X: Tensor, y: Tensor, *, curvature: str,
                 chunk_size: int | None, hvp_mode: str) -> None:
        _check("curvature", curvature, CURVATURES)
        _check("hvp_mode", hvp_mode, HVP_MODES)
        if X.shape[0] == 0:
            raise ValueError("X must hold at least one sample; got an empty data set")
        if y.shape[0] != X.shape[0]:
            raise ValueError(f"y must have as many samples as X ({X.shape[0]}); got {y.shape[0]}")
        if chunk_size is not None and chunk_size < 1:
            raise ValueError(f"chunk_size must be a positive integer or None; got {chunk_size}")
        self.model, self.loss_fn, self.curvature = model, loss_fn, curvature
        named = [(k, p) for k, p in model.named_parameters() if p.requires_grad]
        if not named:
            raise ValueError("model must have at least one parameter with requires_grad=True")
        self.names = [k for k, _ in named]
        self.params = {k: p.detach() for k, p in named}
        self.frozen = {k: p.detach() for k, p in model.named_parameters() if not p.requires_grad}
        self.buffers = dict(model.named_buffers())
        self.shapes = [p.shape for _, p in named]
        self.sizes = [p.numel() for _, p in named]
        self.n_params = sum(self.sizes)
        first = named[0][1]
        self.dtype, self.device = first.dtype, first.device
        table = DEFAULT_HVP_MODE if chunk_size is None else BOUNDED_HVP_MODE
        self.hvp_mode = table.get(self.device.type, "forward_over_reverse") if hvp_mode == "auto" else hvp_mode
        self._graph: list[tuple] | None = None  # reuse_graph: the retained first-order graphs, built lazily
        n = X.shape[0]
        step = n if chunk_size is None else chunk_size
        self.chunks = [(X[i:i + step].to(self.device), y[i:i + step].to(self.device), min(step, n - i) / n)
                       for i in range(0, n, step)]
        self.n_matvecs = 0
        self.fallback_reason: str | None = None
        if self.hvp_mode == "reuse_graph" and curvature == "hessian":
            try:  # built now, its forward gives the loss (built lazily otherwise, e.g. after a fallback)
                self._graph = self._build_graph()
            except RuntimeError:  # the first product retries, falls back and says why
                pass
        if self._graph is not None and curvature == "hessian":
            self.loss = sum(w * loss for _, _, loss, w in self._graph)
        else:
            with torch.no_grad():
                self.loss = sum(w * self._loss(self.params, xc, yc) for xc, yc, w in self.chunks).item()
        if not math.isfinite(self.loss):
            raise ValueError(f"loss must be finite at the given parameters; got {self.loss}")

    # -- functional pieces ------------------------------------------------------------------------
    def _forward(self, params: dict[str, Tensor], x: Tensor) -> Tensor:
        # Buffers are cloned inside the (possibly transformed) function: stateful layers then update the
        # clones, never the model's own buffers, and torch.func accepts the in-place update.
        buffers = {k: b.clone() for k, b in self.buffers.items()}
        return functional_call(self.model, (params, self.frozen, buffers), (x,))

    def _loss(self, params: dict[str, Tensor], x: Tensor, y: Tensor) -> Tensor:
        return self.loss_fn(self._forward(params, x), y)

    def unflatten(self, v: Tensor) -> dict[str, Tensor]:
        """Flat vector → dict of parameter-shaped views."""
        return {k: t.view(s) for k, t, s in zip(self.names, v.split(self.sizes), self.shapes)}

    def flatten(self, d: dict[str, Tensor]) -> Tensor:
        """Dict of parameter-shaped tensors → flat vector."""
        return torch.cat([d[k].reshape(-1) for k in self.names])

    # -- per-chunk products ------------------------------------------------------------------------
    def _hvp_func(self, v: dict[str, Tensor], x: Tensor, y: Tensor) -> dict[str, Tensor]:
        return jvp(grad(lambda p: self._loss(p, x, y)), (self.params,), (v,))[1]

    def _hvp_autograd(self, v: dict[str, Tensor], x: Tensor, y: Tensor) -> dict[str, Tensor]:
        p = {k: t.detach().requires_grad_() for k, t in self.params.items()}
        with torch.enable_grad():
            g = torch.autograd.grad(self._loss(p, x, y), list(p.values()), create_graph=True)
            dot = sum((gi * v[k]).sum() for gi, k in zip(g, p))
            hv = torch.autograd.grad(dot, list(p.values()), allow_unused=True)
        return {k: torch.zeros_like(p[k]) if h is None else h for k, h in zip(p, hv)}

    def _gnvp_func(self, v: dict[str, Tensor], x: Tensor, y: Tensor) -> dict[str, Tensor]:
        out, jv = jvp(lambda p: self._forward(p, x), (self.params,), (v,))
        h_jv = jvp(grad(lambda o: self.loss_fn(o, y)), (out.detach(),), (jv,))[1]
        return vjp(lambda p: self._forward(p, x), self.params)[1](h_jv)[0]

    def _gnvp_autograd(self, v: dict[str, Tensor], x: Tensor, y: Tensor) -> dict[str, Tensor]:
        p = {k: t.detach().requires_grad_() for k, t in self.params.items()}
        with torch.enable_grad():
            out = self._forward(p, x)
            # J v by the double-vjp trick: u ↦ Jᵀu is linear, so ∂/∂u ⟨Jᵀu, v⟩ = J v.
            u = torch.zeros_like(out, requires_grad=True)
            jtu = torch.autograd.grad(out, list(p.values()), u, create_graph=True, allow_unused=True)
            jv = torch.autograd.grad(sum((g * v[k]).sum() for g, k in zip(jtu, p) if g is not None), u)[0]
            o = out.detach().requires_grad_()
            go = torch.autograd.grad(self.loss_fn(o, y), o, create_graph=True)[0]
            h_jv = torch.autograd.grad(go, o, jv)[0]
            gv = torch.autograd.grad(out, list(p.values()), h_jv, allow_unused=True)
        return {k: torch.zeros_like(p[k]) if g is None else g for k, g in zip(p, gv)}

    # -- reuse_graph: first-order graphs built once, one backward per product ----------------------------
    # The graphs hang off ONE flat leaf (the parameters as views of it), so that a product takes the flat v and
    # returns a flat A v from a single autograd call, with no split or concatenation in Python.
    def _build_graph(self) -> list[tuple]:
        flat = torch.cat([self.params[k].reshape(-1) for k in self.names]).requires_grad_()
        leaves = self.unflatten(flat)
        graph = []
        with torch.enable_grad():
            for x, y, w in self.chunks:
                if self.curvature == "hessian":
                    loss = self._loss(leaves, x, y)
                    g = torch.autograd.grad(loss, flat, create_graph=True)[0]
                    graph.append((flat, g, loss.item(), w))
                else:
                    out = self._forward(leaves, x)
                    u = torch.zeros_like(out, requires_grad=True)  # Jᵀu is linear in u: ∂⟨Jᵀu, v⟩/∂u = J v
                    jtu = torch.autograd.grad(out, flat, u, create_graph=True)[0]
                    o = out.detach().requires_grad_()
                    go = torch.autograd.grad(self.loss_fn(o, y), o, create_graph=True)[0]
                    graph.append((flat, out, u, jtu, o, go, w))
        return graph

    def _reuse_product(self, v: Tensor) -> Tensor:
        if self._graph is None:
            self._graph = self._build_graph()
        out = None
        for entry in self._graph:
            flat, w = entry[0], entry[-1]
            if self.curvature == "hessian":
                g = entry[1]
                if not g.requires_grad:  # the loss is linear in θ on this chunk: no curvature
                    continue
                hv = torch.autograd.grad(g, flat, v, retain_graph=True, allow_unused=True)[0]
            else:
                _, fx, u, jtu, o, go, _ = entry
                jv = torch.autograd.grad(jtu, u, v, retain_graph=True)[0]
                h_jv = torch.autograd.grad(go, o, jv, retain_graph=True)[0]
                hv = torch.autograd.grad(fx, flat, h_jv, retain_graph=True, allow_unused=True)[0]
            if hv is not None:
                out = (hv if w == 1 else hv.mul_(w)) if out is None else out.add_(hv, alpha=w)
        return torch.zeros(self.n_params, dtype=self.dtype, device=self.device) if out is None else out

    def _chunked_product(self, v_flat: Tensor, mode: str) -> Tensor:
        v = self.unflatten(v_flat)
        fast = {"hessian": self._hvp_func, "gauss_newton": self._gnvp_func}[self.curvature]
        slow = {"hessian": self._hvp_autograd, "gauss_newton": self._gnvp_autograd}[self.curvature]
        product = slow if mode == "double_backward" else fast
        out = torch.zeros(self.n_params, dtype=self.dtype, device=self.device)
        for x, y, w in self.chunks:
            out.add_(self.flatten(product(v, x, y)), alpha=w)
        return out

    def _product(self, v: Tensor) -> Tensor:
        while True:
            mode = self.hvp_mode
            try:
                return self._reuse_product(v) if mode == "reuse_graph" else self._chunked_product(v, mode)
            except RuntimeError as err:
                if mode == "double_backward":
                    raise
                self._graph = None
                self.hvp_mode = "forward_over_reverse" if mode == "reuse_graph" else "double_backward"
                self.fallback_reason = f"{mode} raised {type(err).__name__}: {str(err).splitlines()[0]}"
                warnings.warn(f"{self.fallback_reason}; falling back to {self.hvp_mode}", RuntimeWarning,
                              stacklevel=4)

    def gradient(self) -> Tensor:
        """∇L(θ), flat, of the chunk-weighted mean loss: free under reuse_graph (the Hessian graphs hold it),
        else one backward per chunk."""
        total = torch.zeros(self.n_params, dtype=self.dtype, device=self.device)
        for i, (x, y, w) in enumerate(self.chunks):
            if self._graph is not None and self.curvature == "hessian":
                total.add_(self._graph[i][1].detach(), alpha=w)
            else:  # plain autograd: works for every loss the products accept (torch.func does not)
                flat = torch.cat([self.params[k].reshape(-1) for k in self.names]).requires_grad_()
                with torch.enable_grad():
                    total.add_(torch.autograd.grad(self._loss(self.unflatten(flat), x, y), flat)[0], alpha=w)
        return total

    def release(self) -> None:
        """Drop the graphs kept by hvp_mode='reuse_graph' (done on leaving ``curvature_operator``)."""
        self._graph = None

    def __call__(self, v: Tensor) -> Tensor:
        """A v for a flat vector v (model dtype and device); exact chunk-size weighting."""
        out = self._product(v.to(self.dtype))
        self.n_matvecs += 1
        return out


@contextmanager
def curvature_operator(model: nn.Module, loss_fn: LossFn, X: Tensor, y: Tensor, *, curvature: str = "hessian",
                       chunk_size: int | None = None, bn_mode: str | None = None,
                       hvp_mode: str = "auto") -> Iterator[CurvatureOperator]:
    """Context giving the matrix-free operator v ↦ A v; the model's train/eval flags are restored on exit.

    ``bn_mode`` ('train' | 'eval') sets the whole model's mode; it is required when the model has BatchNorm
    or Dropout. In 'train' mode BatchNorm uses each chunk's batch statistics, so chunking changes the
    function itself: use ``chunk_size=None`` (or 'eval') for BatchNorm models.
    """
    with _model_mode(model, bn_mode):
        op = CurvatureOperator(model, loss_fn, X, y, curvature=curvature, chunk_size=chunk_size, hvp_mode=hvp_mode)
        try:
            yield op
        finally:
            op.release()


def hvp(model: nn.Module, loss_fn: LossFn, X: Tensor, y: Tensor, v: Tensor, **kwargs) -> Tensor:
    """One product A v with a flat vector v (keywords as in ``curvature_operator``)."""
    with curvature_operator(model, loss_fn, X, y, **kwargs) as op:
        return op(v)


# ------------------------------------------------------------------------------------------------
# Eigenpairs (the solvers: replicate.eigensolvers)
# ------------------------------------------------------------------------------------------------
@dataclass
class EigenResult:
    """k extreme algebraic eigenpairs: descending for which='largest', ascending for which='smallest'.

    residuals[i] = ‖A v_i − θ_i v_i‖ (‖v_i‖ = 1); converged[i]: residuals[i] ≤ tol·|θ_i| (see the solvers).
    """

    eigenvalues: Tensor
    eigenvectors: Tensor  # (k, n_params), rows of unit norm, flattened as in CurvatureOperator
    residuals: Tensor
    converged: Tensor  # bool, per eigenvalue
    n_matvecs: int
    n_iter: int
    loss: float
    method: str
    hvp_mode: str  # the mode actually used (after any fallback)
    fallback_reason: str | None = None
    history: list[float] = field(default_factory=list)  # top wanted Ritz value after each iteration

    @property
    def all_converged(self) -> bool:
        return bool(self.converged.all())


def _default_tol(dtype: torch.dtype) -> float:
    return max(math.sqrt(torch.finfo(dtype).eps), 1e-6)


def _gradient_start(g: Tensor, gen: torch.Generator, like: Tensor) -> Tensor | None:
    """ĝ + r̂ (unit gradient plus a unit Gaussian vector), or None (a random start) when g is zero or not finite."""
    norm = g.norm()
    if not (torch.isfinite(norm) and norm > 0):
        return None
    r = torch.randn(g.numel(), generator=gen, dtype=torch.float64, device="cpu").to(like)
    return g / norm + r / r.norm()


def top_eigenvalues(model: nn.Module, loss_fn: LossFn, X: Tensor, y: Tensor, k: int = 1, *,
                    method: str = "lanczos", which: str = "largest", curvature: str = "hessian",
                    chunk_size: int | None = None, bn_mode: str | None = None,
                    hvp_mode: str = "auto", tol: float | None = None,
                    max_iter: int | None = None, seed: int = 0, v0: Tensor | None = None,
                    start: str = "gradient", dtype: torch.dtype | None = None,
                    block_size: int | None = None) -> EigenResult:
    """The k largest (or smallest) algebraic eigenvalues of the Hessian/Gauss-Newton matrix of the mean loss.

    Repeated eigenvalues come back with their multiplicity: Lanczos runs on a block of ``block_size``
    start vectors (default k), and a block of p vectors sees min(r, p) copies of an eigenvalue of
    multiplicity r, so the k returned values are the top k counted with multiplicity (e.g. 4, 4, 4 for
    a spectrum 4, 4, 4, 2, …). A pair whose residual is above tol is marked ``converged=False``, never
    reported as converged; simultaneous power iteration (method='power') iterates k vectors at once and
    finds multiplicities as well.

    tol: relative residual ‖Av − θv‖ ≤ tol·|θ| (default √ε of the dtype, not below 1e-6; the eigenvalue
    error is then ~ tol²·|θ|²/gap). max_iter: Lanczos basis size = products (default
    min(n_params, max(100, 25·block)); memory max_iter × n_params) or power steps per eigenvalue (default
    1000). seed: the start vectors' generator. v0: warm start (previous eigenvectors: the first rows of
    the block; with a block of one, their sum). start (without v0, for which='largest'): "gradient" starts the
    first vector at ĝ + r̂, the unit loss gradient plus a unit random vector (the gradient lies mostly in the
    top eigenspace, Gur-Ari et al. 2018; the random part keeps every eigendirection with probability one, and a
    zero gradient falls back to a random start). Measured at init, median over 5 seeds: 8 products against 12
    (benchmarks/sharpness.py), 4–16 against 5–20 on seven MLPs (MSE and CE, 1 and 10 outputs); one 10-class
    net with random labels took 27 against 25. "random": Gaussian only. dtype: run on a copy of the model converted to this dtype
    (e.g. torch.float64 to validate a float32 model); data follow it. hvp_mode: see the module docstring.
    """
    _check("method", method, METHODS)
    _check("which", which, WHICH)
    _check("start", start, STARTS)
    if dtype is not None and dtype != next(model.parameters()).dtype:
        model = copy.deepcopy(model).to(dtype)
        X = X.to(dtype) if X.is_floating_point() else X
        y = y.to(dtype) if y.is_floating_point() else y
    with curvature_operator(model, loss_fn, X, y, curvature=curvature, chunk_size=chunk_size, bn_mode=bn_mode,
                            hvp_mode=hvp_mode) as op:
        n = op.n_params
        if not 1 <= k <= n:
            raise ValueError(f"k must be between 1 and the number of parameters ({n}); got {k}")
        like = torch.empty(0, dtype=op.dtype, device=op.device)
        tol = _default_tol(op.dtype) if tol is None else tol
        if method == "lanczos":
            block = k if block_size is None else block_size
            max_iter = min(n, max(100, 25 * block)) if max_iter is None else min(max_iter, n)
            if max_iter < k:
                raise ValueError(f"max_iter must be at least k={k} for Lanczos; got {max_iter}")
            solve = lanczos
        else:
            max_iter = 1000 if max_iter is None else max_iter
            solve = power_iteration
        gen = torch.Generator().manual_seed(seed)
        if v0 is None and start == "gradient" and which == "largest":
            v0 = _gradient_start(op.gradient(), gen, like)
        extra = {"block_size": block_size} if method == "lanczos" else {}
        vals, vecs, res, converged, n_iter, history = solve(op, n, k, which=which, tol=tol, max_iter=max_iter,
                                                            v0=v0, gen=gen, like=like, **extra)
        return EigenResult(eigenvalues=vals, eigenvectors=vecs, residuals=res, converged=converged,
                           n_matvecs=op.n_matvecs, n_iter=n_iter, loss=op.loss, method=method,
                           hvp_mode=op.hvp_mode, fallback_reason=op.fallback_reason, history=history)


# ------------------------------------------------------------------------------------------------
# Tracking during training
# ------------------------------------------------------------------------------------------------
class SharpnessTracker:
    """Sharpness every ``every`` steps, warm-started from the previous top eigenvectors.

    ``maybe_update(step, model)`` computes at steps divisible by ``every`` and records (step, λ1, n_matvecs,
    converged) rows; ``to_frame()`` returns them as a DataFrame. Keywords go to ``top_eigenvalues``.
    """

    def __init__(self, loss_fn: LossFn, X: Tensor, y: Tensor, *, every: int, k: int = 1, **kwargs) -> None:
        if every < 1:
            raise ValueError(f"every must be a positive integer; got {every}")
        self.loss_fn, self.X, self.y, self.every, self.k, self.kwargs = loss_fn, X, y, every, k, kwargs
        self.rows: list[dict] = []
        self.last: EigenResult | None = None

    def maybe_update(self, step: int, model: nn.Module) -> EigenResult | None:
        """Compute at multiples of ``every`` (warm start from the last eigenvectors); else return None."""
        if step % self.every:
            return None
        v0 = None if self.last is None else self.last.eigenvectors
        self.last = top_eigenvalues(model, self.loss_fn, self.X, self.y, self.k, v0=v0, **self.kwargs)
        self.rows.append({"step": step, "eigenvalue": float(self.last.eigenvalues[0]),
                          "n_matvecs": self.last.n_matvecs, "converged": self.last.all_converged})
        return self.last

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=["step", "eigenvalue", "n_matvecs", "converged"])


# ------------------------------------------------------------------------------------------------
# Dense oracles for tiny models
# ------------------------------------------------------------------------------------------------
def dense_curvature(model: nn.Module, loss_fn: LossFn, X: Tensor, y: Tensor, *, curvature: str = "hessian",
                    chunk_size: int | None = None, bn_mode: str | None = None) -> Tensor:
    """The full (n_params × n_params) Hessian or Gauss-Newton JᵀH_outJ (J by torch.func.jacrev), chunk-weighted.

    A test oracle for tiny models: memory n_params², time ~n_params products. The Hessian uses
    torch.autograd.functional.hessian, not torch.func.hessian: on torch 2.13 the latter (and
    jacrev∘jacrev) returns a wrong, asymmetric Hessian for affine BatchNorm in train mode (vmap over
    batch_norm's double backward), while jvp∘grad and double backward agree with each other.
    """
    with curvature_operator(model, loss_fn, X, y, curvature=curvature, chunk_size=chunk_size, bn_mode=bn_mode) as op:
        flat = op.flatten(op.params)
        total = torch.zeros(op.n_params, op.n_params, dtype=op.dtype, device=op.device)
        for x, yc, w in op.chunks:
            if curvature == "hessian":
                total += w * torch.autograd.functional.hessian(lambda f: op._loss(op.unflatten(f), x, yc), flat)
            else:
                out = op._forward(op.params, x)
                J = jacrev(lambda f: op._forward(op.unflatten(f), x))(flat).reshape(out.numel(), -1)
                H_out = hessian(lambda o: loss_fn(o.view_as(out), yc))(out.detach().reshape(-1))
                total += w * (J.T @ H_out @ J)
        return total


def ntk_matrix(model: nn.Module, X: Tensor, *, bn_mode: str | None = None) -> Tensor:
    """Empirical NTK Θ = J Jᵀ / m over all m samples and outputs ((m·o) × (m·o)), J by torch.func.jacrev.

    For losses.mse its top eigenvalue is the top Gauss-Newton eigenvalue λ0. Meant for m ≲ 512.
    """
    if X.shape[0] == 0:
        raise ValueError("X must hold at least one sample; got an empty data set")
    with _model_mode(model, bn_mode):
        params = {k: p.detach() for k, p in model.named_parameters() if p.requires_grad}
        frozen = {k: p.detach() for k, p in model.named_parameters() if not p.requires_grad}

        def forward(p: dict[str, Tensor]) -> Tensor:
            buffers = {k: b.clone() for k, b in model.named_buffers()}  # as in CurvatureOperator._forward
            return functional_call(model, (p, frozen, buffers), (X,))

        J = jacrev(forward)(params)
        Jf = torch.cat([J[k].reshape(-1, params[k].numel()) for k in params], dim=1)
        return Jf @ Jf.T / X.shape[0]
