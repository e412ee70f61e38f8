"""The claims' measurements (registry `replicate.registry.iyer2023`) from the notebooks' tables: pure functions,
so tests can feed them synthetic tables."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np
import pandas as pd

from replicate import claims
from replicate.papers.max_initial_lr import analysis, calibration
from replicate.papers.max_initial_lr.calibration import SearchGrid

LAW_CONDITIONS = ("gaussian", "gaussian-mse", "mnist")


def networks(trainings: pd.DataFrame) -> pd.DataFrame:
    """One row per searched network: condition, depth, width, eta_star, first_failure, monotone, status, rounds."""
    cols = ["condition", "depth", "width", "eta_star", "first_failure", "monotone", "status", "rounds"]
    return trainings.drop_duplicates(["condition", "depth", "width"])[cols].reset_index(drop=True)


def search_grids(cfg) -> dict[str, SearchGrid]:
    """Per condition of an `EtaStarConfig`: the learning rates its majority search tests (for the simulators)."""
    return {c.name: SearchGrid(cfg.task(c.task).lr_lo, cfg.task(c.task).lr_hi, cfg.points_per_round, cfg.rel_tol)
            for c in cfg.conditions}


def with_simulator(m: claims.Measurement, table: pd.DataFrame, name: str, grid: SearchGrid | None,
                   cov: str | None = None) -> claims.Measurement:
    """`m` with the simulator of its law (`calibration.law_simulator`) for the calibration of its row."""
    if not m.measured:
        return m
    net = calibration.networks(table, "eta_star", cov)
    return dataclasses.replace(m, simulator=calibration.law_simulator(net, name, grid),
                               method=m.method + "; calibrated by simulating the law with the run's seed noise"
                               + (" and search grid" if grid is not None else ""))


def measure_eta_star(trainings: pd.DataFrame, conditions: tuple[str, ...], *, min_ratio: int = 16, n_boot: int = 1000,
                     seed: int = 0, grids: Mapping[str, SearchGrid] | None = None) -> dict[str, claims.Measurement]:
    """Brackets (preconditions), R², p, α − β, equal-product ratio and the input-layer ablation (a diagnostic).

    trainings: every training of the searches (`protocol.eta_star` rows with condition, depth, width); conditions:
    those the preset ran (the others are not measured). Fits use the per-seed η* (`analysis.per_seed_eta_star`);
    R² and p only over networks with w ≥ min_ratio·d. grids: per condition, the LRs its search tests
    (`search_grids`), with which each fit's simulator quantises the seeds (None: not quantised).
    """
    grids = grids or {}
    nets = networks(trainings) if len(trainings) else pd.DataFrame(columns=["condition", "status"])
    per_seed = analysis.per_seed_eta_star(trainings) if len(trainings) else pd.DataFrame()
    out: dict[str, claims.Measurement] = {}
    for cond in ("gaussian", "gaussian-full-input", "gaussian-mse", "mnist"):
        n = nets[nets.condition == cond]
        out[f"iyer2023.{cond}.brackets"] = (claims.fraction(int((n.status == "ok").sum()), len(n))
                                             if cond in conditions and len(n) else claims.missing("not run at this scale"))

    def seeds_of(cond: str, wide: bool) -> pd.DataFrame:
        s = per_seed[per_seed.condition == cond] if len(per_seed) else per_seed
        return s[s.width >= min_ratio * s.depth] if wide and len(s) else s

    def stat(cond: str, name: str, wide: bool) -> claims.Measurement:
        s = seeds_of(cond, wide)
        if cond not in conditions or not len(s):
            return claims.missing("not run at this scale")
        stats = {**analysis.power_law_stats("eta_star"), **analysis.depth_width_stats("eta_star"),
                 "equal": analysis.worst_equal_product_ratio("eta_star")}
        m = analysis.config_bootstrap(s, ["eta_star"], stats[name], n_boot=n_boot, seed=seed)
        return with_simulator(m, s, name, grids.get(cond))

    out["iyer2023.gaussian.r2"] = stat("gaussian", "r2", True)
    out["iyer2023.gaussian.exponent"] = stat("gaussian", "p", True)
    out["iyer2023.gaussian.depth-vs-width"] = stat("gaussian", "alpha_minus_beta", False)
    out["iyer2023.gaussian.equal-product"] = stat("gaussian", "equal", False)
    out["iyer2023.gaussian.input-ablation"] = ablation(per_seed, n_boot=n_boot, seed=seed) \
        if {"gaussian", "gaussian-full-input"} <= set(conditions) and len(per_seed) else claims.missing("not run")
    out["iyer2023.gaussian-mse.r2"] = stat("gaussian-mse", "r2", True)
    out["iyer2023.mnist.r2"] = stat("mnist", "r2", True)
    out["iyer2023.mnist.depth-vs-width"] = stat("mnist", "alpha_minus_beta", False)
    return out


def ablation(per_seed: pd.DataFrame, *, n_boot: int, seed: int = 0) -> claims.Measurement:
    """Median over (d, w) of η*(input slow) / η*(input at η), geometric means over seeds; bootstrap over (d, w)."""
    slow = analysis.geometric_means(per_seed[per_seed.condition == "gaussian"], "eta_star")
    full = analysis.geometric_means(per_seed[per_seed.condition == "gaussian-full-input"], "eta_star")
    both = slow.merge(full, on=["depth", "width"], suffixes=("_slow", "_full"))
    return claims.bootstrap((both.eta_star_slow / both.eta_star_full).to_numpy(), np.median, n_boot=n_boot, seed=seed)


def measure_sharpness_at_init(lam: pd.DataFrame, eta: pd.DataFrame | None, *, n_boot: int = 1000,
                              seed: int = 0, grid: SearchGrid | None = None) -> dict[str, claims.Measurement]:
    """Lanczos convergence (precondition), the d·w exponent of λ1 (preconditioned), and η*–λ1 relation.

    lam: depth, width, seed, lam1, lam1_pre, lam1_converged, lam1_pre_converged; eta: per-seed η* of the same
    networks (depth, width, seed, eta_star), or None when the η* notebook's results are absent; grid: the LRs the η*
    search tested (its simulator quantises the seeds with them).
    """
    flags = np.concatenate([lam.lam1_converged.to_numpy(bool), lam.lam1_pre_converged.to_numpy(bool)])
    out = {"iyer2023.lanczos.converged": claims.fraction(int(flags.sum()), len(flags)),
           "iyer2023.lambda-pre.exponent": analysis.config_bootstrap(
               lam, ["lam1_pre"], analysis.power_law_stats("lam1_pre")["p"], n_boot=n_boot, seed=seed)}
    if eta is None or not len(eta):
        none = claims.missing("η* notebook's results absent")
        return {**out, "iyer2023.eta-lambda.spearman": none, "iyer2023.eta-lambda.not-inverse": none}
    both = lam.merge(eta[["depth", "width", "seed", "eta_star"]], on=["depth", "width", "seed"])
    slope = analysis.loglog_slope("lam1_pre", "eta_star")
    out["iyer2023.eta-lambda.spearman"] = with_simulator(analysis.config_bootstrap(
        both, ["eta_star", "lam1_pre"], analysis.spearman("eta_star", "lam1_pre"), n_boot=n_boot, seed=seed),
        both, "spearman", grid, cov="lam1_pre")
    out["iyer2023.eta-lambda.not-inverse"] = with_simulator(analysis.config_bootstrap(
        both, ["eta_star", "lam1_pre"], lambda t: abs(slope(t) + 1), n_boot=n_boot, seed=seed),
        both, "not_inverse", grid, cov="lam1_pre")
    return out
