"""Presets and the η* search: η* of one network from several seeds (majority rule), with dead ReLUs recorded.

η*(t, T) = sup{η : max_{τ ≤ T} acc_val(θ_τ(η)) ≥ t} (the Definition, Sec. 2). `lr_search.max_lr` brackets it in
log space; every round trains all its LRs × all seeds at once (`train_ensemble`), an LR succeeds if the majority
of seeds succeed, and every training is returned as a row (LR, seed, success, dead fraction per hidden layer),
so that the bracket [largest success, first failure above it], per-seed brackets and non-monotone outcomes can
all be read from the table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd
import torch

from replicate import memory
from replicate.data import STAND_IN_SHAPES
from replicate.ensemble import Member, TrainConfig, train_ensemble
from replicate.lr_search import BracketError, max_lr
from replicate.models import MLP
from replicate.scales import ParameterError, one_of, positive

DATASETS = ("gaussian", "mnist", "fashion-mnist", "cifar-10")
LOSSES = ("ce", "mse")
PAPER_THRESHOLDS = {"mnist": 0.925, "cifar-10": 0.34}  # the paper's t (appendix, Algorithm 1)


@dataclass(frozen=True)
class Task:
    """A data set and its success criterion: validation accuracy ≥ threshold within `steps` SGD steps (checked
    every `eval_every`), searched in [lr_lo, lr_hi]. gaussian: dim, margin (`data.two_gaussians`); images: pool."""

    name: str
    dataset: str
    n_train: int
    n_val: int
    steps: int
    eval_every: int
    threshold: float
    lr_lo: float
    lr_hi: float
    dim: int = 100
    margin: float = 1.0
    pool: int = 1

    def validate(self) -> None:
        one_of("dataset", self.dataset, DATASETS)
        for name in ("n_train", "n_val", "steps", "eval_every", "lr_lo", "dim", "margin", "pool"):
            positive(name, getattr(self, name))
        if not 0 < self.threshold < 1:
            raise ParameterError(f"threshold must be in (0, 1); got {self.threshold}")
        if self.lr_hi <= self.lr_lo:
            raise ParameterError(f"lr_hi must be > lr_lo; got {self.lr_hi} and {self.lr_lo}")

    @property
    def features(self) -> int:
        """Inputs of the task's MLP: `dim`, or the pixels of a pooled image."""
        if self.dataset == "gaussian":
            return self.dim
        c, h, w = STAND_IN_SHAPES[self.dataset]
        return c * (h // self.pool) * (w // self.pool)

    def sizes(self, depth: int, width: int) -> tuple[int, int, int]:
        """Parameters, and elements per example in training and in evaluation (`memory.activations`), of the task's
        `make_model`."""
        d, k = self.features, 2 if self.dataset == "gaussian" else 10
        make = partial(make_model, d, depth, width, k)
        return (memory.mlp_params(d, width, depth, k), memory.activations(make, (d,)),
                memory.activations(make, (d,), train=False))

    def data_bytes(self) -> int:
        """The task's float32 inputs and int64 labels (train and validation) and the loading of its data set."""
        return (self.n_train + self.n_val) * (4 * self.features + 8) + memory.dataset_bytes(self.dataset)


@dataclass(frozen=True)
class Condition:
    """One η* grid: task × loss × input-layer LR multiplier (the paper's condition (ii): small)."""

    name: str
    task: str
    loss: str
    input_lr_mult: float

    @property
    def label(self) -> str:
        loss = {"ce": "cross-entropy", "mse": "MSE"}[self.loss]
        return f"{self.task}, {loss}, input layer at {self.input_lr_mult:g}η"


@dataclass(frozen=True)
class EtaStarConfig:
    """Grid (d, w) with w ≥ min_ratio·d, d·w ≤ max_dw; `seeds` per search (majority rule); each condition's
    search brackets η* until upper/lower ≤ 1 + rel_tol, the first round a log grid of points_per_round + 2 LRs."""

    tasks: tuple[Task, ...]
    conditions: tuple[Condition, ...]
    depths: tuple[int, ...]
    widths: tuple[int, ...]
    min_ratio: int
    max_dw: int
    seeds: int
    batch_size: int
    rel_tol: float
    points_per_round: int
    n_probe: int  # validation inputs on which a ReLU must never fire to count as dead
    n_boot: int

    def task(self, name: str) -> Task:
        return next(t for t in self.tasks if t.name == name)

    def validate(self) -> None:
        for name in ("depths", "widths", "min_ratio", "max_dw", "seeds", "batch_size", "rel_tol",
                     "points_per_round", "n_probe", "n_boot"):
            positive(name, getattr(self, name))
        if not grid(self.depths, self.widths, self.min_ratio, self.max_dw):
            raise ParameterError(f"no (depth, width) with width ≥ {self.min_ratio}·depth and depth·width ≤ "
                                 f"{self.max_dw} in {self.depths} × {self.widths}")
        names = {t.name for t in self.tasks}
        for t in self.tasks:
            t.validate()
            if self.batch_size > t.n_train:
                raise ParameterError(f"batch_size must be ≤ n_train ({t.n_train}); got {self.batch_size}")
        for c in self.conditions:
            one_of("task", c.task, tuple(names))
            one_of("loss", c.loss, LOSSES)
            positive("input_lr_mult", c.input_lr_mult)

    def memory_bytes(self) -> int:
        """One (condition, depth, width) search at a time, the largest: its first round's (points_per_round + 2) LRs ×
        `seeds` members trained at once on batches, and evaluated at once (chunks of up to 4096 validation inputs); the
        data of every task (all loaded together)."""
        members = (self.points_per_round + 2) * self.seeds

        def point(task: Task, depth: int, width: int) -> int:
            params, created, alive = task.sizes(depth, width)
            return (memory.training_bytes(params, members, self.batch_size, created)
                    + memory.forward_bytes(members, min(task.n_val, 4096), alive))

        pairs = grid(self.depths, self.widths, self.min_ratio, self.max_dw)
        tasks = {self.task(c.task) for c in self.conditions}
        return memory.BASE + sum(t.data_bytes() for t in self.tasks) + max(point(t, *p) for t in tasks for p in pairs)


def _gaussian(n_train: int, n_val: int, steps: int, eval_every: int, lr_lo: float = 0.03, lr_hi: float = 30.0,
              threshold: float = 0.75) -> Task:
    """The two-Gaussian task: D = 100, margin 1.5 (Bayes accuracy 0.933), success at validation accuracy 0.75."""
    return Task("gaussian", "gaussian", n_train, n_val, steps, eval_every, threshold, lr_lo, lr_hi, dim=100,
                margin=1.5)


CONDITIONS = (Condition("gaussian", "gaussian", "ce", 0.01), Condition("gaussian-full-input", "gaussian", "ce", 1.0),
              Condition("gaussian-mse", "gaussian", "mse", 0.01), Condition("mnist", "mnist", "ce", 0.01))
ETA_PRESETS = {
    "smoke": EtaStarConfig((_gaussian(512, 256, 16, 8, threshold=0.6),
                            Task("mnist", "mnist", 512, 256, 16, 8, 0.3, 0.03, 30.0, pool=4)),
                           CONDITIONS, (2, 4), (32, 64), 8, 256, 1, 64, 3.0, 2, 128, 50),
    "cpu": EtaStarConfig((_gaussian(4096, 1000, 128, 16), Task("mnist", "mnist", 3200, 1000, 100, 10, 0.7, 0.03,
                                                                30.0, pool=4)),
                         CONDITIONS, (2, 4, 8), (128, 256, 512), 16, 1024, 3, 64, 0.4, 4, 512, 1000),
    "gpu": EtaStarConfig((_gaussian(18000, 2000, 563, 29), Task("mnist", "mnist", 50000, 10000, 782, 40, 0.9, 0.01,
                                                                 30.0, pool=2)),
                         CONDITIONS, (2, 4, 8, 16), (256, 512, 1024, 2048), 16, 8192, 3, 64, 0.1, 8, 1000, 1000),
    "paper": EtaStarConfig((_gaussian(18000, 2000, 563, 29, 1e-3, 30.0),
                            Task("mnist", "mnist", 50000, 10000, 3910, 391, PAPER_THRESHOLDS["mnist"], 1e-3, 30.0),
                            Task("cifar-10", "cifar-10", 50000, 10000, 3910, 391, PAPER_THRESHOLDS["cifar-10"], 1e-3,
                                 30.0)),
                           CONDITIONS + (Condition("cifar-10", "cifar-10", "ce", 0.01),),
                           (2, 4, 8, 16), (512, 1024, 2048, 4096), 64, 65536, 3, 64, 0.05, 8, 1000, 2000),
}
ETA_DRY_RUN = {"seeds": 1, "rel_tol": 1e4, "points_per_round": 1, "n_boot": 10, "n_probe": 16, "depths": (2,),
               "widths": (4096,), "min_ratio": 1, "max_dw": 65536}


def dry_tasks(cfg: EtaStarConfig) -> EtaStarConfig:
    """The dry run's tasks: one SGD step on 64 examples (the model sizes kept)."""
    import dataclasses

    small = tuple(dataclasses.replace(t, n_train=64, n_val=64, steps=1, eval_every=1) for t in cfg.tasks)
    return dataclasses.replace(cfg, tasks=small, batch_size=32)


def grid(depths: tuple[int, ...], widths: tuple[int, ...], min_ratio: int, max_dw: int) -> list[tuple[int, int]]:
    """The (depth, width) pairs with width ≥ min_ratio · depth (the paper's condition (i)) and d·w ≤ max_dw."""
    return [(d, w) for d in depths for w in widths if w >= min_ratio * d and d * w <= max_dw]


def make_model(in_features: int, depth: int, width: int, num_classes: int) -> MLP:
    """A constant-width ReLU MLP, He init (standard parametrisation), `depth` hidden layers, with biases."""
    return MLP(in_features, width, depth, num_classes, parametrization="sp")


def targets(y: torch.Tensor, loss: str, num_classes: int) -> torch.Tensor:
    """Labels for cross-entropy, one-hot targets for MSE."""
    return torch.nn.functional.one_hot(y, num_classes).float() if loss == "mse" else y


@torch.no_grad()
def dead_fractions(model: MLP, X: torch.Tensor) -> list[float]:
    """Per hidden layer: the fraction of ReLUs whose pre-activation is ≤ 0 on every input of X (NaN if not finite)."""
    _, pre = model(X, return_preactivations=True)
    return [float((h <= 0).all(0).float().mean()) if torch.isfinite(h).all() else math.nan for h in pre]


def _train_round(lrs: np.ndarray, depth: int, width: int, seeds: list[int], cond: Condition, data: tuple,
                 cfg: EtaStarConfig) -> pd.DataFrame:
    """One ensemble run, members = LRs × seeds; per member: lr, seed, success, best validation accuracy, dead_l."""
    task = cfg.task(cond.task)
    X, y, X_val, y_val = data
    K = int(y.max()) + 1
    members = [Member(s, float(lr), {"layers.0": cond.input_lr_mult}) for lr in lrs for s in seeds]
    train = TrainConfig(steps=task.steps, loss=cond.loss, batch_size=cfg.batch_size, eval_every=task.eval_every,
                        log_every=task.eval_every, data_seed=seeds[0], progress=False)
    res = train_ensemble(lambda: make_model(X.shape[1], depth, width, K), members, X, targets(y, cond.loss, K), train,
                         X_eval=X_val, y_eval=targets(y_val, cond.loss, K))
    hist = res.history
    best = hist[~hist.diverged].groupby("member").eval_acc.max().reindex(range(len(members))).fillna(0.0)
    probe = X_val[:cfg.n_probe]
    rows = []
    for i, m in enumerate(members):
        dead = dead_fractions(res.member_module(i), probe)
        rows.append({"lr": m.lr, "seed": m.seed, "best_acc": float(best[i]), "success": bool(best[i] >= task.threshold),
                     "diverged": bool(res.diverged[i]),
                     **{f"dead_{l + 1}": (dead[l] if l < len(dead) else math.nan) for l in range(max(cfg.depths))}})
    return pd.DataFrame(rows)


def eta_star(depth: int, width: int, cond: Condition, data: tuple, cfg: EtaStarConfig, seed: int = 0) -> pd.DataFrame:
    """Every training of the search for η* of (depth, width) under `cond`, seeds seed … seed + cfg.seeds − 1, on the
    device of `data` (X, y, X_val, y_val).

    Rows: lr, seed, best_acc, success, diverged, dead_1 … ; stamped with the search's result: eta_star (largest
    majority success), first_failure (smallest majority failure above it), monotone, rounds, lr_start, status
    ('ok'; 'lo fails': no LR of the first, coarse round trains; 'hi trains': η* > lr_hi; then eta_star and
    first_failure are NaN). When lr_lo fails but a larger LR of the coarse round trains, the search restarts
    from the smallest such LR (lr_start) and the bracket is flagged non-monotone.
    """
    task = cfg.task(cond.task)
    seeds = [seed + s for s in range(cfg.seeds)]
    done: list[pd.DataFrame] = []

    def succeeds(lrs: torch.Tensor) -> torch.Tensor:
        rows = _train_round(lrs.numpy(), depth, width, seeds, cond, data, cfg).assign(round=len(done))
        done.append(rows)
        return torch.tensor(rows.success.to_numpy().reshape(len(lrs), len(seeds)), device="cpu")

    def search(lo: float) -> dict:
        r = max_lr(succeeds, lo, task.lr_hi, rel_tol=cfg.rel_tol, points_per_round=cfg.points_per_round,
                   rule="majority")
        return {"eta_star": r.lower, "first_failure": r.upper, "monotone": r.monotone and lo == task.lr_lo,
                "status": "ok", "lr_start": lo}

    try:
        result = search(task.lr_lo)
    except BracketError as err:
        first = done[0].groupby("lr").success.mean()  # the first round is a coarse log grid on [lr_lo, lr_hi]
        passed = first[first > 0.5]
        status = "lo fails" if "fails already" in str(err) else "hi trains"
        result = {"eta_star": math.nan, "first_failure": math.nan, "monotone": False, "status": status,
                  "lr_start": math.nan}
        if status == "lo fails" and len(passed) and passed.index[0] < task.lr_hi:
            try:  # lr_lo did not train but a larger LR of the coarse grid did: bisect from there
                result = search(float(passed.index[0]))
            except BracketError:
                pass
    return pd.concat(done, ignore_index=True).assign(rounds=len(done), **result)


def eta_points(cfg: EtaStarConfig) -> list[dict]:
    """Sweep points (condition, depth, width): one majority search per network and condition."""
    return [{"condition": c.name, "depth": d, "width": w}
            for c in cfg.conditions for d, w in grid(cfg.depths, cfg.widths, cfg.min_ratio, cfg.max_dw)]
