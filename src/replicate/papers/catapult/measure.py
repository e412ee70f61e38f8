"""From phase tables to the chapter's measurements: phase boundaries, η·λ_final at the stability edge, accuracy at
fixed τ.

Every function takes the tidy phase table of a notebook (one row per group × learning rate, with columns
`phase` and `lam_final_ratio` = λ_final/λ0), so the tests can feed synthetic tables. Intervals are confidence
intervals over the independent units: a boundary is the mean over seeds (equal weight per width) of each seed's
grid-bracket midpoint, with a Student-t interval over seeds (stratified by width) and the grid's resolution (the
mean bracket half-width) added on both sides; the claims over (width, seed) groups take a Student-t interval over
groups (at 2–4 groups a percentile bootstrap covers far less than 95 %), the peak loss a bootstrap of its median on
the log scale, and the diagnostics a bootstrap over groups. Each claim's Measurement carries the simulator its
calibration redraws it with.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from replicate import claims, fits

CONVERGED = ("lazy", "catapult")


def brackets(df: pd.DataFrame, x: str = "eta_lam0", by: tuple[str, ...] = ("n", "seed")) -> pd.DataFrame:
    """Per group: last_lazy (largest lazy x below the first catapult), first_catapult, last_converged (largest
    lazy or catapult x below the first divergent), first_divergent, and the midpoints lazy_catapult and
    catapult_divergent. Unconverged runs take no part; a missing end is NaN."""
    out = []
    for keys, g in df.groupby(list(by)):
        xs, ph = g[x].to_numpy(float), g["phase"].to_numpy()
        first_cat = xs[ph == "catapult"].min() if (ph == "catapult").any() else np.nan
        lazy = xs[(ph == "lazy") & (xs < first_cat)]
        first_div = xs[ph == "divergent"].min() if (ph == "divergent").any() else np.nan
        conv = xs[np.isin(ph, CONVERGED) & (xs < first_div)]
        row = {**dict(zip(by, keys if isinstance(keys, tuple) else (keys,))),
               "last_lazy": lazy.max() if len(lazy) else np.nan, "first_catapult": first_cat,
               "last_converged": conv.max() if len(conv) else np.nan, "first_divergent": first_div}
        row["lazy_catapult"] = (row["last_lazy"] + first_cat) / 2
        row["catapult_divergent"] = (row["last_converged"] + first_div) / 2
        out.append(row)
    return pd.DataFrame(out)


def bracket_found(b: pd.DataFrame) -> claims.Measurement:
    """Fraction of groups in which both phase boundaries are bracketed by the grid (a property of our run)."""
    ends = ["last_lazy", "first_catapult", "last_converged", "first_divergent"]
    if not len(b):
        return claims.missing("no runs")
    ok = int(b[ends].notna().all(axis=1).sum())
    return claims.exact(ok / len(b), n=len(b), method="exact (every width and seed)", note=f"{ok}/{len(b)} groups")


def _strata_t(groups: list[np.ndarray], level: float = 0.95) -> tuple[float, float]:
    """Mean over strata of each stratum's mean, and the Student-t half-width of that mean (se² = Σ s_w²/n_w / W²,
    df = Σ(n_w − 1)); a stratum of one unit adds no variance term and no degree of freedom."""
    from scipy.stats import t

    value = float(np.mean([g.mean() for g in groups]))
    var = sum(g.var(ddof=1) / len(g) for g in groups if len(g) > 1) / len(groups) ** 2
    df = sum(len(g) - 1 for g in groups)
    return value, (float(t.ppf(0.5 + level / 2, df)) * float(np.sqrt(var)) if df > 0 else np.inf)


def t_mean(samples, note: str = "", level: float = 0.95) -> claims.Measurement:
    """Mean over independent units (groups) with the Student-t interval: exact for normal units, and honest where a
    percentile bootstrap is not (at 2–4 units it covers the mean far less than 95 % of the time). Calibration
    redraws `factor`× the units from a normal with the units' own s.d. around the true mean."""
    x = np.asarray([v for v in samples if np.isfinite(v)], dtype=float)
    if len(x) < 2:
        return claims.missing(f"{len(x)} finite sample(s)")
    value, half = _strata_t([x], level)
    sd = float(x.std(ddof=1))
    method = f"mean over groups, Student-t {level:.0%} (df = {len(x) - 1})"

    def redraw(truth: float, rng: np.random.Generator, factor: int) -> claims.Measurement:
        v, h = _strata_t([rng.normal(truth, sd, len(x) * factor)], level)
        return claims.Measurement(v, v - h, v + h, len(x) * factor, method)

    return claims.Measurement(value, value - half, value + half, len(x), method, note, simulator=redraw)


def boundary(b: pd.DataFrame, lo: str, hi: str, scale: float = 1.0, width: str = "n", grid=None,
             level: float = 0.95) -> claims.Measurement:
    """A phase boundary with a confidence interval over seeds, × `scale`.

    Each group's boundary is its bracket midpoint (`lo` + `hi`)/2; the value is the mean over widths of the mean
    over seeds (each width weighs the same). The interval is the Student-t interval of that mean over seeds
    (stratified by width), widened on both sides by the grid's resolution: the mean bracket half-width, the
    largest error the grid's quantisation can put into a mean of midpoints. A min–max range over seeds would only
    widen with more seeds; this interval narrows to the resolution.

    Calibration redraws `factor`× the seeds of each width: each seed's boundary from a normal with that width's
    seed-to-seed s.d. (and its shift from the mean) around the true boundary, bracketed on `grid` (the run's grid of
    x; without it, the observed resolution is kept), then the same estimator and interval."""
    if not len(b) or b[[lo, hi]].isna().any(axis=None):
        return claims.missing(f"no bracket in {int(b[[lo, hi]].isna().any(axis=1).sum())} of {len(b)} groups")
    mid = ((b[lo] + b[hi]) / 2).to_numpy(float)
    half = float(((b[hi] - b[lo]) / 2).mean())
    groups = [mid[b[width].to_numpy() == w] for w in sorted(b[width].unique())]
    if all(len(g) < 2 for g in groups):
        return claims.missing(f"one seed per width ({len(b)} groups): no interval over seeds")
    value, h = _strata_t(groups, level)
    sds = [float(g.std(ddof=1)) if len(g) > 1 else 0.0 for g in groups]
    offsets = [g.mean() - value for g in groups]  # each width's own finite-width shift, kept in the redraw
    xs = None if grid is None else np.unique(np.asarray(grid, dtype=float))
    method = (f"mean of bracket midpoints over seeds (widths weighted equally); Student-t {level:.0%} over seeds "
              f"± the grid resolution {scale * half:.3g} (mean bracket half-width)")

    def bracketed(true: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if xs is None:
            return true, np.full_like(true, half)
        i = np.clip(np.searchsorted(xs, true, side="right"), 1, len(xs) - 1)  # xs[i-1] ≤ true < xs[i], clamped
        return (xs[i - 1] + xs[i]) / 2, (xs[i] - xs[i - 1]) / 2

    def redraw(truth: float, rng: np.random.Generator, factor: int) -> claims.Measurement:
        sim = [bracketed(rng.normal(truth / scale + off, sd, len(g) * factor)) for g, off, sd in
               zip(groups, offsets, sds)]
        v, hh = _strata_t([m for m, _ in sim], level)
        r = float(np.mean(np.concatenate([q for _, q in sim])))
        return claims.Measurement(scale * v, scale * (v - hh - r), scale * (v + hh + r), len(b) * factor, method)

    return claims.Measurement(scale * value, scale * (value - h - half), scale * (value + h + half), len(b), method,
                              f"{len(b)} (width, seed) groups", simulator=redraw)


def median_ratio(ratios, note: str = "") -> claims.Measurement:
    """Median of a positive ratio (peak loss / L0) with the percentile bootstrap of the median, computed on the log
    scale (the seed-to-seed spread is multiplicative); calibration rescales the bootstrap's log deviations around
    the true ratio, so a true ratio 10× smaller has a 10× smaller interval (not the same additive one)."""
    x = np.asarray([v for v in ratios if np.isfinite(v) and v > 0], dtype=float)
    m = claims.bootstrap(np.log(x), np.median, note=note)
    if not m.measured:
        return m
    lo, hi, spread = m.ci_low - m.value, m.ci_high - m.value, m.spread
    method = m.method + ", of the median on the log scale"

    def redraw(truth: float, rng: np.random.Generator, factor: int) -> claims.Measurement:
        shrink = 1 / np.sqrt(factor)
        v = np.log(truth) + float(rng.choice(spread)) * shrink
        return claims.Measurement(float(np.exp(v)), float(np.exp(v + lo * shrink)), float(np.exp(v + hi * shrink)),
                                  m.n * factor, method)

    return claims.Measurement(float(np.exp(m.value)), float(np.exp(m.ci_low)), float(np.exp(m.ci_high)), m.n, method,
                              note, simulator=redraw)


def lambda_below_lazy(df: pd.DataFrame, x: str = "eta_lam0", by: tuple[str, ...] = ("n", "seed")) -> claims.Measurement:
    """Median over groups of (median over catapult runs of λ_final) / λ_final of the group's largest lazy run.

    The lazy run carries whatever drift λ has without a catapult (finite width), so a value below 1 is the
    catapult's own flattening. Bootstrap over groups."""
    per = []
    for _, g in df.groupby(list(by)):
        lazy, cat = g[g.phase == "lazy"], g[g.phase == "catapult"].dropna(subset=["lam_final_ratio"])
        if len(lazy) and len(cat):
            ref = lazy.loc[lazy[x].idxmax(), "lam_final_ratio"]
            per.append(float(cat["lam_final_ratio"].median() / ref))
    return claims.bootstrap(per, np.median, note="groups with lazy and catapult runs")


def lambda_rank_correlation(df: pd.DataFrame, x: str = "eta_lam0", by: tuple[str, ...] = ("n", "seed")
                            ) -> claims.Measurement:
    """Mean over groups of Spearman's ρ between η and λ_final over the group's catapult runs (≥ 3 of them,
    λ_final not constant);
    bootstrap over groups. The paper's λ_final < 2/η makes λ_final fall with η: ρ → −1."""
    per = []
    for _, g in df.groupby(list(by)):
        cat = g[g.phase == "catapult"].dropna(subset=["lam_final_ratio"])
        if len(cat) >= 3 and cat["lam_final_ratio"].nunique() > 1:  # ρ is undefined for a constant λ_final
            per.append(float(spearmanr(cat[x], cat["lam_final_ratio"]).statistic))
    return claims.bootstrap(per, np.mean, note="groups with ≥ 3 catapult runs")


def eta_lam_final_below_two(df: pd.DataFrame) -> claims.Measurement:
    """Diagnostic (follows from convergence): fraction of converged catapult runs with η·λ_final < 2."""
    cat = df[(df.phase == "catapult")].dropna(subset=["eta_lam_final"])
    return claims.fraction(int((cat.eta_lam_final < 2).sum()), len(cat))


def eta_lam_final_edge(df: pd.DataFrame, by: tuple[str, ...] = ("n", "seed")) -> claims.Measurement:
    """The stability edge reached: per group, the largest η·λ_final among its catapult runs; the mean over groups,
    Student-t interval over groups.

    The paper: λ_final < 2/η in the catapult phase, with λ_final → λ0 = 2/η at the window's lower end, so the
    largest η·λ_final sits just below 2. Convergence forces only the upper side (< 2); the value is what can fail:
    an η off by ×2 (η·λ_final < 1 in the stated η) or a catapult that lands far below the edge."""
    cat = df[df.phase == "catapult"].dropna(subset=["eta_lam_final"])
    per = cat.groupby(list(by)).eta_lam_final.max()
    return t_mean(per.to_numpy(float), note=f"{len(per)} groups with catapult runs")


def measure_uv_model(df: pd.DataFrame, peak_at: float = 3.0, peak_width: int = 1000) -> dict[str, claims.Measurement]:
    """The uv-model notebook's measurements from `uv.simulate_uv`'s table."""
    b = brackets(df)
    at = df[np.isclose(df.eta_lam0, peak_at) & (df.phase == "catapult")]
    fit = fits.power_law(at, "n", "peak_loss_ratio")
    return {
        "lewkowycz.uv.brackets-found": bracket_found(b),
        "lewkowycz.uv.lazy-catapult": boundary(b, "last_lazy", "first_catapult", grid=df.eta_lam0),
        "lewkowycz.uv.catapult-divergent": boundary(b, "last_converged", "first_divergent", grid=df.eta_lam0),
        "lewkowycz.uv.eta-lam-final-edge": eta_lam_final_edge(df),
        "lewkowycz.uv.lambda-below-lazy": lambda_below_lazy(df),
        "lewkowycz.uv.lambda-falls-with-eta": lambda_rank_correlation(df),
        "lewkowycz.uv.peak-loss": median_ratio(at[at.n == peak_width].peak_loss_ratio),
        "lewkowycz.uv.peak-loss-exponent": claims.from_fit(fit, n=int(at.seed.nunique())),
    }


def accuracy_gap(df: pd.DataFrame, by: tuple[str, ...] = ("width", "seed")) -> claims.Measurement:
    """Mean over groups of (best test accuracy of catapult runs − best of lazy runs) at fixed physical time τ,
    in percentage points; Student-t interval over groups. The paper: the best accuracy lies in the catapult phase."""
    per = []
    for _, g in df.groupby(list(by)):
        lazy, cat = g[g.phase == "lazy"].acc_tau.dropna(), g[g.phase == "catapult"].acc_tau.dropna()
        if len(lazy) and len(cat):
            per.append(100 * float(cat.max() - lazy.max()))
    return t_mean(per, note=f"{len(per)} groups with lazy and catapult runs")


def measure_relu_networks(phases: pd.DataFrame) -> dict[str, claims.Measurement]:
    """The ReLU notebook's measurements from `relu.relu_phases`'s table (x = η/η_crit); the onset and η_max at
    the widest width (over its seeds), the curvature and accuracy rows over every (width, seed)."""
    by = ("width", "seed")
    b = brackets(phases, x="factor", by=by)
    widest = b[b.width == b.width.max()]
    return {
        "lewkowycz.relu.brackets-found": bracket_found(b),
        "lewkowycz.relu.onset": boundary(widest, "last_lazy", "first_catapult", width="width", grid=phases.factor),
        "lewkowycz.relu.eta-max": boundary(widest, "last_converged", "first_divergent", scale=2.0, width="width",
                                           grid=phases.factor),
        "lewkowycz.relu.eta-lam-final-edge": eta_lam_final_edge(phases, by=by),
        "lewkowycz.relu.lambda-below-lazy": lambda_below_lazy(phases, x="factor", by=by),
        "lewkowycz.relu.lambda-falls-with-eta": lambda_rank_correlation(phases, x="factor", by=by),
        "lewkowycz.relu.accuracy-physical-time": accuracy_gap(phases, by=by),
    }
