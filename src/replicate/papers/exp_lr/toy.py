"""Notebook 3 (Li & Arora 2020, abstract): weight decay and normalisation together keep GD from converging.

L(x, y) = x²/(x² + y²) is scale-invariant; with F = L + (λ/2)‖θ‖², ‖∇F‖² = ‖∇L‖² + λ²‖θ‖² > 0, so F has no
stationary point; without WD, or without normalisation (L = x²), GD converges.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from replicate import claims, memory
from replicate.scales import one_of, positive


@dataclass(frozen=True)
class ToyConfig:
    """Gradient descent on L(x, y) = x²/(x² + y²) (scale-invariant) or x² (not), with or without WD λ."""

    starts: int
    steps: int
    lr: float = 0.1
    weight_decay: float = 0.1

    def validate(self) -> None:
        for name in ("starts", "steps", "lr", "weight_decay"):
            positive(name, getattr(self, name))

    def memory_bytes(self) -> int:
        """`run_toy` of the three settings: float64 trajectories of L, ‖θ‖ and ‖∇F‖ ((steps + 1) × starts each),
        kept stacked for all three, and the per-step lists of the one running: 12 such arrays."""
        return memory.BASE + 12 * (self.steps + 1) * self.starts * memory.dtype_bytes("float64")


TOY_PRESETS = {
    "smoke": ToyConfig(starts=8, steps=2000),
    "cpu": ToyConfig(starts=64, steps=5000),
    "gpu": ToyConfig(starts=256, steps=20000),
    "paper": ToyConfig(starts=128, steps=20000),
}
TOY_DRY_RUN = {"steps": 1}
TOY_SETTINGS = ("normalised + WD", "normalised, no WD", "WD, no normalisation")


def toy_loss_grad(theta: torch.Tensor, normalised: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """L and ∇L at each row (x, y) of theta: x²/(x² + y²) with ∇L = (2xy², −2x²y)/r⁴, or x² with ∇L = (2x, 0)."""
    x, y = theta[:, 0], theta[:, 1]
    if normalised:
        r2 = x * x + y * y
        return x * x / r2, torch.stack([2 * x * y * y, -2 * x * x * y], 1) / r2.unsqueeze(1) ** 2
    return x * x, torch.stack([2 * x, torch.zeros_like(y)], 1)


def toy_starts(n: int, seed: int) -> torch.Tensor:
    """n starting points on the unit circle at seeded angles, away from the minima (|x| ≥ 0.1), on the CPU."""
    g = torch.Generator().manual_seed(seed)
    phi = (torch.rand(n, generator=g, dtype=torch.float64, device="cpu") * 0.8 + 0.1) * math.pi / 2
    return torch.stack([torch.sin(phi), torch.cos(phi)], 1)


def run_toy(cfg: ToyConfig, setting: str, seed: int = 0, *, device: torch.device | str = "cpu"
            ) -> dict[str, torch.Tensor]:
    """Full-batch GD θ ← θ − η(∇L + λθ) from `toy_starts`, on `device`; trajectories (steps + 1, starts) of L, ‖θ‖
    and ‖∇F‖, F = L + (λ/2)‖θ‖² the objective actually minimised (λ = 0 for 'normalised, no WD')."""
    one_of("setting", setting, TOY_SETTINGS)
    normalised = setting != "WD, no normalisation"
    lam = 0.0 if setting == "normalised, no WD" else cfg.weight_decay
    theta = toy_starts(cfg.starts, seed).to(device)
    losses, norms, grads = [], [], []
    for t in range(cfg.steps + 1):
        loss, grad = toy_loss_grad(theta, normalised)
        full = grad + lam * theta
        losses.append(loss)
        norms.append(theta.norm(dim=1))
        grads.append(full.norm(dim=1))
        if t < cfg.steps:
            theta = theta - cfg.lr * full
    return {"loss": torch.stack(losses), "norm": torch.stack(norms), "grad_norm": torch.stack(grads)}


def measure_toy(runs: dict[str, dict[str, torch.Tensor]], tail: float = 0.2, spike: float = 0.1,
                converged: float = 1e-6) -> dict[str, claims.Measurement]:
    """The toy's measurements from `run_toy` per setting: fractions of starting points (Wilson intervals).

    normalised + WD fails to converge when the loss still spikes above `spike` in the last `tail` of the run (a
    converging run's loss would settle); either ingredient alone converges when the final ‖∇F‖ < `converged`.
    The horizon (a precondition) is the number of steps run."""
    def frac(ok: torch.Tensor) -> claims.Measurement:
        return claims.fraction(int(ok.sum()), ok.numel())

    loss = runs["normalised + WD"]["loss"]
    last = max(int(tail * (loss.shape[0] - 1)), 1)
    return {
        "li-arora.toy.horizon": claims.exact(loss.shape[0] - 1, method="exact (steps run)"),
        "li-arora.toy.wd-and-norm-keep-spiking": frac(loss[-last:].max(0).values > spike),
        "li-arora.toy.norm-alone-converges": frac(runs["normalised, no WD"]["grad_norm"][-1] < converged),
        "li-arora.toy.wd-alone-converges": frac(runs["WD, no normalisation"]["grad_norm"][-1] < converged),
    }
