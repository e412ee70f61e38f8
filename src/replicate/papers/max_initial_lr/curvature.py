"""λ1 at init, plain and in the coordinates SGD uses.

SGD with per-parameter LRs η·P (P = diag of the LR ratios, here the input layer at `input_lr_mult`) is plain
SGD at LR η on φ = P^{-1/2} θ, whose Hessian is H_pre = P^{1/2} H P^{1/2}: the stability rule η < 2/λ applies to
λ_max(H_pre), not to λ_max(H). For the plain Hessian the input layer contributes, per example, a term ∝ ‖x‖² = D_in
to the NTK beside the ∝ d·w of the hidden layers, so λ1 ≈ c (D_in + d·w) (derivation page, eq. 5); in H_pre it is
scaled by input_lr_mult.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.func import functional_call

from replicate import memory
from replicate.losses import get_loss
from replicate.models import lr_multipliers, seeded
from replicate.papers.max_initial_lr.protocol import Task, grid, make_model
from replicate.scales import ParameterError, positive
from replicate.sharpness import top_eigenvalues


class Preconditioned(nn.Module):
    """The model as a function of φ = P^{-1/2} θ: its parameters are φ, its forward is model(θ = P^{1/2} φ)."""

    def __init__(self, model: nn.Module, mults: dict[str, float]):
        super().__init__()
        object.__setattr__(self, "_model", model)  # not a submodule: its θ must not appear among our parameters
        self._names = [n for n, _ in model.named_parameters()]
        self._scale = {n: mults[n] ** 0.5 for n in self._names}
        self.phi = nn.ParameterList(nn.Parameter(p.detach() / self._scale[n]) for n, p in model.named_parameters())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        theta = {n: self._scale[n] * phi for n, phi in zip(self._names, self.phi)}
        return functional_call(self._model, theta, (x,))


@dataclass(frozen=True)
class SharpnessConfig:
    """λ1 of the Hessian of the mean loss over the first `n_sharp` training inputs of `task`, at the init of the η*
    notebook's networks (same grid, seeds, input-layer multiplier); Lanczos to relative residual `tol`."""

    task: Task
    loss: str
    input_lr_mult: float
    n_sharp: int
    depths: tuple[int, ...]
    widths: tuple[int, ...]
    min_ratio: int
    max_dw: int
    seeds: int
    max_iter: int
    tol: float
    n_boot: int

    def validate(self) -> None:
        self.task.validate()
        for name in ("n_sharp", "depths", "widths", "min_ratio", "max_dw", "seeds", "max_iter", "tol", "n_boot"):
            positive(name, getattr(self, name))
        if self.n_sharp > self.task.n_train:
            raise ParameterError(f"n_sharp must be ≤ n_train ({self.task.n_train}); got {self.n_sharp}")
        if not grid(self.depths, self.widths, self.min_ratio, self.max_dw):
            raise ParameterError("no (depth, width) in the grid")

    def memory_bytes(self) -> int:
        """One (depth, width, seed) point at a time, the largest: the model, its preconditioned copy φ, and Lanczos
        (`max_iter` vectors) on the Hessian over the `n_sharp` inputs at once; the task's data."""
        def point(depth: int, width: int) -> int:
            params, created, _ = self.task.sizes(depth, width)
            return 4 * params + memory.curvature_bytes(params, self.n_sharp, created, self.max_iter)

        pairs = grid(self.depths, self.widths, self.min_ratio, self.max_dw)
        return memory.BASE + self.task.data_bytes() + max(point(d, w) for d, w in pairs)


def _from_eta(scale: str, n_sharp: int, max_iter: int, tol: float) -> SharpnessConfig:
    from replicate.papers.max_initial_lr.protocol import ETA_PRESETS

    e = ETA_PRESETS[scale]
    c = e.conditions[0]
    return SharpnessConfig(e.task(c.task), c.loss, c.input_lr_mult, n_sharp, e.depths, e.widths, e.min_ratio,
                           e.max_dw, e.seeds, max_iter, tol, e.n_boot)


SHARP_PRESETS = {"smoke": _from_eta("smoke", 128, 20, 1e-2), "cpu": _from_eta("cpu", 1024, 40, 1e-3),
                 "gpu": _from_eta("gpu", 4096, 60, 1e-4), "paper": _from_eta("paper", 5000, 100, 1e-4)}
SHARP_DRY_RUN = {"n_sharp": 16, "seeds": 1, "max_iter": 2, "n_boot": 10, "depths": (2,), "widths": (4096,),
                 "min_ratio": 1, "max_dw": 65536}


def sharpness_at_init(depth: int, width: int, seed: int, X: torch.Tensor, y: torch.Tensor,
                      cfg: SharpnessConfig) -> dict:
    """λ1 of H (plain) and of H_pre = P^{1/2} H P^{1/2} of the mean loss over (X, y), at the init `train_ensemble`
    gives Member(seed) (drawn on the CPU; Lanczos on X's device, in X's dtype)."""
    K = int(y.max()) + 1
    model = seeded(lambda: make_model(X.shape[1], depth, width, K), seed, X.device, X.dtype)
    target = torch.nn.functional.one_hot(y, K).to(X.dtype) if cfg.loss == "mse" else y
    loss = get_loss(cfg.loss)
    out = {}
    pre = Preconditioned(model, lr_multipliers(model, {"layers.0": cfg.input_lr_mult}))
    for name, m in (("lam1", model), ("lam1_pre", pre)):
        r = top_eigenvalues(m, loss, X, target, k=1, curvature="hessian", tol=cfg.tol, max_iter=cfg.max_iter,
                            seed=seed)
        out.update({name: float(r.eigenvalues[0]), f"{name}_converged": bool(r.converged[0])})
    return out
