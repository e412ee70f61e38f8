"""η* of a network, the one definition used by figures, tables, text and claims, and its bootstrap over seeds.

The Definition (Sec. 2), η*(t, T) = sup{η : max_{τ ≤ T} acc_val(θ_τ(η)) ≥ t}, read on the learning rates the search
tested, with a majority over seeds: η* is the largest tested LR at which more than half of the seeds reach t within
the budget (`majority_eta_star`). Beside it: `first_failure`, the next tested LR above η* (the edge lies in
[η*, first_failure]), and `island`, whether the majority success region is not an interval up to η* (a majority
failure between two majority successes: η* sits on an island above a failure; it is reported, never dropped).

Every statistic of a claim is a function of the networks' log η*; its interval resamples each network's seeds with
replacement and recomputes η* from the resampled seeds' outcomes at the same tested LRs (`Networks.measure`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from replicate import claims

KEYS = ["condition", "depth", "width"]


def majority_eta_star(lrs: np.ndarray, success: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """lrs (n,) increasing, success (…, n, S) bool → η*, first_failure, island, each (…,).

    η*: the largest LR at which more than S/2 seeds succeed (NaN if none); first_failure: the next LR above it (NaN
    if η* is the largest); island: some LR between the smallest majority success and η* fails under the majority."""
    lrs = np.asarray(lrs, float)
    ok, top, any_ok = _majority_top(success)
    n = ok.shape[-1]
    bottom = np.argmax(ok, axis=-1)
    idx = np.arange(n)
    inside = (idx >= bottom[..., None]) & (idx < top[..., None])
    eta = np.where(any_ok, lrs[top], np.nan)
    first_failure = np.where(any_ok & (top < n - 1), lrs[np.minimum(top + 1, n - 1)], np.nan)
    island = any_ok & (inside & ~ok).any(-1)
    return eta, first_failure, island


def _majority_top(success: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Majority success (…, n), index of the largest majority success (…,), whether there is one (…,)."""
    success = np.asarray(success)
    ok = np.count_nonzero(success, axis=-1) * 2 > success.shape[-1]
    top = ok.shape[-1] - 1 - np.argmax(ok[..., ::-1], axis=-1)
    return ok, top, ok.any(-1)


def eta_only(lrs: np.ndarray, success: np.ndarray) -> np.ndarray:
    """η* of `majority_eta_star` alone."""
    _, top, any_ok = _majority_top(success)
    return np.where(any_ok, np.asarray(lrs, float)[top], np.nan)


def resampled_log_eta(lrs: list[np.ndarray], success: list[np.ndarray], picks: list[np.ndarray]) -> np.ndarray:
    """log η* of `majority_eta_star` for every network c and resample b: (B, C); picks[c] (B, S_c) are seed indices
    into success[c] (n_c, S_c).

    The bootstrap's hot path, written out because it runs ~10⁶ times per calibration: a resample's successes per
    LR are its seed multiplicities @ success, an exact integer count, batched over networks (padded LRs never
    succeed) — the same η* as counting each resampled copy, without a Python loop over networks."""
    C, B = len(lrs), len(picks[0])
    n, S = max(len(v) for v in lrs), max(s.shape[1] for s in success)
    hits, grid = np.zeros((C, S, n)), np.full((C, n), np.nan)
    seeds = np.array([s.shape[1] for s in success])
    flat = [(c * B + np.arange(B)[:, None]) * S + pick for c, pick in enumerate(picks)]
    mult = np.bincount(np.concatenate([f.ravel() for f in flat]), minlength=C * B * S).reshape(C, B, S)
    for c, (l, ok) in enumerate(zip(lrs, success)):
        hits[c, : ok.shape[1], : len(l)] = ok.T
        grid[c, : len(l)] = l
    ok = (mult @ hits) * 2 > seeds[:, None, None]  # (C, B, n); counts ≤ S are exact in float64
    top = n - 1 - np.argmax(ok[..., ::-1], axis=-1)
    eta = np.where(ok.any(-1), np.take_along_axis(grid[:, None, :], top[..., None], -1)[..., 0], np.nan)
    return np.log(eta).T


def outcomes(g: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One network's trainings → tested LRs (n,), seeds (S,), success (n, S) (an LR tested twice: the last)."""
    m = g.drop_duplicates(["lr", "seed"], keep="last").pivot(index="lr", columns="seed", values="success")
    m = m.sort_index().fillna(False).astype(bool)
    return m.index.to_numpy(float), m.columns.to_numpy(), m.to_numpy()


def networks(trainings: pd.DataFrame, min_ratio: int = 16) -> pd.DataFrame:
    """One row per searched network: condition, depth, width, dw, eta_star, first_failure, island, status, rounds,
    wide (w ≥ min_ratio·d, the paper's condition (i)), and interval: the search bracketed the edge (status 'ok') and
    the majority success region is an interval up to it (no island)."""
    rows = []
    for (cond, d, w), g in trainings.groupby(KEYS):
        lrs, _, ok = outcomes(g)
        eta, ff, island = majority_eta_star(lrs, ok)
        status = g.status.iloc[0]
        rows.append({"condition": cond, "depth": d, "width": w, "dw": d * w, "eta_star": float(eta),
                     "first_failure": float(ff), "island": bool(island), "status": status,
                     "rounds": int(g["rounds"].iloc[0]), "wide": w >= min_ratio * d,
                     "interval": status == "ok" and not bool(island)})
    return pd.DataFrame(rows, columns=KEYS + ["dw", "eta_star", "first_failure", "island", "status", "rounds", "wide",
                                              "interval"])


# ------------------------------------------------------------------------------------------------------------------
# Statistics of the per-network log η* (last axis: networks), vectorised over leading axes (bootstrap rows)
# ------------------------------------------------------------------------------------------------------------------
def _centred(v: np.ndarray) -> np.ndarray:
    return v - v.mean(-1, keepdims=True)


def slope(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    xc, yc = _centred(np.broadcast_to(x, y.shape)), _centred(y)
    return (xc * yc).sum(-1) / (xc * xc).sum(-1)


def r2(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    xc, yc = _centred(np.broadcast_to(x, y.shape)), _centred(y)
    b = (xc * yc).sum(-1, keepdims=True) / (xc * xc).sum(-1, keepdims=True)
    var = (yc * yc).mean(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(var > 0, 1 - ((yc - b * xc) ** 2).mean(-1) / np.where(var > 0, var, 1), np.nan)


def alpha_minus_beta(log_d: np.ndarray, log_w: np.ndarray, y: np.ndarray) -> np.ndarray:
    """α − β of log y = a + α log d + β log w (least squares)."""
    A = np.column_stack([np.ones_like(log_d), log_d, log_w])
    coef = np.linalg.pinv(A) @ np.moveaxis(y, -1, 0).reshape(len(log_d), -1)
    return (coef[1] - coef[2]).reshape(y.shape[:-1])


def equal_product(dw: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The largest max/min of η* within a group of networks sharing d·w (NaN without such a group)."""
    groups = [np.flatnonzero(dw == v) for v in np.unique(dw)]
    spans = [y[..., g].max(-1) - y[..., g].min(-1) for g in groups if len(g) >= 2]
    return np.exp(np.max(spans, axis=0)) if spans else np.full(y.shape[:-1], np.nan)


def spearman(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    rx, ry = rankdata(np.broadcast_to(x, y.shape), axis=-1), rankdata(y, axis=-1)
    rx, ry = _centred(rx), _centred(ry)
    den = np.sqrt((rx * rx).sum(-1) * (ry * ry).sum(-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (rx * ry).sum(-1) / np.where(den > 0, den, 1), np.nan)


def narrow_offset(log_dw: np.ndarray, wide: np.ndarray, y: np.ndarray) -> np.ndarray:
    """exp of the median over the narrow networks (wide False) of log η* minus the d·w law fitted on the wide ones:
    the factor by which condition (i)'s excluded networks miss the wide networks' law."""
    xw, yw = log_dw[wide], y[..., wide]
    b = slope(xw, yw)
    a = yw.mean(-1) - b * xw.mean()
    return np.exp(np.median(y[..., ~wide] - (a[..., None] + b[..., None] * log_dw[~wide]), axis=-1))


STATISTICS = ("p", "r2", "alpha_minus_beta", "equal", "spearman", "not_inverse", "narrow")


@dataclass(frozen=True)
class Networks:
    """The networks of one measurement: depth, width (C,), per network its tested LRs (n,) and seed outcomes
    (n, S), and optionally a per-seed covariate (log λ1 of the same seeds, (S,))."""

    depth: np.ndarray
    width: np.ndarray
    lrs: list[np.ndarray]
    success: list[np.ndarray]
    log_cov: list[np.ndarray] | None = None
    min_ratio: int = field(default=16)

    @property
    def log_dw(self) -> np.ndarray:
        return np.log(self.depth * self.width)

    @property
    def log_ratio(self) -> np.ndarray:
        return np.log(self.depth / self.width)

    @property
    def wide(self) -> np.ndarray:
        return self.width >= self.min_ratio * self.depth

    def log_eta(self) -> np.ndarray:
        """log η* of every network from all its seeds (NaN where no LR has a majority success)."""
        return np.log(np.array([float(eta_only(l, s)) for l, s in zip(self.lrs, self.success)]))

    def statistic(self, name: str, y: np.ndarray, x: np.ndarray | None = None) -> np.ndarray:
        """`name` of the networks' log η* y (…, C) (x: mean log covariate, for 'spearman', 'not_inverse')."""
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
        if name == "narrow":
            return narrow_offset(self.log_dw, self.wide, y)
        raise ValueError(f"unknown statistic {name!r}")

    def measure(self, name: str, rng: np.random.Generator, n_boot: int, level: float = 0.95,
                method: str = "") -> claims.Measurement:
        """The statistic of the networks' log η* and its percentile interval over `n_boot` resamples of every
        network's seeds (η* recomputed from the resampled seeds at the same tested LRs; covariate seeds jointly).
        Networks without a majority success are left out; fewer than 3 left: not measured."""
        y = self.log_eta()
        keep = np.isfinite(y)
        if keep.sum() < 3:
            return claims.missing(f"{int(keep.sum())} network(s) with a majority success")
        net = self.subset(keep) if not keep.all() else self
        x = np.array([v.mean() for v in net.log_cov]) if net.log_cov is not None else None
        value = float(net.statistic(name, y[keep], x))
        picks = [rng.integers(0, ok.shape[1], (n_boot, ok.shape[1])) for ok in net.success]
        by = resampled_log_eta(net.lrs, net.success, picks)
        bx = np.stack([cov[pick].mean(-1) for cov, pick in zip(net.log_cov, picks)], -1) if x is not None else None
        finite = np.isfinite(by).all(-1)
        boots = net.statistic(name, by[finite], bx[finite] if bx is not None else None)
        boots = boots[np.isfinite(boots)]
        if not math.isfinite(value) or len(boots) < n_boot // 2:
            return claims.missing("statistic not finite")
        lo, hi = np.quantile(boots, [(1 - level) / 2, (1 + level) / 2])
        seeds = sum(s.shape[1] for s in net.success)
        return claims.Measurement(value, min(float(lo), value), max(float(hi), value), seeds,
                                  method or f"η* of {len(net.lrs)} networks (majority of seeds); bootstrap over "
                                  f"seeds within networks, {n_boot} resamples, {level:.0%}", spread=boots - value)

    def subset(self, keep: np.ndarray) -> "Networks":
        idx = np.flatnonzero(keep)
        pick = lambda vs: [vs[i] for i in idx] if vs is not None else None  # noqa: E731
        return Networks(self.depth[idx], self.width[idx], pick(self.lrs), pick(self.success), pick(self.log_cov),
                        self.min_ratio)


def networks_of(trainings: pd.DataFrame, cov: pd.DataFrame | None = None, column: str = "lam1_pre",
                min_ratio: int = 16) -> Networks:
    """`Networks` of one condition's trainings (depth, width, lr, seed, success); cov: a per-seed table (depth,
    width, seed, column) whose seeds are matched to the trainings' (seeds without one dropped)."""
    depth, width, lrs, success, log_cov = [], [], [], [], []
    for (d, w), g in trainings.groupby(["depth", "width"]):
        l, seeds, ok = outcomes(g)
        if cov is not None:
            c = cov[(cov.depth == d) & (cov.width == w)].set_index("seed")[column].reindex(seeds).to_numpy(float)
            has = np.isfinite(c) & (c > 0)
            if not has.any():
                continue
            ok, c = ok[:, has], c[has]
            log_cov.append(np.log(c))
        depth.append(d)
        width.append(w)
        lrs.append(l)
        success.append(ok)
    return Networks(np.array(depth, float), np.array(width, float), lrs, success,
                    log_cov if cov is not None else None, min_ratio)
