"""Simulators for the calibration of the η* rows (`replicate.claims.calibrate`): the law a row tests (or its rival),
redrawn with the noise the run has, through the run's own estimator and interval.

A fit of η* over (depth, width) is not a location-shift of its value: an exact power law in d·w measured with the
run's seed-to-seed noise and the search's grid quantisation gives an R² well below 1 (and a largest equal-product
ratio well above 1), so these rows get a `simulator(truth, rng, factor)` that

1. sets each network's centre log η* from the law with true quantity `truth` (e.g. R² = 1: an exact power law in
   d·w with the run's own fitted exponent; α − β = δ: η* ∝ d^(p + δ/2) w^(p − δ/2)),
2. draws `factor` × the run's seeds per network, each seed's threshold log-normal around the centre with the run's
   pooled within-network log-sd,
3. quantises every seed to the learning rates the run's majority search would have tested (`SearchGrid`: the
   coarse log grid on [lr_lo, lr_hi], refined around the majority edge until upper/lower ≤ 1 + rel_tol) and reads
   each seed's η* as the largest tested rate below its first failure (`analysis.per_seed_eta_star`),
4. recomputes the statistic and its percentile interval over seeds resampled within networks (the interval of
   `analysis.config_bootstrap`, vectorised here).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from replicate import claims

KEYS = ["depth", "width"]
SIM_BOOT = 200  # resamples of each simulated interval (the run's own interval uses the preset's n_boot)


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
        lrs = np.geomspace(self.lr_lo, self.lr_hi, p + 2)
        if not self.lr_lo <= edge < self.lr_hi:  # lo fails or hi trains: the coarse round only
            return lrs
        while True:
            top = int(np.searchsorted(lrs, edge, side="right")) - 1
            lower, upper = lrs[top], lrs[top + 1]
            if upper / lower <= 1 + self.rel_tol:
                return lrs
            lrs = np.sort(np.concatenate([lrs, np.geomspace(lower, upper, p + 2)[1:-1]]))

    def per_seed(self, thresholds: np.ndarray) -> np.ndarray:
        """Each seed's η* (largest tested LR below its first failure; NaN if it fails at every tested LR or passes
        at every one) for seeds that train exactly at LRs ≤ their threshold."""
        edge = float(np.sort(thresholds)[::-1][len(thresholds) // 2])  # the majority's largest success
        lrs = self.tested(edge)
        first_fail = np.searchsorted(lrs, thresholds, side="right")
        ok = (first_fail > 0) & (first_fail < len(lrs))
        return np.where(ok, lrs[np.clip(first_fail - 1, 0, len(lrs) - 1)], np.nan)


# ------------------------------------------------------------------------------------------------------------------
# Statistics of the per-network mean log η* (last axis: networks), vectorised over leading axes (bootstrap rows)
# ------------------------------------------------------------------------------------------------------------------
def _centred(v: np.ndarray) -> np.ndarray:
    return v - v.mean(-1, keepdims=True)


def slope(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    xc, yc = _centred(x), _centred(y)
    return (xc * yc).sum(-1) / (xc * xc).sum(-1)


def r2(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    xc, yc = _centred(np.broadcast_to(x, y.shape)), _centred(y)
    b = (xc * yc).sum(-1, keepdims=True) / (xc * xc).sum(-1, keepdims=True)
    var = (yc * yc).mean(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(var > 0, 1 - ((yc - b * xc) ** 2).mean(-1) / np.where(var > 0, var, 1), np.nan)


def alpha_minus_beta(log_d: np.ndarray, log_w: np.ndarray, y: np.ndarray) -> np.ndarray:
    A = np.column_stack([np.ones_like(log_d), log_d, log_w])
    coef = np.linalg.pinv(A) @ np.moveaxis(y, -1, 0).reshape(len(log_d), -1)
    return (coef[1] - coef[2]).reshape(y.shape[:-1])


def equal_product(dw: np.ndarray, y: np.ndarray) -> np.ndarray:
    groups = [np.flatnonzero(dw == v) for v in np.unique(dw)]
    spans = [y[..., g].max(-1) - y[..., g].min(-1) for g in groups if len(g) >= 2]
    return np.exp(np.max(spans, axis=0)) if spans else np.full(y.shape[:-1], np.nan)


def spearman(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    rx, ry = rankdata(np.broadcast_to(x, y.shape), axis=-1), rankdata(y, axis=-1)
    rx, ry = _centred(rx), _centred(ry)
    den = np.sqrt((rx * rx).sum(-1) * (ry * ry).sum(-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (rx * ry).sum(-1) / np.where(den > 0, den, 1), np.nan)


@dataclass(frozen=True)
class Networks:
    """The networks of one measurement: depth, width (C,), and per network the seeds' log η* (and log covariate)."""

    depth: np.ndarray
    width: np.ndarray
    log_eta: list[np.ndarray]
    log_cov: list[np.ndarray] | None = None

    @property
    def log_dw(self) -> np.ndarray:
        return np.log(self.depth * self.width)

    @property
    def log_ratio(self) -> np.ndarray:
        return np.log(self.depth / self.width)

    def statistic(self, name: str, y: np.ndarray, x: np.ndarray | None = None) -> np.ndarray:
        """`name` of the per-network mean log η* y (…, C) (x: mean log covariate, for 'spearman', 'not_inverse')."""
        if name == "p":
            return slope(self.log_dw, y)
        if name == "r2":
            return r2(self.log_dw, y)
        if name == "alpha_minus_beta":
            return alpha_minus_beta(np.log(self.depth), np.log(self.width), y)
        if name == "equal":
            return equal_product(self.depth * self.width, y)
        if name == "spearman":
            return spearman(x, y)
        if name == "not_inverse":
            return np.abs(slope(x, y) + 1)
        raise ValueError(f"unknown statistic {name!r}")

    def measure(self, name: str, rng: np.random.Generator, n_boot: int = SIM_BOOT, level: float = 0.95,
                method: str = "") -> claims.Measurement:
        """The statistic and its percentile interval over seeds resampled within networks (as
        `analysis.config_bootstrap`, seeds of η* and covariate resampled jointly)."""
        y = np.array([v.mean() for v in self.log_eta])
        x = np.array([v.mean() for v in self.log_cov]) if self.log_cov is not None else None
        value = float(self.statistic(name, y, x))
        sizes = np.array([len(v) for v in self.log_eta])
        width = int(sizes.max())
        pad = lambda vs: np.array([np.pad(v, (0, width - len(v))) for v in vs])  # noqa: E731
        # every network's seeds resampled with replacement: index < its own count, positions beyond it ignored
        pick = np.floor(rng.random((n_boot, len(sizes), width)) * sizes[None, :, None]).astype(int)
        valid = np.arange(width)[None, None, :] < sizes[None, :, None]
        rows = np.arange(len(sizes))[None, :, None]

        def means(vs: list[np.ndarray]) -> np.ndarray:
            return np.where(valid, pad(vs)[rows, pick], 0.0).sum(-1) / sizes

        by = means(self.log_eta)
        bx = means(self.log_cov) if x is not None else None
        boots = self.statistic(name, by, bx)
        boots = boots[np.isfinite(boots)]
        if not math.isfinite(value) or len(boots) < n_boot // 2:
            return claims.missing("statistic not finite")
        lo, hi = np.quantile(boots, [(1 - level) / 2, (1 + level) / 2])
        n = sum(len(v) for v in self.log_eta)
        return claims.Measurement(value, min(float(lo), value), max(float(hi), value), n, method)


def networks(df: pd.DataFrame, y: str = "eta_star", cov: str | None = None) -> Networks:
    """`Networks` from a per-seed table (depth, width, y[, cov]); rows with a non-finite or non-positive value
    dropped, as in `analysis.config_bootstrap`."""
    cols = [y] + ([cov] if cov else [])
    ok = np.all([np.isfinite(df[c].to_numpy(float)) & (df[c].to_numpy(float) > 0) for c in cols], axis=0)
    groups = list(df[ok].groupby(KEYS))
    depth = np.array([k[0] for k, _ in groups], float)
    width = np.array([k[1] for k, _ in groups], float)
    return Networks(depth, width, [np.log(g[y].to_numpy(float)) for _, g in groups],
                    [np.log(g[cov].to_numpy(float)) for _, g in groups] if cov else None)


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
    y = np.array([v.mean() for v in net.log_eta])
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


def pooled_sd(log_eta: list[np.ndarray]) -> float:
    """The pooled within-network standard deviation of log η* over seeds (0 with one seed per network)."""
    resid = np.concatenate([v - v.mean() for v in log_eta])
    dof = len(resid) - len(log_eta)
    return float(np.sqrt((resid ** 2).sum() / dof)) if dof > 0 else 0.0


def latent_sigma(observed: float, centres: np.ndarray, seeds: list[int], grid: SearchGrid | None,
                 draws: int = 40) -> float:
    """The log-sd of the seeds' thresholds whose quantised η* (by `grid`, around the run's own network means) has
    the run's pooled log-sd `observed`: the quantisation is simulated, so it must not be counted twice."""
    if grid is None or observed <= 0:
        return observed

    def quantised_sd(sigma: float) -> float:
        rng = np.random.default_rng(12345)
        out = []
        for _ in range(draws):
            for c, s in zip(centres, seeds):
                e = grid.per_seed(np.exp(c + sigma * rng.standard_normal(s)))
                e = np.log(e[np.isfinite(e)])
                if len(e):
                    out.append(e)
        return pooled_sd(out) if out else math.nan

    lo, hi = 0.0, observed
    if not quantised_sd(hi) > observed:
        return observed  # quantisation adds nothing measurable: keep the observed spread
    for _ in range(12):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if quantised_sd(mid) < observed else (lo, mid)
    return (lo + hi) / 2


def law_simulator(net: Networks, name: str, grid: SearchGrid | None, *,
                  n_boot: int = SIM_BOOT) -> Callable[[float, np.random.Generator, int], claims.Measurement]:
    """`simulator(truth, rng, factor)` for the measurement of statistic `name` on `net` (module docstring): factor×
    the run's seeds per network, seed thresholds log-normal around the law's centres (at the run's mean level) with
    the log-sd that, once quantised by the search `grid` (None: not quantised), reproduces the run's pooled
    within-network log-sd of η*."""
    y = np.array([v.mean() for v in net.log_eta])
    seeds = [len(v) for v in net.log_eta]
    sigma = latent_sigma(pooled_sd(net.log_eta), y, seeds, grid)

    def simulate(truth: float, rng: np.random.Generator, factor: int) -> claims.Measurement:
        centre = law_centres(net, name, truth)
        centre = centre + (y.mean() - centre.mean())  # the run's mean level of η* (its place on the search grid)
        log_eta, log_cov, kept = [], [] if net.log_cov is not None else None, []
        for c, s in enumerate(seeds):
            thr = np.exp(centre[c] + sigma * rng.standard_normal(s * factor))
            eta = grid.per_seed(thr) if grid is not None else thr
            keep = np.isfinite(eta)
            if not keep.any():
                continue
            log_eta.append(np.log(eta[keep]))
            kept.append(c)
            if log_cov is not None:
                log_cov.append(net.log_cov[c][rng.integers(0, len(net.log_cov[c]), int(keep.sum()))])
        if len(log_eta) < 3:
            return claims.missing("fewer than 3 simulated networks with a finite η*")
        sim = Networks(net.depth[kept], net.width[kept], log_eta, log_cov)
        return sim.measure(name, rng, n_boot)

    return simulate
