"""Power-law fits on log–log axes, with a bootstrap interval over seeds."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def power_law(df: pd.DataFrame, x: str, y: str, *, by: list[str] | None = None, n_boot: int = 1000, seed: int = 0,
              level: float = 0.95, average: str = "geometric") -> dict:
    """Least squares log ȳ = a + p·log x over configurations (rows grouped by `by`, default [x]); ȳ is the
    geometric (or, with average="arithmetic", the arithmetic) mean of y over a configuration's seeds: use the
    arithmetic mean when y estimates an expectation, such as E[(Δz)²].

    Rows with non-finite or non-positive y are dropped; R² is that of the configuration-level fit. The interval on p
    resamples the seeds with replacement, independently within every configuration, and refits (central `level`
    range, seeded). NaNs when fewer than 3 distinct x remain.
    """
    if average not in ("geometric", "arithmetic"):
        raise ValueError(f"average must be one of geometric, arithmetic; got {average!r}")
    d = df[np.isfinite(df[y]) & (df[y] > 0)]
    groups = list(d.groupby(by or [x]))
    values = [g[y].to_numpy(float) for _, g in groups]

    def log_mean(v: np.ndarray) -> float:
        return float(np.log(v).mean() if average == "geometric" else np.log(v.mean()))

    logx = np.log(np.array([g[x].iloc[0] for _, g in groups], dtype=float))
    out = {"p": math.nan, "p_lo": math.nan, "p_hi": math.nan, "a": math.nan, "r2": math.nan, "points": len(groups)}
    if len(np.unique(logx)) < 3:
        return out
    means = np.array([log_mean(v) for v in values])
    p, a = np.polyfit(logx, means, 1)
    resid = means - (a + p * logx)
    r2 = 1 - resid.var() / means.var() if means.var() > 0 else math.nan
    rng = np.random.default_rng(seed)
    boots = [np.polyfit(logx, [log_mean(rng.choice(v, size=len(v))) for v in values], 1)[0] for _ in range(n_boot)]
    q = (1 - level) / 2
    return {**out, "p": float(p), "a": float(a), "r2": float(r2), "p_lo": float(np.quantile(boots, q)),
            "p_hi": float(np.quantile(boots, 1 - q))}
