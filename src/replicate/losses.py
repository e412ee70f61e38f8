"""Losses, all means over samples, so that chunked evaluation can weight chunks by their size.

MSE follows the catapult paper's normalisation: L = 1/(2m) Σ_i ‖f(x_i) − y_i‖², whose Gauss-Newton
part is Jᵀ J / m; its top eigenvalue is the top eigenvalue λ0 of the empirical NTK Θ = J Jᵀ / m, and
gradient descent on it is stable for η < 2/λ0.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def mse(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """½ · mean over samples of the squared error summed over outputs (targets: one-hot or real)."""
    return 0.5 * (output - target).pow(2).sum(dim=-1).mean(dim=-1)


def cross_entropy(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over samples; target holds class indices."""
    return F.cross_entropy(output, target)


LOSSES = {"mse": mse, "ce": cross_entropy}


def get_loss(name: str):
    """'mse' | 'ce' → loss function."""
    if name not in LOSSES:
        raise ValueError(f"loss must be one of {sorted(LOSSES)}; got {name!r}")
    return LOSSES[name]


def accuracy(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Fraction of argmax predictions equal to the label (target: indices or one-hot)."""
    labels = target.argmax(dim=-1) if target.dim() == output.dim() else target
    return (output.argmax(dim=-1) == labels).to(output.dtype).mean(dim=-1)
