"""Notebook update-size: the one-step update size M_L(η) and its coefficient C_L on a (width × depth × seed) grid.

Everything here is float64 at `cpu` (exact linear response, eq. 2 of `network`); the tables it returns are the
input of `measure.measure_update_size`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd
import torch

from replicate import fits, memory
from replicate.models import MLP
from replicate.papers.mup_depth.network import (GROUPS, LR_TABLES, full_step, full_step_eta_star, gaussian_batch,
                                                linear_response, make_model, mean_field_table, seed_of)
from replicate.scales import ParameterError, positive


@dataclass(frozen=True)
class UpdateSizeConfig:
    """One GD step on a (width × depth × seed) grid of mean-field ReLU MLPs.

    Inputs: `batch` Gaussian vectors x ~ N(0, I_{in_features}), targets y = 1 (one output); the note's
    computation is for one input, so batch = 1. (n, L) pairs with L·n² > `max_weights` are skipped (memory).
    `etas`: the absolute LR grid (log-spaced eta_min..eta_max, `eta_points` values) of the full nonlinear step;
    `fit_depths`: the depths of the slope fit at every width n ≥ `fit_ratio`·L; `fit_width`: the width of the
    headline fits; `ratio_widths`, `ratio_depth`: the width pair and depth of C_L(n₁)/C_L(n₂);
    `ratio_seeds`: seeds at those two (n, L) pairs (a ratio of heavy-tailed means needs more than the grid's
    `seeds`); `group_depth`: the depth of the per-layer-group width scans.
    """

    widths: tuple[int, ...]
    depths: tuple[int, ...]
    seeds: int
    batch: int = 1
    in_features: int = 64
    eta_min: float = 1e-6
    eta_max: float = 1.0
    eta_points: int = 19
    fit_depths: tuple[int, ...] = (4, 8, 16, 32)
    fit_ratio: int = 32
    ratio_widths: tuple[int, ...] = (512, 2048)
    ratio_depth: int = 16
    ratio_seeds: int = 64
    fit_width: int = 1024
    group_depth: int = 4
    bootstrap: int = 2000
    max_weights: int = 2**26
    dtype: str = "float64"

    def validate(self) -> None:
        for name in ("widths", "depths", "seeds", "batch", "in_features", "eta_min", "eta_max", "eta_points",
                     "fit_depths", "fit_ratio", "ratio_widths", "ratio_depth", "ratio_seeds", "fit_width", "group_depth",
                     "bootstrap", "max_weights"):
            positive(name, getattr(self, name))
        if self.eta_min >= self.eta_max:
            raise ParameterError(f"eta_min must be < eta_max; got {self.eta_min} and {self.eta_max}")
        if self.dtype not in ("float32", "float64"):
            raise ParameterError(f"dtype must be one of float32, float64; got {self.dtype!r}")
        if min(self.ratio_widths) < self.fit_ratio * self.ratio_depth:
            raise ParameterError(f"ratio_widths must be ≥ fit_ratio·ratio_depth = "
                                 f"{self.fit_ratio * self.ratio_depth}")

    def pairs(self) -> list[tuple[int, int]]:
        """The (n, L) grid points computed: every pair with L·n² ≤ max_weights."""
        return [(n, d) for n in self.widths for d in self.depths if d * n * n <= self.max_weights]

    def memory_bytes(self) -> int:
        """One network at a time, the largest of the grid (`pairs`) and of the group scan, in `dtype`: 4 parameter-sized
        tensors (measured 3.0 on CPU: the parameters, the gradient, the step direction t made from it; at the next
        network's draw, the last one, the float32 draw and its copy in `dtype`), and 3× what the forward of `batch`
        inputs creates (`memory.activations`)."""
        pairs = self.pairs() + [(n, self.group_depth) for n in self.widths
                                if self.group_depth * n * n <= self.max_weights]
        params = max(memory.mlp_params(self.in_features, n, depth, 1, bias=False) for n, depth in pairs)
        n, depth = max(pairs, key=lambda p: p[0] * p[1])  # the most activations
        created = memory.activations(partial(MLP, self.in_features, n, depth, 1, bias=False), (self.in_features,))
        return memory.BASE + memory.dtype_bytes(self.dtype) * (4 * params + 3 * self.batch * created)

    def seeds_at(self, n: int, depth: int) -> int:
        """Seeds computed at (n, L): `ratio_seeds` at the width ratio's two pairs, else `seeds`."""
        return max(self.seeds, self.ratio_seeds) if n in self.ratio_widths and depth == self.ratio_depth else self.seeds

    @property
    def etas(self) -> np.ndarray:
        return np.geomspace(self.eta_min, self.eta_max, self.eta_points)


UPDATE_PRESETS = {
    "smoke": UpdateSizeConfig(widths=(64, 128, 256), depths=(2, 4, 8), seeds=3, eta_points=7, ratio_seeds=6,
                              fit_depths=(2, 4, 8), fit_ratio=16, ratio_widths=(64, 256), ratio_depth=4,
                              fit_width=256, group_depth=2, bootstrap=200),
    "cpu": UpdateSizeConfig(widths=(256, 512, 1024, 2048), depths=(2, 4, 8, 16, 32), seeds=24),
    "gpu": UpdateSizeConfig(widths=(512, 1024, 2048, 4096, 8192), depths=(2, 4, 8, 16, 32, 64, 128), seeds=64,
                            fit_depths=(4, 8, 16, 32, 64, 128), fit_width=4096, ratio_widths=(1024, 4096),
                            ratio_depth=32, ratio_seeds=256, eta_points=25, max_weights=2**31),
    "paper": UpdateSizeConfig(widths=(256, 512, 1024, 2048, 4096, 8192), depths=(2, 4, 8, 16, 32, 64, 128),
                              fit_depths=(4, 8, 16, 32, 64, 128), ratio_widths=(512, 2048), ratio_depth=16,
                              fit_width=4096, eta_points=25, seeds=64, ratio_seeds=256, max_weights=2**31,
                              dtype="float32"),
}
UPDATE_DRY_RUN = {"seeds": 2, "ratio_seeds": 2, "eta_points": 2, "bootstrap": 10, "max_weights": 2**24, "fit_width": 512,
                  "fit_depths": (4, 8, 16), "fit_ratio": 32, "ratio_widths": (512, 1024), "ratio_depth": 16}


def update_sizes(cfg: UpdateSizeConfig, seed: int = 0, *,
                 device: torch.device | str = "cpu") -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The grid over (n, L, seed): (linear-response table, full-step table, η* table), one network per row group,
    computed on `device`.

    Linear: one row per (n, L, seed, layer ℓ) with C_ℓ (eq. 2, mean-field LRs) and, at ℓ = L, C_f.
    Full step: one row per (n, L, seed, η) with M_L(η) (eq. 1) and its linear prediction C_L·η².
    η*: at n = `fit_width`, L in `fit_depths`, one row per seed with η*_lin = C_L^(−1/2) and η*_full (M_L = 1
    after one full step), computed on the same networks.
    """
    dtype = getattr(torch, cfg.dtype)
    lin, full, stars = [], [], []
    for n, depth in cfg.pairs():
        table = mean_field_table(cfg.in_features, n, depth)
        for s in range(cfg.seeds_at(n, depth)):
            model = make_model(cfg.in_features, n, depth, seed_of(seed, n, depth, s), dtype, device=device)
            x, y = gaussian_batch(cfg.batch, cfg.in_features, seed_of(seed, 0, 0, s), dtype, device=device)
            c, cf = linear_response(model, x, y, table)
            lin.append(pd.DataFrame({"n": n, "L": depth, "seed": s, "layer": np.arange(1, depth + 1),
                                     "C": c.cpu().numpy(), "C_f": float(cf)}))
            m = full_step(model, x, y, table, cfg.etas)
            full.append(pd.DataFrame({"n": n, "L": depth, "seed": s, "eta": cfg.etas, "M": m.cpu().numpy(),
                                      "M_linear": float(c[-1]) * cfg.etas**2}))
            if n == cfg.fit_width and depth in cfg.fit_depths and s < cfg.seeds:
                eta_lin = float(c[-1]) ** -0.5
                stars.append({"n": n, "L": depth, "seed": s, "eta_lin": eta_lin,
                              "eta_full": full_step_eta_star(model, x, y, table, eta_lin)})
    return (pd.concat(lin, ignore_index=True), pd.concat(full, ignore_index=True),
            pd.DataFrame(stars, columns=["n", "L", "seed", "eta_lin", "eta_full"]))


def group_width_scan(cfg: UpdateSizeConfig, seed: int = 0, *, device: torch.device | str = "cpu") -> pd.DataFrame:
    """Per-layer-group coefficients vs n at L = `group_depth`, with unit and with mean-field LR scales, on `device`.

    One row per (lr_table, group, n, seed): C_L of the step restricted to the input layer or to the
    hidden layers, and C_f (the output's change) of the step restricted to the output layer.
    """
    dtype = getattr(torch, cfg.dtype)
    rows, depth = [], cfg.group_depth
    for n in [n for n in cfg.widths if depth * n * n <= cfg.max_weights]:
        for s in range(cfg.seeds):
            model = make_model(cfg.in_features, n, depth, seed_of(seed, n, depth, s), dtype, device=device)
            x, y = gaussian_batch(cfg.batch, cfg.in_features, seed_of(seed, 0, 0, s), dtype, device=device)
            for lr_table in LR_TABLES:
                table = mean_field_table(cfg.in_features, n, depth, lr_table)
                for group in GROUPS:
                    c, cf = linear_response(model, x, y, table, groups=(group,))
                    value = float(cf) if group == "output" else float(c[-1])
                    rows.append({"lr_table": lr_table, "group": group, "n": n, "seed": s,
                                 "quantity": "C_f" if group == "output" else "C_L", "C": value})
    return pd.DataFrame(rows)


def depth_fit(lin: pd.DataFrame, cfg: UpdateSizeConfig, n: int, seed: int = 0) -> dict:
    """`fits.power_law` of C_L ∝ L^s at width n over the depths in `fit_depths` with n ≥ fit_ratio·L (eq. 3:
    s = 3; arithmetic mean over seeds, as C_L estimates an expectation). NaNs when fewer than 3 depths qualify."""
    d = lin[(lin.n == n) & (lin.layer == lin.L) & lin.L.isin(cfg.fit_depths) & (n >= cfg.fit_ratio * lin.L)]
    return fits.power_law(d, "L", "C", average="arithmetic", n_boot=cfg.bootstrap, seed=seed)


def depth_fits(lin: pd.DataFrame, cfg: UpdateSizeConfig, seed: int = 0) -> pd.DataFrame:
    """The slope s of `depth_fit` at every width with ≥ 3 qualifying depths (a diagnostic table)."""
    rows = [{"n": n, **depth_fit(lin, cfg, n, seed)} for n in cfg.widths]
    return pd.DataFrame(rows).dropna(subset=["p"]).rename(columns={"p": "slope", "p_lo": "lo", "p_hi": "hi"})


def group_exponents(scan: pd.DataFrame, cfg: UpdateSizeConfig, seed: int = 0) -> pd.DataFrame:
    """Width exponent of each (lr_table, group)'s coefficient (`fits.power_law`, arithmetic mean over seeds)."""
    rows = []
    for (lr_table, group), g in scan.groupby(["lr_table", "group"]):
        f = fits.power_law(g, "n", "C", average="arithmetic", n_boot=cfg.bootstrap, seed=seed)
        rows.append({"lr_table": lr_table, "group": group, "exponent": f["p"], "lo": f["p_lo"], "hi": f["p_hi"],
                     "seeds": g.seed.nunique()})
    return pd.DataFrame(rows)
