"""The claims' measurements (registry `replicate.registry.iyer2023`) from the notebooks' tables: pure functions,
so tests can feed them synthetic tables. η* is one value per network, `eta.networks` / `eta.majority_eta_star`."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np
import pandas as pd

from replicate import claims
from replicate.papers.max_initial_lr import analysis, calibration, eta
from replicate.papers.max_initial_lr.calibration import SearchGrid

LAW_CONDITIONS = ("gaussian", "gaussian-mse", "mnist")


def search_grids(cfg) -> dict[str, SearchGrid]:
    """Per condition of an `EtaStarConfig`: the learning rates its majority search tests (for the simulators)."""
    return {c.name: SearchGrid(cfg.task(c.task).lr_lo, cfg.task(c.task).lr_hi, cfg.points_per_round, cfg.rel_tol)
            for c in cfg.conditions}


def with_simulator(m: claims.Measurement, net: eta.Networks, name: str,
                   grid: SearchGrid | None) -> claims.Measurement:
    """`m` with the simulator of its law (`calibration.law_simulator`) for the calibration of its row."""
    if not m.measured:
        return m
    return dataclasses.replace(m, simulator=calibration.law_simulator(net.subset(np.isfinite(net.log_eta())), name,
                                                                      grid),
                               method=m.method + "; calibrated by simulating the law with the run's seed noise"
                               + (" and search grid" if grid is not None else ""))


def measure_eta_star(trainings: pd.DataFrame, conditions: tuple[str, ...], *, min_ratio: int = 16, n_boot: int = 1000,
                     seed: int = 0, grids: Mapping[str, SearchGrid] | None = None) -> dict[str, claims.Measurement]:
    """Brackets (preconditions), R², p, α − β, equal-product ratio; the narrow networks and the input-layer ablation
    (diagnostics).

    trainings: every training of the searches (`protocol.search` rows with condition, depth, width); conditions:
    those the preset ran (the others are not measured). Every statistic is of the networks' η* (`eta.networks`),
    the law's over the networks with w ≥ min_ratio·d; its interval resamples seeds within networks. grids: per
    condition, the LRs its search tests (`search_grids`), with which each simulator tests its seeds (None: the
    run's own tested LRs).
    """
    grids = grids or {}
    nets = eta.networks(trainings, min_ratio) if len(trainings) else pd.DataFrame(columns=["condition", "wide"])
    out: dict[str, claims.Measurement] = {}
    for cond in ("gaussian", "gaussian-full-input", "gaussian-mse", "mnist"):
        n = nets[(nets.condition == cond) & nets.wide.astype(bool)]
        out[f"iyer2023.{cond}.brackets"] = (claims.fraction(int(n.interval.sum()), len(n))
                                             if cond in conditions and len(n) else claims.missing("not run at this scale"))

    def stat(cond: str, name: str) -> claims.Measurement:
        t = trainings[trainings.condition == cond] if len(trainings) else trainings
        if cond not in conditions or not len(t):
            return claims.missing("not run at this scale")
        if name != "narrow":
            t = t[t.width >= min_ratio * t.depth]
        net = eta.networks_of(t, min_ratio=min_ratio)
        m = net.measure(name, np.random.default_rng(seed), n_boot)
        return m if name == "narrow" else with_simulator(m, net, name, grids.get(cond))

    out["iyer2023.gaussian.r2"] = stat("gaussian", "r2")
    out["iyer2023.gaussian.exponent"] = stat("gaussian", "p")
    out["iyer2023.gaussian.depth-vs-width"] = stat("gaussian", "alpha_minus_beta")
    out["iyer2023.gaussian.equal-product"] = stat("gaussian", "equal")
    out["iyer2023.gaussian.narrow"] = stat("gaussian", "narrow") \
        if len(nets) and (~nets[nets.condition == "gaussian"].wide.astype(bool)).any() else claims.missing("no narrow network")
    out["iyer2023.gaussian.input-ablation"] = ablation(nets[nets.wide.astype(bool)], n_boot=n_boot, seed=seed) \
        if {"gaussian", "gaussian-full-input"} <= set(conditions) and len(nets) else claims.missing("not run")
    out["iyer2023.gaussian-mse.r2"] = stat("gaussian-mse", "r2")
    out["iyer2023.mnist.r2"] = stat("mnist", "r2")
    out["iyer2023.mnist.depth-vs-width"] = stat("mnist", "alpha_minus_beta")
    return out


def ablation(nets: pd.DataFrame, *, n_boot: int, seed: int = 0) -> claims.Measurement:
    """Median over (d, w) of η*(input slow) / η*(input at η) (`eta.networks` rows); bootstrap over (d, w)."""
    slow = nets[nets.condition == "gaussian"][["depth", "width", "eta_star"]]
    full = nets[nets.condition == "gaussian-full-input"][["depth", "width", "eta_star"]]
    both = slow.merge(full, on=["depth", "width"], suffixes=("_slow", "_full"))
    return claims.bootstrap((both.eta_star_slow / both.eta_star_full).to_numpy(), np.median, n_boot=n_boot, seed=seed)


def measure_sharpness_at_init(lam: pd.DataFrame, trainings: pd.DataFrame | None, *, n_boot: int = 1000,
                              seed: int = 0, min_ratio: int = 16,
                              grid: SearchGrid | None = None) -> dict[str, claims.Measurement]:
    """Lanczos convergence (precondition), the d·w exponent of λ1 (preconditioned), and η*–λ1 relation.

    lam: depth, width, seed, lam1, lam1_pre, lam1_converged, lam1_pre_converged; trainings: the η* searches of the
    same networks under one condition (`protocol.search` rows: depth, width, lr, seed, success), or None when the η*
    notebook's results are absent. η* per network (`eta.majority_eta_star`) against the mean log λ1 of its seeds,
    seeds of both resampled jointly; grid: the LRs the η* search tested (its simulator tests the seeds on them).
    """
    flags = np.concatenate([lam.lam1_converged.to_numpy(bool), lam.lam1_pre_converged.to_numpy(bool)])
    out = {"iyer2023.lanczos.converged": claims.fraction(int(flags.sum()), len(flags)),
           "iyer2023.lambda-pre.exponent": analysis.config_bootstrap(
               lam, ["lam1_pre"], analysis.power_law_stats("lam1_pre")["p"], n_boot=n_boot, seed=seed)}
    if trainings is None or not len(trainings):
        none = claims.missing("η* notebook's results absent")
        return {**out, "iyer2023.eta-lambda.spearman": none, "iyer2023.eta-lambda.not-inverse": none}
    net = eta.networks_of(trainings[trainings.width >= min_ratio * trainings.depth], lam, "lam1_pre", min_ratio)
    for cid, name in (("iyer2023.eta-lambda.spearman", "spearman"), ("iyer2023.eta-lambda.not-inverse", "not_inverse")):
        out[cid] = with_simulator(net.measure(name, np.random.default_rng(seed), n_boot), net, name, grid)
    return out
