"""Wide ReLU networks (Lewkowycz et al. 2020, Sec. 3): NTK parametrisation, MSE on one-hot targets, full-batch GD.

For each (width, seed) we measure λ0, the top eigenvalue of the NTK JJᵀ/m at init, train every η = c·η_crit,
η_crit = 2/λ0, at once, and classify each run's phase from its loss. Accuracy is compared at a fixed *physical
time* τ = η·λ0·t (the paper's "physical time" comparison): the run at factor c is evaluated at step
t_c = round(c_min·steps/c), where every run has moved the same τ = 2·c_min·steps as the slowest one.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd
import torch

from replicate import memory
from replicate.models import MLP, seeded
from replicate.scales import ParameterError, one_of, positive


@dataclass(frozen=True)
class ReLUConfig:
    """Notebook 2. η = c·η_crit with η_crit = 2/λ0 measured per (width, seed); λ_t tracked for `track_factors`
    at every step below `track_every` (the catapult) and every `track_every` steps after."""

    dataset: str
    n_train: int
    n_test: int
    pool: int  # average-pool the 28×28 images by this factor (1: none)
    widths: tuple[int, ...]
    depth: int
    steps: int
    seeds: int
    lr_factors: tuple[float, ...]
    track_factors: tuple[float, ...]
    track_every: int

    def validate(self) -> None:
        from replicate.data import DATASETS

        one_of("dataset", self.dataset, [d for d in DATASETS if d in ("mnist", "fashion-mnist")])
        for name in ("n_train", "n_test", "pool", "widths", "depth", "steps", "seeds", "lr_factors", "track_every"):
            positive(name, getattr(self, name))
        missing = set(self.track_factors) - set(self.lr_factors)
        if missing:
            raise ParameterError(f"track_factors must be among lr_factors; {sorted(missing)} are not")

    def memory_bytes(self) -> int:
        """One (width, seed) point at the largest width: every LR factor's member trained at once, full batch; beside
        it λ's Lanczos (60 vectors, Gauss-Newton graph on the training set), the tracked members' warm starts and one
        member's test forward; the data (train and test) and the loading of the data set."""
        d, width = (28 // self.pool) ** 2, max(self.widths)
        params = memory.mlp_params(d, width, self.depth, 10, bias=False)
        make = partial(MLP, d, width, self.depth, 10, "ntk", bias=False)
        created, alive = memory.activations(make, (d,)), memory.activations(make, (d,), train=False)
        data = (self.n_train + self.n_test) * (d + 10) + len(self.track_factors) * params
        return (memory.BASE + memory.dataset_bytes(self.dataset)
                + memory.training_bytes(params, len(self.lr_factors), self.n_train, created, data)
                + memory.curvature_bytes(params, self.n_train, created, max_iter=60)
                + memory.forward_bytes(1, self.n_test, alive))

    def physical_step(self, factor: float) -> int:
        """t_c = round(c_min·steps/c): the step at which the run at factor c has moved τ = 2·c_min·steps."""
        return max(1, round(min(self.lr_factors) * self.steps / factor))


# Fine near η/η_crit = 1 (the onset) and near η_max ≈ 6 η_crit (the paper's η_max ≈ 12/λ0), coarse between.
FACTORS = (0.5, 0.9, 1.0, 1.05, 1.1, 1.15, 1.2, 1.25, 1.3, 1.4, 2.0, 3.0, 4.0, 5.0, 5.5, 5.75, 6.0, 6.5, 7.0,
           8.0)
RELU_PRESETS = {
    "smoke": ReLUConfig("mnist", 64, 256, 4, (128,), 2, 40, 1, (0.5, 1.5, 4.0, 16.0), (1.5,), 10),
    "cpu": ReLUConfig("mnist", 128, 1000, 2, (512, 1024), 2, 200, 2, FACTORS, (0.5, 1.4, 3.0, 5.0), 20),
    "gpu": ReLUConfig("mnist", 512, 10000, 1, (512, 1024, 2048, 4096), 2, 400, 8,
                      tuple(sorted({*FACTORS, *np.round(np.arange(0.9, 1.5, 0.025), 3),
                                    *np.round(np.arange(4.5, 8.0, 0.125), 3)})), (0.5, 1.4, 3.0, 5.0), 10),
    "paper": ReLUConfig("mnist", 512, 10000, 1, (2048,), 3, 1000, 5, FACTORS, (0.5, 1.4, 4.0, 8.0), 10),
}
RELU_DRY_RUN = {"steps": 1, "n_train": 16, "n_test": 16, "seeds": 1, "track_every": 1, "lr_factors": (0.5, 16.0),
                "track_factors": (0.5,)}


def relu_data(cfg: ReLUConfig, seed: int = 0):
    """Inputs pooled, flattened and scaled to ‖x‖² = dim (unit variance per coordinate on average);
    one-hot targets for MSE (train and test). Returns X, Y, X_test, Y_test."""
    from replicate.data import load, mlp_inputs, one_hot

    ds = load(cfg.dataset, n_train=cfg.n_train, n_test=cfg.n_test, seed=seed)
    return (mlp_inputs(ds.X_train, cfg.pool), one_hot(ds.y_train, ds.num_classes), mlp_inputs(ds.X_test, cfg.pool),
            one_hot(ds.y_test, ds.num_classes))


def relu_model_factory(width: int, depth: int, in_features: int, out_features: int):
    """NTK-parametrised ReLU MLP (σ_w = √2, no bias), as in the paper's wide-network experiments."""
    return lambda: MLP(in_features, width, depth, out_features, parametrization="ntk", bias=False)


def ntk_sharpness(model: torch.nn.Module, X: torch.Tensor, Y: torch.Tensor, v0=None):
    """Top eigenvalue of the Gauss-Newton matrix JᵀJ/m of L = 1/(2m)Σ‖f − y‖², i.e. of the NTK JJᵀ/m."""
    from replicate.losses import mse
    from replicate.sharpness import top_eigenvalues

    return top_eigenvalues(model, mse, X, Y, curvature="gauss_newton", hvp_mode="double_backward", v0=v0,
                           max_iter=60, tol=1e-4)


def run_relu_seed(cfg: ReLUConfig, width: int, seed: int, X, Y, X_test, Y_test, track: bool = True) -> pd.DataFrame:
    """Measure λ0 of the init, train every η = c·2/λ0 at once (full-batch GD), log the loss every step, track λ_t
    for `track_factors` (when `track`; Lanczos every `track_every` steps costs as much as the training), and
    evaluate each run's test accuracy once, at its physical-time step t_c.

    Returns the tidy history: member rows per step with factor, lam0, loss, lam (NaN where not measured),
    acc_tau (test accuracy at t_c, NaN elsewhere), lam_final (last step of converged runs), diverged.
    """
    from replicate.ensemble import Member, TrainConfig, train_ensemble
    from replicate.losses import accuracy

    make = relu_model_factory(width, cfg.depth, X.shape[1], Y.shape[1])
    init = seeded(make, seed, X.device, X.dtype)
    lam0 = float(ntk_sharpness(init, X, Y).eigenvalues[0])
    members = [Member(seed, c * 2 / lam0) for c in cfg.lr_factors]
    tracked = [i for i, c in enumerate(cfg.lr_factors) if track and c in cfg.track_factors]
    at_tau = {i: cfg.physical_step(c) for i, c in enumerate(cfg.lr_factors)}
    labels = Y_test.argmax(1)
    warm: dict[int, torch.Tensor] = {}

    def callback(step, state):
        lam = torch.full((len(members),), float("nan"), device="cpu")
        acc = torch.full((len(members),), float("nan"), device="cpu")
        for i in range(len(members)):
            if bool(state.diverged[i]):
                continue
            if (step < cfg.track_every or step % cfg.track_every == 0) and i in tracked:
                res = ntk_sharpness(state.member_module(i), X, Y, v0=warm.get(i))
                warm[i] = res.eigenvectors
                lam[i] = float(res.eigenvalues[0])
            if step == at_tau[i]:
                with torch.no_grad():
                    acc[i] = float(accuracy(state.member_module(i)(X_test), labels))
        return {"lam": lam, "acc_tau": acc}

    tcfg = TrainConfig(steps=cfg.steps, loss="mse", diverge_factor=1e6, log_every=1, progress=True)
    res = train_ensemble(make, members, X, Y, tcfg, callback=callback)
    final = {i: float(ntk_sharpness(res.member_module(i), X, Y).eigenvalues[0])
             for i in range(len(members)) if not bool(res.diverged[i])}
    h = res.history
    h["factor"] = [cfg.lr_factors[m] for m in h["member"]]
    h["lam0"] = lam0
    last = h["step"] == h.groupby("member")["step"].transform("max")
    h.loc[last, "lam_final"] = [final.get(m, np.nan) for m in h.loc[last, "member"]]
    return h


def relu_phases(history: pd.DataFrame, steps: int, rebound: float = 1.05, by: tuple[str, ...] = ("width", "seed")
                ) -> pd.DataFrame:
    """One row per (width, seed, factor): λ0, phase, loss rebound, λ_final/λ0, η·λ_final, accuracy at fixed τ.

    With 10 outputs the initial loss is dominated by directions that fall at once, so a catapult shows as a
    *rebound*: the loss rises above its running minimum, max_t L_t / min_{s≤t} L_s > `rebound` (the history must
    be logged every step). divergent: flagged by the engine (non-finite, or loss > 1e6·L0), or not back below L0
    at the end of the budget; catapult: a rebound, then converging; lazy: no rebound.
    """
    rows = []
    for keys, g in history.groupby([*by, "factor"]):
        g = g.sort_values("step")
        loss = g["loss"].to_numpy()
        l0, final = loss[0], loss[-1]
        div = bool(g["diverged"].iloc[-1]) or g["step"].iloc[-1] < steps or not np.isfinite(final) or final >= l0
        ratio = float(np.nanmax(loss / np.minimum.accumulate(loss))) if np.isfinite(loss).all() else np.inf
        lam_ratio = g["lam_final"].iloc[-1] / g["lam0"].iloc[0] if "lam_final" in g else np.nan
        factor = keys[-1]
        rows.append({**dict(zip(by, keys[:-1])), "factor": factor, "eta_lam0": 2 * factor, "lam0": g["lam0"].iloc[0],
                     "phase": "divergent" if div else "catapult" if ratio > rebound else "lazy",
                     "rebound": ratio, "final_loss_ratio": final / l0, "lam_final_ratio": lam_ratio,
                     "eta_lam_final": 2 * factor * lam_ratio,
                     "acc_tau": g["acc_tau"].dropna().iloc[0] if g["acc_tau"].notna().any() else np.nan})
    return pd.DataFrame(rows)
