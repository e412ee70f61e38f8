"""The claims' measurements (`replicate.registry.jelassi2023`), as pure functions of the notebooks' tables.

Every interval resamples seeds (networks) within each configuration: exponents through `fits.power_law`,
the width ratio by a two-sample bootstrap of a ratio of means. Tests feed these functions synthetic tables.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from replicate import claims, fits
from replicate.papers.mup_depth.lr_sweep import LRSweepConfig
from replicate.papers.mup_depth.update_size import UpdateSizeConfig, depth_fit, group_exponents


def ratio_of_means(a, b, *, n_boot: int = 2000, seed: int = 0, level: float = 0.95,
                   note: str = "") -> claims.Measurement:
    """mean(a)/mean(b) with a percentile bootstrap that resamples a and b independently (two independent sets
    of networks; `claims.bootstrap` takes one sample, hence this two-sample version)."""
    a, b = (np.asarray(v, dtype=float) for v in (a, b))
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if len(a) < 2 or len(b) < 2:
        return claims.missing(f"{len(a)} and {len(b)} seeds")
    rng = np.random.default_rng(seed)
    boots = rng.choice(a, (n_boot, len(a))).mean(1) / rng.choice(b, (n_boot, len(b))).mean(1)
    q = (1 - level) / 2
    lo, hi = np.quantile(boots, [q, 1 - q])
    value = float(a.mean() / b.mean())
    return claims.Measurement(value, min(float(lo), value), max(float(hi), value), min(len(a), len(b)),
                              f"two-sample percentile bootstrap over seeds, {n_boot} resamples, {level:.0%}", note,
                              spread=boots - value)


def width_ratios(lin: pd.DataFrame, cfg: UpdateSizeConfig, seed: int = 0) -> pd.DataFrame:
    """C_L(n₁)/C_L(n₂) for the `ratio_widths` pair at every depth computed at both (a diagnostic table)."""
    n1, n2 = cfg.ratio_widths[0], cfg.ratio_widths[-1]
    last = lin[lin.layer == lin.L]
    rows = []
    for depth in sorted(set(last[last.n == n1].L) & set(last[last.n == n2].L)):
        m = ratio_of_means(last[(last.n == n1) & (last.L == depth)].C, last[(last.n == n2) & (last.L == depth)].C,
                           n_boot=cfg.bootstrap, seed=seed)
        rows.append({"L": depth, "L/n1": depth / n1, "ratio": m.value, "lo": m.ci_low, "hi": m.ci_high, "seeds": m.n})
    return pd.DataFrame(rows, columns=["L", "L/n1", "ratio", "lo", "hi", "seeds"])


def _from_exponent(f: dict, n: int, scale: float = 1.0, note: str = "") -> claims.Measurement:
    return claims.from_fit({k: scale * f.get(k, math.nan) for k in ("p", "p_lo", "p_hi")}, n, note=note)


def measure_update_size(lin: pd.DataFrame, full: pd.DataFrame, scan: pd.DataFrame, cfg: UpdateSizeConfig,
                        seed: int = 0) -> dict[str, claims.Measurement]:
    """Measurements of the update-size claims from the tables of `update_sizes` (lin, full) and
    `group_width_scan` (scan)."""
    fit_pairs = full[(full.n >= cfg.fit_ratio * full.L)]
    small = fit_pairs[np.isclose(fit_pairs.eta, fit_pairs.eta.min())] if len(fit_pairs) else fit_pairs
    linear = (claims.exact(float((small.M / small.M_linear - 1).abs().max()), n=len(small),
                           method="max over (n, L, seed) with n ≥ fit_ratio·L, exact")
              if len(small) else claims.missing("no (n, L) pair with n ≥ fit_ratio·L"))
    n1, n2 = cfg.ratio_widths[0], cfg.ratio_widths[-1]
    last = lin[(lin.layer == lin.L) & (lin.L == cfg.ratio_depth)]
    exps = group_exponents(scan, cfg, seed).set_index(["lr_table", "group"]) if len(scan) else pd.DataFrame()
    seeds = int(scan.seed.nunique()) if len(scan) else 0

    def group(lr_table: str, name: str) -> claims.Measurement:
        if (lr_table, name) not in exps.index:
            return claims.missing("group not scanned")
        r = exps.loc[(lr_table, name)]
        return _from_exponent({"p": r.exponent, "p_lo": r.lo, "p_hi": r.hi}, seeds)

    return {
        "jelassi.update.linear-limit": linear,
        "jelassi.update.depth-slope": _from_exponent(depth_fit(lin, cfg, cfg.fit_width, seed),
                                                     int(lin[lin.n == cfg.fit_width].seed.nunique()),
                                                     note=f"n = {cfg.fit_width}"),
        "jelassi.update.width-ratio": ratio_of_means(last[last.n == n1].C, last[last.n == n2].C, n_boot=cfg.bootstrap,
                                                     seed=seed, note=f"n = {n1} vs {n2}, L = {cfg.ratio_depth}"),
        "jelassi.update.input-unit-width": group("unit", "input"),
        "jelassi.update.output-unit-width": group("unit", "output"),
        "jelassi.update.hidden-width": group("mean_field", "hidden"),
    }


def coordinate_exponents(coord: pd.DataFrame, x: str, by: str, *, n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Exponent of RMS Δz^(L) ∝ x^p per (parametrization, `by`): half the exponent of M = rms_dz² fitted with
    `fits.power_law` on the arithmetic mean over seeds (M estimates the expectation of eq. 1)."""
    rows = []
    for (p, b), g in coord.assign(M=coord.rms_dz**2).groupby(["parametrization", by]):
        f = fits.power_law(g, x, "M", average="arithmetic", n_boot=n_boot, seed=seed)
        rows.append({"parametrization": p, by: b, "exponent": f["p"] / 2, "lo": f["p_lo"] / 2, "hi": f["p_hi"] / 2,
                     "seeds": g.seed.nunique()})
    return pd.DataFrame(rows, columns=["parametrization", by, "exponent", "lo", "hi", "seeds"])


def linearity(coord: pd.DataFrame) -> pd.DataFrame:
    """Per (width, depth): RMS Δz(μP)/RMS Δz(depth-μP) / L^(3/2) − 1, per seed (0 exactly in the linear regime:
    depth-μP's rates are μP's × L^(−3/2))."""
    key = ["width", "depth", "seed"]
    m = coord[coord.parametrization == "mup"].set_index(key).rms_dz
    d = coord[coord.parametrization == "depth_mup"].set_index(key).rms_dz
    both = pd.concat({"mup": m, "depth_mup": d}, axis=1).dropna().reset_index()
    return both.assign(deviation=both.mup / both.depth_mup / both.depth**1.5 - 1)


def measure_lr_sweep(coord: pd.DataFrame, opt: pd.DataFrame, cfg: LRSweepConfig,
                     seed: int = 0) -> dict[str, claims.Measurement]:
    """Measurements of the lr-sweep claims from the coordinate grid and the per-seed optima (`optimal_lrs`)."""
    lin = linearity(coord) if {"mup", "depth_mup"} <= set(coord.parametrization) else pd.DataFrame()
    regime = (claims.exact(float(lin.deviation.abs().max()), n=len(lin), method="max over (n, L, seed), exact")
              if len(lin) else claims.missing("μP and depth-μP both needed"))
    mup = coord[coord.parametrization == "mup"]
    pooled = fits.power_law(mup.assign(M=mup.rms_dz**2), "depth", "M", by=["width", "depth"], average="arithmetic",
                            n_boot=cfg.bootstrap, seed=seed) if len(mup) else {"p": math.nan}
    by_depth = coordinate_exponents(mup, "width", "depth", n_boot=cfg.bootstrap, seed=seed)
    l_deepest = max(cfg.coord_depths)

    def row(table: pd.DataFrame, col: str, at: int, note: str) -> claims.Measurement:
        r = table[table[col] == at]
        if not len(r):
            return claims.missing("not measured")
        r = r.iloc[0]
        return claims.from_fit({"p": r.exponent, "p_lo": r.lo, "p_hi": r.hi}, int(r.seeds), note=note)

    o = opt[opt.parametrization == "mup"] if len(opt) else opt
    interior = (claims.exact(float(o.interior.mean()), n=len(o), method="fraction of per-seed optima, exact",
                             note=f"{int(o.interior.sum())}/{len(o)} inside the grid")
                if len(o) else claims.missing("no μP run trained"))
    inside = o[o.interior] if len(o) else o
    fit = (fits.power_law(inside, "depth", "lr_opt", n_boot=cfg.bootstrap, seed=seed) if len(inside)
           else {"p": math.nan})
    return {
        "jelassi.coord.linear-regime": regime,
        "jelassi.coord.mup-depth-exponent": _from_exponent(pooled, int(mup.seed.nunique()), 0.5,
                                                           note=f"n ∈ {set(cfg.coord_widths)}") if len(mup)
        else claims.missing("μP not in the coordinate check"),
        "jelassi.coord.mup-width-exponent": row(by_depth, "depth", l_deepest, f"L = {l_deepest}"),
        "jelassi.sweep.optima-interior": interior,
        "jelassi.sweep.mup-optimum-exponent": claims.from_fit(fit, int(o.seed.nunique()) if len(o) else 0,
                                                              note=f"width {cfg.width}"),
    }


def glue_numbers(rows, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Glue the numbers the chapter page quotes, so that it quotes the run's own (myst-nb glue; a no-op without
    it): each claims row's value [interval] as the page shows it (`Row.ours`) under its id without the "jelassi."
    prefix, dots as hyphens (e.g. "coord-mup-depth-exponent"), and `extra` (key → text). Returns what was glued."""
    from replicate.plots import _glue

    glued = {r.claim.id.removeprefix("jelassi.").replace(".", "-"): r.ours for r in rows}
    glued.update(extra or {})
    for key, text in glued.items():
        _glue(key, text)
    return glued
