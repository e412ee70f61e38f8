"""Li, Wei & Ma (2019), the regularisation effect of an initial large learning rate.

Two settings, each with two kinds of pattern defined *by construction* (never by the paper's letters):

* the **clustered** pattern x₂ = z + s·ζ_y (eq. 3.1 of the derivation page): a shared large vector z, a tiny
  class-specific perturbation ζ_y and a random sign s = ±1. Low noise, few distinct points, so *easy to
  generalise*; not linearly separable (the class means coincide at z), so *hard to fit* under SGD noise;
* the **linear** pattern x₁ ~ N(0, I_d) with y = 1[⟨w*, x₁⟩ > 0] (eq. 3.2): linearly separable, so *easy to fit*,
  but high-dimensional with no margin, so *hard to generalise* (its test error falls only as the number of
  examples that teach it grows).

The synthetic task mixes them (x = (x₁, x₂), some examples carry one only). The patch experiment puts the clustered
pattern into a small centred patch of real images (the official code's `pm_sym_pattern` / `PatchAugmentFixed`):
the image is the linear-like pattern, the patch the clustered one. A small learning rate memorises the patch
first; a large one ignores it until the anneal, learning the images from all examples first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from replicate import data, ensemble
from replicate.models import SmallConvNet
from replicate.scales import ParameterError, one_of, positive

# ----------------------------------------------------------------------------------------------------------
# Patch construction (official code: data_util.pm_sym_pattern, PatchAugmentFixed, FixedAugmentDataset)
# ----------------------------------------------------------------------------------------------------------

CLEAN, PATCHED, PATCH_ONLY = 0, 1, 2
KINDS = {CLEAN: "clean", PATCHED: "image + patch", PATCH_ONLY: "patch only"}

CIFAR_MEAN = tuple(x / 255.0 for x in (125.3, 123.0, 113.9))
CIFAR_STD = tuple(x / 255.0 for x in (63.0, 62.1, 66.7))


@dataclass(frozen=True)
class PatchConfig:
    """The patch of `train_patches.py` (defaults: the official values, digest claim 21).

    patch ← z + s·ζ_{y,k} on rows/cols [start, start + patch_size), start = int(image_size/2 − patch_size/2)
    ('center'; 12 for 32 and 7) or 0 ('corner'); z = z_scale·N(0, 1)^{C×p×p}, ζ ~ U[−patch_sep, patch_sep];
    a fixed fraction `prop_augment` of examples is transformed; of those, a fraction `patch_only_prob` is zeroed
    and gets z + s·patch_only_scale·U[0, 1]·ζ_y.
    """

    image_size: int = 32
    channels: int = 3
    num_classes: int = 10
    patch_size: int = 7
    location: str = "center"
    z_scale: float = 1.25
    patch_sep: float = 0.1
    num_patterns: int = 1
    prop_augment: float = 0.8
    patch_only_prob: float = 0.2
    patch_only_scale: float = 1.75

    def validate(self) -> None:
        for name in ("image_size", "channels", "num_classes", "patch_size", "z_scale", "patch_sep",
                     "num_patterns", "patch_only_scale"):
            positive(name, getattr(self, name))
        one_of("location", self.location, ("center", "corner"))
        if self.patch_size > self.image_size:
            raise ParameterError(f"patch_size must be <= image_size; got {self.patch_size} > {self.image_size}")
        for name in ("prop_augment", "patch_only_prob"):
            if not 0 <= getattr(self, name) <= 1:
                raise ParameterError(f"{name} must be in [0, 1]; got {getattr(self, name)}")

    @property
    def start(self) -> int:
        """First row/column of the patch (official `get_start_for_patch_loc`, for any image size)."""
        return int(self.image_size / 2 - self.patch_size / 2) if self.location == "center" else 0

    @property
    def region(self) -> tuple[slice, slice]:
        s = self.start
        return slice(s, s + self.patch_size), slice(s, s + self.patch_size)


def make_patterns(cfg: PatchConfig, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(z, ζ): z of shape (C, p, p) = z_scale·N(0, 1); ζ of shape (K, num_patterns, C, p, p) ~ U[−sep, sep].

    The label → patch map is a function of `seed` only.
    """
    g = torch.Generator().manual_seed(seed)
    shape = (cfg.channels, cfg.patch_size, cfg.patch_size)
    z = cfg.z_scale * torch.randn(shape, generator=g)
    zeta = (torch.rand((cfg.num_classes, cfg.num_patterns, *shape), generator=g) * 2 - 1) * cfg.patch_sep
    return z, zeta


def apply_patches(x: torch.Tensor, y: torch.Tensor, cfg: PatchConfig, z: torch.Tensor, zeta: torch.Tensor,
                  seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Patched copy of normalised images x (N, C, H, W) with labels y, and each example's kind (N,).

    kind is CLEAN (untouched), PATCHED (patch ← z + s·ζ_y) or PATCH_ONLY (image ← 0, patch ← z + s·1.75·u·ζ_y,
    u ~ U[0, 1]). Which examples, the signs s, the pattern index and u are drawn once from `seed` (the official
    code draws the subset once and s, u at every load).
    """
    g = torch.Generator().manual_seed(seed)
    n = len(x)
    transform = torch.rand(n, generator=g) < cfg.prop_augment
    only = transform & (torch.rand(n, generator=g) < cfg.patch_only_prob)
    sign = torch.where(torch.rand(n, generator=g) < 0.5, -1.0, 1.0)
    pattern = torch.randint(cfg.num_patterns, (n,), generator=g)
    u = torch.rand(n, generator=g)
    scale = torch.where(only, cfg.patch_only_scale * u, torch.ones(n)) * sign
    patch = z + scale.view(n, 1, 1, 1) * zeta[y, pattern]
    out = x.clone()
    out[only] = 0.0
    rows, cols = cfg.region
    out[:, :, rows, cols] = torch.where(transform.view(n, 1, 1, 1), patch, out[:, :, rows, cols])
    kind = torch.full((n,), CLEAN, dtype=torch.long)
    kind[transform] = PATCHED
    kind[only] = PATCH_ONLY
    return out, kind


def patch_only_set(n: int, cfg: PatchConfig, z: torch.Tensor, zeta: torch.Tensor,
                   seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The official patch-accuracy set: n all-zero images (the mean colour) with random labels, all patch-only."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(cfg.num_classes, (n,), generator=g)
    x = torch.zeros(n, cfg.channels, cfg.image_size, cfg.image_size)
    every = PatchConfig(**{**cfg.__dict__, "prop_augment": 1.0, "patch_only_prob": 1.0})
    return apply_patches(x, y, every, z, zeta, seed + 1)[0], y


# ----------------------------------------------------------------------------------------------------------
# Models: WideResNet (official models/wideresnet.py) and the activation noise of `forward_noise`
# ----------------------------------------------------------------------------------------------------------


class ActNoise(nn.Module):
    """x + σ_t·ξ with one N(0, 1) map ξ of shape (1, 1, H, W) per call, shared over batch and channels.

    σ_t = std for the first `steps_on` training forwards, then std·decay (official: ×1e-5 from epoch 30).
    Identity in eval mode. The forward count is a buffer, so it travels with the module's state.
    """

    def __init__(self, std: float, steps_on: int, decay: float = 1e-5):
        super().__init__()
        self.std, self.steps_on, self.decay = std, steps_on, decay
        self.register_buffer("calls", torch.zeros((), dtype=torch.long))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return x
        level = self.std if int(self.calls) < self.steps_on else self.std * self.decay
        self.calls += 1
        return x + level * torch.randn(1, 1, *x.shape[-2:], dtype=x.dtype, device=x.device)


def add_act_noise(model: nn.Module, std: float, steps_on: int, decay: float = 1e-5) -> nn.Module:
    """Put ActNoise before every nn.ReLU of `model` (in place; in both nets every ReLU follows a BN)."""
    for name, child in list(model.named_children()):
        if isinstance(child, nn.ReLU):
            setattr(model, name, nn.Sequential(ActNoise(std, steps_on, decay), nn.ReLU()))
        else:
            add_act_noise(child, std, steps_on, decay)
    return model


class WideBasic(nn.Module):
    """Pre-activation block: out = conv2(relu(bn2(conv1(a)))) + shortcut, a = relu(bn1(x)).

    The shortcut is x when channels are kept, else a 1×1 conv of a (as in the official BasicBlock).
    """

    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.bn1, self.relu1 = nn.BatchNorm2d(cin), nn.ReLU()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn2, self.relu2 = nn.BatchNorm2d(cout), nn.ReLU()
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.shortcut = None if cin == cout else nn.Conv2d(cin, cout, 1, stride, 0, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.relu1(self.bn1(x))
        out = self.conv2(self.relu2(self.bn2(self.conv1(a))))
        return out + (x if self.shortcut is None else self.shortcut(a))


class WideResNet(nn.Module):
    """WRN-depth-k (Zagoruyko & Komodakis), channels 16, 16k, 32k, 64k; (depth − 4)/6 blocks per group.

    Init as the official code: conv weights N(0, 2/(k²·out_channels)), BN weight 1 and bias 0, linear bias 0.
    """

    def __init__(self, depth: int = 16, widen_factor: int = 10, num_classes: int = 10, in_channels: int = 3):
        super().__init__()
        if (depth - 4) % 6:
            raise ValueError(f"depth must be 6n + 4; got {depth}")
        n = (depth - 4) // 6
        widths = [16, 16 * widen_factor, 32 * widen_factor, 64 * widen_factor]
        self.conv1 = nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False)
        blocks, cin = [], widths[0]
        for group, stride in zip(widths[1:], (1, 2, 2)):
            for i in range(n):
                blocks.append(WideBasic(cin, group, stride if i == 0 else 1))
                cin = group
        self.blocks = nn.Sequential(*blocks)
        self.bn, self.relu = nn.BatchNorm2d(cin), nn.ReLU()
        self.fc = nn.Linear(cin, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                m.weight.data.normal_(0, math.sqrt(2.0 / (m.kernel_size[0] * m.kernel_size[1] * m.out_channels)))
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.data.fill_(1.0)
                m.bias.data.zero_()
            elif isinstance(m, nn.Linear):
                m.bias.data.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn(self.blocks(self.conv1(x))))
        return self.fc(out.mean(dim=(-2, -1)))


# ----------------------------------------------------------------------------------------------------------
# The patch experiment
# ----------------------------------------------------------------------------------------------------------

SCHEDULES = ("large_lr", "small_lr", "act_noise")
PATCH_DATASETS = ("cifar-10", "fashion-mnist")


@dataclass(frozen=True)
class PatchRunConfig:
    """Notebook 2. Three runs (official `train_patches.py`): large_lr (lr_large, ×anneal_factor from epoch
    `anneal_epoch`, counted from 1 as the official `epoch + 1 >= 30`), small_lr (lr_small fixed), act_noise
    (lr_small fixed, ActNoise(noise_std) before every ReLU until `anneal_epoch`). SGD + Nesterov.
    """

    dataset: str
    model: str  # "wrn" (WRN-depth-widen) or "small" (replicate.models.SmallConvNet(widths))
    n_train: int | None
    n_test: int | None
    n_patch_only: int
    downsample: int
    patch_size: int
    epochs: int
    anneal_epoch: int
    seeds: int
    widths: tuple[int, ...] = (16, 32)
    depth: int = 16
    widen_factor: int = 10
    batch_size: int = 128
    lr_large: float = 0.1
    lr_small: float = 0.004
    anneal_factor: float = 0.04
    momentum: float = 0.9
    weight_decay: float = 5e-4
    noise_std: float = 0.4

    def validate(self) -> None:
        one_of("dataset", self.dataset, PATCH_DATASETS)
        one_of("model", self.model, ("wrn", "small"))
        for name in ("n_patch_only", "downsample", "patch_size", "epochs", "anneal_epoch", "seeds", "widths",
                     "batch_size", "lr_large", "lr_small", "anneal_factor", "momentum", "noise_std"):
            positive(name, getattr(self, name))
        for name in ("n_train", "n_test"):
            if getattr(self, name) is not None:
                positive(name, getattr(self, name))
        if self.n_train is not None and self.n_train < self.batch_size:
            raise ParameterError(f"n_train must be >= batch_size; got {self.n_train} < {self.batch_size}")

    def patch(self, channels: int, image_size: int) -> PatchConfig:
        return PatchConfig(image_size=image_size, channels=channels, patch_size=self.patch_size)


PATCH_PRESETS = {
    "smoke": PatchRunConfig(dataset="fashion-mnist", model="small", n_train=256, n_test=128, n_patch_only=64,
                            downsample=2, patch_size=3, epochs=3, anneal_epoch=2, seeds=1, widths=(8,)),
    "cpu": PatchRunConfig(dataset="fashion-mnist", model="small", n_train=4096, n_test=1000, n_patch_only=500,
                          downsample=2, patch_size=3, epochs=12, anneal_epoch=6, seeds=2, widths=(16, 32)),
    "paper": PatchRunConfig(dataset="cifar-10", model="wrn", n_train=None, n_test=None, n_patch_only=1000,
                            downsample=1, patch_size=7, epochs=60, anneal_epoch=30, seeds=3),
}
PATCH_DRY_RUN = {"n_train": 8, "n_test": 8, "n_patch_only": 8, "batch_size": 8, "epochs": 1, "seeds": 1}


@dataclass(frozen=True)
class PatchData:
    """Normalised tensors: the patched training set (and each example's kind), the clean test set, the test set
    with the same patch rule ('mixed'), the patch-only set; `note` says where the images came from."""

    X_train: torch.Tensor
    y_train: torch.Tensor
    kind_train: torch.Tensor
    X_clean: torch.Tensor
    y_clean: torch.Tensor
    X_mixed: torch.Tensor
    y_mixed: torch.Tensor
    X_patch: torch.Tensor
    y_patch: torch.Tensor
    patch: PatchConfig
    z: torch.Tensor
    zeta: torch.Tensor
    note: str


def _load_images(cfg: PatchRunConfig, seed: int, dry_run: bool) -> tuple[data.Dataset, str]:
    """CIFAR-10 (official normalisation) or Fashion-MNIST (average-pooled, normalised by its train mean/std).

    A paper-scale dry run without the CIFAR-10 file substitutes random tensors of CIFAR-10's shape (and says so);
    a real run without it fails with the data module's message.
    """
    if cfg.dataset == "cifar-10":
        ds, note = data.load_or_stand_in("cifar-10", n_train=cfg.n_train, n_test=cfg.n_test, seed=seed,
                                         dry_run=dry_run)
        note = note or "CIFAR-10"
        mean, std = torch.tensor(CIFAR_MEAN).view(1, 3, 1, 1), torch.tensor(CIFAR_STD).view(1, 3, 1, 1)
    else:
        ds = data.load(cfg.dataset, n_train=cfg.n_train, n_test=cfg.n_test, seed=seed)
        note = cfg.dataset
        if cfg.downsample > 1:
            ds = data.Dataset(ds.name, F.avg_pool2d(ds.X_train, cfg.downsample), ds.y_train,
                              F.avg_pool2d(ds.X_test, cfg.downsample), ds.y_test, ds.num_classes)
        mean, std = ds.X_train.mean(), ds.X_train.std()
    return data.Dataset(ds.name, (ds.X_train - mean) / std, ds.y_train, (ds.X_test - mean) / std, ds.y_test,
                        ds.num_classes), note


def patch_data(cfg: PatchRunConfig, seed: int, dry_run: bool = False) -> PatchData:
    """Images, normalised first and patched second (as the official transforms), all from `seed`."""
    ds, note = _load_images(cfg, seed, dry_run)
    pc = cfg.patch(ds.X_train.shape[1], ds.X_train.shape[-1])
    pc.validate()
    z, zeta = make_patterns(pc, seed)
    X_train, kind = apply_patches(ds.X_train, ds.y_train, pc, z, zeta, seed + 1)
    X_mixed, _ = apply_patches(ds.X_test, ds.y_test, pc, z, zeta, seed + 2)
    X_patch, y_patch = patch_only_set(cfg.n_patch_only, pc, z, zeta, seed + 3)
    return PatchData(X_train, ds.y_train, kind, ds.X_test, ds.y_test, X_mixed, ds.y_test, X_patch, y_patch,
                     pc, z, zeta, note)


def make_patch_model(cfg: PatchRunConfig, channels: int, schedule: str, steps_on: int) -> nn.Module:
    """WRN-depth-widen or SmallConvNet(widths); with ActNoise before every ReLU for 'act_noise'."""
    model = (WideResNet(cfg.depth, cfg.widen_factor, 10, channels) if cfg.model == "wrn"
             else SmallConvNet(channels, 10, cfg.widths, bn=True))
    return add_act_noise(model, cfg.noise_std, steps_on) if schedule == "act_noise" else model


@torch.no_grad()
def _accuracy(model: nn.Module, X: torch.Tensor, y: torch.Tensor, chunk: int = 1000) -> float:
    model.eval()
    hits = sum(int((model(X[i:i + chunk]).argmax(-1) == y[i:i + chunk]).sum()) for i in range(0, len(X), chunk))
    return hits / len(X)


def run_patch(cfg: PatchRunConfig, pd_: PatchData, schedule: str, seed: int = 0) -> pd.DataFrame:
    """Train one schedule for every init seed with `replicate.ensemble` (loop engine, BN); one row per
    (seed, epoch) with the LR, mean train accuracy over the epoch's batches, and clean / mixed / patch-only
    test accuracy after the epoch (epoch 0 = init)."""
    one_of("schedule", schedule, SCHEDULES)
    n = len(pd_.X_train)
    spe = n // cfg.batch_size
    anneal_step = (cfg.anneal_epoch - 1) * spe
    lr = cfg.lr_large if schedule == "large_lr" else cfg.lr_small
    factor = cfg.anneal_factor if schedule == "large_lr" else 1.0
    channels = pd_.X_train.shape[1]
    tc = ensemble.TrainConfig(
        steps=cfg.epochs * spe, loss="ce", batch_size=cfg.batch_size, momentum=cfg.momentum, nesterov=True,
        weight_decay=cfg.weight_decay, lr_schedule=lambda t: factor if t >= anneal_step else 1.0,
        diverge_factor=None, engine="loop", data_seed=seed, progress=False)

    def evaluate(t: int, state: ensemble.EnsembleState) -> dict | None:
        if t % spe:
            return None
        cols = {"clean_acc": [], "mixed_acc": [], "patch_acc": []}
        for i in range(len(state.loss)):
            m = state.member_module(i)
            cols["clean_acc"].append(_accuracy(m, pd_.X_clean, pd_.y_clean))
            cols["mixed_acc"].append(_accuracy(m, pd_.X_mixed, pd_.y_mixed))
            cols["patch_acc"].append(_accuracy(m, pd_.X_patch, pd_.y_patch))
        return cols

    members = [ensemble.Member(seed=seed * 1000 + s, lr=lr) for s in range(cfg.seeds)]
    res = ensemble.train_ensemble(lambda: make_patch_model(cfg, channels, schedule, anneal_step), members,
                                  pd_.X_train, pd_.y_train, tc, callback=evaluate)
    h = res.history.assign(epoch=lambda d: d.step // spe, seed_idx=lambda d: d.member)
    # the batch at step t belongs to epoch t // spe + 1 (counted from 1); its accuracy was taken before the update
    train = (h[h.step < tc.steps].assign(epoch=lambda d: d.step // spe + 1)
             .groupby(["seed_idx", "epoch"]).train_acc.mean().rename("train_acc"))
    ev = h[h.step % spe == 0][["seed_idx", "epoch", "clean_acc", "mixed_acc", "patch_acc"]]
    out = ev.merge(train.reset_index(), on=["seed_idx", "epoch"], how="left")
    out["lr"] = [lr * (factor if (e - 1) * spe >= anneal_step else 1.0) if e > 0 else np.nan for e in out.epoch]
    return out.assign(schedule=schedule).reset_index(drop=True)


# ----------------------------------------------------------------------------------------------------------
# The synthetic two-pattern distribution
# ----------------------------------------------------------------------------------------------------------

COMPONENTS = ("linear", "clustered", "both")


@dataclass(frozen=True)
class SynthConfig:
    """Notebook 1. x = (x₁, x₂) ∈ ℝ^{d_linear + d_cluster}, binary label y ∈ {0, 1}.

    Linear (easy-to-fit, hard-to-generalise): x₁ ~ N(0, I), y = 1[⟨w*, x₁⟩ > 0].
    Clustered (hard-to-fit, easy-to-generalise): x₂ = z + s·ζ_y, z = z_scale·N(0, I), ζ_y ~ U[−sep, sep], s = ±1.
    Each example carries the linear pattern only, the clustered only, or both, with `mix` = their fractions.
    Net: f(x) = a·relu(Wx + b), second layer a fixed; SGD with batch `batch_size`.
    """

    n_train: int
    n_test: int
    d_linear: int
    d_cluster: int
    width: int
    steps: int
    seeds: int
    lr_large: float
    batch_size: int = 32
    anneal_factor: float = 0.04
    anneal_at: float = 0.5
    weight_decay: float = 5e-4
    z_scale: float = 1.0
    sep: float = 0.2
    mix: tuple[float, ...] = (0.2, 0.16, 0.64)
    log_points: int = 100

    def validate(self) -> None:
        for name in ("n_train", "n_test", "d_linear", "d_cluster", "width", "steps", "seeds", "lr_large",
                     "batch_size", "anneal_factor", "z_scale", "sep", "log_points"):
            positive(name, getattr(self, name))
        if not 0 < self.anneal_at < 1:
            raise ParameterError(f"anneal_at must be in (0, 1); got {self.anneal_at}")
        if len(self.mix) != 3 or any(m < 0 for m in self.mix) or not math.isclose(sum(self.mix), 1.0):
            raise ParameterError(f"mix must be 3 fractions (linear only, clustered only, both) summing to 1; "
                                 f"got {self.mix}")
        if self.batch_size > self.n_train:
            raise ParameterError(f"batch_size must be <= n_train; got {self.batch_size} > {self.n_train}")

    @property
    def lr_small(self) -> float:
        """The small LR is the large one after the anneal (as 0.1 → 0.004 vs 0.004 in the official code)."""
        return self.lr_large * self.anneal_factor

    @property
    def anneal_step(self) -> int:
        return int(self.anneal_at * self.steps)


SYNTH_PRESETS = {
    "smoke": SynthConfig(n_train=500, n_test=500, d_linear=50, d_cluster=25, width=64, steps=300, seeds=1,
                         lr_large=1.0, log_points=10),
    "cpu": SynthConfig(n_train=2000, n_test=1000, d_linear=100, d_cluster=50, width=256, steps=3000, seeds=3,
                       lr_large=1.0, log_points=30),
    "paper": SynthConfig(n_train=10000, n_test=10000, d_linear=100, d_cluster=50, width=1000, steps=20000,
                         seeds=10, lr_large=1.0),
}
SYNTH_DRY_RUN = {"n_train": 64, "n_test": 64, "steps": 1, "seeds": 1, "log_points": 1}


@dataclass(frozen=True)
class SynthData:
    """Inputs (N, d_linear + d_cluster), labels (N,), and which component each example carries (index into
    COMPONENTS); plus the test sets of each component alone (`X_only[c]`, `y_only[c]`)."""

    X_train: torch.Tensor
    y_train: torch.Tensor
    comp_train: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor
    comp_test: torch.Tensor
    X_only: dict[str, torch.Tensor]
    y_only: dict[str, torch.Tensor]


def synth_sample(n: int, cfg: SynthConfig, w_star: torch.Tensor, z: torch.Tensor, zeta: torch.Tensor,
                 g: torch.Generator, comp: torch.Tensor | None = None) -> tuple[torch.Tensor, ...]:
    """n examples (eqs. 3.1–3.2 of the derivation page); comp (N,) fixes the components, else drawn from `mix`."""
    if comp is None:
        comp = torch.multinomial(torch.tensor(cfg.mix), n, replacement=True, generator=g)
    y = torch.randint(2, (n,), generator=g)
    x1 = torch.randn(n, cfg.d_linear, generator=g)
    # the label decides the half-space of x₁: reflect x₁ when its side disagrees with y
    side = (x1 @ w_star > 0).long()
    x1 = torch.where((side == y).view(-1, 1), x1, x1 - 2 * (x1 @ w_star).view(-1, 1) * w_star)
    sign = torch.where(torch.rand(n, generator=g) < 0.5, -1.0, 1.0).view(-1, 1)
    x2 = z + sign * zeta[y]
    x1 = x1 * (comp != 1).view(-1, 1)  # COMPONENTS[1] = clustered only: no linear part
    x2 = x2 * (comp != 0).view(-1, 1)  # COMPONENTS[0] = linear only: no clustered part
    return torch.cat([x1, x2], dim=1), y, comp


def synth_data(cfg: SynthConfig, seed: int) -> SynthData:
    """Train / test sets and the component-only test sets, all from `seed`."""
    g = torch.Generator().manual_seed(seed)
    w_star = torch.randn(cfg.d_linear, generator=g)
    w_star = w_star / w_star.norm()
    z = cfg.z_scale * torch.randn(cfg.d_cluster, generator=g)
    zeta = (torch.rand(2, cfg.d_cluster, generator=g) * 2 - 1) * cfg.sep
    Xtr, ytr, ctr = synth_sample(cfg.n_train, cfg, w_star, z, zeta, g)
    Xte, yte, cte = synth_sample(cfg.n_test, cfg, w_star, z, zeta, g)
    X_only, y_only = {}, {}
    for c, name in enumerate(COMPONENTS[:2]):
        X_only[name], y_only[name], _ = synth_sample(cfg.n_test, cfg, w_star, z, zeta, g,
                                                     comp=torch.full((cfg.n_test,), c))
    return SynthData(Xtr, ytr, ctr, Xte, yte, cte, X_only, y_only)


class TwoLayerNet(nn.Module):
    """f(x) = relu(Wx + b)·A with W ~ N(0, 1/d), b = 0 and A a fixed buffer: the logit difference is
    aᵀrelu(Wx + b), a_j = +1/√m for the first half of the units and −1/√m for the second."""

    def __init__(self, in_features: int, width: int):
        super().__init__()
        self.hidden = nn.Linear(in_features, width)
        with torch.no_grad():
            self.hidden.weight.normal_(0.0, 1.0 / math.sqrt(in_features))
            self.hidden.bias.zero_()
        a = torch.cat([torch.ones(width - width // 2), -torch.ones(width // 2)]) / math.sqrt(width)
        self.register_buffer("head", torch.stack([-a / 2, a / 2], dim=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.hidden(x)) @ self.head


def run_synth(cfg: SynthConfig, sd: SynthData, schedule: str, seed: int = 0) -> pd.DataFrame:
    """Train `seeds` two-layer nets with one schedule ('large_lr': lr_large then ×anneal_factor from
    anneal_step; 'small_lr': lr_small throughout) with the ensemble's vmap engine. One row per (seed, logged step)
    with train accuracy on the training examples of each component alone and test accuracy on each
    component-only test set and on the mixed test set."""
    one_of("schedule", schedule, SCHEDULES[:2])
    lr = cfg.lr_large if schedule == "large_lr" else cfg.lr_small
    factor = cfg.anneal_factor if schedule == "large_lr" else 1.0
    every = max(cfg.steps // cfg.log_points, 1)
    tc = ensemble.TrainConfig(steps=cfg.steps, loss="ce", batch_size=cfg.batch_size,
                              weight_decay=cfg.weight_decay, diverge_factor=None, log_every=every,
                              lr_schedule=lambda t: factor if t >= cfg.anneal_step else 1.0, data_seed=seed,
                              progress=False)
    train_sets = {c: (sd.X_train[sd.comp_train == i], sd.y_train[sd.comp_train == i])
                  for i, c in enumerate(COMPONENTS)}

    def evaluate(t: int, state: ensemble.EnsembleState) -> dict:
        cols: dict[str, list[float]] = {}
        for i in range(len(state.loss)):
            m = state.member_module(i)
            for c, (X, y) in train_sets.items():
                cols.setdefault(f"train_{c}", []).append(_accuracy(m, X, y, chunk=len(X) or 1))
            for c in COMPONENTS[:2]:
                cols.setdefault(f"test_{c}", []).append(_accuracy(m, sd.X_only[c], sd.y_only[c],
                                                                  chunk=len(sd.y_only[c])))
            cols.setdefault("test_mixed", []).append(_accuracy(m, sd.X_test, sd.y_test, chunk=len(sd.y_test)))
        return cols

    members = [ensemble.Member(seed=seed * 1000 + s, lr=lr) for s in range(cfg.seeds)]
    d = sd.X_train.shape[1]
    res = ensemble.train_ensemble(lambda: TwoLayerNet(d, cfg.width), members, sd.X_train, sd.y_train, tc,
                                  callback=evaluate)
    h = res.history.assign(seed_idx=lambda x: x.member, schedule=schedule)
    return h.drop(columns=["member", "diverged", "train_acc"], errors="ignore")


def first_step_at(df: pd.DataFrame, column: str, level: float) -> pd.Series:
    """Per seed: the first logged step at which `column` ≥ level (NaN if never)."""
    return df.groupby("seed_idx").apply(
        lambda g: g.step[g[column] >= level].min() if (g[column] >= level).any() else np.nan,
        include_groups=False)
