"""The synthetic toy's protocol: config and presets, the runs, and the calibration rule (`choose_rates`).

A constant-LR sweep (`calibrate`) measures when each pattern stays fitted (`fit_times`); `choose_rates` picks
η_small and η_large from it by a rule fixed before the run; the main run is large (η_large, annealed to η_small)
vs small (η_small).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd

from replicate import ensemble, memory
from replicate.scales import ParameterError, positive

from .data import COMPONENTS, SynthData, SynthSpec
from .models import TwoLayerNet
from .protocol import _acc, _loss, _predict


@dataclass(frozen=True)
class SynthConfig:
    """Notebook `synthetic`. Data: `SynthSpec`; net: `TwoLayerNet(width)`; plain SGD (batch `batch_size`, WD).

    The calibration sweep trains `calib_seeds` nets at each constant LR of `lr_grid` for `anneal_step` steps;
    `choose_rates` picks η_small and η_large from it (lr_small / lr_large override the rule when set). The main
    run: `steps` steps, large = η_large then η_small from `anneal_step`; small = η_small throughout.
    """

    n_train: int
    n_test: int
    d_linear: int
    d_cluster: int
    width: int
    steps: int
    seeds: int
    lr_grid: tuple[float, ...]
    calib_seeds: int = 2
    lr_small: float | None = None
    lr_large: float | None = None
    batch_size: int = 32
    anneal_at: float = 0.5
    weight_decay: float = 5e-4
    z_scale: float = 1.0
    sep: float = 0.2
    mix: tuple[float, ...] = (0.2, 0.16, 0.64)
    log_points: int = 100

    def validate(self) -> None:
        for name in ("n_train", "n_test", "d_linear", "d_cluster", "width", "steps", "seeds", "lr_grid",
                     "calib_seeds", "batch_size", "z_scale", "sep", "log_points"):
            positive(name, getattr(self, name))
        for name in ("lr_small", "lr_large"):
            if getattr(self, name) is not None:
                positive(name, getattr(self, name))
        if not 0 < self.anneal_at < 1:
            raise ParameterError(f"anneal_at must be in (0, 1); got {self.anneal_at}")
        if len(self.mix) != 3 or any(m < 0 for m in self.mix) or not math.isclose(sum(self.mix), 1.0):
            raise ParameterError(f"mix must be 3 fractions (linear only, clustered only, both) summing to 1; "
                                 f"got {self.mix}")
        if self.batch_size > self.n_train:
            raise ParameterError(f"batch_size must be <= n_train; got {self.batch_size} > {self.n_train}")

    def memory_bytes(self) -> int:
        """The larger `run_synth` call (the calibration's lr_grid × calib_seeds members, or the main run's seeds)
        trained at once by the vmap engine on batches of `batch_size`, plus one member's forward over the whole training
        or test set (the callback evaluates the members one at a time); the data (train, test, the two component-only
        test sets, ×2 for the per-component copies)."""
        d = self.d_linear + self.d_cluster
        make = partial(TwoLayerNet, d, self.width)
        members = max(len(self.lr_grid) * self.calib_seeds, self.seeds)
        created, alive = memory.activations(make, (d,)), memory.activations(make, (d,), train=False)
        data = 2 * (self.n_train + 3 * self.n_test) * (d + 2)
        return (memory.BASE + memory.forward_bytes(1, max(self.n_train, self.n_test), alive)
                + memory.training_bytes(memory.n_params(make), members, self.batch_size, created, data))

    @property
    def spec(self) -> SynthSpec:
        return SynthSpec(self.d_linear, self.d_cluster, self.z_scale, self.sep, self.mix)

    @property
    def anneal_step(self) -> int:
        return int(self.anneal_at * self.steps)


GRID = tuple(float(x) for x in 2.0 ** np.arange(-5, 5))  # 1/32 … 16, a factor 2 apart
SYNTH_PRESETS = {
    "smoke": SynthConfig(n_train=500, n_test=500, d_linear=50, d_cluster=25, width=64, steps=300, seeds=2,
                         lr_grid=(0.125, 1.0, 8.0), calib_seeds=1, log_points=10),
    "cpu": SynthConfig(n_train=2000, n_test=1000, d_linear=100, d_cluster=50, width=256, steps=3000, seeds=3,
                       lr_grid=GRID, log_points=30),
    "gpu": SynthConfig(n_train=10000, n_test=5000, d_linear=100, d_cluster=50, width=1024, steps=12000, seeds=10,
                       lr_grid=tuple(float(x) for x in 2.0 ** np.arange(-5, 5, 0.5)), calib_seeds=4,
                       log_points=60),
    "paper": SynthConfig(n_train=10000, n_test=10000, d_linear=100, d_cluster=50, width=1000, steps=20000,
                         seeds=10, lr_grid=GRID, calib_seeds=4),
}
SYNTH_DRY_RUN = {"n_train": 64, "n_test": 64, "steps": 2, "seeds": 1, "calib_seeds": 1, "log_points": 1}

FIT = 0.9  # a pattern is "fitted" once the accuracy on the training examples that carry only it reaches this
FIT_ALL = 0.95  # the training set is "fitted" at this training accuracy (the precondition's level)


def run_synth(cfg: SynthConfig, sd: SynthData, lrs: dict[str, tuple[float, float]], steps: int,
              seeds: int, seed: int = 0) -> pd.DataFrame:
    """Train `seeds` two-layer nets per entry of `lrs` (name → (η, η after `cfg.anneal_step`)) at once with the
    ensemble's vmap engine, for `steps` steps. One row per (run, seed, logged step): training loss and accuracy
    on the whole training set and on the training examples of each component alone, test accuracy on each
    component-only test set and on the mixed test set."""
    every = max(steps // cfg.log_points, 1)
    members, names = [], []
    for name, (lr, _) in lrs.items():
        for s in range(seeds):
            members.append(ensemble.Member(seed=seed * 1000 + s, lr=lr))
            names.append(name)
    factors = {after / lr for lr, after in lrs.values()}
    if len(factors) != 1:  # TrainConfig's schedule scales every member alike
        raise ValueError(f"run_synth: the runs of one call must share their anneal factor; got {sorted(factors)}")
    factor = factors.pop()
    tc = ensemble.TrainConfig(steps=steps, loss="ce", batch_size=cfg.batch_size, weight_decay=cfg.weight_decay,
                              diverge_factor=None, log_every=every, data_seed=seed, progress=False,
                              lr_schedule=lambda t: factor if t >= cfg.anneal_step else 1.0)
    train_sets = {c: (sd.X_train[sd.comp_train == i], sd.y_train[sd.comp_train == i])
                  for i, c in enumerate(COMPONENTS)}

    def evaluate(t: int, state: ensemble.EnsembleState) -> dict:
        cols: dict[str, list[float]] = {}
        for i in range(len(state.loss)):
            m = state.member_module(i)
            cols.setdefault("train_loss", []).append(_loss(m, sd.X_train, sd.y_train, chunk=len(sd.y_train)))
            cols.setdefault("train_all", []).append(_acc(_predict(m, sd.X_train, len(sd.y_train)), sd.y_train))
            for c, (X, y) in train_sets.items():
                cols.setdefault(f"train_{c}", []).append(_acc(_predict(m, X, len(X) or 1), y))
            for c in COMPONENTS[:2]:
                X, y = sd.X_only[c], sd.y_only[c]
                cols.setdefault(f"test_{c}", []).append(_acc(_predict(m, X, len(X)), y))
            cols.setdefault("test_mixed", []).append(_acc(_predict(m, sd.X_test, len(sd.y_test)), sd.y_test))
        return cols

    d = sd.X_train.shape[1]
    res = ensemble.train_ensemble(lambda: TwoLayerNet(d, cfg.width), members, sd.X_train, sd.y_train, tc,
                                  callback=evaluate)
    h = res.history
    h = h.assign(run=[names[m] for m in h.member], seed_idx=h.member % seeds)
    return h.drop(columns=["member", "diverged", "train_acc", "loss"], errors="ignore")


def calibrate(cfg: SynthConfig, sd: SynthData, seed: int = 0) -> pd.DataFrame:
    """The constant-LR sweep: `calib_seeds` nets at every η of `lr_grid`, for the pre-anneal budget
    (`anneal_step` steps, at least 1), with the main run's data, net, batch and WD. Rows as `run_synth`."""
    lrs = {f"{lr:g}": (lr, lr) for lr in cfg.lr_grid}
    return run_synth(cfg, sd, lrs, max(cfg.anneal_step, 1), cfg.calib_seeds, seed)


def first_fit(df: pd.DataFrame, column: str, level: float) -> float:
    """The first logged step from which `column` stays ≥ level to the end of `df` (inf if its last value is below):
    the clustered-only accuracy takes few values (4 distinct points in the binary toy) and can cross a level for
    one log point and fall back, so a first crossing is not a fit."""
    d = df.sort_values("step")
    below = d.step[d[column] < level]
    if not len(below):
        return float(d.step.min())
    after = d.step[d.step > below.max()]
    return float(after.min()) if len(after) else math.inf


def fit_times(calib: pd.DataFrame) -> pd.DataFrame:
    """Per η of the sweep (median over seeds): the first step from which the linear-only and the clustered-only
    training examples stay fitted (accuracy ≥ FIT) and the whole training set (≥ FIT_ALL) until the end of the
    budget (`first_fit`), the final training loss, and whether any seed's loss became non-finite."""
    rows = []
    for lr, g in calib.groupby("lr"):
        per = g.groupby("seed_idx")
        rows.append({"lr": lr,
                     "t_linear": float(np.median(per.apply(first_fit, "train_linear", FIT, include_groups=False))),
                     "t_clustered": float(np.median(per.apply(first_fit, "train_clustered", FIT,
                                                              include_groups=False))),
                     "t_all": float(np.median(per.apply(first_fit, "train_all", FIT_ALL, include_groups=False))),
                     "final_loss": float(g[g.step == g.step.max()].train_loss.median()),
                     "diverged": bool(not np.isfinite(g.train_loss).all())})
    return pd.DataFrame(rows).sort_values("lr").reset_index(drop=True)


def choose_rates(times: pd.DataFrame, budget: int) -> dict[str, object]:
    """The pre-registered rule (stated in the notebook before the sweep runs):

    η_small = the smallest η of the grid that memorises within the pre-anneal budget: clustered-only training
    examples fitted (t_clustered ≤ budget) and the whole training set fitted (t_all ≤ budget).
    η_large = the smallest η > η_small that is noise-limited on the clustered pattern within the same budget
    (t_clustered > budget) while it fits the linear pattern (t_linear ≤ budget) without diverging.
    The anneal: at the end of the budget, η_large → η_small (as 0.1 → 0.004 = the small LR, official code).
    `found` is False when either does not exist; the fallback is then stated (η_small = the grid's smallest η,
    η_large = its largest η that does not diverge) and the chapter reports the mechanism as absent.
    """
    t = times[~times.diverged]
    small = t[(t.t_clustered <= budget) & (t.t_all <= budget)]
    eta_small = float(small.lr.min()) if len(small) else math.nan
    large = t[(t.lr > eta_small) & (t.t_clustered > budget) & (t.t_linear <= budget)] if len(small) else t[:0]
    eta_large = float(large.lr.min()) if len(large) else math.nan
    found = bool(np.isfinite(eta_small) and np.isfinite(eta_large))
    if found:
        return {"lr_small": eta_small, "lr_large": eta_large, "found": True, "why": "by the rule"}
    why = ("no η memorises within the budget" if not np.isfinite(eta_small)
           else "no η above η_small is blocked on the clustered pattern while it fits the linear one")
    return {"lr_small": float(t.lr.min()), "lr_large": float(t.lr.max()), "found": False,
            "why": f"{why}: fallback η_small = smallest, η_large = largest non-diverging η of the grid"}
