"""The solvable uv model (Lewkowycz et al. 2020, Sec. 2): exact GD on (f, λ) and the measured phase of each run.

f(x) = vᵀu·x/√n with u, v ∈ ℝⁿ, entries N(0, 1) at init, one sample (x, y), loss L = ½(f − y)². Its NTK is
λ = (‖u‖² + ‖v‖²)·x²/n. Gradient descent with rate η closes on (f, λ): with χ = f − y,

    f_{t+1} = f_t (1 + η²χ_t²x²/n) − ηλ_t χ_t                     (eq. 3, general y)
    λ_{t+1} = λ_t + (η χ_t x²/n)(η χ_t λ_t − 4 f_t)                (eq. 4, general y)

so the phases are lazy for ηλ0 < 2, catapult for 2 < ηλ0 < 4, divergent for ηλ0 > 4 (n → ∞).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from replicate import memory
from replicate.scales import ParameterError, positive

PHASES = ("lazy", "catapult", "divergent", "unconverged")


@dataclass(frozen=True)
class UVConfig:
    """Notebook 1: the solvable model. `lr_grid` is ηλ0 from lr_min to lr_max in steps of lr_step."""

    widths: tuple[int, ...]
    seeds: int
    steps: int
    lr_min: float
    lr_max: float
    lr_step: float
    y: float = 1.0
    x: float = 1.0

    def validate(self) -> None:
        positive("widths", self.widths)
        for name in ("seeds", "steps", "lr_min", "lr_max", "lr_step"):
            positive(name, getattr(self, name))
        if self.lr_min >= self.lr_max:
            raise ParameterError(f"lr_min must be < lr_max; got {self.lr_min} and {self.lr_max}")

    def memory_bytes(self) -> int:
        """`simulate_uv`, one (width, seed) at a time: its float64 (f, λ) trajectories over the LR grid (the
        per-step lists, their stacked copies, the loss and its temporaries: 8 arrays of (steps + 1) × grid), u and v
        of the widest n, and the result table (8 columns a row)."""
        grid = len(self.lr_grid)
        rows = len(self.widths) * self.seeds * grid
        return memory.BASE + memory.dtype_bytes("float64") * (8 * (self.steps + 1) * grid + 2 * max(self.widths)
                                                              + 8 * rows)

    @property
    def lr_grid(self) -> np.ndarray:
        return np.round(np.arange(self.lr_min, self.lr_max + self.lr_step / 2, self.lr_step), 10)


UV_PRESETS = {
    "smoke": UVConfig(widths=(100, 1000), seeds=2, steps=300, lr_min=0.1, lr_max=5.0, lr_step=0.1),
    "cpu": UVConfig(widths=(100, 1000, 10000), seeds=32, steps=2000, lr_min=0.02, lr_max=5.0, lr_step=0.02),
    "gpu": UVConfig(widths=(100, 1000, 10000, 100000), seeds=128, steps=5000, lr_min=0.01, lr_max=5.0,
                    lr_step=0.01),
    "paper": UVConfig(widths=(100, 1000, 10000, 100000), seeds=20, steps=5000, lr_min=0.01, lr_max=5.0,
                      lr_step=0.01),
}
UV_DRY_RUN = {"steps": 1}


def uv_init(n: int, members: int, seed: int, dtype=torch.float64, *, device: torch.device | str = "cpu"
            ) -> tuple[torch.Tensor, torch.Tensor]:
    """u, v of shape (members, n), entries N(0, 1), drawn on the CPU from a seeded generator, on `device`."""
    g = torch.Generator().manual_seed(seed)
    u = torch.randn(members, n, generator=g, dtype=dtype, device="cpu")
    v = torch.randn(members, n, generator=g, dtype=dtype, device="cpu")
    return u.to(device), v.to(device)


def uv_f_lambda(u: torch.Tensor, v: torch.Tensor, x: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """f = vᵀu·x/√n and the NTK λ = (‖u‖² + ‖v‖²)·x²/n, per member (last axis is n)."""
    n = u.shape[-1]
    return (u * v).sum(-1) * x / n**0.5, (u.pow(2) + v.pow(2)).sum(-1) * x**2 / n


def uv_trajectories(f0: torch.Tensor, lam0: torch.Tensor, eta: torch.Tensor, n: int, steps: int,
                    y: float = 1.0, x: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact GD trajectories of (f_t, λ_t), shape (steps + 1, members), by eqs. (3)-(4).

    Once a member's |f| passes 1e150 it is held at inf (diverged), so no overflow warnings spread.
    """
    f, lam = f0.clone(), lam0.clone()
    fs, lams = [f], [lam]
    for _ in range(steps):
        chi = f - y
        f, lam = (f * (1 + eta**2 * chi**2 * x**2 / n) - eta * lam * chi,
                  lam + eta * chi * x**2 / n * (eta * chi * lam - 4 * f))
        blown = ~torch.isfinite(f) | (f.abs() > 1e150)
        f = torch.where(blown, torch.full_like(f, float("inf")), f)
        lam = torch.where(blown, torch.full_like(lam, float("inf")), lam)
        fs.append(f)
        lams.append(lam)
    return torch.stack(fs), torch.stack(lams)


def classify_phases(loss: torch.Tensor, converged_ratio: float = 1e-3) -> list[str]:
    """Phase of each member from its loss trajectory (steps + 1, members).

    divergent: the loss is no longer finite (|f| passed 1e150);
    lazy / catapult: converged (final loss ≤ `converged_ratio`·L0) without / after rising above L0;
    unconverged: neither within the step budget (counted and reported, never folded into a phase).
    """
    l0, final = loss[0], loss[-1]
    diverged = ~torch.isfinite(final)
    converged = ~diverged & (final <= converged_ratio * l0)
    rose = (loss[1:] > l0).any(0)
    return ["divergent" if d else ("catapult" if r else "lazy") if c else "unconverged"
            for d, c, r in zip(diverged.tolist(), converged.tolist(), rose.tolist())]


def simulate_uv(cfg: UVConfig, seed: int = 0, *, device: torch.device | str = "cpu") -> pd.DataFrame:
    """One row per (width, seed, ηλ0), computed on `device`: phase, peak loss / L0, η·λ_final, λ_final/λ0."""
    grid = torch.tensor(cfg.lr_grid, dtype=torch.float64, device=device)
    rows = []
    for n in cfg.widths:
        for s in range(cfg.seeds):
            u, v = uv_init(n, 1, seed=seed * 1_000_003 + s * 7919 + n, device=device)
            f0, lam0 = uv_f_lambda(u, v, cfg.x)
            eta = grid / lam0
            f, lam = uv_trajectories(f0.expand_as(grid), lam0.expand_as(grid), eta, n, cfg.steps, cfg.y, cfg.x)
            loss = 0.5 * (f - cfg.y) ** 2
            phases = classify_phases(loss)
            rows.append(pd.DataFrame({
                "n": n, "seed": s, "eta_lam0": cfg.lr_grid, "phase": phases,
                "peak_loss_ratio": (loss.max(0).values / loss[0]).cpu().numpy(),
                "eta_lam_final": (eta * lam[-1]).cpu().numpy(),
                "lam_final_ratio": (lam[-1] / lam0).cpu().numpy(),
            }))
    return pd.concat(rows, ignore_index=True)
