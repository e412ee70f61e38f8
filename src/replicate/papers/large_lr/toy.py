"""The synthetic toy's protocol: config and presets, the four runs of one unit, and the fit times.

A unit is one data draw (data seed) × one network init (init seed). Per unit, with the same init and the same
batch stream: large_lr (η_large, then η_small from `anneal_step`), small_lr (η_small throughout), no_q (η_small on
the training set with the clustered pattern removed, `data.without_clustered`) and large_b256 (η_large at the
control batch, for the pre-anneal phase only: the noise control).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial

import pandas as pd
import torch
import torch.nn.functional as F

from replicate import ensemble, memory
from replicate.scales import ParameterError, positive

from .data import COMPONENTS, SynthData, SynthSpec, synth_data, without_clustered
from .models import TwoLayerNet

RUNS = ("large_lr", "small_lr", "no_q", "large_b256")


@dataclass(frozen=True)
class SynthConfig:
    """Notebook `synthetic`. Data: `SynthSpec` (n_train training examples; test sets of n_test mixed,
    n_test_linear linear-only and n_test_clustered clustered-only examples); net: `TwoLayerNet(width)`; plain SGD,
    logistic loss, batch `batch_size`, weight decay on the first layer and its biases (the second is fixed).
    Units: `data_seeds` × `init_seeds`; the controls (no_q, large_b256) run on the first `control_inits` init
    seeds of every data seed. Metrics are logged every `log_every` steps."""

    n_train: int
    n_test: int
    n_test_linear: int
    n_test_clustered: int
    width: int
    steps: int
    anneal_step: int
    data_seeds: int
    init_seeds: int
    log_every: int
    control_inits: int = 1
    d_linear: int = 1000
    d_cluster: int = 50
    lr_small: float = 0.05
    lr_large: float = 1.5
    batch_size: int = 32
    control_batch: int = 256
    weight_decay: float = 5e-4
    z_scale: float = 2.0
    sep: float = 0.6
    margin: float = 1.5
    mix: tuple[float, ...] = (0.1, 0.1, 0.8)

    def validate(self) -> None:
        for name in ("n_train", "n_test", "n_test_linear", "n_test_clustered", "width", "steps", "anneal_step",
                     "data_seeds", "init_seeds", "log_every", "control_inits", "d_linear", "d_cluster", "lr_small",
                     "lr_large", "batch_size", "control_batch", "z_scale", "sep", "margin"):
            positive(name, getattr(self, name))
        if self.control_inits > self.init_seeds:
            raise ParameterError(f"control_inits must be <= init_seeds; got {self.control_inits} > {self.init_seeds}")
        if self.anneal_step > self.steps:
            raise ParameterError(f"anneal_step must be <= steps; got {self.anneal_step} > {self.steps}")
        if len(self.mix) != 3 or any(m < 0 for m in self.mix) or not math.isclose(sum(self.mix), 1.0):
            raise ParameterError(f"mix must be 3 fractions (linear only, clustered only, both) summing to 1; "
                                 f"got {self.mix}")
        if max(self.batch_size, self.control_batch) > self.n_train * (1 - self.mix[1]) / 2:
            raise ParameterError(f"batch sizes must fit (with room) in the no-Q control's training set; got "
                                 f"{self.batch_size}, {self.control_batch} for n_train {self.n_train}")

    def memory_bytes(self) -> int:
        """One member trained at a time on batches of `control_batch`, plus one forward over the largest set."""
        d = self.d_linear + self.d_cluster
        make = partial(TwoLayerNet, d, self.width)
        created, alive = memory.activations(make, (d,)), memory.activations(make, (d,), train=False)
        n = max(self.n_train, self.n_test, self.n_test_linear, self.n_test_clustered)
        data = (self.n_train + self.n_test + self.n_test_linear + self.n_test_clustered) * (d + 2) * 2
        return (memory.BASE + memory.forward_bytes(1, n, alive)
                + memory.training_bytes(memory.n_params(make), 1, self.control_batch, created, data))

    @property
    def spec(self) -> SynthSpec:
        return SynthSpec(self.d_linear, self.d_cluster, self.z_scale, self.sep, self.mix, self.margin)

    @property
    def units(self) -> int:
        return self.data_seeds * self.init_seeds


SYNTH_PRESETS = {
    "smoke": SynthConfig(n_train=500, n_test=200, n_test_linear=200, n_test_clustered=40, width=64, steps=200,
                         anneal_step=100, data_seeds=3, init_seeds=1, log_every=20, d_linear=100, d_cluster=20,
                         control_batch=64),
    "cpu": SynthConfig(n_train=2000, n_test=2000, n_test_linear=2000, n_test_clustered=400, width=512, steps=4000,
                       anneal_step=2000, data_seeds=3, init_seeds=2, log_every=200, control_inits=1),
    "gpu": SynthConfig(n_train=2000, n_test=2000, n_test_linear=2000, n_test_clustered=400, width=512, steps=4000,
                       anneal_step=2000, data_seeds=10, init_seeds=4, log_every=50, control_inits=4),
    "paper": SynthConfig(n_train=2000, n_test=2000, n_test_linear=2000, n_test_clustered=400, width=512,
                         steps=4000, anneal_step=2000, data_seeds=20, init_seeds=5, log_every=50, control_inits=5),
}
SYNTH_DRY_RUN = {"n_train": 300, "n_test": 64, "n_test_linear": 64, "n_test_clustered": 8, "steps": 2,
                 "anneal_step": 1, "data_seeds": 1, "init_seeds": 1, "control_inits": 1, "log_every": 1,
                 "control_batch": 64}

FIT = 0.9  # a pattern is "fitted" from the step its training-example accuracy stays ≥ this to the run's end


def _metrics(net: torch.nn.Module, sd: SynthData, final: bool) -> dict[str, float]:
    """Training loss (logistic) and accuracy on the whole training set and its examples of each component; test
    accuracy on the linear-only and clustered-only sets, and on the mixed set at the last step only (NaN before)."""
    with torch.no_grad():
        out = net(sd.X_train)
        right = (out.argmax(1) == sd.y_train).float()
        row = {"train_loss": float(F.cross_entropy(out, sd.y_train)), "train_all": float(right.mean())}
        for i, c in enumerate(COMPONENTS):
            mask = sd.comp_train == i
            row[f"train_{c}"] = float(right[mask].mean()) if bool(mask.any()) else math.nan
        for c in COMPONENTS[:2]:
            row[f"test_{c}"] = float((net(sd.X_only[c]).argmax(1) == sd.y_only[c]).float().mean())
        row["test_mixed"] = float((net(sd.X_test).argmax(1) == sd.y_test).float().mean()) if final else math.nan
    return row


def train_one(cfg: SynthConfig, sd: SynthData, lr: float, lr_after: float, steps: int, batch_size: int,
              init_seed: int) -> pd.DataFrame:
    """One net (init and batch stream from `init_seed`): SGD at lr, lr_after from `cfg.anneal_step`, for `steps`
    steps. One row per logged step (every `log_every` and the last) with `_metrics`."""
    tc = ensemble.TrainConfig(steps=steps, loss="ce", batch_size=batch_size, weight_decay=cfg.weight_decay,
                              diverge_factor=None, log_every=cfg.log_every, data_seed=init_seed, progress=False,
                              engine="loop", lr_schedule=lambda t: lr_after / lr if t >= cfg.anneal_step else 1.0)

    def evaluate(t: int, state: ensemble.EnsembleState) -> dict:
        return _metrics(state.member_module(0), sd, final=t == steps)

    d = sd.X_train.shape[1]
    res = ensemble.train_ensemble(lambda: TwoLayerNet(d, cfg.width), [ensemble.Member(seed=init_seed, lr=lr)],
                                  sd.X_train, sd.y_train, tc, callback=evaluate)
    return res.history.drop(columns=["member", "diverged", "train_acc", "loss"], errors="ignore")


def run_synth(cfg: SynthConfig, seed: int = 0, runs: tuple[str, ...] = RUNS, *,
              device: torch.device | str = "cpu") -> pd.DataFrame:
    """Every unit (data seed seed + k, init seed 1000·(seed + k) + j) × every run of `runs` (see the module
    docstring). Rows: run, unit (= seed_idx, the unit's index), data_seed, init_seed, step and `_metrics`."""
    schedules = {"large_lr": (cfg.lr_large, cfg.lr_small, cfg.steps, cfg.batch_size),
                 "small_lr": (cfg.lr_small, cfg.lr_small, cfg.steps, cfg.batch_size),
                 "no_q": (cfg.lr_small, cfg.lr_small, cfg.steps, cfg.batch_size),
                 "large_b256": (cfg.lr_large, cfg.lr_large, cfg.anneal_step, cfg.control_batch)}
    frames = []
    for k in range(cfg.data_seeds):
        sd = synth_data(cfg.spec, cfg.n_train, cfg.n_test, seed + k, n_test_linear=cfg.n_test_linear,
                        n_test_clustered=cfg.n_test_clustered, device=device)
        for j in range(cfg.init_seeds):
            init = 1000 * (seed + k) + j
            for run in runs if j < cfg.control_inits else [r for r in runs if r in ("large_lr", "small_lr")]:
                lr, after, steps, batch = schedules[run]
                data = without_clustered(sd, cfg.d_linear) if run == "no_q" else sd
                h = train_one(cfg, data, lr, after, steps, batch, init)
                frames.append(h.assign(run=run, seed_idx=k * cfg.init_seeds + j, data_seed=seed + k, init_seed=init))
    return pd.concat(frames, ignore_index=True)


def first_fit(df: pd.DataFrame, column: str, level: float = FIT) -> float:
    """The first logged step from which `column` stays ≥ level to the end of `df` (inf if its last value is below):
    the clustered-only accuracy takes 4 values (4 distinct points) and can cross a level for one log point and
    fall back, so a first crossing is not a fit."""
    d = df.sort_values("step")
    below = d.step[d[column] < level]
    if not len(below):
        return float(d.step.min())
    after = d.step[d.step > below.max()]
    return float(after.min()) if len(after) else math.inf


def fit_times(runs: pd.DataFrame, level: float = FIT) -> pd.DataFrame:
    """Per (run, unit): the step from which the linear-only and the clustered-only training examples stay fitted
    (`first_fit`, inf = never within the run)."""
    rows = [{"run": r, "seed_idx": u, **{f"t_{c}": first_fit(g, f"train_{c}", level) for c in COMPONENTS[:2]}}
            for (r, u), g in runs.groupby(["run", "seed_idx"])]
    return pd.DataFrame(rows, columns=["run", "seed_idx", "t_linear", "t_clustered"])
