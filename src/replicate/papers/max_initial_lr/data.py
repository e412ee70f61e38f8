"""The paper's data sets as MLP inputs: the synthetic two-Gaussian task (Appendix) and MNIST (pooled).

Two-Gaussian task: binary, classes ±μ with identity covariance in ℝ^D, μ = (m/√D)·1, balanced. The paper states
only the sizes (9k + 1k samples per class); D, μ and the covariance are our choice. With identity covariance the
Bayes classifier is linear, sign(μᵀx), with accuracy Φ(‖μ‖) = Φ(m): m = 1.5 gives 0.933, so no classifier, linear or
not, is near 100 %. ‖x‖² ≈ D + m², the same input scale as `data.mlp_inputs` gives images (‖x‖² = D).
"""

from __future__ import annotations

import math

import torch

from replicate.runtime import on_cpu


@on_cpu
def two_gaussians(n_train: int, n_val: int, dim: int, margin: float, seed: int = 0):
    """X (n_train, dim), y, X_val, y_val (int64 labels 0/1, balanced, shuffled): x = (2y − 1)·μ + z, z ~ N(0, I)."""
    g = torch.Generator().manual_seed(seed)
    mu = torch.full((dim,), margin / math.sqrt(dim))

    def draw(n: int):
        y = torch.arange(n) % 2
        y = y[torch.randperm(n, generator=g)]
        return (2 * y - 1)[:, None].float() * mu + torch.randn(n, dim, generator=g), y

    X, y = draw(n_train)
    X_val, y_val = draw(n_val)
    return X, y, X_val, y_val


def bayes_accuracy(margin: float) -> float:
    """Φ(m): the accuracy of the optimal (linear) classifier on the two-Gaussian task."""
    return 0.5 * (1 + math.erf(margin / math.sqrt(2)))


def load_task(task, seed: int = 0, dry_run: bool = False, *, device: torch.device | str = "cpu"):
    """(X, y, X_val, y_val) of a `protocol.Task` on `device`: two Gaussians, or an image data set pooled by
    task.pool (drawn and prepared on the CPU, then moved)."""
    if task.dataset == "gaussian":
        data = two_gaussians(task.n_train, task.n_val, task.dim, task.margin, seed)
    else:
        from replicate.data import load_or_stand_in, mlp_inputs

        ds, _ = load_or_stand_in(task.dataset, n_train=task.n_train, n_test=task.n_val, seed=seed, dry_run=dry_run)
        data = mlp_inputs(ds.X_train, task.pool), ds.y_train, mlp_inputs(ds.X_test, task.pool), ds.y_test
    return tuple(t.to(device) for t in data)
