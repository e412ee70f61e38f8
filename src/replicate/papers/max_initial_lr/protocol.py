"""Presets and the η* search of one network from several seeds (majority rule), with dead ReLUs recorded.

η*(t, T) = sup{η : max_{τ ≤ T} acc_val(θ_τ(η)) ≥ t} (the Definition, Sec. 2). `lr_search.max_lr` refines a bracket
around the largest majority success in log space; every round trains all its LRs × all seeds at once
(`train_ensemble`), and every training is returned as a row (LR, seed, best accuracy, success, dead fraction per
hidden layer). η* is read from that table by one function, `eta.majority_eta_star` (with its islands).

The two-Gaussian task's threshold is declared relative to its ceiling, the Bayes accuracy Φ(m) of its separation m:
t = Φ(m) − threshold_margin.
"""

from __future__ import annotations

import dataclasses
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
from replicate.papers.max_initial_lr.data import bayes_accuracy
from replicate.scales import ParameterError, one_of, positive

DATASETS = ("gaussian", "mnist", "fashion-mnist", "cifar-10")
LOSSES = ("ce", "mse")
PAPER_THRESHOLDS = {"mnist": 0.925, "cifar-10": 0.34}  # the paper's t (appendix, Algorithm 1)


@dataclass(frozen=True)
class Task:
    """A data set and its success criterion: validation accuracy ≥ threshold within `steps` SGD steps (checked
    every `eval_every`), searched in [lr_lo, lr_hi]. gaussian: dim, margin (the separation m, `data.two_gaussians`)
    and threshold_margin (t = ceiling − threshold_margin, see `gaussian_task`); images: pool, an absolute t."""

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
    threshold_margin: float | None = None

    def validate(self) -> None:
        one_of("dataset", self.dataset, DATASETS)
        for name in ("n_train", "n_val", "steps", "eval_every", "lr_lo", "dim", "margin", "pool"):
            positive(name, getattr(self, name))
        if not 0 < self.threshold < 1:
            raise ParameterError(f"threshold must be in (0, 1); got {self.threshold}")
        if self.lr_hi <= self.lr_lo:
            raise ParameterError(f"lr_hi must be > lr_lo; got {self.lr_hi} and {self.lr_lo}")
        if self.threshold_margin is not None and not math.isclose(self.threshold, self.ceiling - self.threshold_margin):
            raise ParameterError(f"threshold {self.threshold} is not ceiling {self.ceiling:.4f} − margin "
                                 f"{self.threshold_margin}")

    @property
    def ceiling(self) -> float:
        """The attainable accuracy, where known in closed form: the Bayes accuracy Φ(m) of the two-Gaussian task
        (NaN for image data sets)."""
        return bayes_accuracy(self.margin) if self.dataset == "gaussian" else math.nan

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
    """Grid (d, w) with w ≥ min_ratio·d, d·w ≤ max_dw (condition (i)), plus `narrow` networks (w < min_ratio·d,
    searched and reported apart, outside the law's fits); `seeds` per search (majority rule); each condition's
    search refines η*'s bracket until upper/lower ≤ 1 + rel_tol, the first round a log grid of points_per_round + 2
    LRs."""

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
    narrow: tuple[tuple[int, int], ...] = ()

    def task(self, name: str) -> Task:
        return next(t for t in self.tasks if t.name == name)

    def validate(self) -> None:
        for name in ("depths", "widths", "min_ratio", "max_dw", "seeds", "batch_size", "rel_tol",
                     "points_per_round", "n_probe", "n_boot"):
            positive(name, getattr(self, name))
        if not grid(self.depths, self.widths, self.min_ratio, self.max_dw):
            raise ParameterError(f"no (depth, width) with width ≥ {self.min_ratio}·depth and depth·width ≤ "
                                 f"{self.max_dw} in {self.depths} × {self.widths}")
        for d, w in self.narrow:
            if not 0 < w < self.min_ratio * d:
                raise ParameterError(f"narrow network ({d}, {w}) must have 0 < width < {self.min_ratio}·depth")
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

        pairs = grid(self.depths, self.widths, self.min_ratio, self.max_dw) + list(self.narrow)
        tasks = {self.task(c.task) for c in self.conditions}
        return memory.BASE + sum(t.data_bytes() for t in self.tasks) + max(point(t, *p) for t in tasks for p in pairs)


def gaussian_task(n_train: int, n_val: int, steps: int, eval_every: int, *, threshold_margin: float = 0.08,
                  separation: float = 1.5, lr_lo: float = 0.03, lr_hi: float = 30.0) -> Task:
    """The two-Gaussian task, D = 100, separation m (1.5: Bayes accuracy Φ(1.5) = 0.933), success at the Bayes
    accuracy minus `threshold_margin` (0.08: t = 0.853), declared before the run (registry history, issue 27)."""
    return Task("gaussian", "gaussian", n_train, n_val, steps, eval_every,
                bayes_accuracy(separation) - threshold_margin, lr_lo, lr_hi, dim=100, margin=separation,
                threshold_margin=threshold_margin)


def with_gaussian(cfg: EtaStarConfig, separation: float | None = None,
                  threshold_margin: float | None = None) -> EtaStarConfig:
    """`cfg` with its two-Gaussian task's separation and/or threshold margin overridden (None: the preset's); t is
    recomputed as Φ(separation) − margin."""
    def change(t: Task) -> Task:
        if t.dataset != "gaussian" or (separation is None and threshold_margin is None):
            return t
        m = t.margin if separation is None else float(separation)
        tm = t.threshold_margin if threshold_margin is None else float(threshold_margin)
        if tm is None:
            raise ParameterError("threshold_margin is needed to set t relative to the ceiling")
        return dataclasses.replace(t, margin=m, threshold_margin=tm, threshold=bayes_accuracy(m) - tm)

    out = dataclasses.replace(cfg, tasks=tuple(change(t) for t in cfg.tasks))
    out.validate()
    return out


CONDITIONS = (Condition("gaussian", "gaussian", "ce", 0.01), Condition("gaussian-full-input", "gaussian", "ce", 1.0),
              Condition("gaussian-mse", "gaussian", "mse", 0.01), Condition("mnist", "mnist", "ce", 0.01))
ETA_PRESETS = {
    "smoke": EtaStarConfig((gaussian_task(512, 256, 16, 8, threshold_margin=0.333),
                            Task("mnist", "mnist", 512, 256, 16, 8, 0.3, 0.03, 30.0, pool=4)),
                           CONDITIONS, (2, 4), (32, 64), 8, 256, 1, 64, 3.0, 2, 128, 50, narrow=((8, 16),)),
    "cpu": EtaStarConfig((gaussian_task(4096, 1000, 128, 16), Task("mnist", "mnist", 3200, 1000, 100, 10, 0.7, 0.03,
                                                                   30.0, pool=4)),
                         CONDITIONS, (2, 4, 8), (32, 64, 128, 256), 16, 2048, 3, 64, 0.25, 3, 512, 1000,
                         narrow=((4, 32), (8, 32), (16, 32))),
    "gpu": EtaStarConfig((gaussian_task(18000, 2000, 563, 29), Task("mnist", "mnist", 50000, 10000, 782, 40, 0.9,
                                                                    0.01, 30.0, pool=2)),
                         CONDITIONS, (2, 4, 8, 16), (256, 512, 1024, 2048), 16, 8192, 3, 64, 0.1, 8, 1000, 1000,
                         narrow=((8, 64), (16, 64), (16, 128))),
    "paper": EtaStarConfig((gaussian_task(18000, 2000, 563, 29, lr_lo=1e-3),
                            Task("mnist", "mnist", 50000, 10000, 3910, 391, PAPER_THRESHOLDS["mnist"], 1e-3, 30.0),
                            Task("cifar-10", "cifar-10", 50000, 10000, 3910, 391, PAPER_THRESHOLDS["cifar-10"], 1e-3,
                                 30.0)),
                           CONDITIONS + (Condition("cifar-10", "cifar-10", "ce", 0.01),),
                           (2, 4, 8, 16), (512, 1024, 2048, 4096), 64, 65536, 3, 64, 0.05, 8, 1000, 2000,
                           narrow=((16, 256), (16, 512), (8, 256))),
}
ETA_DRY_RUN = {"seeds": 1, "rel_tol": 1e4, "points_per_round": 1, "n_boot": 10, "n_probe": 16, "depths": (2,),
               "widths": (4096,), "min_ratio": 1, "max_dw": 65536, "narrow": ((4, 2),)}


def dry_tasks(cfg: EtaStarConfig) -> EtaStarConfig:
    """The dry run's tasks: one SGD step on 64 examples (the model sizes kept)."""
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


def search(depth: int, width: int, cond: Condition, data: tuple, cfg: EtaStarConfig, seed: int = 0) -> pd.DataFrame:
    """Every training of the search for η* of (depth, width) under `cond`, seeds seed … seed + cfg.seeds − 1, on the
    device of `data` (X, y, X_val, y_val); η* is read from them by `eta.networks`.

    Rows: lr, seed, best_acc, success, diverged, dead_1 …, round; stamped with rounds and status: 'ok' (the search
    bracketed the edge of the largest majority success), 'lo fails' (no LR of the first, coarse round trains) or
    'hi trains' (lr_hi still trains). When lr_lo fails but a larger LR of the coarse round trains, the search
    restarts from the smallest such LR (the failure below it stays in the table: η* then sits on an island).
    """
    task = cfg.task(cond.task)
    seeds = [seed + s for s in range(cfg.seeds)]
    done: list[pd.DataFrame] = []

    def succeeds(lrs: torch.Tensor) -> torch.Tensor:
        rows = _train_round(lrs.numpy(), depth, width, seeds, cond, data, cfg).assign(round=len(done))
        done.append(rows)
        return torch.tensor(rows.success.to_numpy().reshape(len(lrs), len(seeds)), device="cpu")

    def bracket(lo: float) -> None:
        max_lr(succeeds, lo, task.lr_hi, rel_tol=cfg.rel_tol, points_per_round=cfg.points_per_round, rule="majority")

    status = "ok"
    try:
        bracket(task.lr_lo)
    except BracketError as err:
        first = done[0].groupby("lr").success.mean()  # the first round is a coarse log grid on [lr_lo, lr_hi]
        passed = first[first > 0.5]
        status = "lo fails" if "fails already" in str(err) else "hi trains"
        if status == "lo fails" and len(passed) and passed.index[0] < task.lr_hi:
            try:  # lr_lo did not train but a larger LR of the coarse grid did: bisect from there
                bracket(float(passed.index[0]))
                status = "ok"
            except BracketError:
                pass
    return pd.concat(done, ignore_index=True).assign(rounds=len(done), status=status)


def eta_points(cfg: EtaStarConfig) -> list[dict]:
    """Sweep points (condition, depth, width): one majority search per network (wide grid, then the narrow ones)
    and condition."""
    pairs = grid(cfg.depths, cfg.widths, cfg.min_ratio, cfg.max_dw) + list(cfg.narrow)
    return [{"condition": c.name, "depth": d, "width": w} for c in cfg.conditions for d, w in pairs]
