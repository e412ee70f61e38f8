"""Li & Arora (2020), an exponential learning rate schedule: the WD ⇔ ExpLR equivalence, accuracy, and the toy.

A loss is scale-invariant when L(cθ) = L(θ) for all c > 0 (paper, Sec. 2); then ⟨∇L(θ), θ⟩ = 0 and
∇L(cθ) = ∇L(θ)/c (Lemma 1). SGD with LR η, weight decay λ and momentum γ (PyTorch convention) then equals, up to
the scale θ_t = α^t φ_t, SGD with momentum γ, no WD and η̃_t = η α^(−2t−1) (Thm. 1), α the larger root of
x² − (1 + γ − λη)x + γ = 0, when the no-WD run starts with the buffer v₋₁ = −(1 − α)θ₀/(αη)
(see `replicate.schedules`).

The networks here are made scale-invariant in all their trainable weights: conv layers without bias, BatchNorm
without affine parameters and with batch statistics only, and a frozen random linear head. In the small conv net
each layer is scale-invariant on its own; in PreResNet32 (the paper's net) each block's first conv is, and the
convs writing one stage's residual stream (stem or shortcut, second convs) are jointly — enough for Thm. 1, which
scales all weights by the same α^t.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from replicate import data, schedules
from replicate.scales import ParameterError, one_of, positive

DATASETS = ("fashion-mnist", "mnist")
ACCURACY_DATASETS = (*DATASETS, "cifar-10")
MODELS = ("small", "preresnet32")


class ScaleInvariantConvNet(nn.Module):
    """[conv3×3 (no bias) → BN (no affine, batch statistics) → ReLU → maxpool2] per width, the last block
    global-average-pooled, then a frozen linear head with N(0, head_std²) entries (a buffer, never trained).

    Every trainable tensor is a conv weight whose scale the following BN removes, so L(c·W_l) = L(W_l) for each
    layer l and c > 0 (up to BN's ε, which is why `eps` is tiny in the exactness tests).
    """

    def __init__(self, in_channels: int, num_classes: int, widths: tuple[int, ...], eps: float = 1e-5,
                 head_std: float = 1.0, generator: torch.Generator | None = None):
        super().__init__()
        if not widths:
            raise ValueError("widths must name at least one conv layer")
        self.convs = nn.ModuleList()
        self.norms = nn.ModuleList()
        channels = in_channels
        for width in widths:
            self.convs.append(nn.Conv2d(channels, width, 3, padding=1, bias=False))
            self.norms.append(nn.BatchNorm2d(width, eps=eps, affine=False, track_running_stats=False))
            channels = width
        with torch.no_grad():
            for conv in self.convs:
                fan_in = conv.weight[0].numel()
                conv.weight.copy_(torch.randn(conv.weight.shape, generator=generator) / math.sqrt(fan_in))
        self.register_buffer("head", torch.randn(num_classes, channels, generator=generator) * head_std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        last = len(self.convs) - 1
        for i, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            x = torch.relu(norm(conv(x)))
            x = x.mean(dim=(-2, -1)) if i == last else F.max_pool2d(x, 2)
        return x @ self.head.T


def make_net(in_channels: int, num_classes: int, widths: tuple[int, ...], *, seed: int, eps: float = 1e-5,
             head_std: float = 1.0, dtype: torch.dtype = torch.float32) -> ScaleInvariantConvNet:
    """A seeded ScaleInvariantConvNet in `dtype`."""
    g = torch.Generator().manual_seed(seed)
    return ScaleInvariantConvNet(in_channels, num_classes, widths, eps, head_std, g).to(dtype)


def _conv(cin: int, cout: int, k: int, stride: int, generator: torch.Generator | None) -> nn.Conv2d:
    """A bias-free conv with N(0, 1/fan_in) weights (the small net's initialisation)."""
    conv = nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.randn(conv.weight.shape, generator=generator) / math.sqrt(conv.weight[0].numel()))
    return conv


class PreActBlock(nn.Module):
    """Pre-activation basic block: with a = ReLU(BN(x)), x + conv2(ReLU(BN(conv1(a)))); when the shape changes the
    shortcut is a 1×1 conv of a (He et al.'s shared pre-activation), not of x. BN: no affine, batch statistics."""

    def __init__(self, cin: int, cout: int, stride: int, eps: float, generator: torch.Generator | None):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin, eps=eps, affine=False, track_running_stats=False)
        self.conv1 = _conv(cin, cout, 3, stride, generator)
        self.bn2 = nn.BatchNorm2d(cout, eps=eps, affine=False, track_running_stats=False)
        self.conv2 = _conv(cout, cout, 3, 1, generator)
        self.shortcut = _conv(cin, cout, 1, stride, generator) if stride != 1 or cin != cout else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = torch.relu(self.bn1(x))
        out = self.conv2(torch.relu(self.bn2(self.conv1(a))))
        return out + (x if self.shortcut is None else self.shortcut(a))


class PreResNet32(nn.Module):
    """PreResNet32 (He et al. 2016, the paper's CIFAR net): 3×3 stem conv, 3 stages × 5 `PreActBlock`s of widths
    `widths` (strides 1, 2, 2), final BN → ReLU → global average pool, then a frozen N(0, head_std²) linear head.

    Scale invariance: every read of the residual stream goes through BN, so L is invariant to scaling each
    block's conv1 alone, and to scaling the writers of one stage's stream *together* (stage 1: stem and its five
    conv2; stages 2, 3: the shortcut and the five conv2); scaling one conv2 alone changes the residual/shortcut mix,
    hence the function. So L(cθ) = L(θ) for the whole θ, which is what Thm. 1 uses.
    """

    def __init__(self, in_channels: int, num_classes: int, widths: tuple[int, int, int] = (16, 32, 64),
                 blocks: int = 5, eps: float = 1e-5, head_std: float = 1.0,
                 generator: torch.Generator | None = None):
        super().__init__()
        self.stem = _conv(in_channels, widths[0], 3, 1, generator)
        layers, channels = [], widths[0]
        for stage, width in enumerate(widths):
            for b in range(blocks):
                layers.append(PreActBlock(channels, width, 2 if stage > 0 and b == 0 else 1, eps, generator))
                channels = width
        self.blocks = nn.Sequential(*layers)
        self.norm = nn.BatchNorm2d(channels, eps=eps, affine=False, track_running_stats=False)
        self.register_buffer("head", torch.randn(num_classes, channels, generator=generator) * head_std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.norm(self.blocks(self.stem(x))))
        return x.mean(dim=(-2, -1)) @ self.head.T


def make_preresnet32(in_channels: int, num_classes: int, widths: tuple[int, int, int] = (16, 32, 64), *,
                     seed: int, eps: float = 1e-5, head_std: float = 1.0,
                     dtype: torch.dtype = torch.float32) -> PreResNet32:
    """A seeded PreResNet32 in `dtype`."""
    g = torch.Generator().manual_seed(seed)
    return PreResNet32(in_channels, num_classes, widths, eps=eps, head_std=head_std, generator=g).to(dtype)


def augment(X: torch.Tensor, generator: torch.Generator, pad: int = 4) -> torch.Tensor:
    """Standard CIFAR augmentation: a random crop of the `pad`-zero-padded image (same size) and a horizontal flip
    with probability 1/2, drawn per image from `generator`."""
    n, c, h, w = X.shape
    Xp = F.pad(X, (pad, pad, pad, pad))
    dy, dx = (torch.randint(2 * pad + 1, (n,), generator=generator) for _ in range(2))
    rows = (dy[:, None] + torch.arange(h))[:, None, :, None]
    cols = (dx[:, None] + torch.arange(w))[:, None, None, :]
    out = Xp[torch.arange(n)[:, None, None, None], torch.arange(c)[None, :, None, None], rows, cols]
    flip = torch.rand(n, generator=generator) < 0.5
    return torch.where(flip[:, None, None, None], out.flip(-1), out)


def load_images(name: str, n_train: int, n_test: int, downsample: int, seed: int = 0) -> data.Dataset:
    """Real (Fashion-)MNIST subsets, average-pooled by `downsample` (28×28 → 14×14 for 2), standardised."""
    ds = data.load(name, n_train=n_train, n_test=n_test, seed=seed)
    pool = (lambda X: F.avg_pool2d(X, downsample)) if downsample > 1 else (lambda X: X)
    Xtr, Xte = pool(ds.X_train), pool(ds.X_test)
    mean, std = Xtr.mean(), Xtr.std()
    return data.Dataset(ds.name, (Xtr - mean) / std, ds.y_train, (Xte - mean) / std, ds.y_test, ds.num_classes)


def batch_order(n: int, batch_size: int, steps: int, seed: int) -> list[torch.Tensor]:
    """Index batches for `steps` steps: seeded reshuffles each epoch, incomplete last batch dropped."""
    g = torch.Generator().manual_seed(seed)
    per_epoch = n // batch_size
    if per_epoch == 0:
        raise ParameterError(f"batch_size must be <= the number of training samples ({n}); got {batch_size}")
    out = []
    while len(out) < steps:
        perm = torch.randperm(n, generator=g)
        out += [perm[i * batch_size:(i + 1) * batch_size] for i in range(per_epoch)]
    return out[:steps]


def normalised_weights_gap(a: nn.Module, b: nn.Module) -> float:
    """max over layers of ‖W_a/‖W_a‖ − W_b/‖W_b‖‖: the distance in function space (scale removed)."""
    return max(float((pa / pa.norm() - pb / pb.norm()).norm().detach())
               for pa, pb in zip(a.parameters(), b.parameters()))


# --------------------------------------------------------------------------------------------------------------
# Notebook 1: the equivalence


@dataclass(frozen=True)
class EquivalenceConfig:
    """Exact part: `exact_steps` steps in float64 (BN ε = `exact_eps`); long part: `long_epochs` epochs in float32.

    Both parts train a WD run (η, λ, γ) and its ExpLR twins (no WD, η̃_t = η α^(−2t−1)) on identical batches.
    """

    dataset: str
    n_train: int
    n_probe: int
    downsample: int
    widths: tuple[int, ...]
    batch_size: int
    exact_steps: int
    long_epochs: int
    lr: float = 0.1
    weight_decay: float = 5e-4
    momentum: float = 0.9
    exact_eps: float = 1e-12
    head_std: float = 1.0

    def validate(self) -> None:
        one_of("dataset", self.dataset, DATASETS)
        for name in ("n_train", "n_probe", "downsample", "widths", "batch_size", "exact_steps", "lr",
                     "exact_eps", "head_std"):
            positive(name, getattr(self, name))
        if self.long_epochs < 0 or self.weight_decay < 0:
            raise ParameterError("long_epochs and weight_decay must be >= 0")
        if not 0 <= self.momentum < 1:
            raise ParameterError(f"momentum must be in [0, 1); got {self.momentum}")
        if self.batch_size > self.n_train:
            raise ParameterError(f"batch_size must be <= n_train ({self.n_train}); got {self.batch_size}")


EQUIVALENCE_PRESETS = {
    "smoke": EquivalenceConfig("fashion-mnist", n_train=512, n_probe=64, downsample=4, widths=(8, 8),
                               batch_size=32, exact_steps=200, long_epochs=2),
    "cpu": EquivalenceConfig("fashion-mnist", n_train=4096, n_probe=256, downsample=2, widths=(16, 32, 32),
                             batch_size=128, exact_steps=200, long_epochs=12),
    "paper": EquivalenceConfig("fashion-mnist", n_train=50000, n_probe=512, downsample=1, widths=(32, 64, 128),
                               batch_size=128, exact_steps=1000, long_epochs=100),
}
EQUIVALENCE_DRY_RUN = {"n_train": 256, "n_probe": 64, "exact_steps": 1, "long_epochs": 0}

# The exact and the approximate ExpLR twins run beside the WD run.
VARIANTS = ("matched buffer", "zero buffer")


def _sgd(model: nn.Module, lr: float, momentum: float, weight_decay: float) -> torch.optim.SGD:
    return torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)


def run_equivalence(X: torch.Tensor, y: torch.Tensor, probe: torch.Tensor, *, widths: tuple[int, ...],
                    num_classes: int, steps: int, batch_size: int, lr: float, weight_decay: float,
                    momentum: float, eps: float, head_std: float = 1.0, dtype: torch.dtype = torch.float64,
                    seed: int = 0, variants: tuple[str, ...] = VARIANTS) -> pd.DataFrame:
    """Train the WD run and its ExpLR twins in lockstep on identical batches; one row per (step, variant).

    Columns: step t (after t updates), variant, logit_gap = max |f_WD(probe) − f_ExpLR(probe)|, weight_gap
    (`normalised_weights_gap`), loss of the batch just used (WD run and twin), lr_tilde (η̃ of the step just
    taken), and the squared norm of each layer of the twin (norm2_l) and of the WD run (norm2_wd_l).
    """
    X, probe = X.to(dtype), probe.to(dtype)
    wd_net = make_net(X.shape[1], num_classes, widths, seed=seed, eps=eps, head_std=head_std, dtype=dtype)
    wd_opt = _sgd(wd_net, lr, momentum, weight_decay)
    twins = []
    for v in variants:
        one_of("variant", v, VARIANTS)
        net = make_net(X.shape[1], num_classes, widths, seed=seed, eps=eps, head_std=head_std, dtype=dtype)
        opt = _sgd(net, lr, momentum, 0.0)
        if v == "matched buffer":
            schedules.set_initial_momentum_buffers(opt, lr, weight_decay, momentum)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, schedules.exp_lr_factor(lr, weight_decay, momentum))
        twins.append((v, net, opt, sched))
    rows = []
    for t, idx in enumerate(batch_order(len(y), batch_size, steps, seed)):
        xb, yb = X[idx], y[idx]
        wd_opt.zero_grad()
        wd_loss = F.cross_entropy(wd_net(xb), yb)
        wd_loss.backward()
        wd_opt.step()
        with torch.no_grad():
            ref = wd_net(probe)
        for v, net, opt, sched in twins:
            lr_t = opt.param_groups[0]["lr"]
            opt.zero_grad()
            loss = F.cross_entropy(net(xb), yb)
            loss.backward()
            opt.step()
            sched.step()
            with torch.no_grad():
                gap = float((net(probe) - ref).abs().max())
            rows.append({"step": t + 1, "variant": v, "logit_gap": gap,
                         "weight_gap": normalised_weights_gap(wd_net, net),
                         "loss_wd": wd_loss.item(), "loss": loss.item(), "lr_tilde": lr_t,
                         **{f"norm2_{i}": float(p.detach().pow(2).sum()) for i, p in enumerate(net.parameters())},
                         **{f"norm2_wd_{i}": float(p.detach().pow(2).sum())
                            for i, p in enumerate(wd_net.parameters())}})
    return pd.DataFrame(rows)


def norm_ratio_spread(df: pd.DataFrame, layer: int, after_step: int) -> float:
    """max/min − 1 of ‖w_t‖²/η̃_t of `layer` over steps ≥ after_step (the paper: constant after a transient)."""
    d = df[df.step >= after_step]
    r = d[f"norm2_{layer}"] / d["lr_tilde"]
    return float(r.max() / r.min() - 1) if len(r) else float("nan")


# --------------------------------------------------------------------------------------------------------------
# Notebook 2: accuracy of step decay + WD against its exponential equivalent (TEXP)


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

    @property
    def steps_per_epoch(self) -> int:
        return self.n_train // self.batch_size

    @property
    def milestone_steps(self) -> list[int]:
        return [round(m * self.epochs) * self.steps_per_epoch for m in self.milestones]


ACCURACY_PRESETS = {
    "smoke": AccuracyConfig("fashion-mnist", n_train=512, n_test=256, downsample=4, widths=(8, 16),
                            batch_size=64, epochs=2, seeds=1),
    "cpu": AccuracyConfig("fashion-mnist", n_train=6144, n_test=2000, downsample=2, widths=(16, 32, 32),
                          batch_size=128, epochs=8, seeds=3),
    "paper": AccuracyConfig("cifar-10", n_train=50000, n_test=10000, downsample=1, widths=(16, 32, 64),
                            batch_size=128, epochs=160, seeds=3, model="preresnet32", augment=True),
}
ACCURACY_DRY_RUN = {"n_train": 128, "n_test": 128, "epochs": 1, "seeds": 1}
SCHEDULES = ("step decay + WD", "TEXP, no WD")


def load_accuracy_data(cfg: AccuracyConfig, seed: int = 0, dry_run: bool = False) -> tuple[data.Dataset, str]:
    """The data of `cfg` and a note ("" unless stand-ins were used): (Fashion-)MNIST through `load_images`, or
    CIFAR-10 standardised per channel by its training mean/std.

    A dry run without the CIFAR-10 file substitutes random tensors of CIFAR-10's shape (the note says so); a real
    run without it fails with the data module's message.
    """
    if cfg.dataset != "cifar-10":
        return load_images(cfg.dataset, cfg.n_train, cfg.n_test, cfg.downsample, seed=seed), ""
    ds, note = data.load_or_stand_in("cifar-10", n_train=cfg.n_train, n_test=cfg.n_test, seed=seed, dry_run=dry_run)
    mean = ds.X_train.mean(dim=(0, 2, 3), keepdim=True)
    std = ds.X_train.std(dim=(0, 2, 3), keepdim=True)
    return data.Dataset(ds.name, (ds.X_train - mean) / std, ds.y_train, (ds.X_test - mean) / std, ds.y_test,
                        ds.num_classes), note


def make_accuracy_net(cfg: AccuracyConfig, in_channels: int, num_classes: int, seed: int) -> nn.Module:
    """The seeded network `cfg.model` names."""
    if cfg.model == "preresnet32":
        return make_preresnet32(in_channels, num_classes, cfg.widths, seed=seed, head_std=cfg.head_std)
    return make_net(in_channels, num_classes, cfg.widths, seed=seed, head_std=cfg.head_std)


@torch.no_grad()
def accuracy(model: nn.Module, X: torch.Tensor, y: torch.Tensor, chunk: int = 500) -> float:
    """Fraction correct, BN on batch statistics of chunks of `chunk` examples (the net keeps no running stats)."""
    return float(sum((model(X[i:i + chunk]).argmax(1) == y[i:i + chunk]).sum() for i in range(0, len(y), chunk))
                 / len(y))


def train_schedule(ds: data.Dataset, cfg: AccuracyConfig, schedule: str, seed: int) -> pd.DataFrame:
    """One run; one row per epoch: train loss (mean over the epoch), test accuracy (unaugmented test images), LR
    of the last step."""
    one_of("schedule", schedule, SCHEDULES)
    torch.manual_seed(seed)
    net = make_accuracy_net(cfg, ds.X_train.shape[1], ds.num_classes, seed)
    if schedule == "step decay + WD":
        opt = _sgd(net, cfg.lr, cfg.momentum, cfg.weight_decay)
        factor = schedules.step_decay_factor(cfg.milestone_steps, 0.1)
    else:
        opt = _sgd(net, cfg.lr, cfg.momentum, 0.0)
        schedules.set_initial_momentum_buffers(opt, cfg.lr, cfg.weight_decay, cfg.momentum)
        factor = schedules.texp_factor(cfg.lr, cfg.weight_decay, cfg.momentum, cfg.milestone_steps, 0.1)
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


# --------------------------------------------------------------------------------------------------------------
# Notebook 3: the toy — WD and normalisation together do not converge


@dataclass(frozen=True)
class ToyConfig:
    """Gradient descent on L(x, y) = x²/(x² + y²) (scale-invariant) or x² (not), with or without WD λ."""

    starts: int
    steps: int
    lr: float = 0.1
    weight_decay: float = 0.1

    def validate(self) -> None:
        for name in ("starts", "steps", "lr", "weight_decay"):
            positive(name, getattr(self, name))


TOY_PRESETS = {
    "smoke": ToyConfig(starts=8, steps=2000),
    "cpu": ToyConfig(starts=32, steps=5000),
    "paper": ToyConfig(starts=128, steps=20000),
}
TOY_DRY_RUN = {"steps": 1}
TOY_SETTINGS = ("normalised + WD", "normalised, no WD", "WD, no normalisation")


def toy_loss_grad(theta: torch.Tensor, normalised: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """L and ∇L at each row (x, y) of theta: x²/(x² + y²) with ∇L = (2xy², −2x²y)/r⁴, or x² with ∇L = (2x, 0)."""
    x, y = theta[:, 0], theta[:, 1]
    if normalised:
        r2 = x * x + y * y
        return x * x / r2, torch.stack([2 * x * y * y, -2 * x * x * y], 1) / r2.unsqueeze(1) ** 2
    return x * x, torch.stack([2 * x, torch.zeros_like(y)], 1)


def toy_starts(n: int, seed: int) -> torch.Tensor:
    """n starting points on the unit circle at seeded angles, away from the minima (|x| ≥ 0.1)."""
    g = torch.Generator().manual_seed(seed)
    phi = (torch.rand(n, generator=g, dtype=torch.float64) * 0.8 + 0.1) * math.pi / 2
    return torch.stack([torch.sin(phi), torch.cos(phi)], 1)


def run_toy(cfg: ToyConfig, setting: str, seed: int = 0) -> dict[str, torch.Tensor]:
    """Full-batch GD θ ← θ − η(∇L + λθ) from `toy_starts`; trajectories (steps + 1, starts) of L, ‖θ‖ and
    ‖∇F‖, F = L + (λ/2)‖θ‖² the objective actually minimised (λ = 0 for 'normalised, no WD')."""
    one_of("setting", setting, TOY_SETTINGS)
    normalised = setting != "WD, no normalisation"
    lam = 0.0 if setting == "normalised, no WD" else cfg.weight_decay
    theta = toy_starts(cfg.starts, seed)
    losses, norms, grads = [], [], []
    for t in range(cfg.steps + 1):
        loss, grad = toy_loss_grad(theta, normalised)
        full = grad + lam * theta
        losses.append(loss)
        norms.append(theta.norm(dim=1))
        grads.append(full.norm(dim=1))
        if t < cfg.steps:
            theta = theta - cfg.lr * full
    return {"loss": torch.stack(losses), "norm": torch.stack(norms), "grad_norm": torch.stack(grads)}
