"""One network, three thresholds: 2/λ0 (lazy boundary), the catapult's η_max, and the maximal initial LR η*.

For one ReLU MLP (He init, full-batch gradient descent on L = 1/(2m)Σ‖f − y‖², one-hot targets) we measure
  λ0      the top eigenvalue of the NTK JJᵀ/m at initialisation (Lewkowycz et al.: lazy below η = 2/λ0),
  η_max   the largest constant LR whose run trains: finite, and at the end of the budget below both its initial
          loss and the loss ½·mean‖y‖² of the zero output (a ReLU net without biases can also fail by dying: its
          output collapses to zero instead of overflowing, which this criterion counts as a failure too),
  η*      the largest constant LR whose run reaches a validation accuracy t within the budget (Iyer et al.),
the last two by `lr_search.max_lr` (searched in [η_crit, 128·η_crit]), each round one batched ensemble run.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import torch

from replicate.ensemble import Member, TrainConfig, train_ensemble
from replicate.lr_search import BracketError, max_lr
from replicate.models import MLP
from replicate.papers.catapult import ntk_sharpness
from replicate.scales import ParameterError, one_of, positive


@dataclass(frozen=True)
class ThresholdsConfig:
    dataset: str
    n_train: int
    n_val: int
    pool: int
    depths: tuple[int, ...]
    widths: tuple[int, ...]
    min_ratio: int  # keep width ≥ min_ratio · depth
    seeds: int
    steps: int
    threshold: float  # validation accuracy that defines η*
    rel_tol: float

    def validate(self) -> None:
        one_of("dataset", self.dataset, ("mnist", "fashion-mnist"))
        for name in ("n_train", "n_val", "pool", "depths", "widths", "min_ratio", "seeds", "steps", "rel_tol"):
            positive(name, getattr(self, name))
        if not 0 < self.threshold < 1:
            raise ParameterError(f"threshold must be in (0, 1); got {self.threshold}")
        if not grid(self):
            raise ParameterError("no (depth, width) with width ≥ min_ratio · depth")


PRESETS = {
    "smoke": ThresholdsConfig("mnist", 256, 256, 4, (1, 2), (32, 64), 16, 1, 20, 0.2, 1.0),
    "cpu": ThresholdsConfig("mnist", 512, 1000, 2, (1, 2, 4), (64, 128, 256), 16, 1, 100, 0.4, 0.1),
    "paper": ThresholdsConfig("mnist", 4096, 10000, 1, (1, 2, 4, 8), (256, 512, 1024, 2048), 16, 3, 1000, 0.9,
                              0.05),
}
DRY_RUN = {"steps": 1, "n_train": 32, "n_val": 32, "depths": (1,), "widths": (2048,), "seeds": 1, "rel_tol": 1e3}


def grid(cfg: ThresholdsConfig) -> list[tuple[int, int]]:
    return [(d, w) for d in cfg.depths for w in cfg.widths if w >= cfg.min_ratio * d]


def load(cfg: ThresholdsConfig, seed: int = 0):
    """X, one-hot Y (train); X_val, one-hot Y_val."""
    from replicate.data import load as load_dataset, mlp_inputs, one_hot

    ds = load_dataset(cfg.dataset, n_train=cfg.n_train, n_test=cfg.n_val, seed=seed)
    return (mlp_inputs(ds.X_train, cfg.pool), one_hot(ds.y_train, 10), mlp_inputs(ds.X_test, cfg.pool),
            one_hot(ds.y_test, 10))


def _runs(lrs: torch.Tensor, depth: int, width: int, seed: int, data, cfg: ThresholdsConfig) -> pd.DataFrame:
    """One batched full-batch GD run per LR (same init); per member: converged, best validation accuracy."""
    X, Y, X_val, Y_val = data
    members = [Member(seed, float(lr)) for lr in lrs]
    train = TrainConfig(steps=cfg.steps, loss="mse", diverge_factor=1e6, eval_every=max(cfg.steps // 10, 1),
                        log_every=max(cfg.steps // 10, 1), progress=False)
    h = train_ensemble(lambda: MLP(X.shape[1], width, depth, 10, parametrization="sp", bias=False), members, X, Y,
                       train, X_eval=X_val, y_eval=Y_val).history
    last = h.sort_values("step").groupby("member").last()
    l0 = h[h.step == 0].set_index("member").loss
    dead = float(0.5 * Y.pow(2).sum(1).mean())
    converged = (~last.diverged) & (last.step == cfg.steps) & (last.loss < l0) & (last.loss < dead)
    best = h[~h.diverged].groupby("member").eval_acc.max().reindex(range(len(members))).fillna(0.0)
    return pd.DataFrame({"converged": converged.reindex(range(len(members))).fillna(False), "best_acc": best})


def measure(depth: int, width: int, seed: int, data, cfg: ThresholdsConfig) -> dict:
    """λ0, η_max and η* of one (depth, width, seed), with their brackets."""
    X, Y, _, _ = data
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        init = MLP(X.shape[1], width, depth, 10, parametrization="sp", bias=False).to(X.dtype)
    lam0 = float(ntk_sharpness(init, X, Y).eigenvalues[0])
    crit = 2 / lam0
    out = {"lam0": lam0, "eta_crit": crit}
    for name, ok in (("eta_max", lambda r: torch.tensor(r.converged.to_numpy(dtype=bool))),
                     ("eta_star", lambda r: torch.tensor(r.best_acc.to_numpy() >= cfg.threshold))):
        try:
            r = max_lr(lambda lrs: ok(_runs(lrs, depth, width, seed, data, cfg)), crit, crit * 128,
                       rel_tol=cfg.rel_tol)
            out.update({name: r.value, f"{name}_upper": r.upper, f"{name}_monotone": r.monotone})
        except BracketError as err:  # [η_crit, 128·η_crit] does not contain the threshold: say so, no value
            out.update({name: float("nan"), f"{name}_upper": float("nan"), f"{name}_monotone": False,
                        f"{name}_status": str(err)})
    return out
