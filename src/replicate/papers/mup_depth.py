"""Jelassi, Hanin et al. (2023), depth dependence of μP learning rates: the one-step update size Δz.

Network (paper, Sec. 1): z^(1) = W^(1) x, z^(ℓ) = W^(ℓ) σ(z^(ℓ−1)) for ℓ = 2..L, f = W^(L+1) σ(z^(L)),
σ = ReLU, no biases, mean-field initialisation (the table `mean_field_table`): He init on the ReLU layers,
output weights N(0, 1/n²). One gradient-descent step on the MSE L = 1/(2B) Σ_b (f(x_b) − y_b)² with
per-layer rates η·c_ℓ moves every pre-activation by Δz^(ℓ). The update size of layer ℓ is

    M_ℓ(η) = (1/(nB)) Σ_{i,b} (Δz_i^(ℓ)(x_b))²                                          (eq. 1)

and the maximal-update LR η* is the largest η with M_L(η) = O(1) (we take M_L(η*) = 1). To first order
in η, Δz^(ℓ) = η·J_ℓ·t with t = −c ⊙ ∇_θ L (J_ℓ the Jacobian of z^(ℓ) in the parameters), so

    M_ℓ(η) = C_ℓ·η² + O(η³),   C_ℓ = (1/(nB))‖J_ℓ t‖²,                                  (eq. 2)

computed exactly here by one `torch.func.grad` and one `torch.func.jvp` (no finite differences). The
note's result is C_L = Θ(L³) at large n ≫ L, hence η*_lin = C_L^(−1/2) ∝ L^(−3/2) (eq. 3).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch.func import functional_call, grad, jvp

from replicate import data, fits
from replicate.ensemble import Member, TrainConfig, train_ensemble
from replicate.losses import mse
from replicate.models import MLP, param_groups
from replicate.scales import ParameterError, positive

GROUPS = ("input", "hidden", "output")
LR_TABLES = ("mean_field", "unit")


@dataclass(frozen=True)
class UpdateSizeConfig:
    """Notebook update-size: one GD step on a (width × depth × seed) grid of mean-field ReLU MLPs.

    Inputs are `batch` Gaussian vectors x ~ N(0, I_{in_features}) with targets y = 1 (one output); the
    note's computation is for one input, so batch = 1 by default. (n, L) pairs with L·n² > `max_weights`
    hidden weights are skipped (memory).
    `etas`: the absolute LR grid (log-spaced from eta_min to eta_max, `eta_points` values) for the full
    nonlinear step; `fit_depths`: the depths of the slope fit, at every width n ≥ `fit_ratio`·L;
    `ratio_widths`, `ratio_max_depth`: claim 19's width pair and depths; `fit_width`: the width of
    the headline fits, linear (claim 18) and full-step (claim 20); `group_depth`: the depth of the per-layer width scans.
    """

    widths: tuple[int, ...]
    depths: tuple[int, ...]
    seeds: int
    batch: int = 1
    in_features: int = 64
    eta_min: float = 1e-4
    eta_max: float = 1.0
    eta_points: int = 13
    fit_depths: tuple[int, ...] = (4, 8, 16, 32)
    fit_ratio: int = 32
    ratio_widths: tuple[int, ...] = (512, 2048)
    ratio_max_depth: int = 16
    fit_width: int = 1024
    group_depth: int = 4
    bootstrap: int = 2000
    max_weights: int = 2**26
    dtype: str = "float64"

    def validate(self) -> None:
        for name in ("widths", "depths", "seeds", "batch", "in_features", "eta_min", "eta_max", "eta_points",
                     "fit_depths", "fit_ratio", "ratio_widths", "ratio_max_depth", "fit_width",
                     "group_depth", "bootstrap", "max_weights"):
            positive(name, getattr(self, name))
        if self.eta_min >= self.eta_max:
            raise ParameterError(f"eta_min must be < eta_max; got {self.eta_min} and {self.eta_max}")
        if self.dtype not in ("float32", "float64"):
            raise ParameterError(f"dtype must be one of float32, float64; got {self.dtype!r}")

    def pairs(self) -> list[tuple[int, int]]:
        """The (n, L) grid points computed: every pair with L·n² ≤ max_weights."""
        return [(n, d) for n in self.widths for d in self.depths if d * n * n <= self.max_weights]

    @property
    def etas(self) -> np.ndarray:
        return np.geomspace(self.eta_min, self.eta_max, self.eta_points)


UPDATE_PRESETS = {
    "smoke": UpdateSizeConfig(widths=(64, 128, 256), depths=(2, 4, 8), seeds=2, eta_points=5,
                              fit_depths=(2, 4, 8), fit_ratio=16, ratio_widths=(128, 256), ratio_max_depth=4,
                              fit_width=256, group_depth=2, bootstrap=200),
    "cpu": UpdateSizeConfig(widths=(256, 512, 1024, 2048), depths=(2, 4, 8, 16, 32), seeds=6),
    "paper": UpdateSizeConfig(widths=(256, 512, 1024, 2048, 4096, 8192), depths=(2, 4, 8, 16, 32, 64, 128),
                              fit_depths=(4, 8, 16, 32, 64, 128), ratio_widths=(512, 2048),
                              fit_width=4096, eta_points=17, seeds=16, max_weights=2**31,
                              dtype="float32"),
}
UPDATE_DRY_RUN = {"seeds": 1, "eta_points": 2, "bootstrap": 10, "max_weights": 2**24, "fit_width": 512,
                  "fit_depths": (4, 8, 16), "fit_ratio": 32}


def mean_field_table(in_features: int, width: int, depth: int, lr_table: str = "mean_field") -> pd.DataFrame:
    """Per-layer table (init variance, forward multiplier, LR scale c_ℓ) of the note's mean-field MLP.

    mean_field: input W^(1) ~ N(0, 2/n₀), c = n/n₀; hidden N(0, 2/n), c = 1; output N(0, 1/n²), c = 1/n
    (μP for SGD, Tensor Programs V Table 3, with the input LR written n/n₀ for x ~ N(0, I_{n₀})).
    unit: the same init, every c = 1 (to expose the first and last layers' width dependence).
    """
    if lr_table not in LR_TABLES:
        raise ValueError(f"lr_table must be one of {list(LR_TABLES)}; got {lr_table!r}")
    rows = []
    for layer in range(depth + 1):
        kind = "input" if layer == 0 else "output" if layer == depth else "hidden"
        fan_in = in_features if kind == "input" else width
        init_var, formula = {"input": (2 / in_features, "2/n0"), "hidden": (2 / width, "2/n"),
                             "output": (1 / width**2, "1/n^2")}[kind]
        lr, lr_formula = {"input": (width / in_features, "n/n0"), "hidden": (1.0, "1"),
                          "output": (1 / width, "1/n")}[kind]
        if lr_table == "unit":
            lr, lr_formula = 1.0, "1"
        rows.append(dict(layer=f"layers.{layer}", kind=kind, fan_in=fan_in, init_var=init_var,
                         init_var_formula=formula, multiplier=1.0, lr_scale=lr, lr_scale_formula=lr_formula))
    return pd.DataFrame(rows)


def make_model(in_features: int, width: int, depth: int, seed: int, dtype: torch.dtype = torch.float64) -> MLP:
    """The note's network: `replicate.models.MLP` under 'mup' init (= the mean-field init above), no biases.

    The init is drawn from torch's generator seeded with `seed`, without touching the global RNG state.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return MLP(in_features, width, depth, 1, parametrization="mup", bias=False).to(dtype)


def gaussian_batch(batch: int, in_features: int, seed: int, dtype: torch.dtype = torch.float64):
    """x ~ N(0, I_{n₀}) (batch rows) and targets y = 1."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, in_features, generator=g, dtype=dtype), torch.ones(batch, 1, dtype=dtype)


def _lr_scales(model: MLP, table: pd.DataFrame) -> dict[str, float]:
    scale = dict(zip(table.layer, table.lr_scale))
    return {name: scale[name.rpartition(".")[0]] for name, _ in model.named_parameters()}


def _kinds(model: MLP) -> dict[str, str]:
    kind = {row.name: row.kind for row in model.table}
    return {name: kind[name.rpartition(".")[0]] for name, _ in model.named_parameters()}


def step_direction(model: MLP, x: torch.Tensor, y: torch.Tensor, table: pd.DataFrame) -> dict[str, torch.Tensor]:
    """t = −c ⊙ ∇_θ L: the GD step per unit η, L = 1/(2B) Σ_b (f(x_b) − y_b)²."""
    params = {k: v.detach() for k, v in model.named_parameters()}
    g = grad(lambda p: mse(functional_call(model, p, (x,)), y))(params)
    scales = _lr_scales(model, table)
    return {k: -scales[k] * g[k] for k in params}


def _outputs(model: MLP, params: dict[str, torch.Tensor], x: torch.Tensor) -> tuple[torch.Tensor, ...]:
    out, pre = functional_call(model, params, (x,), {"return_preactivations": True})
    return (*pre, out)


def linear_response(model: MLP, x: torch.Tensor, y: torch.Tensor, table: pd.DataFrame,
                    groups: tuple[str, ...] = GROUPS) -> tuple[torch.Tensor, torch.Tensor]:
    """(C_ℓ for ℓ = 1..L, C_f) of eq. (2) for the step restricted to the layer kinds in `groups`.

    C_ℓ = mean_{i,b} (J_ℓ t)², C_f = mean_b (J_f t)², exactly (one jvp along the step direction t).
    """
    params = {k: v.detach() for k, v in model.named_parameters()}
    t = step_direction(model, x, y, table)
    kinds = _kinds(model)
    t = {k: v if kinds[k] in groups else torch.zeros_like(v) for k, v in t.items()}
    _, tangents = jvp(lambda p: _outputs(model, p, x), (params,), (t,))
    return torch.stack([d.pow(2).mean() for d in tangents[:-1]]), tangents[-1].pow(2).mean()


def _stepped_preactivation(model: MLP, t: dict[str, torch.Tensor], x: torch.Tensor, eta: float) -> torch.Tensor:
    """z^(L) of the network θ + η·t, as Σ (W + η T) v = W v + η T v layer by layer (no weight copies).

    Valid for the note's network: forward multipliers 1 and no biases (checked).
    """
    assert all(row.multiplier == 1.0 for row in model.table) and all(m.bias is None for m in model.layers)
    h = x
    for row, layer in zip(model.table[:-1], model.layers):
        w = layer.weight.detach()
        z = h @ w.T + eta * (h @ t[f"{row.name}.weight"].T)
        h = torch.relu(z)
    return z


def full_step(model: MLP, x: torch.Tensor, y: torch.Tensor, table: pd.DataFrame,
              etas: np.ndarray) -> torch.Tensor:
    """M_L(η) of eq. (1) after one full (nonlinear) GD step θ + η·t, for each η in `etas`."""
    t = step_direction(model, x, y, table)
    with torch.no_grad():
        z0 = _stepped_preactivation(model, t, x, 0.0)
        return torch.stack([(_stepped_preactivation(model, t, x, float(eta)) - z0).pow(2).mean() for eta in etas])


def full_step_eta_star(model: MLP, x: torch.Tensor, y: torch.Tensor, table: pd.DataFrame,
                       eta_lin: float, iters: int = 30) -> float:
    """The η with M_L(η) = 1 after one full GD step, by bisection in log η around η*_lin = C_L^(−1/2).

    The bracket [η*_lin/100, 100·η*_lin] is widened until M_L changes side of 1 across it.
    """
    t = step_direction(model, x, y, table)
    with torch.no_grad():
        z0 = _stepped_preactivation(model, t, x, 0.0)

        def m(eta: float) -> float:
            return float((_stepped_preactivation(model, t, x, eta) - z0).pow(2).mean())

        lo, hi = math.log(eta_lin / 100), math.log(eta_lin * 100)
        while m(math.exp(lo)) >= 1:
            lo -= math.log(100)
        while m(math.exp(hi)) < 1:
            hi += math.log(100)
        for _ in range(iters):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if m(math.exp(mid)) < 1 else (lo, mid)
    return math.exp((lo + hi) / 2)


def _seed(base: int, n: int, depth: int, s: int) -> int:
    return base * 1_000_003 + s * 7919 + n * 31 + depth


def update_sizes(cfg: UpdateSizeConfig, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The grid over (n, L, seed): (linear-response table, full-step table).

    Linear: one row per (n, L, seed, layer ℓ) with C_ℓ (eq. 2, mean-field LRs) and, at ℓ = L, C_f.
    Full step: one row per (n, L, seed, η) with M_L(η) (eq. 1) and its linear prediction C_L·η².
    """
    dtype = getattr(torch, cfg.dtype)
    lin, full = [], []
    for n, depth in cfg.pairs():
        table = mean_field_table(cfg.in_features, n, depth)
        for s in range(cfg.seeds):
            model = make_model(cfg.in_features, n, depth, _seed(seed, n, depth, s), dtype)
            x, y = gaussian_batch(cfg.batch, cfg.in_features, _seed(seed, 0, 0, s), dtype)
            c, cf = linear_response(model, x, y, table)
            lin.append(pd.DataFrame({"n": n, "L": depth, "seed": s, "layer": np.arange(1, depth + 1),
                                     "C": c.numpy(), "C_f": float(cf)}))
            m = full_step(model, x, y, table, cfg.etas)
            full.append(pd.DataFrame({"n": n, "L": depth, "seed": s, "eta": cfg.etas, "M": m.numpy(),
                                      "M_linear": float(c[-1]) * cfg.etas**2}))
    return pd.concat(lin, ignore_index=True), pd.concat(full, ignore_index=True)


def nonlinear_eta_star(cfg: UpdateSizeConfig, seed: int = 0) -> pd.DataFrame:
    """η* by both definitions at n = `fit_width`, L in `fit_depths`: η*_lin = C_L^(−1/2), η*_full."""
    dtype = getattr(torch, cfg.dtype)
    n, rows = cfg.fit_width, []
    for depth in [d for d in cfg.fit_depths if (n, d) in cfg.pairs()]:
        table = mean_field_table(cfg.in_features, n, depth)
        for s in range(cfg.seeds):
            model = make_model(cfg.in_features, n, depth, _seed(seed, n, depth, s), dtype)
            x, y = gaussian_batch(cfg.batch, cfg.in_features, _seed(seed, 0, 0, s), dtype)
            c_last = float(linear_response(model, x, y, table)[0][-1])
            eta_lin = c_last**-0.5
            rows.append({"n": n, "L": depth, "seed": s, "eta_lin": eta_lin,
                         "eta_full": full_step_eta_star(model, x, y, table, eta_lin)})
    return pd.DataFrame(rows)


def group_width_scan(cfg: UpdateSizeConfig, seed: int = 0) -> pd.DataFrame:
    """Per-layer-group coefficients vs n at L = `group_depth`, with unit and with mean-field LR scales.

    One row per (lr_table, group, n, seed): C_L of the step restricted to the input layer or to the
    hidden layers, and C_f (the output's change) of the step restricted to the output layer.
    """
    dtype = getattr(torch, cfg.dtype)
    rows, depth = [], cfg.group_depth
    for lr_table in LR_TABLES:
        for n in [n for n in cfg.widths if depth * n * n <= cfg.max_weights]:
            table = mean_field_table(cfg.in_features, n, depth, lr_table)
            for s in range(cfg.seeds):
                model = make_model(cfg.in_features, n, depth, _seed(seed, n, depth, s), dtype)
                x, y = gaussian_batch(cfg.batch, cfg.in_features, _seed(seed, 0, 0, s), dtype)
                for group in GROUPS:
                    c, cf = linear_response(model, x, y, table, groups=(group,))
                    value = float(cf) if group == "output" else float(c[-1])
                    rows.append({"lr_table": lr_table, "group": group, "n": n, "seed": s,
                                 "quantity": "C_f" if group == "output" else "C_L", "C": value})
    return pd.DataFrame(rows)


def depth_fit(lin: pd.DataFrame, cfg: UpdateSizeConfig, n: int, seed: int = 0) -> tuple[float, float, float]:
    """Slope s of C_L ∝ L^s at width n over the depths in `fit_depths` with n ≥ fit_ratio·L (eq. 3: s = 3).

    NaNs when fewer than 3 depths qualify.
    """
    d = lin[(lin.n == n) & (lin.layer == lin.L) & lin.L.isin(cfg.fit_depths) & (n >= cfg.fit_ratio * lin.L)]
    if d.L.nunique() < 3:
        return math.nan, math.nan, math.nan
    f = fits.power_law(d, "L", "C", average="arithmetic", n_boot=cfg.bootstrap, seed=seed)
    return f["p"], f["p_lo"], f["p_hi"]


def width_ratio(lin: pd.DataFrame, cfg: UpdateSizeConfig) -> pd.DataFrame:
    """C_L(n₁)/C_L(n₂) (means over seeds) for the `ratio_widths` pair, at every depth ≤ ratio_max_depth."""
    n1, n2 = cfg.ratio_widths[0], cfg.ratio_widths[-1]
    last = lin[(lin.layer == lin.L) & (lin.L <= cfg.ratio_max_depth)].groupby(["L", "n"]).C.mean().unstack()
    if n1 not in last or n2 not in last:
        return pd.DataFrame(columns=["L", "ratio"])
    return (last[n1] / last[n2]).dropna().rename("ratio").reset_index()


# ----------------------------------------------------------------------------------------------------------
# Notebook lr-sweep: a coordinate check over width and depth, and the training-optimal LR against depth
# under SP, μP and depth-μP (`replicate.parametrizations`: depth-μP = μP with every LR multiplier × L^(−3/2)).


@dataclass(frozen=True)
class LRSweepConfig:
    """Notebook lr-sweep: coordinate check on a (width × depth) grid, then short SGD runs on an LR grid.

    Data: `dataset` (mnist1d: 40 features, 10 classes), standardised, `n_train` training examples, one-hot
    targets, MSE loss ½‖f − y‖² (mean over examples). Networks: `replicate.models.MLP(…, parametrization,
    bias=False)` for each name in `parametrizations`.
    Coordinate check: `coord_steps` full-batch SGD steps at base LR `coord_lr` on the first `coord_batch`
    examples, for every (width in `coord_widths`, depth in `coord_depths`, seed < `coord_seeds`).
    LR sweep: width `width`, depths `depths`; base LRs η = 2^(k/`lr_per_octave`) for k from
    `lr_per_octave`·log2 lo to ·log2 hi, with (lo, hi) = `lr_ranges[parametrization]`; `seeds` seeds;
    `steps` minibatch SGD steps of `batch_size`; the final loss is that on the whole training set.
    """

    width: int
    depths: tuple[int, ...]
    seeds: int
    steps: int
    coord_widths: tuple[int, ...]
    coord_depths: tuple[int, ...]
    parametrizations: tuple[str, ...] = ("sp", "mup", "depth_mup")
    dataset: str = "mnist1d"
    n_train: int = 1000
    batch_size: int = 100
    lr_ranges: tuple[tuple[str, float, float], ...] = (("sp", 2**-9, 2**0), ("mup", 2**-5, 2**4),
                                                       ("depth_mup", 2**-3, 2**7))
    lr_per_octave: int = 2
    diverge_factor: float = 1e4
    coord_lr: float = 1e-4
    coord_steps: int = 3
    coord_batch: int = 256
    coord_seeds: int = 2
    bootstrap: int = 1000

    def validate(self) -> None:
        for name in ("width", "depths", "seeds", "steps", "coord_widths", "coord_depths", "n_train", "batch_size",
                     "lr_per_octave", "coord_lr", "coord_steps", "coord_batch", "coord_seeds", "bootstrap"):
            positive(name, getattr(self, name))
        for p in self.parametrizations:
            if p not in ("sp", "mup", "depth_mup"):
                raise ParameterError(f"parametrizations must be among sp, mup, depth_mup; got {p!r}")
        if self.dataset not in ("mnist1d", "digits"):
            raise ParameterError(f"dataset must be one of mnist1d, digits; got {self.dataset!r}")
        if {p for p, _, _ in self.lr_ranges} < set(self.parametrizations):
            raise ParameterError("lr_ranges must give a (lo, hi) range for every parametrization")
        if any(not 0 < lo < hi for _, lo, hi in self.lr_ranges):
            raise ParameterError(f"every lr range needs 0 < lo < hi; got {self.lr_ranges}")
        if self.batch_size > self.n_train:
            raise ParameterError(f"batch_size must be ≤ n_train; got {self.batch_size} > {self.n_train}")

    def lrs(self, parametrization: str) -> np.ndarray:
        """The base-LR grid of one parametrisation: powers of 2^(1/lr_per_octave) from lo to hi."""
        lo, hi = {p: (lo, hi) for p, lo, hi in self.lr_ranges}[parametrization]
        k = np.arange(round(self.lr_per_octave * math.log2(lo)), round(self.lr_per_octave * math.log2(hi)) + 1)
        return 2.0 ** (k / self.lr_per_octave)


LR_SWEEP_PRESETS = {
    "smoke": LRSweepConfig(width=64, depths=(2, 3, 4), seeds=1, steps=20, coord_widths=(64, 128),
                           coord_depths=(2, 4), n_train=400, lr_per_octave=1, coord_seeds=1, bootstrap=100),
    "cpu": LRSweepConfig(width=128, depths=(2, 4, 8), seeds=2, steps=150, coord_widths=(128, 256, 512, 1024),
                         coord_depths=(2, 4, 8)),
    "paper": LRSweepConfig(width=1024, depths=(2, 4, 8, 16, 32), seeds=4, steps=1000, n_train=4000,
                           batch_size=128, coord_widths=(256, 512, 1024, 2048, 4096),
                           coord_depths=(2, 4, 8, 16, 32), coord_seeds=4, lr_per_octave=4,
                           lr_ranges=(("sp", 2**-12, 2**0), ("mup", 2**-8, 2**2), ("depth_mup", 2**-3, 2**7))),
}
LR_SWEEP_DRY_RUN = {"steps": 1, "seeds": 1, "coord_steps": 1, "coord_seeds": 1, "coord_batch": 8, "n_train": 128,
                    "batch_size": 64, "lr_per_octave": 1, "bootstrap": 10, "depths": (2, 4, 32),
                    "coord_widths": (256, 4096), "coord_depths": (2, 32)}


def sweep_data(cfg: LRSweepConfig, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(X, Y): `n_train` standardised training inputs of `dataset` and their one-hot targets (seeded subset)."""
    ds = data.standardize(data.load(cfg.dataset, n_train=cfg.n_train, n_test=1, seed=seed))
    return ds.X_train.flatten(1), data.one_hot(ds.y_train, ds.num_classes)


def coordinate_check(parametrization: str, width: int, depth: int, X: torch.Tensor, Y: torch.Tensor,
                     lr: float, steps: int, seed: int) -> dict[str, float]:
    """RMS change of the last hidden pre-activation z^(L) and of the output f after `steps` full-batch SGD steps.

    rms_dz = (mean_{b,i} (z_i^(L)(x_b; θ_t) − z_i^(L)(x_b; θ_0))²)^½ = M_L^½ of eq. (1) after t steps; per-layer
    LRs η·c_ℓ from the parametrisation's table. Under μP it is flat in n; under depth-μP flat in n and L
    (its c_ℓ carry L^(−3/2), eq. 3); under SP it grows like n^(1/2) (δ^(L) = O(n^(−1/2)), ‖x^(ℓ−1)‖² = Θ(n)).
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = MLP(X.shape[1], width, depth, Y.shape[1], parametrization=parametrization, bias=False)
    opt = torch.optim.SGD(param_groups(model, lr))
    with torch.no_grad():
        f0, pre0 = model(X, return_preactivations=True)
    for _ in range(steps):
        opt.zero_grad()
        mse(model(X), Y).backward()
        opt.step()
    with torch.no_grad():
        f1, pre1 = model(X, return_preactivations=True)
    return {"rms_dz": float((pre1[-1] - pre0[-1]).pow(2).mean().sqrt()),
            "rms_df": float((f1 - f0).pow(2).mean().sqrt())}


def coordinate_grid(cfg: LRSweepConfig, X: torch.Tensor, Y: torch.Tensor, seed: int = 0) -> pd.DataFrame:
    """Tidy table: one row per (parametrization, width, depth, seed) with rms_dz and rms_df."""
    Xb, Yb = X[: cfg.coord_batch], Y[: cfg.coord_batch]
    rows = []
    for p in cfg.parametrizations:
        for n in cfg.coord_widths:
            for depth in cfg.coord_depths:
                for s in range(cfg.coord_seeds):
                    out = coordinate_check(p, n, depth, Xb, Yb, cfg.coord_lr, cfg.coord_steps,
                                           _seed(seed, n, depth, s))
                    rows.append({"parametrization": p, "width": n, "depth": depth, "seed": s, **out})
    return pd.DataFrame(rows)


def lr_sweep_point(cfg: LRSweepConfig, parametrization: str, depth: int, X: torch.Tensor, Y: torch.Tensor,
                   seed: int = 0) -> pd.DataFrame:
    """One `train_ensemble` call: members = the parametrisation's LR grid × `seeds` seeds, at depth L.

    One row per member: lr, seed, final loss on the whole training set (NaN when it diverged: loss non-finite
    or > diverge_factor × its initial loss), diverged flag.
    """
    members = [Member(seed=_seed(seed, cfg.width, depth, s), lr=float(lr))
               for lr in cfg.lrs(parametrization) for s in range(cfg.seeds)]
    train = TrainConfig(steps=cfg.steps, loss="mse", batch_size=cfg.batch_size, diverge_factor=cfg.diverge_factor,
                        log_every=max(cfg.steps, 1), data_seed=seed, progress=False)
    res = train_ensemble(lambda: MLP(X.shape[1], cfg.width, depth, Y.shape[1], parametrization, bias=False),
                         members, X, Y, train, X_eval=X, y_eval=Y)
    h = res.history
    final = h[h.step == cfg.steps].set_index("member").eval_loss if "eval_loss" in h else pd.Series(dtype=float)
    rows = []
    for i, m in enumerate(members):
        loss = float(final.get(i, math.nan))
        bad = bool(res.diverged[i]) or not math.isfinite(loss)
        rows.append({"lr": m.lr, "seed": i % cfg.seeds, "final_loss": math.nan if bad else loss, "diverged": bad})
    return pd.DataFrame(rows)


def optimal_lrs(runs: pd.DataFrame) -> pd.DataFrame:
    """Per (parametrization, depth, seed): the grid LR of lowest final loss among non-diverged runs."""
    ok = runs.dropna(subset=["final_loss"])
    idx = ok.groupby(["parametrization", "depth", "seed"]).final_loss.idxmin()
    return ok.loc[idx, ["parametrization", "depth", "seed", "lr", "final_loss"]].rename(
        columns={"lr": "lr_opt"}).reset_index(drop=True)


def width_exponents(coord: pd.DataFrame, x: str, by: str, value: str = "rms_dz", *, n_boot: int = 1000,
                    seed: int = 0) -> pd.DataFrame:
    """Exponent p of value ∝ x^p (`fits.power_law`, geometric mean over seeds) per (parametrization, `by`)."""
    rows = []
    for (p, b), g in coord.groupby(["parametrization", by]):
        fit = fits.power_law(g, x, value, n_boot=n_boot, seed=seed)
        rows.append({"parametrization": p, by: b, "exponent": fit["p"], "lo": fit["p_lo"], "hi": fit["p_hi"]})
    return pd.DataFrame(rows)
