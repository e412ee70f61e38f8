"""Lewkowycz et al. (2020), the catapult mechanism: the solvable uv model and phase classification.

The uv model (paper, Sec. 2): f(x) = vᵀu·x/√n with u, v ∈ ℝⁿ, entries N(0, 1) at init, one sample
(x, y), loss L = ½(f − y)². Its NTK is λ = (‖u‖² + ‖v‖²)·x²/n. Gradient descent with rate η closes on
(f, λ): with χ = f − y,

    f_{t+1} = f_t (1 + η²χ_t²x²/n) − ηλ_t χ_t                     (eq. 3, general y)
    λ_{t+1} = λ_t + (η χ_t x²/n)(η χ_t λ_t − 4 f_t)                (eq. 4, general y)

so the phases are lazy for ηλ0 < 2, catapult for 2 < ηλ0 < 4, divergent for ηλ0 > 4 (n → ∞).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from replicate.scales import ParameterError, one_of, positive

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

    @property
    def lr_grid(self) -> np.ndarray:
        return np.round(np.arange(self.lr_min, self.lr_max + self.lr_step / 2, self.lr_step), 10)


UV_PRESETS = {
    "smoke": UVConfig(widths=(100, 1000), seeds=2, steps=300, lr_min=0.1, lr_max=5.0, lr_step=0.1),
    "cpu": UVConfig(widths=(100, 1000, 10000), seeds=8, steps=2000, lr_min=0.02, lr_max=5.0, lr_step=0.02),
    "paper": UVConfig(widths=(100, 1000, 10000, 100000), seeds=20, steps=5000, lr_min=0.01, lr_max=5.0,
                      lr_step=0.01),
}
UV_DRY_RUN = {"steps": 1}


def uv_init(n: int, members: int, seed: int, dtype=torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    """u, v of shape (members, n), entries N(0, 1), from a seeded generator."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(members, n, generator=g, dtype=dtype), torch.randn(members, n, generator=g, dtype=dtype)


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


def simulate_uv(cfg: UVConfig, seed: int = 0) -> pd.DataFrame:
    """One row per (width, seed, ηλ0): phase, peak loss / L0, η·λ_final, λ_final/λ0."""
    grid = torch.tensor(cfg.lr_grid, dtype=torch.float64)
    rows = []
    for n in cfg.widths:
        for s in range(cfg.seeds):
            u, v = uv_init(n, 1, seed=seed * 1_000_003 + s * 7919 + n)
            f0, lam0 = uv_f_lambda(u, v, cfg.x)
            eta = grid / lam0
            f, lam = uv_trajectories(f0.expand_as(grid), lam0.expand_as(grid), eta, n, cfg.steps, cfg.y, cfg.x)
            loss = 0.5 * (f - cfg.y) ** 2
            phases = classify_phases(loss)
            rows.append(pd.DataFrame({
                "n": n, "seed": s, "eta_lam0": cfg.lr_grid, "phase": phases,
                "peak_loss_ratio": (loss.max(0).values / loss[0]).numpy(),
                "eta_lam_final": (eta * lam[-1]).numpy(),
                "lam_final_ratio": (lam[-1] / lam0).numpy(),
            }))
    return pd.concat(rows, ignore_index=True)


def boundaries(df: pd.DataFrame, by: tuple[str, ...] = ("n", "seed")) -> pd.DataFrame:
    """Measured phase boundaries per group: midpoints between the last ηλ0 of one phase and the first of the next.

    lazy→catapult: between the largest lazy point and the smallest catapult point above it;
    catapult→divergent: between the largest converged point and the smallest divergent point above it.
    Unconverged points take no part.
    """
    out = []
    for keys, g in df.groupby(list(by)):
        g = g.sort_values("eta_lam0")
        x, ph = g["eta_lam0"].to_numpy(), g["phase"].to_numpy()
        first_cat = x[ph == "catapult"].min() if (ph == "catapult").any() else np.nan
        lazy_below = x[(ph == "lazy") & (x < first_cat)] if np.isfinite(first_cat) else x[ph == "lazy"]
        first_div = x[ph == "divergent"].min() if (ph == "divergent").any() else np.nan
        conv = (ph == "lazy") | (ph == "catapult")
        conv_below = x[conv & (x < first_div)] if np.isfinite(first_div) else np.array([])
        out.append({**dict(zip(by, keys)),
                    "lazy_catapult": (lazy_below.max() + first_cat) / 2 if len(lazy_below) and np.isfinite(first_cat)
                    else np.nan,
                    "catapult_divergent": (conv_below.max() + first_div) / 2 if len(conv_below) else np.nan})
    return pd.DataFrame(out)


# ------------------------------------------------------------------------------------------------
# Wide ReLU networks (paper, Sec. 3): NTK parametrisation, MSE on one-hot targets, full-batch GD.
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReLUConfig:
    """Notebook 2. η = c·η_crit with η_crit = 2/λ0 measured per seed; λ_t tracked for `track_factors`."""

    dataset: str
    n_train: int
    n_test: int
    pool: int  # average-pool the 28×28 images by this factor (1: none)
    width: int
    depth: int
    steps: int
    seeds: int
    lr_factors: tuple[float, ...]
    track_factors: tuple[float, ...]
    track_every: int
    log_every: int

    def validate(self) -> None:
        from replicate.data import DATASETS

        one_of("dataset", self.dataset, [d for d in DATASETS if d in ("mnist", "fashion-mnist")])
        for name in ("n_train", "n_test", "pool", "width", "depth", "steps", "seeds", "lr_factors", "track_every",
                     "log_every"):
            positive(name, getattr(self, name))
        missing = set(self.track_factors) - set(self.lr_factors)
        if missing:
            raise ParameterError(f"track_factors must be among lr_factors; {sorted(missing)} are not")


FACTORS = (0.5, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0, 3.0, 4.0, 5.0, 5.5, 6.0, 7.0, 8.0, 10.0, 12.0, 16.0)
RELU_PRESETS = {
    "smoke": ReLUConfig("mnist", 64, 256, 4, 128, 2, 40, 1, (0.5, 1.5, 4.0, 16.0), (1.5,), 10, 1),
    "cpu": ReLUConfig("mnist", 256, 2000, 2, 512, 2, 200, 2, FACTORS, (0.5, 1.5, 3.0, 5.0), 10, 1),
    "paper": ReLUConfig("mnist", 512, 10000, 1, 2048, 3, 1000, 5, FACTORS, (0.5, 1.5, 4.0, 8.0), 10, 1),
}
RELU_DRY_RUN = {"steps": 1, "n_train": 16, "n_test": 16, "seeds": 1, "track_every": 1, "lr_factors": (1.5, 16.0),
                "track_factors": (1.5,)}


def relu_data(cfg: ReLUConfig, seed: int = 0):
    """Inputs pooled, flattened and scaled to ‖x‖² = dim (unit variance per coordinate on average);
    one-hot targets for MSE (train and test). Returns X, Y, X_test, Y_test."""
    from replicate.data import load, mlp_inputs, one_hot

    ds = load(cfg.dataset, n_train=cfg.n_train, n_test=cfg.n_test, seed=seed)
    return (mlp_inputs(ds.X_train, cfg.pool), one_hot(ds.y_train, ds.num_classes), mlp_inputs(ds.X_test, cfg.pool),
            one_hot(ds.y_test, ds.num_classes))


def relu_model_factory(cfg: ReLUConfig, in_features: int, out_features: int):
    """NTK-parametrised ReLU MLP (σ_w = √2, no bias), as in the paper's wide-network experiments."""
    from replicate.models import MLP

    return lambda: MLP(in_features, cfg.width, cfg.depth, out_features, parametrization="ntk", bias=False)


def ntk_sharpness(model: torch.nn.Module, X: torch.Tensor, Y: torch.Tensor, v0=None):
    """Top eigenvalue of the Gauss-Newton matrix JᵀJ/m of L = 1/(2m)Σ‖f − y‖², i.e. of the NTK JJᵀ/m."""
    from replicate.losses import mse
    from replicate.sharpness import top_eigenvalues

    return top_eigenvalues(model, mse, X, Y, curvature="gauss_newton", hvp_mode="double_backward", v0=v0,
                           max_iter=60, tol=1e-4)


def run_relu_seed(cfg: ReLUConfig, seed: int, X, Y, X_test, Y_test) -> pd.DataFrame:
    """Measure λ0 of seed's init, train every η = c·2/λ0 at once (full-batch GD), track λ_t for `track_factors`.

    Returns the tidy history: member rows per logged step with factor, eta_lam0 = ηλ0, loss, lam (NaN where not
    measured), eval_acc (last step), diverged.
    """
    from replicate.ensemble import Member, TrainConfig, train_ensemble

    make = relu_model_factory(cfg, X.shape[1], Y.shape[1])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        init = make().to(X.dtype)
    lam0 = float(ntk_sharpness(init, X, Y).eigenvalues[0])
    members = [Member(seed, c * 2 / lam0) for c in cfg.lr_factors]
    tracked = [i for i, c in enumerate(cfg.lr_factors) if c in cfg.track_factors]
    warm: dict[int, torch.Tensor] = {}

    def track(step, state):
        if step % cfg.track_every:
            return None
        lam = torch.full((len(members),), float("nan"))
        for i in tracked:
            if not bool(state.diverged[i]):
                res = ntk_sharpness(state.member_module(i), X, Y, v0=warm.get(i))
                warm[i] = res.eigenvectors
                lam[i] = float(res.eigenvalues[0])
        return {"lam": lam}

    tcfg = TrainConfig(steps=cfg.steps, loss="mse", diverge_factor=1e6, log_every=cfg.log_every, progress=True)
    res = train_ensemble(make, members, X, Y, tcfg, X_eval=X_test, y_eval=Y_test, callback=track)
    final = {i: float(ntk_sharpness(res.member_module(i), X, Y).eigenvalues[0])
             for i in range(len(members)) if not bool(res.diverged[i])}
    h = res.history
    h["factor"] = [cfg.lr_factors[m] for m in h["member"]]
    h["eta_lam0"] = 2 * h["factor"]
    h["lam0"] = lam0
    last = h["step"] == h.groupby("member")["step"].transform("max")
    h.loc[last, "lam_final"] = [final.get(m, np.nan) for m in h.loc[last, "member"]]
    return h


def relu_phases(history: pd.DataFrame, steps: int, rebound: float = 1.05) -> pd.DataFrame:
    """One row per (seed, factor): phase, peak loss / L0, loss rebound, η·λ_final, final eval accuracy.

    With 10 outputs the initial loss is dominated by directions that fall at once, so a catapult shows as a
    *rebound*: the loss rises above its running minimum, max_t L_t / min_{s≤t} L_s > `rebound` (the history must
    be logged every step). divergent: flagged by the engine (non-finite, or loss > 1e6·L0), or not back below L0
    at the end of the budget; catapult: a rebound, then converging; lazy: no rebound.
    """
    rows = []
    for (seed, factor), g in history.groupby(["seed", "factor"]):
        g = g.sort_values("step")
        loss = g["loss"].to_numpy()
        l0, final = loss[0], loss[-1]
        div = bool(g["diverged"].iloc[-1]) or g["step"].iloc[-1] < steps or not np.isfinite(final) or final >= l0
        ratio = float(np.nanmax(loss / np.minimum.accumulate(loss))) if np.isfinite(loss).all() else np.inf
        lam_final = g["lam_final"].iloc[-1] if "lam_final" in g else np.nan
        rows.append({"seed": seed, "factor": factor, "eta_lam0": 2 * factor,
                     "phase": "divergent" if div else "catapult" if ratio > rebound else "lazy",
                     "rebound": ratio, "peak_loss_ratio": np.nanmax(loss) / l0, "final_loss_ratio": final / l0,
                     "eta_lam_final": 2 * factor * lam_final / g["lam0"].iloc[0],
                     "eval_acc": g["eval_acc"].dropna().iloc[-1] if g["eval_acc"].notna().any() else np.nan})
    return pd.DataFrame(rows)


def relu_thresholds(phases: pd.DataFrame) -> pd.DataFrame:
    """Per seed, in units of η_crit = 2/λ0: onset of the catapult (midpoint between the last lazy factor and the
    first catapult factor above it) and η_max (midpoint between the last converged and the first divergent)."""
    b = boundaries(phases.assign(eta_lam0=phases["factor"]), by=("seed",))
    return b.rename(columns={"lazy_catapult": "onset", "catapult_divergent": "eta_max"})
