"""Notebook 1 (Li & Arora 2020, Thm. 1): a WD run and its ExpLR twins in lockstep, and what they must satisfy.

SGD with LR η, WD λ, momentum γ (PyTorch convention) on a scale-invariant loss equals, up to θ_t = α^t φ_t, SGD with
momentum γ, no WD and η̃_t = η α^(−2t−1), when the no-WD run starts with v₋₁ = −(1 − α)θ₀/(αη). Hence, after t
updates, ‖φ_t‖²/η̃_{t−1} = ‖θ_t‖²/(αη) exactly, layer by layer, and the network functions are equal.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from replicate import claims, memory, schedules
from replicate.papers.exp_lr.nets import DATASETS, batch_order, make_net, normalised_weights_gap
from replicate.scales import ParameterError, one_of, positive


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

    def memory_bytes(self) -> int:
        """The float64 part (the larger): the WD run and its two twins (parameters, gradients, momentum; a batch through
        each, counted as at once), the probe's forward, the images (float32 copies and the float64 one, counted as
        2 float64 copies) and the loading of the data set."""
        side = 28 // self.downsample
        make = partial(make_net, 1, 10, self.widths, seed=0, device="meta")
        shape, images = (1, side, side), 2 * (self.n_train + self.n_probe) * side**2
        return (memory.BASE + memory.dataset_bytes(self.dataset)
                + memory.training_bytes(memory.n_params(make), 3, self.batch_size, memory.activations(make, shape),
                                        images, "float64", momentum=True)
                + memory.forward_bytes(1, self.n_probe, memory.activations(make, shape, train=False), "float64"))


EQUIVALENCE_PRESETS = {
    "smoke": EquivalenceConfig("fashion-mnist", n_train=512, n_probe=64, downsample=4, widths=(8, 8),
                               batch_size=32, exact_steps=200, long_epochs=13),
    "cpu": EquivalenceConfig("fashion-mnist", n_train=4096, n_probe=256, downsample=2, widths=(16, 32, 32),
                             batch_size=128, exact_steps=200, long_epochs=12),
    "gpu": EquivalenceConfig("fashion-mnist", n_train=50000, n_probe=512, downsample=1, widths=(32, 64, 128),
                             batch_size=128, exact_steps=1000, long_epochs=30),
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
    """Train the WD run and its ExpLR twins in lockstep on identical batches, on X's device; one row per (step,
    variant).

    Columns: step t (after t updates), variant, logit_gap = max |f_WD(probe) − f_ExpLR(probe)|, weight_gap
    (`normalised_weights_gap`), loss of the batch just used (WD run and twin), lr_tilde (η̃ of the step just
    taken), and the squared norm of each layer of the twin (norm2_l) and of the WD run (norm2_wd_l).
    """
    X, probe = X.to(dtype), probe.to(dtype)
    wd_net = make_net(X.shape[1], num_classes, widths, seed=seed, eps=eps, head_std=head_std, dtype=dtype,
                      device=X.device)
    wd_opt = _sgd(wd_net, lr, momentum, weight_decay)
    twins = []
    for v in variants:
        one_of("variant", v, VARIANTS)
        net = make_net(X.shape[1], num_classes, widths, seed=seed, eps=eps, head_std=head_std, dtype=dtype,
                       device=X.device)
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


def norm_identity_errors(df: pd.DataFrame, lr: float, weight_decay: float, momentum: float,
                         variant: str = "matched buffer") -> pd.Series:
    """Per step, max over layers of |(‖φ_t‖²/η̃_{t−1}) / (‖θ_t‖²/(αη)) − 1|, φ the ExpLR twin, θ the WD run:
    0 up to rounding by Thm. 1 (θ_t = α^t φ_t and η̃_{t−1} = η α^(−2t+1)). Indexed by step."""
    d = df[df.variant == variant].set_index("step")
    alpha = schedules.exp_lr_alpha(lr, weight_decay, momentum)
    layers = [c[len("norm2_wd_"):] for c in d.columns if c.startswith("norm2_wd_")]
    if not len(d) or not layers:
        return pd.Series(dtype=float)
    errs = [((d[f"norm2_{i}"] / d.lr_tilde) / (d[f"norm2_wd_{i}"] / (alpha * lr)) - 1).abs() for i in layers]
    return pd.concat(errs, axis=1).max(axis=1)


def measure_equivalence(exact: pd.DataFrame, long: pd.DataFrame, cfg: EquivalenceConfig, horizon: int = 200
                        ) -> dict[str, claims.Measurement]:
    """The equivalence notebook's measurements: `exact` from `run_equivalence` in float64 (both variants), `long`
    in float32 (matched buffer); the float32 gap is read over its first `horizon` steps, as the float64 one."""
    steps64 = int(exact.step.max()) if len(exact) else 0
    steps32 = int(long.step.max()) if len(long) else 0
    gaps = exact.groupby("variant").logit_gap.max() if len(exact) else pd.Series(dtype=float)
    early32 = long[long.step <= horizon]
    return {
        "li-arora.growth.per-epoch": claims.exact(schedules.growth_per_epoch(0.1, 5e-4, 0.9, 391)),
        "li-arora.thm1.horizon": claims.exact(min(steps64, steps32), method="exact (steps run)",
                                              note=f"float64 {steps64}, float32 {steps32} steps"),
        "li-arora.thm1.norm-identity": claims.exact(norm_identity_errors(
            exact, cfg.lr, cfg.weight_decay, cfg.momentum).max(), n=steps64),
        "li-arora.thm1.logit-gap-float64": claims.exact(gaps.get("matched buffer", float("nan")), n=steps64),
        "li-arora.thm1.zero-buffer": claims.exact(gaps.get("zero buffer", float("nan")), n=steps64),
        "li-arora.thm1.logit-gap-float32": claims.exact(early32.logit_gap.max() if len(early32) else float("nan"),
                                                        n=min(steps32, horizon)),
    }
