"""Fits of per-seed quantities (λ1 at init; the thresholds chapter's λ0) over (depth, width), each with a bootstrap
that resamples seeds within configurations, and the dead ReLUs around η*.

Every fit statistic is a function of the per-configuration means of log y over seeds; `config_bootstrap` redraws the
seeds of every configuration with replacement (jointly for all columns of a row) and recomputes it. η* itself has
one value per network (the majority's, `eta.majority_eta_star`) and its own bootstrap (`eta.Networks.measure`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
from replicate import claims
from replicate.papers.max_initial_lr.eta import networks

KEYS = ["depth", "width"]


def geometric_means(df: pd.DataFrame, y: str) -> pd.DataFrame:
    """Per (depth, width): the geometric mean of y over seeds (finite, positive values), d·w and the seed count."""
    d = df[np.isfinite(df[y]) & (df[y] > 0)]
    g = d.groupby(KEYS)[y].agg(lambda v: float(np.exp(np.log(v).mean())))
    return g.rename(y).reset_index().assign(dw=lambda t: t.depth * t.width)


def _log_means(groups: list[np.ndarray], keys: list[tuple], columns: list[str]) -> pd.DataFrame:
    means = np.array([np.log(g).mean(axis=0) for g in groups])
    out = pd.DataFrame(keys, columns=KEYS).assign(**{c: means[:, i] for i, c in enumerate(columns)})
    return out.assign(dw=out.depth * out.width)


def config_bootstrap(df: pd.DataFrame, columns: list[str], statistic: Callable[[pd.DataFrame], float], *,
                     n_boot: int, seed: int = 0, level: float = 0.95, note: str = "") -> claims.Measurement:
    """statistic(table of per-configuration mean log columns, with depth, width, dw) and its percentile interval
    over `n_boot` resamples of the rows (seeds) within every configuration (with one seed per configuration: of the
    configurations themselves). Rows with a non-finite or non-positive value are dropped first; fewer than 3
    configurations: not measured."""
    ok = np.all([np.isfinite(df[c]) & (df[c] > 0) for c in columns], axis=0)
    d = df[ok]
    grouped = list(d.groupby(KEYS))
    if len(grouped) < 3:
        return claims.missing(f"{len(grouped)} configuration(s) with a finite value")
    keys = [k for k, _ in grouped]
    groups = [g[columns].to_numpy(float) for _, g in grouped]
    value = float(statistic(_log_means(groups, keys, columns)))
    rng = np.random.default_rng(seed)
    single = all(len(g) == 1 for g in groups)  # one seed each: resampling seeds would give no spread at all

    def draw() -> pd.DataFrame:
        if single:
            pick = rng.integers(0, len(groups), len(groups))
            return _log_means([groups[i] for i in pick], [keys[i] for i in pick], columns)
        return _log_means([g[rng.integers(0, len(g), len(g))] for g in groups], keys, columns)

    boots = [statistic(draw()) for _ in range(n_boot)]
    boots = np.asarray(boots, dtype=float)
    boots = boots[np.isfinite(boots)]
    if not math.isfinite(value) or len(boots) < n_boot // 2:
        return claims.missing("statistic not finite")
    lo, hi = np.quantile(boots, [(1 - level) / 2, (1 + level) / 2])
    return claims.Measurement(value, min(float(lo), value), max(float(hi), value), len(d),
                              f"bootstrap over {'networks' if single else 'seeds within'} {len(groups)} (d, w), "
                              f"{n_boot} resamples, {level:.0%}",
                              note, spread=boots - value)


def _lstsq(t: pd.DataFrame, y: str, xs: list[str]) -> tuple[np.ndarray, float]:
    A = np.column_stack([np.ones(len(t))] + [np.log(t[x].to_numpy(float)) for x in xs])
    coef, *_ = np.linalg.lstsq(A, t[y].to_numpy(), rcond=None)
    resid = t[y].to_numpy() - A @ coef
    var = t[y].to_numpy().var()
    return coef, (1 - resid.var() / var) if var > 0 else math.nan


def power_law_stats(y: str) -> dict[str, Callable[[pd.DataFrame], float]]:
    """Statistics of log ȳ = a + p·log(d·w): {'p': p, 'r2': R²}."""
    return {"p": lambda t: _lstsq(t, y, ["dw"])[0][1], "r2": lambda t: _lstsq(t, y, ["dw"])[1]}


def loglog_slope(x: str, y: str) -> Callable[[pd.DataFrame], float]:
    """Slope s of log ȳ = c + s·log x̄ over configurations (x, y already mean logs)."""
    return lambda t: float(np.polyfit(t[x], t[y], 1)[0]) if t[x].nunique() > 1 else math.nan


def _dead_columns(trainings: pd.DataFrame) -> list[str]:
    return sorted((c for c in trainings if c.startswith("dead_")), key=lambda c: int(c.split("_")[1]))


def dead_near_eta_star(trainings: pd.DataFrame) -> pd.DataFrame:
    """Per network and hidden layer: the fraction of dead ReLUs after training (mean over seeds) at η* ('below') and
    at the first failure above it ('above'), η* of `eta.networks`."""
    nets = networks(trainings).set_index(["condition", "depth", "width"])
    rows = []
    for (cond, d, w), g in trainings.groupby(["condition", "depth", "width"]):
        net = nets.loc[(cond, d, w)]
        for where, lr in (("below", net.eta_star), ("above", net.first_failure)):
            at = g[np.isclose(g.lr, lr)] if np.isfinite(lr) else g.iloc[:0]
            for layer, col in enumerate(_dead_columns(g)[:d], start=1):
                rows.append({"condition": cond, "depth": d, "width": w, "dw": d * w, "where": where, "layer": layer,
                             "dead": float(at[col].mean()) if len(at) else math.nan})
    return pd.DataFrame(rows)


def half_dead_lr(trainings: pd.DataFrame) -> pd.DataFrame:
    """Per network: the smallest tested LR at which, for the majority of seeds, some hidden layer has ≥ 50 % dead
    ReLUs (NaN if none did), beside η* (`eta.networks`)."""
    nets = networks(trainings).set_index(["condition", "depth", "width"])
    rows = []
    for (cond, d, w), g in trainings.groupby(["condition", "depth", "width"]):
        worst = g[_dead_columns(g)[:d]].max(axis=1) >= 0.5
        share = worst.groupby(g.lr).mean().sort_index()
        hit = share[share > 0.5]
        rows.append({"condition": cond, "depth": d, "width": w, "dw": d * w, "eta_star": nets.loc[(cond, d, w)].eta_star,
                     "half_dead_lr": float(hit.index[0]) if len(hit) else math.nan})
    return pd.DataFrame(rows)
