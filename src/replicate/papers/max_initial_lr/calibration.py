"""Simulators for the calibration of the η* rows (`replicate.claims.calibrate`): the law a row tests (or its rival),
redrawn with the noise the run has, through the run's own estimator and interval.

A fit of η* over (depth, width) is not a location-shift of its value: an exact power law in d·w measured with the
run's seed-to-seed noise and the search's grid quantisation gives an R² below 1 (and a largest equal-product ratio
above 1), so these rows get a `simulator(truth, rng, factor)` that

1. sets each network's centre log η* from the law with true quantity `truth` (e.g. R² = 1: an exact power law in
   d·w with the run's own fitted exponent; α − β = δ: η* ∝ d^(p + δ/2) w^(p − δ/2)),
2. draws `factor` × the run's seeds per network, each seed's threshold (it trains exactly at LRs ≤ it) log-normal
   around the centre with the run's seed-to-seed log-sd (`seed_sigma`),
3. tests every seed at the learning rates the run's majority search would have tested (`SearchGrid`: the coarse log
   grid on [lr_lo, lr_hi], refined around the majority edge until upper/lower ≤ 1 + rel_tol; without a grid, the
   run's own tested LRs of that network),
4. reads η* with the run's one definition (`eta.majority_eta_star`) and recomputes the statistic and its interval
   over seeds resampled within networks (`eta.Networks.measure`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from replicate import claims
from replicate.papers.max_initial_lr.eta import Networks, r2, slope

SIM_BOOT = 200  # resamples of each simulated interval (the run's own interval uses the preset's n_boot)


@functools.lru_cache(maxsize=4096)
def _geomspace(lo: float, hi: float, n: int) -> np.ndarray:
    """np.geomspace, cached (read-only): a calibration asks for the same few sub-grids ~10⁵ times."""
    out = np.geomspace(lo, hi, n)
    out.flags.writeable = False
    return out


@dataclass(frozen=True)
class SearchGrid:
    """The learning rates a majority search tests (`lr_search.max_lr` with a monotone outcome per seed)."""

    lr_lo: float
    lr_hi: float
    points_per_round: int
    rel_tol: float

    def tested(self, edge: float) -> np.ndarray:
        """The sorted LRs tested when the majority succeeds exactly at LRs ≤ edge."""
        p = self.points_per_round
        lrs = _geomspace(self.lr_lo, self.lr_hi, p + 2)
        if not self.lr_lo <= edge < self.lr_hi:  # lo fails or hi trains: the coarse round only
            return lrs
        while True:
            top = int(np.searchsorted(lrs, edge, side="right")) - 1
            lower, upper = lrs[top], lrs[top + 1]
            if upper / lower <= 1 + self.rel_tol:
                return lrs
            lrs = np.sort(np.concatenate([lrs, _geomspace(lower, upper, p + 2)[1:-1]]))

    def outcomes(self, thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The tested LRs (n,) and success (n, S) of seeds that train exactly at LRs ≤ their threshold."""
        edge = float(np.sort(thresholds)[::-1][len(thresholds) // 2])  # the majority's largest success
        lrs = self.tested(edge)
        return lrs, lrs[:, None] <= thresholds[None, :]


def seed_edges(lrs: np.ndarray, success: np.ndarray) -> np.ndarray:
    """Each seed's largest tested LR with a success (NaN if none): a noise estimate for the simulators only, never
    reported as η* (η* is the majority's, `eta.majority_eta_star`)."""
    top = len(lrs) - 1 - np.argmax(success[::-1], axis=0)
    return np.where(success.any(0), lrs[top], np.nan)


# ------------------------------------------------------------------------------------------------------------------
# The laws: truth → each network's centre log η*
# ------------------------------------------------------------------------------------------------------------------
def _r2_of_delta(net: Networks, p: float, delta: float) -> float:
    return float(r2(net.log_dw, p * net.log_dw + delta / 2 * net.log_ratio))


def delta_for_r2(net: Networks, p: float, target: float) -> float:
    """δ ≤ 0 such that the law η* ∝ d^(p + δ/2) w^(p − δ/2) has noise-free R² = target on log(d·w) over the
    networks (0 for target ≥ 1; the most negative δ tried, −20, where the target is out of reach)."""
    if target >= 1:
        return 0.0
    lo, hi = -20.0, 0.0
    if _r2_of_delta(net, p, lo) > target:
        return lo
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if _r2_of_delta(net, p, mid) < target else (lo, mid)
    return (lo + hi) / 2


def law_centres(net: Networks, name: str, truth: float) -> np.ndarray:
    """Each network's centre log η* (before the intercept) under the law whose `name` statistic is `truth`.

    p: η* ∝ (d·w)^truth. r2: η* ∝ d^(p̂ + δ/2) w^(p̂ − δ/2), p̂ the run's fitted exponent, δ ≤ 0 such that the
    noise-free R² is truth (1: an exact power law in d·w). alpha_minus_beta: the same with δ = truth. equal: the
    same with the noise-free largest equal-product ratio = truth. spearman: η* ∝ λ1^(−|ŝ|·|truth|), ŝ the run's
    fitted slope (−1: a strictly decreasing function of λ1; 0: independent). not_inverse: η* ∝ λ1^(−1 + truth).
    """
    y = net.log_eta()
    p_hat = float(slope(net.log_dw, y))
    if name == "p":
        return truth * net.log_dw
    if name in ("r2", "alpha_minus_beta", "equal"):
        if name == "r2":
            delta = delta_for_r2(net, p_hat, truth)
        elif name == "alpha_minus_beta":
            delta = truth
        else:
            groups = [net.log_ratio[net.depth * net.width == v] for v in np.unique(net.depth * net.width)]
            span = max((g.max() - g.min() for g in groups if len(g) >= 2), default=math.nan)
            delta = -2 * math.log(max(truth, 1.0)) / span
        return p_hat * net.log_dw + delta / 2 * net.log_ratio
    x = np.array([v.mean() for v in net.log_cov])
    if name == "spearman":
        return -abs(float(slope(x, y))) * abs(truth) * x
    if name == "not_inverse":
        return (-1 + truth) * x
    raise ValueError(f"unknown statistic {name!r}")


def pooled_sd(log_edges: list[np.ndarray]) -> float:
    """The pooled within-network standard deviation of log values over seeds (0 without two seeds anywhere)."""
    log_edges = [v for v in log_edges if len(v)]
    resid = np.concatenate([v - v.mean() for v in log_edges]) if log_edges else np.array([])
    dof = len(resid) - len(log_edges)
    return float(np.sqrt((resid ** 2).sum() / dof)) if dof > 0 else 0.0


def _edges(lrs: np.ndarray, success: np.ndarray) -> np.ndarray:
    e = seed_edges(lrs, success)
    return np.log(e[np.isfinite(e)])


def seed_sigma(net: Networks, grid: SearchGrid | None, draws: int = 40) -> float:
    """The log-sd of the seeds' thresholds whose seed edges (`seed_edges`, on the LRs the search would test around
    the run's own network levels) have the run's pooled log-sd: the quantisation is simulated, so it must not be
    counted twice."""
    observed = pooled_sd([_edges(l, s) for l, s in zip(net.lrs, net.success)])
    if grid is None or observed <= 0:
        return observed
    centres, seeds = net.log_eta(), [s.shape[1] for s in net.success]

    def quantised_sd(sigma: float) -> float:
        rng = np.random.default_rng(12345)
        out = [_edges(*grid.outcomes(np.exp(c + sigma * rng.standard_normal(s))))
               for _ in range(draws) for c, s in zip(centres, seeds)]
        return pooled_sd(out)

    lo, hi = 0.0, observed
    if not quantised_sd(hi) > observed:
        return observed  # quantisation adds nothing measurable: keep the observed spread
    for _ in range(12):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if quantised_sd(mid) < observed else (lo, mid)
    return (lo + hi) / 2


def law_simulator(net: Networks, name: str, grid: SearchGrid | None, *,
                  n_boot: int = SIM_BOOT) -> Callable[[float, np.random.Generator, int], claims.Measurement]:
    """`simulator(truth, rng, factor)` for the measurement of statistic `name` on `net` (networks with a majority
    success; module docstring): factor× the run's seeds per network, thresholds log-normal around the law's centres
    (at the run's mean level) with `seed_sigma`, tested on `grid` (None: the run's own LRs of each network)."""
    y = net.log_eta()
    seeds = [s.shape[1] for s in net.success]
    sigma = seed_sigma(net, grid)

    centres: dict[float, np.ndarray] = {}

    def simulate(truth: float, rng: np.random.Generator, factor: int) -> claims.Measurement:
        if truth not in centres:
            c = law_centres(net, name, truth)
            centres[truth] = c + (y.mean() - c.mean())  # the run's mean level of η* (its place on the search grid)
        centre = centres[truth]
        lrs, success, log_cov = [], [], [] if net.log_cov is not None else None
        for c, s in enumerate(seeds):
            thr = np.exp(centre[c] + sigma * rng.standard_normal(s * factor))
            if grid is not None:
                tested, ok = grid.outcomes(thr)
            else:
                tested = net.lrs[c]
                ok = tested[:, None] <= thr[None, :]
            lrs.append(tested)
            success.append(ok)
            if log_cov is not None:
                log_cov.append(net.log_cov[c][rng.integers(0, len(net.log_cov[c]), s * factor)])
        sim = Networks(net.depth, net.width, lrs, success, log_cov, net.min_ratio)
        return sim.measure(name, rng, n_boot)

    return simulate
