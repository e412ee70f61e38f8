"""Notebook lr-sweep: a single-input coordinate check over width and depth, and the training-optimal LR
against depth, under the library's SP, μP and depth-μP (`replicate.parametrizations`: depth-μP = μP with
every LR multiplier × L^(−3/2)). Float64 at `cpu`, networks drawn in float64 too, so that last-bit differences
between CPUs stay far below every printed number (large-LR training amplifies float32 rounding chaotically).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd
import torch

from replicate import data, memory
from replicate.ensemble import Member, TrainConfig, train_ensemble
from replicate.losses import mse
from replicate.models import MLP, param_groups, seeded
from replicate.papers.mup_depth.network import seed_of
from replicate.scales import ParameterError, positive

PARAMETRIZATIONS = ("sp", "mup", "depth_mup")


@dataclass(frozen=True)
class LRSweepConfig:
    """Coordinate check on a (width × depth) grid, then short SGD runs on an LR grid.

    Data: `dataset` (mnist1d: 40 features, 10 classes), standardised, `n_train` training examples, one-hot
    targets, MSE ½‖f − y‖² (mean over examples), in `dtype`. Networks: `replicate.models.MLP(…, bias=False)`.
    Coordinate check (the note's protocol: one input): for each (parametrisation in `coord_parametrizations`,
    width in `coord_widths`, depth in `coord_depths`, network s < `coord_seeds`), `coord_steps` SGD steps on each
    of `coord_inputs` training examples alone, from the same initialisation, at base LR `coord_lrs[parametrisation]`.
    LR sweep: width `width`, depths `depths`, parametrisations `parametrizations`; base LRs η = 2^(k/`lr_per_octave`)
    within `lr_ranges[parametrisation]`; `seeds` seeds; `steps` minibatch SGD steps of `batch_size`; the final
    loss is that on the whole training set. Every width is ≥ `min_ratio` × its depth (the law needs L ≪ n).
    `group`: members (LR × seed) trained at once, None = a whole sweep point (memory grows with it, the numbers do
    not: members are independent and share the batch order).
    """

    width: int
    depths: tuple[int, ...]
    seeds: int
    steps: int
    coord_widths: tuple[int, ...]
    coord_depths: tuple[int, ...]
    parametrizations: tuple[str, ...] = ("mup",)
    coord_parametrizations: tuple[str, ...] = PARAMETRIZATIONS
    dataset: str = "mnist1d"
    n_train: int = 1000
    batch_size: int = 100
    lr_ranges: tuple[tuple[str, float, float], ...] = (("sp", 2**-9, 2**0), ("mup", 2**-4, 2**4),
                                                       ("depth_mup", 2**-2, 2**8))
    lr_per_octave: int = 4
    diverge_factor: float = 1e4
    coord_lrs: tuple[tuple[str, float], ...] = (("sp", 1e-7), ("mup", 1e-6), ("depth_mup", 1e-6))
    coord_steps: int = 3
    coord_seeds: int = 48
    coord_inputs: int = 4
    min_ratio: int = 32
    bootstrap: int = 2000
    dtype: str = "float64"
    group: int | None = None

    def validate(self) -> None:
        for name in ("width", "depths", "seeds", "steps", "coord_widths", "coord_depths", "n_train", "batch_size",
                     "lr_per_octave", "coord_steps", "coord_seeds", "coord_inputs", "min_ratio", "bootstrap"):
            positive(name, getattr(self, name))
        for p in (*self.parametrizations, *self.coord_parametrizations):
            if p not in PARAMETRIZATIONS:
                raise ParameterError(f"parametrizations must be among sp, mup, depth_mup; got {p!r}")
        if self.dataset not in ("mnist1d", "digits"):
            raise ParameterError(f"dataset must be one of mnist1d, digits; got {self.dataset!r}")
        if {p for p, _, _ in self.lr_ranges} < set(self.parametrizations):
            raise ParameterError("lr_ranges must give a (lo, hi) range for every parametrization")
        if {p for p, _ in self.coord_lrs} < set(self.coord_parametrizations):
            raise ParameterError("coord_lrs must give a base LR for every coordinate-check parametrization")
        if any(not 0 < lo < hi for _, lo, hi in self.lr_ranges) or any(lr <= 0 for _, lr in self.coord_lrs):
            raise ParameterError(f"learning rates must be > 0 and every range lo < hi; got {self.lr_ranges}")
        if self.batch_size > self.n_train or self.coord_seeds * self.coord_inputs > self.n_train:
            raise ParameterError("batch_size and coord_seeds × coord_inputs must be ≤ n_train")
        if self.width < self.min_ratio * max(self.depths) or min(self.coord_widths) < self.min_ratio * max(
                self.coord_depths):
            raise ParameterError(f"every width must be ≥ {self.min_ratio} × depth (the law needs L ≪ n)")
        if self.group is not None:
            positive("group", self.group)
        if self.dtype not in ("float32", "float64"):
            raise ParameterError(f"dtype must be one of float32, float64; got {self.dtype!r}")

    def memory_bytes(self) -> int:
        """The larger phase, in `dtype`. LR sweep: one (parametrisation, depth) point at a time, the largest: its LR
        grid × `seeds` members trained at once at `width` on batches, and evaluated at once (chunks of up to 4096
        training inputs). Coordinate check: one network at the largest coordinate width and depth on one input
        (parameters, their initial copy, gradients: within one member's count). Plus the training set."""
        d = 40 if self.dataset == "mnist1d" else 64

        def train(width: int, depth: int, members: int, batch: int, evaluated: int) -> int:
            params = memory.mlp_params(d, width, depth, 10, bias=False)
            make = partial(MLP, d, width, depth, 10, bias=False)
            return (memory.training_bytes(params, members, batch, memory.activations(make, (d,)), dtype=self.dtype)
                    + memory.forward_bytes(members, evaluated, memory.activations(make, (d,), False), self.dtype))

        members = max(len(self.lrs(p)) for p in self.parametrizations) * self.seeds
        members = members if self.group is None else min(members, self.group)
        sweep = train(self.width, max(self.depths), members, self.batch_size, min(self.n_train, 4096))
        coord = train(max(self.coord_widths), max(self.coord_depths), 1, 1, 1)
        return memory.BASE + self.n_train * (d + 10) * memory.dtype_bytes(self.dtype) + max(sweep, coord)

    def lrs(self, parametrization: str) -> np.ndarray:
        """The base-LR grid of one parametrisation: powers of 2^(1/lr_per_octave) from lo to hi."""
        lo, hi = {p: (lo, hi) for p, lo, hi in self.lr_ranges}[parametrization]
        k = np.arange(round(self.lr_per_octave * math.log2(lo)), round(self.lr_per_octave * math.log2(hi)) + 1)
        return 2.0 ** (k / self.lr_per_octave)

    def coord_lr(self, parametrization: str) -> float:
        return dict(self.coord_lrs)[parametrization]


LR_SWEEP_PRESETS = {
    "smoke": LRSweepConfig(width=128, depths=(1, 2, 4), seeds=2, steps=20, coord_widths=(128, 256, 512),
                           coord_depths=(1, 2, 4), n_train=400, lr_per_octave=1, coord_seeds=3, bootstrap=100),
    "cpu": LRSweepConfig(width=256, depths=(2, 4, 8), seeds=8, steps=100, batch_size=50, lr_per_octave=2,
                         lr_ranges=(("sp", 2**-9, 2**0), ("mup", 2**-2, 2**3), ("depth_mup", 2**0, 2**8)),
                         coord_widths=(256, 512, 1024), coord_depths=(2, 4, 8), coord_seeds=64,
                         coord_parametrizations=("mup", "depth_mup")),
    # gpu: ~10⁶ member-steps of 2–33 M parameters, ~10¹⁶ FLOP (~10 min on one 80 GB-class GPU by FLOP count, unmeasured);
    # 32 members at once in float32 (the whole grid × 16 seeds in float64 would need ~6.7 TB)
    "gpu": LRSweepConfig(width=1024, depths=(2, 4, 8, 16, 32), seeds=4, steps=1000, n_train=4000, batch_size=128,
                         coord_widths=(1024, 2048, 4096), coord_depths=(2, 4, 8, 16, 32), coord_seeds=64,
                         parametrizations=("sp", "mup"), lr_per_octave=2, dtype="float32", group=32,
                         lr_ranges=(("sp", 2**-14, 2**0), ("mup", 2**-8, 2**4), ("depth_mup", 2**-3, 2**8))),
    "paper": LRSweepConfig(width=1024, depths=(2, 4, 8, 16, 32), seeds=8, steps=1000, n_train=4000,
                           batch_size=128, coord_widths=(1024, 2048, 4096), coord_depths=(2, 4, 8, 16, 32),
                           coord_seeds=32, parametrizations=("sp", "mup"), lr_per_octave=4, dtype="float32", group=32,
                           lr_ranges=(("sp", 2**-14, 2**0), ("mup", 2**-8, 2**4), ("depth_mup", 2**-3, 2**8))),
}
LR_SWEEP_DRY_RUN = {"steps": 1, "seeds": 1, "coord_steps": 1, "coord_seeds": 1, "n_train": 128, "batch_size": 64,
                    "lr_per_octave": 1, "bootstrap": 10, "depths": (2, 4, 8), "coord_widths": (1024, 4096),
                    "coord_depths": (2, 4)}


def drawn_in(dtype: torch.dtype, make: Callable[[], MLP]) -> Callable[[], MLP]:
    """`make` with its initialisation drawn in `dtype` rather than torch's default float32. A float32 draw differs
    between CPUs' kernels in its last bit (4e-7): that flips ReLU gates of the coordinate check (measured 5e-4 in
    one network's RMS Δz under torch's default kernels) and 100 large-LR steps amplify it to 5 % in the final loss;
    a float64 draw's last bit stays invisible (bit-identical RMS Δz under both kernels)."""
    def draw() -> MLP:
        previous = torch.get_default_dtype()
        torch.set_default_dtype(dtype)
        try:
            return make()
        finally:
            torch.set_default_dtype(previous)
    return draw


def sweep_data(cfg: LRSweepConfig, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(X, Y): `n_train` standardised training inputs of `dataset` and their one-hot targets, in `cfg.dtype`, on the
    CPU (`coordinate_grid` and `lr_sweep_point` move them to their device)."""
    ds = data.standardize(data.load(cfg.dataset, n_train=cfg.n_train, n_test=1, seed=seed))
    dtype = getattr(torch, cfg.dtype)
    return ds.X_train.flatten(1).to(dtype), data.one_hot(ds.y_train, ds.num_classes).to(dtype)


def coordinate_check(parametrization: str, width: int, depth: int, X: torch.Tensor, Y: torch.Tensor,
                     lr: float, steps: int, seed: int, separately: bool = False) -> dict[str, float]:
    """RMS change of the last hidden pre-activation z^(L) and of the output f after `steps` full-batch SGD steps
    on (X, Y), in X's dtype and on X's device; separately=True runs each row of X as its own single-input run from
    the same initialisation and averages the squared changes over the rows.

    rms_dz = (mean_{b,i} (z_i^(L)(x_b; θ_t) − z_i^(L)(x_b; θ_0))²)^½ = M_L^½ of eq. (1) after t steps; per-layer
    LRs η·c_ℓ from the parametrisation's table. In the linear regime, μP: M_L ∝ L³, flat in n (eq. 3);
    depth-μP = μP × L^(−3/2) exactly (its rates are μP's × L^(−3/2)); SP: grows with n (δ^(L) = O(n^(−1/2)),
    ‖x^(ℓ−1)‖² = Θ(n)).
    """
    make = partial(MLP, X.shape[1], width, depth, Y.shape[1], parametrization=parametrization, bias=False)
    model = seeded(drawn_in(X.dtype, make), seed, X.device, X.dtype)
    init = {k: v.clone() for k, v in model.state_dict().items()}
    dz2, df2 = [], []
    for rows in ([slice(b, b + 1) for b in range(len(X))] if separately else [slice(None)]):
        x, y = X[rows], Y[rows]
        model.load_state_dict(init)
        opt = torch.optim.SGD(param_groups(model, lr))
        with torch.no_grad():
            f0, pre0 = model(x, return_preactivations=True)
        for _ in range(steps):
            opt.zero_grad()
            mse(model(x), y).backward()
            opt.step()
        with torch.no_grad():
            f1, pre1 = model(x, return_preactivations=True)
        dz2.append(float((pre1[-1] - pre0[-1]).pow(2).mean()))
        df2.append(float((f1 - f0).pow(2).mean()))
    return {"rms_dz": float(np.mean(dz2)) ** 0.5, "rms_df": float(np.mean(df2)) ** 0.5}


def coordinate_grid(cfg: LRSweepConfig, X: torch.Tensor, Y: torch.Tensor, seed: int = 0, *,
                    device: torch.device | str = "cpu") -> pd.DataFrame:
    """One row per (parametrization, width, depth, network s) with rms_dz and rms_df: network s (drawn from
    seed_of(seed, width, depth, s)) steps on each of `coord_inputs` training examples alone (batch 1, the
    note's single input), from its initialisation each time, on `device`; M is averaged over those inputs."""
    rows, k = [], cfg.coord_inputs
    X, Y = X.to(device), Y.to(device)
    for p in cfg.coord_parametrizations:
        for n in cfg.coord_widths:
            for depth in cfg.coord_depths:
                for s in range(cfg.coord_seeds):
                    out = coordinate_check(p, n, depth, X[s * k: (s + 1) * k], Y[s * k: (s + 1) * k], cfg.coord_lr(p),
                                           cfg.coord_steps, seed_of(seed, n, depth, s), separately=True)
                    rows.append({"parametrization": p, "width": n, "depth": depth, "seed": s, "lr": cfg.coord_lr(p),
                                 **out})
    return pd.DataFrame(rows)


def lr_sweep_point(cfg: LRSweepConfig, parametrization: str, depth: int, X: torch.Tensor, Y: torch.Tensor,
                   seed: int = 0, *, device: torch.device | str = "cpu") -> pd.DataFrame:
    """`train_ensemble` calls on `device` (groups of `cfg.group` members): members = the parametrisation's LR grid ×
    `seeds` seeds, at depth L.

    One row per member: lr, seed, final loss on the whole training set (NaN when it diverged: loss non-finite
    or > diverge_factor × its initial loss), diverged flag. The networks take X's dtype.
    """
    members = [Member(seed=seed_of(seed, cfg.width, depth, s), lr=float(lr))
               for lr in cfg.lrs(parametrization) for s in range(cfg.seeds)]
    train = TrainConfig(steps=cfg.steps, loss="mse", batch_size=cfg.batch_size, diverge_factor=cfg.diverge_factor,
                        log_every=max(cfg.steps, 1), data_seed=seed, progress=False)
    network = drawn_in(X.dtype, partial(MLP, X.shape[1], cfg.width, depth, Y.shape[1], parametrization, bias=False))

    size = cfg.group or len(members)
    X, Y = X.to(device), Y.to(device)
    final, diverged = {}, {}
    for start in range(0, len(members), size):
        res = train_ensemble(network, members[start:start + size], X, Y, train, X_eval=X, y_eval=Y)
        h = res.history
        last = h[h.step == cfg.steps].set_index("member").eval_loss if "eval_loss" in h else pd.Series(dtype=float)
        final.update({start + int(i): float(v) for i, v in last.items()})
        diverged.update({start + i: bool(d) for i, d in enumerate(res.diverged)})
    rows = []
    for i, m in enumerate(members):
        loss = final.get(i, math.nan)
        bad = diverged[i] or not math.isfinite(loss)
        rows.append({"lr": m.lr, "seed": i % cfg.seeds, "final_loss": math.nan if bad else loss, "diverged": bad})
    return pd.DataFrame(rows)


def optimal_lrs(runs: pd.DataFrame) -> pd.DataFrame:
    """Per (parametrization, depth, seed): the LR of lowest final loss among non-diverged runs.

    `lr_grid` is the grid point; `lr_opt` refines it by the vertex of the parabola through (log η, log loss)
    at that point and its two grid neighbours when both trained (equal spacing in log η, so the vertex lies
    within half a cell); `interior` is False when the grid point is the first or last LR of the grid (then
    the optimum is only a bound).
    """
    rows = []
    for (p, depth, s), g in runs.groupby(["parametrization", "depth", "seed"]):
        g = g.sort_values("lr").reset_index(drop=True)
        ok = g.final_loss.notna()
        if not ok.any():
            continue
        i = int(g.final_loss.idxmin())
        log_lr, log_loss = np.log(g.lr.to_numpy(float)), np.log(g.final_loss.to_numpy(float))
        lr_opt = float(g.lr[i])
        if 0 < i < len(g) - 1 and ok[i - 1] and ok[i + 1]:
            lo, mid, hi = log_loss[i - 1: i + 2]
            h = log_lr[i + 1] - log_lr[i]
            curvature = lo - 2 * mid + hi
            lr_opt = float(np.exp(log_lr[i] + 0.5 * h * (lo - hi) / curvature)) if curvature > 0 else lr_opt
        rows.append({"parametrization": p, "depth": depth, "seed": s, "lr_grid": float(g.lr[i]), "lr_opt": lr_opt,
                     "final_loss": float(g.final_loss[i]), "interior": 0 < i < len(g) - 1})
    return pd.DataFrame(rows, columns=["parametrization", "depth", "seed", "lr_grid", "lr_opt", "final_loss",
                                       "interior"])
