"""From run tables to the claims' measurements (pure functions of tables; the tests feed them synthetic ones).

Every measurement is over seeds (network inits): the per-seed value, then the mean with its percentile bootstrap
interval (`claims.bootstrap`); differences between schedules are paired by seed. Which quantity each id
measures, and its tolerance, is declared in `replicate.registry.li_wei_ma2019`.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from replicate import claims


def _per_seed(df: pd.DataFrame, run: str, col: str, lo: float, hi: float, how: str = "last",
              run_col: str = "run", time: str = "step") -> pd.Series:
    """Per seed: `col` of `run` at the last logged time in [lo, hi] ('last'), or its max / min / mean there."""
    d = df[(df[run_col] == run) & (df[time] >= lo) & (df[time] <= hi)].sort_values(time)
    g = d.groupby("seed_idx")[col]
    return {"last": g.last, "max": g.max, "min": g.min, "mean": g.mean}[how]()


def _mean(values: pd.Series, note: str = "") -> claims.Measurement:
    return claims.bootstrap(values.to_numpy(dtype=float), note=note)


def _diff(a: pd.Series, b: pd.Series, note: str = "") -> claims.Measurement:
    """a − b paired by seed."""
    return _mean((a - b).dropna(), note)


def measure_synthetic(runs: pd.DataFrame, anneal_step: int) -> dict[str, claims.Measurement]:
    """runs: `protocol.run_synth` rows of the runs 'large_lr' and 'small_lr' (columns step, seed_idx, run,
    train_loss, train_all, train_clustered, test_clustered, test_linear, test_mixed)."""
    end = runs.step.max()
    pre = lambda run, col, how="last", lo=1: _per_seed(runs, run, col, lo, anneal_step, how)
    fin = lambda run, col: _per_seed(runs, run, col, end, end)
    plateau = anneal_step / 2  # the second half of the pre-anneal phase
    settled = 0.8 * anneal_step  # "fitted" = at every logged step of the last fifth before the anneal
    p = "li2019.synthetic"
    return {
        f"{p}.small-fits-train": _mean(pre("small_lr", "train_all", "min", settled)),
        f"{p}.small-fits-clustered": _mean(pre("small_lr", "train_clustered", "min", settled)),
        f"{p}.large-noise-limited": _diff(pre("large_lr", "train_loss", "mean", plateau),
                                          pre("small_lr", "train_loss", "mean", plateau)),
        f"{p}.large-ignores-clustered": _mean(pre("large_lr", "test_clustered", "max")),
        f"{p}.large-learns-clustered-after": _mean(_per_seed(runs, "large_lr", "test_clustered",
                                                             anneal_step + 0.8 * (end - anneal_step), end, "min")),
        f"{p}.gap-mixed": _diff(fin("large_lr", "test_mixed"), fin("small_lr", "test_mixed")),
        f"{p}.gap-linear": _diff(fin("large_lr", "test_linear"), fin("small_lr", "test_linear")),
    }


def measure_patch(runs: pd.DataFrame, anneal_epoch: int) -> dict[str, claims.Measurement]:
    """runs: `protocol.run_patch` rows of the three schedules (columns epoch, seed_idx, schedule and the
    `patch_metrics` columns). 'Before the anneal' is the epochs 1 … anneal_epoch − 1; the check of each
    precondition is taken after epoch anneal_epoch − 1 (the last at the initial LR)."""
    end, last = runs.epoch.max(), anneal_epoch - 1
    at = lambda s, col, lo, hi, how="last": _per_seed(runs, s, col, lo, hi, how, "schedule", "epoch")
    p = "li2019.patch"
    if last < 1:
        return {k: claims.missing("no epoch before the anneal") for k in PATCH_IDS}
    return {
        f"{p}.small-fits-train": _mean(at("small_lr", "train_acc", last, last)),
        f"{p}.small-fits-patch-only": _mean(at("small_lr", "train_patch_only_acc", last, last)),
        f"{p}.large-noise-limited": _diff(at("large_lr", "train_loss", math.ceil(last / 2), last, "mean"),
                                          at("small_lr", "train_loss", math.ceil(last / 2), last, "mean")),
        f"{p}.small-memorises-patch": _mean(at("small_lr", "patch_acc", last, last)),
        f"{p}.small-conflict-patch-wins": _mean(at("small_lr", "conflict_patch_wins", last, last)),
        f"{p}.large-ignores-patch": _mean(at("large_lr", "patch_acc", 1, last, "max")),
        f"{p}.large-learns-patch-after": _mean(at("large_lr", "patch_acc", end, end)),
        f"{p}.gap-clean": _diff(at("large_lr", "clean_acc", end, end), at("small_lr", "clean_acc", end, end)),
        f"{p}.act-noise-helps": _diff(at("act_noise", "clean_acc", end, end), at("small_lr", "clean_acc", end, end)),
    }


PATCH_IDS = tuple(f"li2019.patch.{k}" for k in (
    "small-fits-train", "small-fits-patch-only", "large-noise-limited", "small-memorises-patch",
    "small-conflict-patch-wins", "large-ignores-patch", "large-learns-patch-after", "gap-clean", "act-noise-helps"))


def crossing_steps(runs: pd.DataFrame, col: str, level: float, by: str = "run") -> pd.DataFrame:
    """Diagnostic: per (run, seed) the first logged step at which `col` ≥ level (inf if never)."""
    rows = [{by: r, "seed_idx": s, "step": float(g.step[g[col] >= level].min()) if (g[col] >= level).any()
             else np.inf} for (r, s), g in runs.groupby([by, "seed_idx"])]
    return pd.DataFrame(rows)
