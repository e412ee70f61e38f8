"""One network, three thresholds: 2/λ0 (lazy boundary), the catapult's η_max, and the maximal initial LR η*.

For one ReLU MLP (He init, full-batch gradient descent on L = 1/(2m)Σ‖f − y‖², one-hot targets) we measure
  λ0      the top eigenvalue of the NTK JJᵀ/m at initialisation (Lewkowycz et al.: lazy below η = 2/λ0),
  η_max   the largest constant LR whose run trains: finite, and at the end of the budget below both its initial
          loss and the loss ½·mean‖y‖² of the zero output (a ReLU net without biases can also fail by dying: its
          output collapses to zero instead of overflowing, which this criterion counts as a failure too),
  η*      the largest constant LR whose run reaches a validation accuracy t within the budget (Iyer et al.),
the last two by `lr_search.max_lr`, each round one batched ensemble run: a coarse log grid on
[lo_factor·η_crit, 128·η_crit] first (success is not monotone at the low end: a run at a small LR can fail to
get below the zero output's loss within the budget), then bisection from its smallest LR that trains. λ0 follows the
chapter on Iyer et al.: with every layer at the same LR, the input layer adds ∝ ‖x‖² = D_in to the NTK beside the
hidden layers' ∝ d·w, so λ0 ≈ c (D_in + d·w).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd
import torch

from replicate import claims, memory

from replicate.ensemble import Member, TrainConfig, train_ensemble
from replicate.lr_search import BracketError, max_lr
from replicate.models import MLP, seeded
from replicate.papers.catapult import ntk_sharpness
from replicate.papers.max_initial_lr import analysis
from replicate.scales import ParameterError, one_of, positive


@dataclass(frozen=True)
class ThresholdsConfig:
    dataset: str
    n_train: int
    n_val: int
    pool: int
    depths: tuple[int, ...]
    widths: tuple[int, ...]
    min_ratio: int  # keep width ≥ min_ratio · depth
    seeds: int
    steps: int
    threshold: float  # validation accuracy that defines η*
    rel_tol: float
    lo_factor: float  # the coarse grid starts at lo_factor · η_crit
    coarse_points: int  # LRs of the coarse grid on [lo_factor·η_crit, 128·η_crit] before bisection
    n_boot: int

    def validate(self) -> None:
        one_of("dataset", self.dataset, ("mnist", "fashion-mnist"))
        for name in ("n_train", "n_val", "pool", "depths", "widths", "min_ratio", "seeds", "steps", "rel_tol",
                     "lo_factor", "coarse_points", "n_boot"):
            positive(name, getattr(self, name))
        if not 0 < self.threshold < 1:
            raise ParameterError(f"threshold must be in (0, 1); got {self.threshold}")
        if not grid(self):
            raise ParameterError("no (depth, width) with width ≥ min_ratio · depth")

    def memory_bytes(self) -> int:
        """One (depth, width, seed) point at a time, the largest: a round's members (the coarse grid, or the 6 LRs of
        a bisection round) trained at once on the whole training set and evaluated at once (chunks of up to 4096
        validation inputs), beside λ0's Lanczos (60 vectors); the data (train and validation) and the loading of the
        data set."""
        d, members = (28 // self.pool) ** 2, max(self.coarse_points, 6)

        def point(depth: int, width: int) -> int:
            params = memory.mlp_params(d, width, depth, 10, bias=False)
            make = partial(MLP, d, width, depth, 10, bias=False)
            created, alive = memory.activations(make, (d,)), memory.activations(make, (d,), train=False)
            return (memory.training_bytes(params, members, self.n_train, created)
                    + memory.forward_bytes(members, min(self.n_val, 4096), alive)
                    + memory.curvature_bytes(params, self.n_train, created, max_iter=60))

        data = (self.n_train + self.n_val) * (d + 10) * memory.dtype_bytes("float32")
        return memory.BASE + memory.dataset_bytes(self.dataset) + data + max(point(*p) for p in grid(self))


PRESETS = {
    "smoke": ThresholdsConfig("mnist", 256, 256, 4, (1, 2), (32, 64), 16, 1, 20, 0.2, 1.0, 0.125, 6, 50),
    "cpu": ThresholdsConfig("mnist", 512, 1000, 2, (1, 2, 4), (64, 128, 256), 16, 1, 100, 0.4, 0.1, 0.125, 8, 1000),
    "gpu": ThresholdsConfig("mnist", 4096, 10000, 2, (1, 2, 4, 8), (128, 256, 512, 1024), 16, 3, 500, 0.8, 0.05,
                            0.125, 8, 1000),
    "paper": ThresholdsConfig("mnist", 4096, 10000, 1, (1, 2, 4, 8), (256, 512, 1024, 2048), 16, 3, 1000, 0.9,
                              0.05, 0.125, 10, 2000),
}
DRY_RUN = {"steps": 1, "n_train": 32, "n_val": 32, "depths": (1,), "widths": (2048,), "seeds": 1, "rel_tol": 1e3,
           "n_boot": 10}


def grid(cfg: ThresholdsConfig) -> list[tuple[int, int]]:
    return [(d, w) for d in cfg.depths for w in cfg.widths if w >= cfg.min_ratio * d]


def load(cfg: ThresholdsConfig, seed: int = 0):
    """X, one-hot Y (train); X_val, one-hot Y_val."""
    from replicate.data import load as load_dataset, mlp_inputs, one_hot

    ds = load_dataset(cfg.dataset, n_train=cfg.n_train, n_test=cfg.n_val, seed=seed)
    return (mlp_inputs(ds.X_train, cfg.pool), one_hot(ds.y_train, 10), mlp_inputs(ds.X_test, cfg.pool),
            one_hot(ds.y_test, 10))


def _runs(lrs: torch.Tensor, depth: int, width: int, seed: int, data, cfg: ThresholdsConfig) -> pd.DataFrame:
    """One batched full-batch GD run per LR (same init); per member: converged, best validation accuracy, and
    final loss / min(initial loss, loss of the zero output) (< 1 ⇔ trained, for a finite run to the end)."""
    X, Y, X_val, Y_val = data
    members = [Member(seed, float(lr)) for lr in lrs]
    train = TrainConfig(steps=cfg.steps, loss="mse", diverge_factor=1e6, eval_every=max(cfg.steps // 10, 1),
                        log_every=max(cfg.steps // 10, 1), progress=False)
    h = train_ensemble(lambda: MLP(X.shape[1], width, depth, 10, parametrization="sp", bias=False), members, X, Y,
                       train, X_eval=X_val, y_eval=Y_val).history
    last = h.sort_values("step").groupby("member").last()
    l0 = h[h.step == 0].set_index("member").loss
    dead = float(0.5 * Y.pow(2).sum(1).mean())
    converged = (~last.diverged) & (last.step == cfg.steps) & (last.loss < l0) & (last.loss < dead)
    best = h[~h.diverged].groupby("member").eval_acc.max().reindex(range(len(members))).fillna(0.0)
    ratio = (last.loss / np.minimum(l0, dead)).reindex(range(len(members)))
    return pd.DataFrame({"converged": converged.reindex(range(len(members))).fillna(False), "best_acc": best,
                         "loss_ratio": ratio})


def measure(depth: int, width: int, seed: int, data, cfg: ThresholdsConfig) -> dict:
    """λ0, η_max and η* of one (depth, width, seed), with their brackets (status 'ok', 'nothing trains' on the
    coarse grid, or 'hi trains'; *_lo: the LR the bisection started from; monotone False also when the coarse grid's
    successes are not contiguous), and what the runs at lo = lo_factor·η_crit and at η_crit did (*_loss_ratio:
    final loss / min(initial loss, loss of the zero output), < 1 ⇔ trains; *_best_acc: best validation accuracy)."""
    X, Y, _, _ = data
    init = seeded(lambda: MLP(X.shape[1], width, depth, 10, parametrization="sp", bias=False), seed, X.device, X.dtype)
    lam0 = float(ntk_sharpness(init, X, Y).eigenvalues[0])
    crit = 2 / lam0
    lo = cfg.lo_factor * crit
    at_lo = _runs(torch.tensor([lo, crit], device="cpu"), depth, width, seed, data, cfg)
    out = {"lam0": lam0, "eta_crit": crit, "lo": lo, "lo_loss_ratio": float(at_lo.loss_ratio.iloc[0]),
           "lo_best_acc": float(at_lo.best_acc.iloc[0]), "crit_loss_ratio": float(at_lo.loss_ratio.iloc[1]),
           "crit_best_acc": float(at_lo.best_acc.iloc[1])}
    hi = crit * 128
    coarse = torch.tensor(np.geomspace(lo, hi, cfg.coarse_points), device="cpu")
    first = _runs(coarse, depth, width, seed, data, cfg)
    for name, ok in (("eta_max", lambda r: torch.tensor(r.converged.to_numpy(dtype=bool), device="cpu")),
                     ("eta_star", lambda r: torch.tensor(r.best_acc.to_numpy() >= cfg.threshold, device="cpu"))):
        passed = np.flatnonzero(ok(first).numpy())  # a coarse grid first: the search starts where a run trains
        if not len(passed):
            out.update({name: float("nan"), f"{name}_upper": float("nan"), f"{name}_monotone": False,
                        f"{name}_status": "nothing trains", f"{name}_lo": float("nan")})
            continue
        start = float(coarse[passed[0]])
        try:
            r = max_lr(lambda lrs: ok(_runs(lrs, depth, width, seed, data, cfg)), start, hi,
                       rel_tol=cfg.rel_tol, points_per_round=4, rule="majority")
            out.update({name: r.lower, f"{name}_upper": r.upper, f"{name}_status": "ok", f"{name}_lo": start,
                        f"{name}_monotone": r.monotone and passed[-1] - passed[0] + 1 == len(passed)})
        except BracketError:  # the largest LR still trains: η > 128·η_crit
            out.update({name: float("nan"), f"{name}_upper": float("nan"), f"{name}_monotone": False,
                        f"{name}_status": "hi trains", f"{name}_lo": start})
    return out


def geometric_mean(values: np.ndarray, *, n_boot: int, seed: int = 0) -> claims.Measurement:
    """Geometric mean of positive values with its percentile bootstrap interval (over the values), and a simulator
    that redraws it multiplicatively: the bootstrap's deviations of the log mean, recentred on log(truth) and shrunk
    by √factor (factor × the values)."""
    logs = np.log(np.asarray(values, float))
    m = claims.bootstrap(logs, np.mean, n_boot=n_boot, seed=seed)
    if not m.measured:
        return m
    dev = np.asarray(m.spread, float)
    lo, hi = m.ci_low - m.value, m.ci_high - m.value

    def redraw(truth: float, rng: np.random.Generator, factor: int) -> claims.Measurement:
        shrink = 1 / math.sqrt(factor)
        v = math.log(truth) + float(rng.choice(dev)) * shrink
        return claims.Measurement(math.exp(v), math.exp(v + lo * shrink), math.exp(v + hi * shrink), m.n, m.method)

    return claims.Measurement(math.exp(m.value), math.exp(m.ci_low), math.exp(m.ci_high), m.n,
                              m.method + ", on the log scale", simulator=redraw)


def measure_thresholds(table: pd.DataFrame, *, n_boot: int = 1000, seed: int = 0) -> dict[str, claims.Measurement]:
    """The claims of `replicate.registry.thresholds` from the per-network table (depth, width, seed, lam0,
    eta_crit, eta_max, eta_star, *_status): brackets (preconditions), η_max·λ0, η* in the catapult window, and the
    diagnostics: the d·w exponent of λ0 and |s + 1| for the slope s of log η* on log λ0."""
    n = len(table)
    ok_max, ok_star = table.eta_max_status == "ok", table.eta_star_status == "ok"
    both = table[ok_max & ok_star]
    inside = int(((both.eta_star > both.eta_crit) & (both.eta_star <= both.eta_max)).sum())
    slope = analysis.loglog_slope("lam0", "eta_star")
    return {
        "thresholds.eta-max.brackets": claims.fraction(int(ok_max.sum()), n),
        "thresholds.eta-star.brackets": claims.fraction(int(ok_star.sum()), n),
        "thresholds.eta-max-lam0": geometric_mean((table.eta_max * table.lam0)[ok_max].to_numpy(), n_boot=n_boot,
                                                  seed=seed),
        "thresholds.eta-star-window": claims.fraction(inside, len(both)),
        "thresholds.lam0-exponent": analysis.config_bootstrap(table, ["lam0"], analysis.power_law_stats("lam0")["p"],
                                                              n_boot=n_boot, seed=seed),
        "thresholds.eta-lambda.not-inverse": analysis.config_bootstrap(
            table[ok_star], ["eta_star", "lam0"], lambda t: abs(slope(t) + 1), n_boot=n_boot, seed=seed),
    }
