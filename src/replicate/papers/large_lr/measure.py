"""From run tables to the claims' measurements (pure functions of tables; the tests feed them synthetic ones).

Every measurement is over seeds (network inits): the per-seed value, then the mean with a Student t interval over
seeds (`seed_mean`); differences between schedules are paired by seed (same init, same batch stream). With 2–3
seeds a percentile bootstrap is the min–max range of the seeds (all resamples at the minimum have probability
1/27 > 2.5 % at n = 3, 1/4 at n = 2), which covers the mean 75 % / 50 % of the time: the t interval is the
confidence interval. The clustered-only accuracies are over 4 distinct points (2 classes × 2 signs), so a seed's
value is k/4: their interval is at least the binomial one of the 4·n point outcomes. Every measurement carries a
simulator (a redraw of its seeds around a true value, for `claims.calibrate`). Which quantity each id measures,
its tolerance and its controls are declared in `replicate.registry.li_wei_ma2019`.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from replicate import claims

from .toy import FIT, first_fit


def _per_seed(df: pd.DataFrame, run: str, col: str, lo: float, hi: float, how: str = "last",
              run_col: str = "run", time: str = "step") -> pd.Series:
    """Per seed: `col` of `run` at the last logged time in [lo, hi] ('last'), or its max / min / mean there."""
    d = df[(df[run_col] == run) & (df[time] >= lo) & (df[time] <= hi)].sort_values(time)
    g = d.groupby("seed_idx")[col]
    return {"last": g.last, "max": g.max, "min": g.min, "mean": g.mean}[how]()


POINTS = 4  # distinct clustered-only points of the binary toy (2 classes × 2 signs)
ACC_RANGE = (0.0, 1.0)  # an accuracy (or a fraction of images)
GAP_RANGE = (-1.0, 1.0)  # a difference of two accuracies


def seed_mean(values, *, points: int | None = None, bounds: tuple[float, float] = (-math.inf, math.inf),
              level: float = 0.95, note: str = "") -> claims.Measurement:
    """The mean over seeds of one per-seed value, with its Student t interval (n − 1 degrees of freedom), clipped
    to the quantity's `bounds`. `points`: the per-seed value is a fraction of that many distinct points (k/points);
    the half-width is then at least the normal one of the n·points binary outcomes, z·√(p(1 − p)/(n·points)) —
    seeds that agree by chance on a 4-point statistic do not make it exact. The simulator redraws n·factor seeds
    around a true value: k ~ Binomial(points, truth) per seed for a point statistic, else the observed seed sd
    (normal, clipped to `bounds`), and applies this same interval."""
    from scipy.stats import norm, t

    x = np.asarray([v for v in np.asarray(values, dtype=float) if np.isfinite(v)])
    n = len(x)
    if n < 2:
        return claims.missing(note or f"{n} finite seed value(s)")
    mean, sd = float(x.mean()), float(x.std(ddof=1))
    q = 1 - (1 - level) / 2
    half = float(t.ppf(q, n - 1)) * sd / math.sqrt(n)
    method = f"Student t over {n} seeds, {level:.0%}"
    if points:
        p = min(max(mean, 0.0), 1.0)
        half = max(half, float(norm.ppf(q)) * math.sqrt(p * (1 - p) / (n * points)))
        method += f"; at least the binomial interval of the {n}×{points} point outcomes"
    lo, hi = max(mean - half, bounds[0]), min(mean + half, bounds[1])

    def redraw(truth: float, rng: np.random.Generator, factor: int) -> claims.Measurement:
        m = n * factor
        if points:
            draws = rng.binomial(points, min(max(truth, 0.0), 1.0), m) / points
        else:
            draws = np.clip(truth + rng.normal(0.0, sd, m), *bounds)
        return seed_mean(draws, points=points, bounds=bounds, level=level)

    return claims.Measurement(mean, min(lo, mean), max(hi, mean), n, method, note, simulator=redraw)


def _mean(values: pd.Series, note: str = "", **kw) -> claims.Measurement:
    return seed_mean(values.to_numpy(dtype=float), note=note, **kw)


def _acc(values: pd.Series, **kw) -> claims.Measurement:
    return _mean(values, bounds=ACC_RANGE, **kw)


def _diff(a: pd.Series, b: pd.Series, note: str = "", **kw) -> claims.Measurement:
    """a − b paired by seed."""
    return _mean((a - b).dropna(), note, **kw)


def _fit_step(runs: pd.DataFrame, run: str, col: str) -> pd.Series:
    """Per unit: the step from which `col` of `run` stays ≥ `toy.FIT` to the run's end (`toy.first_fit`); never
    fitted reads as the run's last step + one log interval (censored: later than any logged step)."""
    d = runs[runs.run == run]
    never = float(d.step.max() + d.step.diff().where(lambda x: x > 0).min())
    return d.groupby("seed_idx").apply(lambda g: min(first_fit(g, col), never), include_groups=False)


def measure_synthetic(runs: pd.DataFrame, anneal_step: int) -> dict[str, claims.Measurement]:
    """runs: `toy.run_synth` rows (columns run, seed_idx = the unit (data draw × init), step, train_loss,
    train_all, train_linear, train_clustered, test_linear, test_clustered, test_mixed). Units are paired across
    runs (same data, init and batch stream); the controls no_q and large_b256 exist for some units only."""
    end = runs.step.max()
    settled = 0.8 * anneal_step  # "fitted" = at every logged step of the last fifth before the anneal
    pre = lambda run, col: _per_seed(runs, run, col, settled, anneal_step, "min")
    fin = lambda run, col: _per_seed(runs, run, col, end, end)
    p = "li2019.synthetic"
    return {
        f"{p}.small-fits-train": _acc(pre("small_lr", "train_all")),
        f"{p}.small-fits-clustered-first": _diff(_fit_step(runs, "small_lr", "train_linear"),
                                                 _fit_step(runs, "small_lr", "train_clustered")),
        f"{p}.large-noise-limited": _diff(pre("large_b256", "train_clustered"), pre("large_lr", "train_clustered"),
                                          bounds=GAP_RANGE),
        f"{p}.large-learns-clustered-later": _diff(_fit_step(runs, "large_lr", "train_clustered"),
                                                   _fit_step(runs, "small_lr", "train_clustered")),
        f"{p}.large-learns-clustered-after": _acc(_per_seed(runs, "large_lr", "test_clustered",
                                                            anneal_step + 0.8 * (end - anneal_step), end, "min"),
                                                  points=POINTS),
        f"{p}.gap-linear": _diff(fin("large_lr", "test_linear"), fin("small_lr", "test_linear"), bounds=GAP_RANGE),
        f"{p}.no-q-linear": _diff(fin("no_q", "test_linear"), fin("small_lr", "test_linear"), bounds=GAP_RANGE),
        f"{p}.gap-mixed": _diff(fin("large_lr", "test_mixed"), fin("small_lr", "test_mixed"), bounds=GAP_RANGE),
    }


def glue_synthetic(rows, runs: pd.DataFrame, cfg) -> dict[str, str]:
    """Glue the numbers the chapter page quotes (myst-nb glue; a no-op without it) and return them: every row's
    value [interval] as the page shows it (`Row.ours`) under "synthetic-<row>", and from the run table the units,
    the median fit steps of P and Q per run, the final P-only test accuracy per run (mean [min, max] over units), the
    per-unit range of the P gap and the count of units where the large LR left Q unfitted before the anneal."""
    from replicate.plots import _glue

    glued = {f"synthetic-{r.claim.id.rsplit('.', 1)[1]}": r.ours for r in rows}
    glued["synthetic-units"] = f"{cfg.data_seeds} data draws × {cfg.init_seeds} inits"
    for run in sorted(set(runs.run)):
        for col, key in (("train_linear", "p"), ("train_clustered", "q")):
            glued[f"synthetic-t-{key}-{run}"] = f"{np.median(_fit_step(runs, run, col)):.0f}"
    end = runs.step.max()
    for run in ("large_lr", "small_lr", "no_q"):
        v = _per_seed(runs, run, "test_linear", end, end)
        glued[f"synthetic-p-{run}"] = f"{v.mean():.3f} [{v.min():.3f}, {v.max():.3f}]" if len(v) else "n/a"
    gap = (_per_seed(runs, "large_lr", "test_linear", end, end) - _per_seed(runs, "small_lr", "test_linear", end, end))
    glued["synthetic-gap-units"] = (f"{100 * gap.min():+.1f} to {100 * gap.max():+.1f} pp, positive in "
                                    f"{int((gap > 0).sum())} of {len(gap)} units") if len(gap) else "n/a"
    anneal = cfg.anneal_step
    q = _per_seed(runs, "large_lr", "train_clustered", 0.8 * anneal, anneal, "min")
    glued["synthetic-q-blocked"] = f"{int((q < FIT).sum())} of {len(q)}"
    for key, text in glued.items():
        _glue(key, text)
    return glued


def measure_patch(runs: pd.DataFrame, anneal_epoch: int) -> dict[str, claims.Measurement]:
    """The official-patch arm. runs: `protocol.run_patch` rows of its schedules (columns epoch, seed_idx,
    schedule and the `patch_metrics` columns). 'Before the anneal' is the epochs 1 … anneal_epoch − 1; the check
    of each precondition is taken after epoch anneal_epoch − 1 (the last at the initial LR). A run that stops
    before the anneal (a preset's `official_epochs`) or lacks a schedule leaves the rows that need it missing."""
    end, last = runs.epoch.max(), anneal_epoch - 1
    at = lambda s, col, lo, hi, how="last": _per_seed(runs, s, col, lo, hi, how, "schedule", "epoch")
    p = "li2019.patch"
    if last < 1:
        return {k: claims.missing("no epoch before the anneal") for k in PATCH_IDS}
    stopped = claims.missing(f"this arm stops after epoch {end}, before the anneal (epoch {anneal_epoch})")
    after = lambda m: m if end >= anneal_epoch else stopped
    return {
        f"{p}.small-fits-train": _acc(at("small_lr", "train_acc", last, last)),
        f"{p}.small-fits-patch-only": _acc(at("small_lr", "train_patch_only_acc", last, last)),
        f"{p}.large-noise-limited": _diff(at("large_lr", "train_loss", math.ceil(last / 2), last, "mean"),
                                          at("small_lr", "train_loss", math.ceil(last / 2), last, "mean")),
        f"{p}.small-memorises-patch": _acc(at("small_lr", "patch_acc", last, last)),
        f"{p}.small-conflict-patch-wins": _acc(at("small_lr", "conflict_patch_wins", last, last)),
        f"{p}.large-ignores-patch": _acc(at("large_lr", "patch_acc", 1, last, "max")),
        f"{p}.large-learns-patch-after": after(_acc(at("large_lr", "patch_acc", end, end))),
        f"{p}.gap-clean": after(_diff(at("large_lr", "clean_acc_final", end, end),
                                      at("small_lr", "clean_acc_final", end, end), bounds=GAP_RANGE)),
        f"{p}.act-noise-helps": after(_diff(at("act_noise", "clean_acc_final", end, end),
                                            at("small_lr", "clean_acc_final", end, end), bounds=GAP_RANGE)
                                      if "act_noise" in set(runs.schedule) else
                                      claims.missing("the act_noise schedule is not run at this scale")),
    }


PATCH_IDS = tuple(f"li2019.patch.{k}" for k in (
    "small-fits-train", "small-fits-patch-only", "large-noise-limited", "small-memorises-patch",
    "small-conflict-patch-wins", "large-ignores-patch", "large-learns-patch-after", "gap-clean", "act-noise-helps"))


def measure_strong(runs: pd.DataFrame, anneal_epoch: int) -> dict[str, claims.Measurement]:
    """The stronger-patch arm (the deviation). runs: `protocol.run_patch` rows of small_lr and large_lr at the
    calibrated ζ. Regime after epoch anneal_epoch − 1; the order row is the paired lag small − large of the
    official patch accuracy there; the claims at the last epoch (the gap on the larger final clean set), all
    paired by init seed."""
    end, last = runs.epoch.max(), anneal_epoch - 1
    at = lambda s, col, lo, hi, how="last": _per_seed(runs, s, col, lo, hi, how, "schedule", "epoch")
    p = "li2019.patch.strong"
    if last < 1 or end < anneal_epoch:
        return {k: claims.missing("no epoch before or after the anneal") for k in STRONG_IDS}
    return {
        f"{p}.small-fits-train": _acc(at("small_lr", "train_acc", last, last)),
        f"{p}.small-memorises-patch": _acc(at("small_lr", "patch_acc", last, last)),
        f"{p}.large-noise-limited": _diff(at("large_lr", "train_loss", math.ceil(last / 2), last, "mean"),
                                          at("small_lr", "train_loss", math.ceil(last / 2), last, "mean")),
        f"{p}.large-lags-patch": _diff(at("small_lr", "patch_acc", last, last), at("large_lr", "patch_acc", last, last),
                                       bounds=GAP_RANGE),
        f"{p}.large-learns-patch-after": _acc(at("large_lr", "patch_acc", end, end)),
        f"{p}.gap-clean": _diff(at("large_lr", "clean_acc_final", end, end),
                                at("small_lr", "clean_acc_final", end, end), bounds=GAP_RANGE),
    }


STRONG_IDS = tuple(f"li2019.patch.strong.{k}" for k in (
    "small-fits-train", "small-memorises-patch", "large-noise-limited", "large-lags-patch",
    "large-learns-patch-after", "gap-clean"))


def crossing_steps(runs: pd.DataFrame, col: str, level: float, by: str = "run") -> pd.DataFrame:
    """Diagnostic: per (run, seed) the first logged step at which `col` ≥ level (inf if never)."""
    rows = [{by: r, "seed_idx": s, "step": float(g.step[g[col] >= level].min()) if (g[col] >= level).any()
             else np.inf} for (r, s), g in runs.groupby([by, "seed_idx"])]
    return pd.DataFrame(rows)


def glue_patch_numbers(rows, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Glue the numbers the chapter page quotes from the patch notebook (myst-nb glue; a no-op without it): each
    claims row's value [interval] as the table shows it (`Row.ours`) under its id without "li2019.", dots as
    hyphens (e.g. "patch-strong-gap-clean"), and `extra` (key → text). Returns what was glued."""
    from replicate.plots import _glue

    glued = {r.claim.id.removeprefix("li2019.").replace(".", "-"): r.ours for r in rows} | (extra or {})
    for key, text in glued.items():
        _glue(key, text)
    return glued
