"""The patch experiment's protocol (official `train_patches.py`): config and presets per scale, the data, the
nets, the per-epoch metrics and the runs — large_lr (lr_large, ×anneal_factor from epoch `anneal_epoch`),
small_lr (lr_small fixed), act_noise (lr_small with ActNoise before every ReLU until the anneal) — and the
declared calibration of the stronger patch (the deviation: per-class noise ζ widened, `calibrate_sep`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from replicate import data, ensemble, memory
from replicate.models import SmallConvNet
from replicate.runtime import on_cpu
from replicate.scales import ParameterError, one_of, positive

from .data import PATCH_ONLY, PatchConfig, apply_patches, conflict_set, make_patterns, patch_only_set
from .models import WideResNet, add_act_noise

CIFAR_MEAN = tuple(x / 255.0 for x in (125.3, 123.0, 113.9))
CIFAR_STD = tuple(x / 255.0 for x in (63.0, 62.1, 66.7))
SCHEDULES = ("large_lr", "small_lr", "act_noise")
PATCH_DATASETS = ("cifar-10", "mnist", "fashion-mnist")
MODELS = ("wrn", "small", "mlp")

# ----------------------------------------------------------------------------------------------------------
# The patch experiment
# ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PatchRunConfig:
    """Notebook `patch`. Epochs are counted from 1; the anneal starts at epoch `anneal_epoch` (official
    `epoch + 1 >= 30`). SGD + Nesterov. Grey-scale images are copied into `channels` channels so that the patch
    has the official 7×7×3 = 147 dimensions. model: "wrn" (WRN-depth-widen), "small" (SmallConvNet(widths)),
    "mlp" (BN MLP with hidden `widths`)."""

    dataset: str
    model: str
    n_train: int | None
    n_test: int | None
    n_patch_only: int
    patch_size: int
    epochs: int
    anneal_epoch: int
    seeds: int
    channels: int = 3
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
    engine: str = "loop"
    patch_sep: float = 0.1  # the per-class patch noise ζ ~ U[−patch_sep, patch_sep] (official 0.1)
    n_final_test: int | None = None  # clean test images for the final accuracy (the gaps); None: n_test
    schedules: tuple[str, ...] = SCHEDULES  # the schedules of the official-patch arm
    official_epochs: int | None = None  # the official arm stops after this epoch (None: `epochs`)
    strong_seps: tuple[float, ...] = (0.5, 0.6, 0.7, 0.8, 1.0)  # the deviation's ζ candidates, in the rule's order
    strong_level: float = 0.95  # the rule: small-LR patch accuracy ≥ this after epoch anneal_epoch − 1 …
    calib_seeds: int = 1  # … on every one of these calibration inits (not the comparison's)
    strong_seeds: int = 4  # inits per schedule of the stronger-patch comparison (small_lr, large_lr)

    def validate(self) -> None:
        one_of("dataset", self.dataset, PATCH_DATASETS)
        one_of("model", self.model, MODELS)
        one_of("engine", self.engine, ("loop", "vmap"))
        for name in ("n_patch_only", "patch_size", "epochs", "anneal_epoch", "seeds", "widths", "channels",
                     "batch_size", "lr_large", "lr_small", "anneal_factor", "momentum", "noise_std", "patch_sep",
                     "strong_seps", "strong_level", "calib_seeds", "strong_seeds"):
            positive(name, getattr(self, name))
        for name in self.schedules:
            one_of("schedules", name, SCHEDULES)
        for name in ("n_train", "n_test", "n_final_test", "official_epochs"):
            if getattr(self, name) is not None:
                positive(name, getattr(self, name))
        if self.n_train is not None and self.n_train < self.batch_size:
            raise ParameterError(f"n_train must be >= batch_size; got {self.n_train} < {self.batch_size}")
        if self.anneal_epoch > self.epochs:
            raise ParameterError(f"anneal_epoch must be <= epochs; got {self.anneal_epoch} > {self.epochs}")
        if (self.official_epochs or 0) > self.epochs:
            raise ParameterError(f"official_epochs must be <= epochs; got {self.official_epochs} > {self.epochs}")

    def memory_bytes(self) -> int:
        """One schedule at a time: its `seeds` members trained at once (Nesterov momentum; the loop engine runs their
        steps one after the other), one member's evaluation (chunks of 1000), the images (the training set,
        three test-size sets, the patch-only set; float32, ×2 for the copies made while patching) and the loading of
        the data set."""
        _, side, _ = data.STAND_IN_SHAPES[self.dataset]
        shape = (3 if self.dataset == "cifar-10" else self.channels, side, side)
        n_train, n_test = (n or full for n, full in zip((self.n_train, self.n_test), memory.SIZES[self.dataset]))
        make = partial(make_patch_model, self, shape, "large_lr", 1)
        images = 2 * (n_train + 3 * n_test + (self.n_final_test or 0) + self.n_patch_only) * math.prod(shape)
        return (memory.BASE + memory.dataset_bytes(self.dataset)
                + memory.forward_bytes(1, 1000, memory.activations(make, shape, train=False))
                + memory.training_bytes(memory.n_params(make), self.seeds, self.batch_size,
                                        memory.activations(make, shape), images, momentum=True,
                                        at_once=1 if self.engine == "loop" else self.seeds))

    def patch(self, channels: int, image_size: int) -> PatchConfig:
        return PatchConfig(image_size=image_size, channels=channels, patch_size=self.patch_size,
                           patch_sep=self.patch_sep)


PATCH_PRESETS = {
    "smoke": PatchRunConfig(dataset="mnist", model="mlp", n_train=256, n_test=128, n_patch_only=100,
                            patch_size=7, epochs=3, anneal_epoch=2, seeds=2, widths=(64, 64), n_final_test=256,
                            strong_seps=(0.5, 1.0), strong_seeds=2),
    "cpu": PatchRunConfig(dataset="mnist", model="mlp", n_train=2048, n_test=500, n_patch_only=500,
                          patch_size=7, epochs=46, anneal_epoch=16, seeds=2, widths=(512, 512), n_final_test=5000,
                          schedules=("large_lr", "small_lr"), official_epochs=15),
    "gpu": PatchRunConfig(dataset="mnist", model="small", n_train=20000, n_test=5000, n_patch_only=1000,
                          patch_size=7, epochs=60, anneal_epoch=30, seeds=4, widths=(64, 128, 256), strong_seeds=8),
    "paper": PatchRunConfig(dataset="cifar-10", model="wrn", n_train=None, n_test=None, n_patch_only=1000,
                            patch_size=7, epochs=60, anneal_epoch=30, seeds=3, strong_seeds=3),
}
PATCH_DRY_RUN = {"n_train": 8, "n_test": 2, "n_final_test": 2, "n_patch_only": 2, "batch_size": 8, "epochs": 1,
                 "anneal_epoch": 1, "seeds": 1, "official_epochs": 1, "strong_seps": (0.5,), "strong_seeds": 1}


@dataclass(frozen=True)
class PatchData:
    """Normalised tensors: the patched training set (and each example's kind), the clean test set (and a larger
    clean set, of which it is the start, for the final accuracy), the test set
    under the same patch rule ('mixed'), the official patch-only set (and its kind: exact or rescaled patch),
    the conflict set (test images carrying another class's patch, with the patch's labels); `note` says where
    the images came from."""

    X_train: torch.Tensor
    y_train: torch.Tensor
    kind_train: torch.Tensor
    X_clean: torch.Tensor
    y_clean: torch.Tensor
    X_final: torch.Tensor
    y_final: torch.Tensor
    X_mixed: torch.Tensor
    y_mixed: torch.Tensor
    X_patch: torch.Tensor
    y_patch: torch.Tensor
    kind_patch: torch.Tensor
    X_conflict: torch.Tensor
    y_conflict_patch: torch.Tensor
    patch: PatchConfig
    note: str

    def to(self, device: torch.device | str) -> PatchData:
        """A copy with every tensor on `device`."""
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return dataclasses.replace(self, **{k: v.to(device) for k, v in fields.items() if torch.is_tensor(v)})


def _load_images(cfg: PatchRunConfig, seed: int, dry_run: bool) -> tuple[data.Dataset, str]:
    """CIFAR-10 (official normalisation) or MNIST / Fashion-MNIST (28×28, copied into `channels` channels,
    normalised by the training mean and std). A dry run without the file substitutes random tensors of the data
    set's shape (and says so); a real run without it fails with the data module's message."""
    n_test = max(cfg.n_test, cfg.n_final_test or 0) if cfg.n_test else None
    ds, note = data.load_or_stand_in(cfg.dataset, n_train=cfg.n_train, n_test=n_test, seed=seed, dry_run=dry_run)
    note = note or cfg.dataset
    if cfg.dataset == "cifar-10":
        mean, std = torch.tensor(CIFAR_MEAN).view(1, 3, 1, 1), torch.tensor(CIFAR_STD).view(1, 3, 1, 1)
    else:
        rep = lambda x: x.expand(-1, cfg.channels, -1, -1).contiguous() if x.shape[1] == 1 else x
        ds = data.Dataset(ds.name, rep(ds.X_train), ds.y_train, rep(ds.X_test), ds.y_test, ds.num_classes)
        mean, std = ds.X_train.mean(), ds.X_train.std()
    return data.Dataset(ds.name, (ds.X_train - mean) / std, ds.y_train, (ds.X_test - mean) / std, ds.y_test,
                        ds.num_classes), note


@on_cpu
def patch_data(cfg: PatchRunConfig, seed: int, dry_run: bool = False, *,
               device: torch.device | str = "cpu") -> PatchData:
    """Images, normalised first and patched second (as the official transforms), all from `seed`: made on the
    CPU, returned on `device`."""
    ds, note = _load_images(cfg, seed, dry_run)
    pc = cfg.patch(ds.X_train.shape[1], ds.X_train.shape[-1])
    pc.validate()
    z, zeta = make_patterns(pc, seed)
    k = cfg.n_test or len(ds.y_test)
    X_test, y_test = ds.X_test[:k], ds.y_test[:k]
    X_train, kind = apply_patches(ds.X_train, ds.y_train, pc, z, zeta, seed + 1)
    X_mixed, _ = apply_patches(X_test, y_test, pc, z, zeta, seed + 2)
    X_patch, y_patch, kind_patch = patch_only_set(cfg.n_patch_only, pc, z, zeta, seed + 3)
    X_conflict, y_conflict = conflict_set(X_test, y_test, pc, z, zeta, seed + 4)
    return PatchData(X_train, ds.y_train, kind, X_test, y_test, ds.X_test, ds.y_test, X_mixed, y_test, X_patch,
                     y_patch, kind_patch, X_conflict, y_conflict, pc, note).to(device)


class BNMLP(nn.Module):
    """flatten → [linear → BN → ReLU] per hidden width → linear (the BN of the official net, without convs)."""

    def __init__(self, in_features: int, num_classes: int, widths: tuple[int, ...]):
        super().__init__()
        layers, d = [nn.Flatten()], in_features
        for w in widths:
            layers += [nn.Linear(d, w, bias=False), nn.BatchNorm1d(w), nn.ReLU()]
            d = w
        self.net = nn.Sequential(*layers, nn.Linear(d, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def make_patch_model(cfg: PatchRunConfig, shape: tuple[int, ...], schedule: str, steps_on: int) -> nn.Module:
    """The configured net for inputs of `shape` (C, H, W); ActNoise before every ReLU for 'act_noise'."""
    if cfg.model == "wrn":
        model = WideResNet(cfg.depth, cfg.widen_factor, 10, shape[0])
    elif cfg.model == "small":
        model = SmallConvNet(shape[0], 10, cfg.widths, bn=True)
    else:
        model = BNMLP(math.prod(shape), 10, cfg.widths)
    return add_act_noise(model, cfg.noise_std, steps_on) if schedule == "act_noise" else model


@torch.no_grad()
def _logits(model: nn.Module, X: torch.Tensor, chunk: int = 1000) -> torch.Tensor:
    """Outputs in eval mode, (N, 10) (an empty X gives an empty tensor)."""
    model.eval()
    outs = [model(X[i:i + chunk]) for i in range(0, len(X), chunk)]
    return torch.cat(outs) if outs else torch.zeros(0, 10, device=X.device)


def _predict(model: nn.Module, X: torch.Tensor, chunk: int = 1000) -> torch.Tensor:
    """Predicted classes in eval mode."""
    return _logits(model, X, chunk).argmax(-1)


def _loss(model: nn.Module, X: torch.Tensor, y: torch.Tensor, chunk: int = 1000) -> float:
    """Mean cross-entropy in eval mode."""
    return float(F.cross_entropy(_logits(model, X, chunk), y))


def _acc(pred: torch.Tensor, y: torch.Tensor) -> float:
    return float((pred == y).float().mean()) if len(y) else math.nan


def patch_metrics(model: nn.Module, pd_: PatchData, final: bool = False) -> dict[str, float]:
    """Eval-mode metrics of one net: training loss and accuracy (all, and the patch-only training examples; one
    forward pass), clean and mixed test accuracy, the official patch accuracy (and its exact / rescaled parts), on
    the conflict set the fraction predicting the patch's label and the image's; `final`: the clean accuracy on the
    larger final set too (else NaN)."""
    out = _logits(model, pd_.X_train)
    tr = out.argmax(-1)
    only = pd_.kind_train == PATCH_ONLY
    pp = _predict(model, pd_.X_patch)
    exact = pd_.kind_patch != PATCH_ONLY
    pc = _predict(model, pd_.X_conflict)
    return {"train_loss": float(F.cross_entropy(out, pd_.y_train)), "train_acc": _acc(tr, pd_.y_train),
            "train_patch_only_acc": _acc(tr[only], pd_.y_train[only]),
            "clean_acc": _acc(_predict(model, pd_.X_clean), pd_.y_clean),
            "mixed_acc": _acc(_predict(model, pd_.X_mixed), pd_.y_mixed),
            "patch_acc": _acc(pp, pd_.y_patch), "patch_acc_exact": _acc(pp[exact], pd_.y_patch[exact]),
            "patch_acc_rescaled": _acc(pp[~exact], pd_.y_patch[~exact]),
            "conflict_patch_wins": _acc(pc, pd_.y_conflict_patch), "conflict_image_wins": _acc(pc, pd_.y_clean),
            "clean_acc_final": _acc(_predict(model, pd_.X_final), pd_.y_final) if final else math.nan}


def run_patch(cfg: PatchRunConfig, pd_: PatchData, schedule: str, seed: int = 0) -> pd.DataFrame:
    """Train one schedule for every init seed with `replicate.ensemble`; one row per (seed, epoch) with the LR
    and `patch_metrics` after the epoch (epoch 0 = init; the final clean accuracy after the last epoch). The init
    seeds are seed·1000 + s and the batch stream is `seed`'s, the same for every schedule: differences between
    schedules are paired by init."""
    one_of("schedule", schedule, SCHEDULES)
    spe = len(pd_.X_train) // cfg.batch_size
    anneal_step = (cfg.anneal_epoch - 1) * spe
    lr = cfg.lr_large if schedule == "large_lr" else cfg.lr_small
    factor = cfg.anneal_factor if schedule == "large_lr" else 1.0
    tc = ensemble.TrainConfig(
        steps=cfg.epochs * spe, loss="ce", batch_size=cfg.batch_size, momentum=cfg.momentum, nesterov=True,
        weight_decay=cfg.weight_decay, lr_schedule=lambda t: factor if t >= anneal_step else 1.0,
        diverge_factor=None, engine=cfg.engine, data_seed=seed, progress=False, log_every=spe)

    def evaluate(t: int, state: ensemble.EnsembleState) -> dict | None:
        rows = [patch_metrics(state.member_module(i), pd_, final=t == tc.steps) for i in range(len(state.loss))]
        return {k: [r[k] for r in rows] for k in rows[0]}

    shape = tuple(pd_.X_train.shape[1:])
    members = [ensemble.Member(seed=seed * 1000 + s, lr=lr) for s in range(cfg.seeds)]
    res = ensemble.train_ensemble(lambda: make_patch_model(cfg, shape, schedule, anneal_step), members,
                                  pd_.X_train, pd_.y_train, tc, callback=evaluate)
    h = res.history  # its train_acc is the callback's (eval mode, whole training set), not the batch's
    out = h[h.step % spe == 0].assign(epoch=lambda d: d.step // spe, seed_idx=lambda d: d.member)
    out = out.drop(columns=["member", "diverged", "loss"], errors="ignore")
    out["lr"] = [lr * (factor if (e - 1) * spe >= anneal_step else 1.0) if e > 0 else np.nan for e in out.epoch]
    return out.assign(schedule=schedule).reset_index(drop=True)


# ----------------------------------------------------------------------------------------------------------
# The deviation: a stronger patch, its ζ chosen by a rule declared before the comparison runs
# ----------------------------------------------------------------------------------------------------------


def first_memorised(accs: dict[float, list[float]], level: float) -> float | None:
    """The rule: the smallest ζ whose small-LR patch accuracies (one per calibration init) are all ≥ `level`
    (None if no ζ qualifies)."""
    ok = [sep for sep, a in accs.items() if len(a) and min(a) >= level]
    return min(ok) if ok else None


def calibrate_sep(cfg: PatchRunConfig, seed: int, dry_run: bool = False, *,
                  device: torch.device | str = "cpu") -> tuple[float, pd.DataFrame]:
    """Train the small LR alone up to the anneal (epochs 1 … anneal_epoch − 1) at each ζ of `strong_seps` in
    increasing order, on `calib_seeds` inits of their own (seed + 1: not the comparison's inits nor its batch
    stream), and stop at the first ζ that `first_memorised` accepts. Returns (ζ, one row per tried ζ and init
    with its patch accuracy); no ζ qualifies → the largest, and the table says so (column chosen_by)."""
    pre = dataclasses.replace(cfg, seeds=cfg.calib_seeds, epochs=max(cfg.anneal_epoch - 1, 1))
    rows, accs = [], {}
    for sep in sorted(cfg.strong_seps):
        run = run_patch(dataclasses.replace(pre, patch_sep=sep),
                        patch_data(dataclasses.replace(pre, patch_sep=sep), seed, dry_run, device=device),
                        "small_lr", seed=seed + 1)
        last = run[run.epoch == run.epoch.max()]
        accs[sep] = list(last.patch_acc)
        rows += [dict(sep=sep, seed_idx=s, epoch=int(e), patch_acc=a, train_acc=t)
                 for s, e, a, t in zip(last.seed_idx, last.epoch, last.patch_acc, last.train_acc)]
        if first_memorised(accs, cfg.strong_level) is not None:
            break
    chosen = first_memorised(accs, cfg.strong_level)
    table = pd.DataFrame(rows).assign(level=cfg.strong_level)
    if chosen is None:
        return max(cfg.strong_seps), table.assign(chosen_by="no ζ qualified: the largest")
    return chosen, table.assign(chosen_by="the rule")
