"""Iyer, Hanin & Rolnick (2023): the maximal initial learning rate η* of ReLU MLPs and the sharpness at init.

η* (Definition, Sec. 2) is the largest constant LR at which a randomly initialised network reaches a threshold
validation accuracy t within a training budget. Algorithm 1 of the paper brackets it by bisection on the LR;
here `replicate.lr_search.max_lr` brackets it in log space, each round one batched run of `train_ensemble`
(members = the round's LRs). The paper's observation (Sec. 4) is the power law

    log η* = a + p · log(d · w)            (d = hidden layers, w = width; w ≫ d, input layer at a small LR)

and its theory (Sec. 5) bounds the sharpness λ1 (top Hessian eigenvalue of the training loss) at init by
functions of d · w; η* and λ1 are related, but η* ≠ c/λ1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from replicate import fits
from replicate.ensemble import Member, TrainConfig, train_ensemble
from replicate.losses import get_loss
from replicate.lr_search import BracketError, max_lr
from replicate.models import MLP
from replicate.scales import ParameterError, one_of, positive
from replicate.sharpness import top_eigenvalues

DATASETS = ("mnist", "fashion-mnist", "cifar-10")
PAPER_THRESHOLDS = {"mnist": 0.925, "cifar-10": 0.34}  # the paper's t (appendix, Algorithm 1)


def _check_grid(cfg) -> None:
    one_of("dataset", cfg.dataset, DATASETS)
    for name in ("n_train", "pool", "depths", "widths", "min_ratio", "max_dw", "seeds"):
        positive(name, getattr(cfg, name))
    if not grid(cfg.depths, cfg.widths, cfg.min_ratio, cfg.max_dw):
        raise ParameterError(f"no (depth, width) with width ≥ {cfg.min_ratio}·depth and depth·width ≤ "
                             f"{cfg.max_dw} in {cfg.depths} × {cfg.widths}")


@dataclass(frozen=True)
class EtaStarConfig:
    """Notebook 1: η* over a grid of (depth, width), per seed, for each input-layer LR multiplier.

    A run succeeds when its validation accuracy, checked every `eval_every` SGD steps, reaches `threshold`
    within `steps` steps (batch `batch_size`). `input_lr_mults[0]` is the paper's condition (ii), the
    input layer at a small LR; the others are the ablation, run with the first `ablation_seeds` seeds.
    """

    dataset: str
    n_train: int
    n_val: int
    pool: int  # average-pool images by this factor (1: none)
    depths: tuple[int, ...]
    widths: tuple[int, ...]
    min_ratio: int  # grid points have width ≥ min_ratio · depth
    max_dw: int  # … and depth · width ≤ max_dw (the CPU budget)
    seeds: int
    ablation_seeds: int
    steps: int
    batch_size: int
    eval_every: int
    threshold: float
    input_lr_mults: tuple[float, ...]
    lr_lo: float
    lr_hi: float
    rel_tol: float
    points_per_round: int
    n_boot: int

    def validate(self) -> None:
        _check_grid(self)
        for name in ("n_val", "ablation_seeds", "steps", "batch_size", "eval_every", "input_lr_mults", "lr_lo",
                     "rel_tol", "points_per_round", "n_boot"):
            positive(name, getattr(self, name))
        if not 0 < self.threshold < 1:
            raise ParameterError(f"threshold must be in (0, 1); got {self.threshold}")
        if self.lr_hi <= self.lr_lo:
            raise ParameterError(f"lr_hi must be > lr_lo; got {self.lr_hi} and {self.lr_lo}")
        if self.ablation_seeds > self.seeds:
            raise ParameterError(f"ablation_seeds must be ≤ seeds ({self.seeds}); got {self.ablation_seeds}")
        if self.batch_size > self.n_train:
            raise ParameterError(f"batch_size must be ≤ n_train ({self.n_train}); got {self.batch_size}")


ETA_PRESETS = {
    "smoke": EtaStarConfig("mnist", 1280, 256, 4, (2, 4), (32, 64), 8, 256, 1, 1, 20, 64, 10, 0.3, (0.01, 1.0),
                           0.1, 30.0, 2.0, 2, 50),
    "cpu": EtaStarConfig("mnist", 6400, 1000, 2, (2, 3, 4), (64, 128, 256), 16, 512, 2, 1, 100, 64, 25, 0.6,
                         (0.01, 1.0), 0.1, 30.0, 0.1, 4, 1000),
    "paper": EtaStarConfig("mnist", 50000, 10000, 1, (2, 4, 8, 16), (256, 512, 1024, 2048), 16, 32768, 3, 3, 3905, 64,
                           781, PAPER_THRESHOLDS["mnist"], (0.01, 1.0), 1e-3, 30.0, 0.05, 4, 2000),
}
ETA_DRY_RUN = {"steps": 1, "n_train": 64, "n_val": 64, "batch_size": 32, "eval_every": 1, "seeds": 1,
               "ablation_seeds": 1, "rel_tol": 1000.0, "points_per_round": 1, "n_boot": 10,
               "depths": (2,), "widths": (2048,)}


@dataclass(frozen=True)
class SharpnessConfig:
    """Notebook 2: λ1 = top eigenvalue of the Hessian of the mean cross-entropy over `n_sharp` training images,
    at init, for the same (depth, width, seed) networks and data as notebook 1."""

    dataset: str
    n_train: int  # the training subset of notebook 1 (the same images)
    n_sharp: int  # its first n_sharp images define the loss whose Hessian is measured
    pool: int
    depths: tuple[int, ...]
    widths: tuple[int, ...]
    min_ratio: int
    max_dw: int
    seeds: int
    max_iter: int
    tol: float
    n_boot: int

    def validate(self) -> None:
        _check_grid(self)
        for name in ("n_sharp", "max_iter", "tol", "n_boot"):
            positive(name, getattr(self, name))
        if self.n_sharp > self.n_train:
            raise ParameterError(f"n_sharp must be ≤ n_train ({self.n_train}); got {self.n_sharp}")


SHARP_PRESETS = {
    "smoke": SharpnessConfig("mnist", 1280, 128, 4, (2, 4), (32, 64), 8, 256, 1, 20, 1e-2, 50),
    "cpu": SharpnessConfig("mnist", 6400, 1024, 2, (2, 3, 4), (64, 128, 256), 16, 512, 2, 40, 1e-3, 1000),
    "paper": SharpnessConfig("mnist", 50000, 5000, 1, (2, 4, 8, 16), (256, 512, 1024, 2048), 16, 32768, 3, 100, 1e-4,
                             2000),
}
SHARP_DRY_RUN = {"n_train": 64, "n_sharp": 16, "seeds": 1, "max_iter": 2, "n_boot": 10, "depths": (2,),
                 "widths": (2048,)}


def grid(depths: tuple[int, ...], widths: tuple[int, ...], min_ratio: int,
         max_dw: int) -> list[tuple[int, int]]:
    """The (depth, width) pairs with width ≥ min_ratio · depth (the paper's condition (i)) and d·w ≤ max_dw."""
    return [(d, w) for d in depths for w in widths if w >= min_ratio * d and d * w <= max_dw]


def load_data(dataset: str, n_train: int, n_val: int, pool: int, seed: int = 0):
    """Seeded subsets, average-pooled by `pool`, flattened, each image scaled to ‖x‖² = input dimension.

    Returns X (n_train, D), y, X_val (n_val, D), y_val (labels int64); validation images come from the test split.
    """
    from replicate.data import load, mlp_inputs

    ds = load(dataset, n_train=n_train, n_test=n_val, seed=seed)
    return mlp_inputs(ds.X_train, pool), ds.y_train, mlp_inputs(ds.X_test, pool), ds.y_test


def make_model(in_features: int, depth: int, width: int, num_classes: int = 10) -> MLP:
    """A constant-width ReLU MLP with He init (standard parametrisation), `depth` hidden layers."""
    return MLP(in_features, width, depth, num_classes, parametrization="sp")


def init_model(in_features: int, depth: int, width: int, seed: int) -> MLP:
    """The network `train_ensemble` builds for Member(seed=seed): make_model() under torch.manual_seed(seed)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return make_model(in_features, depth, width)


def reaches_threshold(lrs: torch.Tensor, depth: int, width: int, seed: int, input_lr_mult: float,
                      data: tuple, cfg: EtaStarConfig) -> torch.Tensor:
    """One batched run (one member per LR, same init): does each LR reach `threshold` within the budget?

    Success as in Algorithm 1's inner loop: the first check with validation accuracy ≥ t counts, even if the
    run diverges later; a run that diverges before reaching t fails.
    """
    X, y, X_val, y_val = data
    members = [Member(seed, float(lr), {"layers.0": input_lr_mult}) for lr in lrs]
    train = TrainConfig(steps=cfg.steps, loss="ce", batch_size=cfg.batch_size, eval_every=cfg.eval_every,
                        log_every=cfg.eval_every, data_seed=seed, progress=False)
    hist = train_ensemble(lambda: make_model(X.shape[1], depth, width), members, X, y, train,
                          X_eval=X_val, y_eval=y_val).history
    best = hist[~hist.diverged].groupby("member").eval_acc.max().reindex(range(len(members))).fillna(0.0)
    return torch.tensor(best.to_numpy() >= cfg.threshold)


def eta_star(depth: int, width: int, seed: int, input_lr_mult: float, data: tuple, cfg: EtaStarConfig) -> dict:
    """η* of one network by log-space bracketing in [lr_lo, lr_hi] to rel_tol (`max_lr`, one seed).

    status: 'ok'; 'lo fails' (no LR in the bracket trains: η* < lr_lo) or 'hi trains' (η* > lr_hi), with η* = NaN.
    """
    def succeeds(lrs):
        return reaches_threshold(lrs, depth, width, seed, input_lr_mult, data, cfg)

    try:
        r = max_lr(succeeds, cfg.lr_lo, cfg.lr_hi, rel_tol=cfg.rel_tol, points_per_round=cfg.points_per_round)
    except BracketError as err:
        status = "lo fails" if "fails already" in str(err) else "hi trains"
        return {"eta_star": math.nan, "lower": math.nan, "upper": math.nan, "rounds": 1, "trainings": math.nan,
                "monotone": False, "status": status}
    return {"eta_star": r.value, "lower": r.lower, "upper": r.upper, "rounds": r.rounds,
            "trainings": r.trainings, "monotone": r.monotone, "status": "ok"}


def eta_points(cfg: EtaStarConfig, seed: int = 0) -> list[dict]:
    """Sweep points (input_lr_mult, depth, width, seed): all seeds at the first multiplier, ablation_seeds at others."""
    return [{"input_lr_mult": m, "depth": d, "width": w, "seed": seed + s}
            for i, m in enumerate(cfg.input_lr_mults)
            for d, w in grid(cfg.depths, cfg.widths, cfg.min_ratio, cfg.max_dw)
            for s in range(cfg.seeds if i == 0 else cfg.ablation_seeds)]


def sharpness_at_init(depth: int, width: int, seed: int, X: torch.Tensor, y: torch.Tensor,
                      cfg: SharpnessConfig) -> dict:
    """λ1 of the Hessian of the mean cross-entropy over (X, y) at the init of Member(seed) (Lanczos, X's dtype)."""
    model = init_model(X.shape[1], depth, width, seed).to(X.dtype)
    r = top_eigenvalues(model, get_loss("ce"), X, y, k=1, curvature="hessian", tol=cfg.tol,
                        max_iter=cfg.max_iter, seed=seed)
    return {"lam1": float(r.eigenvalues[0]), "converged": bool(r.converged[0]), "lanczos_iter": r.n_iter,
            "loss0": r.loss}


# ------------------------------------------------------------------------------------------------
# Fits and summaries
# ------------------------------------------------------------------------------------------------
def fit_power_law(df: pd.DataFrame, y: str, *, n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> dict:
    """log ȳ = a + p·log(d·w) over the (depth, width) configurations (`fits.power_law`; equal-product
    configurations stay separate points)."""
    return fits.power_law(df.assign(dw=df.depth * df.width), "dw", y, by=["depth", "width"], n_boot=n_boot,
                          seed=seed, level=level)


def geometric_means(df: pd.DataFrame, y: str) -> pd.DataFrame:
    """Per (depth, width): the geometric mean of y over seeds (finite, positive values), d·w and the seed count."""
    d = df[np.isfinite(df[y]) & (df[y] > 0)]
    g = d.groupby(["depth", "width"])[y].agg(lambda v: float(np.exp(np.log(v).mean())))
    return g.rename(y).reset_index().assign(dw=lambda t: t.depth * t.width)


def equal_product_ratios(means: pd.DataFrame, y: str) -> pd.DataFrame:
    """For every (d, w) whose partner (2d, w/2) is in the table: ratio = max/min of their y (≥ 1)."""
    lookup = {(int(r.depth), int(r.width)): float(getattr(r, y)) for r in means.itertuples()}
    rows = []
    for (d, w), v in sorted(lookup.items()):
        partner = (2 * d, w // 2)
        if w % 2 == 0 and partner in lookup:
            u = lookup[partner]
            rows.append({"pair": f"({d}, {w}) vs ({2 * d}, {w // 2})", "dw": d * w, "a": v, "b": u,
                         "ratio": max(u, v) / min(u, v)})
    return pd.DataFrame(rows, columns=["pair", "dw", "a", "b", "ratio"])


def spread(values: pd.Series) -> float:
    """max/min of positive finite values (NaN when fewer than 2)."""
    v = values[np.isfinite(values) & (values > 0)]
    return float(v.max() / v.min()) if len(v) >= 2 else math.nan
