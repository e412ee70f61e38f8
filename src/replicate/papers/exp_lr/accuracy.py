"""Notebook 2 (Li & Arora 2020, Thm. 2; Fig. 5): step decay with WD against its no-WD equivalents, over seeds.

Four arms, each with its own seeds (so inits and batch orders differ between arms as between seeds): step decay
+ WD; TEXP without WD (eq. 6 of the derivation page, initial buffer (5), no momentum correction at the switches);
the exact equivalent of step decay without WD (`schedules.equivalent_lrs`, zero buffers); and the negative control,
step decay without WD (the exponential part of the equivalent schedules removed): a gap that the equivalents share
with it says nothing about the theorem.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from replicate import claims, data, memory, schedules
from replicate.papers.exp_lr.equivalence import _sgd
from replicate.papers.exp_lr.nets import (ACCURACY_DATASETS, MODELS, augment, batch_order, load_images, make_net,
                                          make_preresnet32)
from replicate.scales import ParameterError, one_of, positive


@dataclass(frozen=True)
class AccuracyConfig:
    """Step decay ÷10 at `milestones` (fractions of training) with WD, against TEXP without WD; `seeds` seeds.

    `model`: "small" (`ScaleInvariantConvNet` of `widths`) or "preresnet32" (`PreResNet32`, stage widths
    `widths`); `augment`: random 4-pixel-padded crops and horizontal flips of each training batch.
    """

    dataset: str
    n_train: int
    n_test: int
    downsample: int
    widths: tuple[int, ...]
    batch_size: int
    epochs: int
    seeds: int
    milestones: tuple[float, ...] = (0.5, 0.75)
    lr: float = 0.1
    weight_decay: float = 5e-4
    momentum: float = 0.9
    head_std: float = 1.0
    model: str = "small"
    augment: bool = False

    def validate(self) -> None:
        one_of("dataset", self.dataset, ACCURACY_DATASETS)
        one_of("model", self.model, MODELS)
        for name in ("n_train", "n_test", "downsample", "widths", "batch_size", "epochs", "seeds", "lr",
                     "head_std", "milestones"):
            positive(name, getattr(self, name))
        if self.model == "preresnet32" and len(self.widths) != 3:
            raise ParameterError(f"preresnet32 needs 3 stage widths; got {self.widths}")
        if any(m >= 1 for m in self.milestones):
            raise ParameterError(f"milestones must be fractions of training in (0, 1); got {self.milestones}")
        if self.batch_size > self.n_train:
            raise ParameterError(f"batch_size must be <= n_train ({self.n_train}); got {self.batch_size}")

    def memory_bytes(self) -> int:
        """One run at a time (`train_schedule`): the network with gradients and momentum, a batch through it, the test
        forward (chunks of 500), the images (float32: subset, pooled and standardised copies) and the loading of the
        data set."""
        c, side, _ = data.STAND_IN_SHAPES[self.dataset]
        shape = (c, side, side) if self.dataset == "cifar-10" else (c, side // self.downsample, side // self.downsample)
        make = partial(make_accuracy_net, self, c, 10, seed=0, device="meta")
        images = 3 * (self.n_train + self.n_test) * math.prod(shape)
        return (memory.BASE + memory.dataset_bytes(self.dataset)
                + memory.forward_bytes(1, 500, memory.activations(make, shape, train=False))
                + memory.training_bytes(memory.n_params(make), 1, self.batch_size, memory.activations(make, shape),
                                        images, momentum=True))

    @property
    def steps_per_epoch(self) -> int:
        return self.n_train // self.batch_size

    @property
    def milestone_steps(self) -> list[int]:
        return [round(m * self.epochs) * self.steps_per_epoch for m in self.milestones]


ACCURACY_PRESETS = {
    "smoke": AccuracyConfig("fashion-mnist", n_train=512, n_test=256, downsample=4, widths=(8, 16),
                            batch_size=64, epochs=2, seeds=2),
    "cpu": AccuracyConfig("fashion-mnist", n_train=6144, n_test=2000, downsample=2, widths=(16, 32, 32),
                          batch_size=128, epochs=8, seeds=10),
    "gpu": AccuracyConfig("fashion-mnist", n_train=60000, n_test=10000, downsample=1, widths=(32, 64, 64),
                          batch_size=128, epochs=20, seeds=8),
    "paper": AccuracyConfig("cifar-10", n_train=50000, n_test=10000, downsample=1, widths=(16, 32, 64),
                            batch_size=128, epochs=160, seeds=3, model="preresnet32", augment=True),
}
ACCURACY_DRY_RUN = {"n_train": 128, "n_test": 128, "epochs": 1, "seeds": 1}
SCHEDULES = ("step decay + WD", "TEXP, no WD", "exact equivalent, no WD", "step decay, no WD")


def load_accuracy_data(cfg: AccuracyConfig, seed: int = 0, dry_run: bool = False, *,
                       device: torch.device | str = "cpu") -> tuple[data.Dataset, str]:
    """The data of `cfg` on `device` and a note ("" unless stand-ins were used): (Fashion-)MNIST through
    `load_images`, or CIFAR-10 standardised per channel by its training mean/std (on the CPU).

    A dry run without the CIFAR-10 file substitutes random tensors of CIFAR-10's shape (the note says so); a real
    run without it fails with the data module's message.
    """
    if cfg.dataset != "cifar-10":
        return load_images(cfg.dataset, cfg.n_train, cfg.n_test, cfg.downsample, seed=seed, device=device), ""
    ds, note = data.load_or_stand_in("cifar-10", n_train=cfg.n_train, n_test=cfg.n_test, seed=seed, dry_run=dry_run)
    mean = ds.X_train.mean(dim=(0, 2, 3), keepdim=True)
    std = ds.X_train.std(dim=(0, 2, 3), keepdim=True)
    return data.Dataset(ds.name, ((ds.X_train - mean) / std).to(device), ds.y_train.to(device),
                        ((ds.X_test - mean) / std).to(device), ds.y_test.to(device), ds.num_classes), note


def make_accuracy_net(cfg: AccuracyConfig, in_channels: int, num_classes: int, seed: int, *,
                      device: torch.device | str = "cpu") -> nn.Module:
    """The seeded network `cfg.model` names, on `device` (its weights drawn on the CPU)."""
    if cfg.model == "preresnet32":
        return make_preresnet32(in_channels, num_classes, cfg.widths, seed=seed, head_std=cfg.head_std, device=device)
    return make_net(in_channels, num_classes, cfg.widths, seed=seed, head_std=cfg.head_std, device=device)


@torch.no_grad()
def accuracy(model: nn.Module, X: torch.Tensor, y: torch.Tensor, chunk: int = 500) -> float:
    """Fraction correct, BN on batch statistics of chunks of `chunk` examples (the net keeps no running stats)."""
    return float(sum((model(X[i:i + chunk]).argmax(1) == y[i:i + chunk]).sum() for i in range(0, len(y), chunk))
                 / len(y))


def train_schedule(ds: data.Dataset, cfg: AccuracyConfig, schedule: str, seed: int) -> pd.DataFrame:
    """One run on the data's device; one row per epoch: train loss (mean over the epoch), test accuracy (unaugmented
    test images), LR of the last step."""
    one_of("schedule", schedule, SCHEDULES)
    torch.manual_seed(seed)
    net = make_accuracy_net(cfg, ds.X_train.shape[1], ds.num_classes, seed, device=ds.X_train.device)
    if schedule == "step decay + WD":
        opt = _sgd(net, cfg.lr, cfg.momentum, cfg.weight_decay)
        factor = schedules.step_decay_factor(cfg.milestone_steps, 0.1)
    elif schedule == "TEXP, no WD":
        opt = _sgd(net, cfg.lr, cfg.momentum, 0.0)
        schedules.set_initial_momentum_buffers(opt, cfg.lr, cfg.weight_decay, cfg.momentum)
        factor = schedules.texp_factor(cfg.lr, cfg.weight_decay, cfg.momentum, cfg.milestone_steps, 0.1)
    elif schedule == "step decay, no WD":  # the negative control: WD dropped and nothing put in its place
        opt = _sgd(net, cfg.lr, cfg.momentum, 0.0)
        factor = schedules.step_decay_factor(cfg.milestone_steps, 0.1)
    else:  # the exact no-WD equivalent of step decay, zero buffers in both runs
        opt = _sgd(net, cfg.lr, cfg.momentum, 0.0)
        decay = schedules.step_decay_factor(cfg.milestone_steps, 0.1)
        steps = cfg.epochs * cfg.steps_per_epoch
        lrs = schedules.equivalent_lrs([cfg.lr * decay(t) for t in range(steps)], cfg.weight_decay, cfg.momentum)
        factor = lambda t: lrs[min(t, steps - 1)] / cfg.lr  # noqa: E731
    sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
    batches = batch_order(len(ds.y_train), cfg.batch_size, cfg.epochs * cfg.steps_per_epoch, seed)
    g_aug = torch.Generator().manual_seed(seed)
    rows, losses = [], []
    for t, idx in enumerate(batches):
        lr_t = opt.param_groups[0]["lr"]
        xb = augment(ds.X_train[idx], g_aug) if cfg.augment else ds.X_train[idx]
        opt.zero_grad()
        loss = F.cross_entropy(net(xb), ds.y_train[idx])
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
        if (t + 1) % cfg.steps_per_epoch == 0:
            rows.append({"schedule": schedule, "seed": seed, "epoch": (t + 1) // cfg.steps_per_epoch,
                         "train_loss": float(np.mean(losses)), "test_acc": accuracy(net, ds.X_test, ds.y_test),
                         "lr": lr_t})
            losses = []
    return pd.DataFrame(rows)


def arm_seed(seed: int, schedule: str, k: int) -> int:
    """The k-th seed of an arm: arms never share an init or a batch order."""
    return seed + 1000 * SCHEDULES.index(schedule) + k


def gap(df: pd.DataFrame, arm: str, baseline: str = "step decay + WD", *, n_boot: int = 2000, seed: int = 0
        ) -> claims.Measurement:
    """Final test accuracy, mean over the arm's seeds − mean over the baseline's (pp), with a percentile
    bootstrap that resamples the seeds of each arm independently (the arms share no seed)."""
    final = df[df.epoch == df.epoch.max()]
    a = 100 * final[final.schedule == arm].test_acc.to_numpy(float)
    b = 100 * final[final.schedule == baseline].test_acc.to_numpy(float)
    if len(a) < 2 or len(b) < 2:
        return claims.missing(f"{len(a)} and {len(b)} seeds (2 needed per arm)")
    rng = np.random.default_rng(seed)
    boots = [rng.choice(a, len(a)).mean() - rng.choice(b, len(b)).mean() for _ in range(n_boot)]
    lo, hi = np.quantile(boots, [0.025, 0.975])
    value = float(a.mean() - b.mean())
    return claims.Measurement(value, min(float(lo), value), max(float(hi), value), len(a) + len(b),
                              f"percentile bootstrap over seeds within each arm, {n_boot} resamples, 95%",
                              spread=np.asarray(boots) - value)


def measure_accuracy(df: pd.DataFrame) -> dict[str, claims.Measurement]:
    """The accuracy notebook's measurements from `train_schedule` rows of every arm and seed (the negative control's
    gap is a diagnostic: missing when its arm was not run)."""
    final = df[df.epoch == df.epoch.max()]
    base = final[final.schedule == "step decay + WD"].test_acc
    return {
        "li-arora.accuracy.baseline-trains": claims.bootstrap(base.to_numpy(float), np.mean),
        "li-arora.accuracy.texp-gap": gap(df, "TEXP, no WD"),
        "li-arora.accuracy.exact-gap": gap(df, "exact equivalent, no WD"),
        "li-arora.accuracy.no-wd-gap": gap(df, "step decay, no WD"),
    }
