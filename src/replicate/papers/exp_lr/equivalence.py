"""Notebook 1 (Li & Arora 2020, Thm. 1): a WD run and its ExpLR twins in lockstep, and what they must satisfy.

SGD with LR η, WD λ, momentum γ (PyTorch convention) on a scale-invariant loss equals, up to θ_t = α^t φ_t, SGD with
momentum γ, no WD and η̃_t = η α^(−2t−1), when the no-WD run starts with v₋₁ = −(1 − α)θ₀/(αη). Hence, after t
updates, ‖φ_t‖²/η̃_{t−1} = ‖θ_t‖²/(αη) exactly, layer by layer, and the network functions are equal.
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


# The four precision cells of the float32 diagnostic: (dtype, BN ε). Thm. 1 needs exact arithmetic *and* an exactly
# scale-invariant loss; float32 departs from the first, BN's ε = 10⁻⁵ from the second (ε/(var + ε) of each unit's
# normalisation does not scale with the weights). The cells separate the two departures.
PRECISION_CELLS = ((torch.float64, 1e-12), (torch.float64, 1e-5), (torch.float32, 1e-12), (torch.float32, 1e-5))


def precision_cells(X: torch.Tensor, y: torch.Tensor, probe: torch.Tensor, *, steps: int,
                    runs: dict[tuple[torch.dtype, float], pd.DataFrame] | None = None, **common) -> pd.DataFrame:
    """The largest logit gap (WD run vs its matched-buffer ExpLR twin, probe batch) over the first `steps` steps, in
    each of `PRECISION_CELLS`; `runs` holds `run_equivalence` tables already computed (keyed by (dtype, ε)), the rest
    are run here (matched buffer only) with `common` (`run_equivalence`'s keywords). One row per cell: dtype, eps,
    steps, logit_gap."""
    runs = dict(runs or {})
    rows = []
    for dtype, eps in PRECISION_CELLS:
        df = runs.get((dtype, eps))
        if df is None:
            df = run_equivalence(X, y, probe, steps=steps, eps=eps, dtype=dtype, variants=("matched buffer",), **common)
        d = df[(df.variant == "matched buffer") & (df.step <= steps)]
        rows.append({"dtype": str(dtype).replace("torch.", ""), "eps": eps, "steps": int(d.step.max()) if len(d) else 0,
                     "logit_gap": float(d.logit_gap.max()) if len(d) else float("nan")})
    return pd.DataFrame(rows)


# A float64 rounding-level or chaotic number moves by an O(1) factor with the float path: at cpu, under
# ATEN_CPU_CAPABILITY=default MKL_CBWR=COMPATIBLE, the trajectories moved by 2 % within 200 steps and the matched gap,
# the zero-buffer gap and the ε = 1e-5 gap by factors of 1.6, 1.04 and 1.6 (a one-off check).
FLOAT_PATH_FACTOR = 10.0


def float_path_band(value: float, n: int, what: str = "accumulated float64 rounding", note: str = ""
                    ) -> claims.Measurement:
    """A number of one float64 trajectory that another float path (vector kernels, summation order, the float32
    preprocessing of the images) changes by an O(1) factor — accumulated rounding (0 in exact arithmetic), or a gap
    grown by the chaotic dynamics: interval [value/F, F × value], F = FLOAT_PATH_FACTOR. The band is multiplicative,
    so calibration redraws it as such (`simulator`: log-normal around the truth, 95 % within ×/÷ F; a truth of 0
    stays 0); more units do not narrow it (one trajectory)."""
    v, f = float(value), FLOAT_PATH_FACTOR
    if not v >= 0:  # also NaN
        return claims.missing(note or "not finite")
    method = f"one float64 trajectory ({what}): value ×/÷ {f:g}, as another float path changes it by an O(1) factor"

    def redraw(truth: float, rng: np.random.Generator, factor: int) -> claims.Measurement:
        x = float(truth) * math.exp(rng.normal(0.0, math.log(f) / 1.96))
        return claims.Measurement(x, x / f, x * f, n, method)

    return claims.Measurement(v, v / f, f * v, n, method, note, simulator=redraw)


def measure_equivalence(exact: pd.DataFrame, long: pd.DataFrame, cfg: EquivalenceConfig,
                        cells: pd.DataFrame | None = None) -> dict[str, claims.Measurement]:
    """The equivalence notebook's measurements: `exact` from `run_equivalence` in float64 (both variants), `long`
    in float32 (its steps are noted; it is judged by nothing), `cells` from `precision_cells` (the diagnostic of
    BN's ε in float64; None: not run)."""
    steps64 = int(exact.step.max()) if len(exact) else 0
    steps32 = int(long.step.max()) if len(long) else 0
    gaps = exact.groupby("variant").logit_gap.max() if len(exact) else pd.Series(dtype=float)
    eps64 = (cells[(cells.dtype == "float64") & (cells.eps == 1e-5)] if cells is not None
             else pd.DataFrame(columns=["logit_gap", "steps"]))
    return {
        "li-arora.growth.per-epoch": claims.exact(schedules.growth_per_epoch(0.1, 5e-4, 0.9, 391)),
        "li-arora.thm1.horizon": claims.exact(steps64, method="exact (steps run)",
                                              note=f"float64 {steps64}, float32 {steps32} steps"),
        "li-arora.thm1.norm-identity": float_path_band(norm_identity_errors(
            exact, cfg.lr, cfg.weight_decay, cfg.momentum).max(), n=steps64),
        "li-arora.thm1.logit-gap-float64": float_path_band(gaps.get("matched buffer", float("nan")), n=steps64),
        "li-arora.thm1.zero-buffer": float_path_band(gaps.get("zero buffer", float("nan")), n=steps64,
                                                     what="a gap grown by the chaotic dynamics"),
        "li-arora.thm1.bn-eps-float64": (float_path_band(float(eps64.logit_gap.iloc[0]), n=int(eps64.steps.iloc[0]),
                                                         what="a gap grown by the chaotic dynamics")
                                         if len(eps64) else claims.missing("precision cells not run")),
    }


def glue_numbers(rows, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Glue the numbers the chapter page quotes, so that it quotes the run's own (myst-nb glue; a no-op without it):
    each claims row's value [interval] as the page shows it (`Row.ours`) under its id without the "li-arora." prefix,
    dots as hyphens (e.g. "thm1-zero-buffer"), and `extra` (key → text). Returns what was glued."""
    from replicate.plots import _glue

    glued = {r.claim.id.removeprefix("li-arora.").replace(".", "-"): r.ours for r in rows}
    glued.update(extra or {})
    for key, text in glued.items():
        _glue(key, text)
    return glued
