"""From phase tables to the chapter's measurements: phase brackets, the fall of λ_final, accuracy at fixed τ.

Every function takes the tidy phase table of a notebook (one row per group × learning rate, with columns
`phase` and `lam_final_ratio` = λ_final/λ0), so the tests can feed synthetic tables. Intervals are over seeds:
a grid bracket [last point of one phase, first of the next] over every (width, seed), or a bootstrap that
resamples (width, seed) groups.
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


def bracket(b: pd.DataFrame, lo: str, hi: str, scale: float = 1.0) -> claims.Measurement:
    """The boundary over every group: the median midpoint, with the interval [min of `lo`, max of `hi`] (the grid
    bracket widened over seeds and widths), × `scale`."""
    if not len(b) or b[[lo, hi]].isna().any(axis=None):
        return claims.missing(f"no bracket in {int(b[[lo, hi]].isna().any(axis=1).sum())} of {len(b)} groups")
    mid = float(((b[lo] + b[hi]) / 2).median())
    return claims.Measurement(scale * mid, scale * float(b[lo].min()), scale * float(b[hi].max()), len(b),
                              "grid bracket [last of one phase, first of the next], widened over seeds")


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


def measure_uv_model(df: pd.DataFrame, peak_at: float = 3.0, peak_width: int = 1000) -> dict[str, claims.Measurement]:
    """The uv-model notebook's measurements from `uv.simulate_uv`'s table."""
    b = brackets(df)
    at = df[np.isclose(df.eta_lam0, peak_at) & (df.phase == "catapult")]
    fit = fits.power_law(at, "n", "peak_loss_ratio")
    return {
        "lewkowycz.uv.brackets-found": bracket_found(b),
        "lewkowycz.uv.lazy-catapult": bracket(b, "last_lazy", "first_catapult"),
        "lewkowycz.uv.catapult-divergent": bracket(b, "last_converged", "first_divergent"),
        "lewkowycz.uv.lambda-below-lazy": lambda_below_lazy(df),
        "lewkowycz.uv.lambda-falls-with-eta": lambda_rank_correlation(df),
        "lewkowycz.uv.peak-loss": claims.bootstrap(at[at.n == peak_width].peak_loss_ratio, np.median),
        "lewkowycz.uv.peak-loss-exponent": claims.from_fit(fit, n=int(at.seed.nunique())),
    }


def accuracy_gap(df: pd.DataFrame, by: tuple[str, ...] = ("width", "seed")) -> claims.Measurement:
    """Mean over groups of (best test accuracy of catapult runs − best of lazy runs) at fixed physical time τ,
    in percentage points; bootstrap over groups. The paper: the best accuracy lies in the catapult phase."""
    per = []
    for _, g in df.groupby(list(by)):
        lazy, cat = g[g.phase == "lazy"].acc_tau.dropna(), g[g.phase == "catapult"].acc_tau.dropna()
        if len(lazy) and len(cat):
            per.append(100 * float(cat.max() - lazy.max()))
    return claims.bootstrap(per, np.mean, note="groups with lazy and catapult runs")


def measure_relu_networks(phases: pd.DataFrame) -> dict[str, claims.Measurement]:
    """The ReLU notebook's measurements from `relu.relu_phases`'s table (x = η/η_crit); the onset and η_max at
    the widest width, the curvature and accuracy claims over every (width, seed)."""
    by = ("width", "seed")
    b = brackets(phases, x="factor", by=by)
    widest = b[b.width == b.width.max()]
    return {
        "lewkowycz.relu.brackets-found": bracket_found(b),
        "lewkowycz.relu.onset": bracket(widest, "last_lazy", "first_catapult"),
        "lewkowycz.relu.eta-max": bracket(widest, "last_converged", "first_divergent", scale=2.0),
        "lewkowycz.relu.lambda-below-lazy": lambda_below_lazy(phases, x="factor", by=by),
        "lewkowycz.relu.lambda-falls-with-eta": lambda_rank_correlation(phases, x="factor", by=by),
        "lewkowycz.relu.accuracy-physical-time": accuracy_gap(phases, by=by),
    }
