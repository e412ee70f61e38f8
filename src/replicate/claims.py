"""Claims: declared before the run, judged from an interval, never typed into a notebook.

A `Claim` is a registry entry (`replicate.registry.<chapter>`): the paper's statement and where it stands,
the quantity we measure, the tolerance [lo, hi] with its source ("paper" or "ours") and reason, the
preconditions it needs, and the resolution its number is shown at. A `Measurement` is what a run
gives: a value with an interval over seeds or networks, its method and n. `judge` turns the two into rows:

    a required precondition not met, or nothing measured  → not testable at this scale
    the test cannot decide (power < 0.8 or false-pass > 0.1) → underpowered (with the design that would decide)
    lo ≤ ci_low and ci_high ≤ hi                           → reproduced
    inside the looser `partly` band (stated with a reason)  → partly
    interval disjoint from [lo, hi]                        → not reproduced
    otherwise (the interval straddles an edge)             → inconclusive

Calibration (`calibrate`): every claim declares the value its quantity has if the paper is right (`expect`, the
positive control) and the value under a named rival (`rival`, `rival_name`, the negative control: the rival
exponent, the mechanism removed, a plausible bug). The run's own measurement is re-drawn `REPLICATES` times
around each of them with the noise the run has (its bootstrap distribution, its binomial count, or a simulator
the chapter supplies) and judged with the same interval rule: `power` = P(reproduced | expect), `false_pass` =
P(reproduced | rival). A diagnostic (kind="diagnostic") is a row implied by another row or by the run's own
definition (convergence): it is shown, never judged or counted.

A precondition is judged the same way about our own run and reads met / not met / unclear / not measured
(or not testable, when it needs another precondition that is not met); a claim runs only when every
precondition it requires is *met*.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import ndtri

from replicate.results import write_table
from replicate.runtime import provenance

VERDICTS = ("reproduced", "partly", "inconclusive", "not reproduced", "underpowered", "not testable at this scale")
CHECKS = ("met", "unclear", "not met", "underpowered", "not measured", "not testable at this scale")
KINDS = ("claim", "precondition", "diagnostic")
POWER, FALSE_PASS = 0.8, 0.1  # a verdict only where P(pass | paper) ≥ 0.8 and P(pass | rival) ≤ 0.1
REPLICATES = 400  # simulated replicates per control: a power of 0.8 is estimated to ±0.04 (95 %)
DESIGN_FACTORS = (2, 4, 8, 16, 32)  # the larger designs tried when a test cannot decide at the scale run
SOURCES = ("paper", "ours")
COLORS = {"reproduced": "#1b7837", "partly": "#7fbc41", "inconclusive": "#b8860b", "not reproduced": "#b2182b",
          "not testable at this scale": "#6a6a6a", "met": "#1b7837", "unclear": "#b8860b", "not met": "#b2182b",
          "not measured": "#6a6a6a", "underpowered": "#8c6bb1", "diagnostic": "#4d4d4d"}


@dataclass(frozen=True)
class Claim:
    """One declared claim (or, with kind="precondition", a check on our own run's regime).

    id: stable, "<paper>.<topic>.<what>"; paper: the paper's statement and where it stands ("Thm 1; Fig. 2");
    quantity: what we measure; tol: [lo, hi] (±inf for one-sided); source: "paper" or "ours"; reason: why
    this tolerance; resolution: the display step of value and interval (coarser than the seed-to-seed
    spread, so that the printed, nbval-checked number survives another CPU); requires: ids of preconditions;
    notebook: the notebook that measures it; partly: a looser band, only with `partly_reason`.
    expect: the quantity's value if the paper (for a precondition: the regime we assume) is right; rival,
    rival_name: its value under the named rival the row must tell apart; controls: how both were chosen.
    A diagnostic declares neither and is never judged. rerun_rtol: the relative tolerance `rerun.compare` allows
    a value with no sampling interval whose float-path noise is measured to be larger than rounding (a ratio of
    differences of tiny steps), stated in the registry's history. chaotic: the value is made of threshold events of
    chaotic trainings (η* of large-LR runs), so a rerun on another float path is a fresh draw of the seeds' training
    noise and `rerun.compare` compares it as a second estimate (the reason in the registry's history).
    """

    id: str
    notebook: str
    paper: str
    quantity: str
    tol: tuple[float, float]
    source: str
    reason: str
    resolution: float
    requires: tuple[str, ...] = ()
    kind: str = "claim"
    partly: tuple[float, float] | None = None
    partly_reason: str = ""
    unit: str = ""
    expect: float = math.nan
    rival: float = math.nan
    rival_name: str = ""
    controls: str = ""
    rerun_rtol: float = math.nan  # a value with no sampling interval that is ill-conditioned: its rerun tolerance
    chaotic: bool = False  # a rerun is a fresh draw of its training noise: compared as a second estimate

    def __post_init__(self):
        lo, hi = self.tol
        if not lo <= hi or (math.isinf(lo) and math.isinf(hi)):
            raise ValueError(f"{self.id}: tolerance must be lo ≤ hi with one finite end; got {self.tol}")
        if self.source not in SOURCES:
            raise ValueError(f"{self.id}: source must be one of {SOURCES}; got {self.source!r}")
        if self.kind not in KINDS:
            raise ValueError(f"{self.id}: kind must be one of {KINDS}; got {self.kind!r}")
        if not self.reason.strip():
            raise ValueError(f"{self.id}: every tolerance needs its reason")
        if not self.resolution > 0:
            raise ValueError(f"{self.id}: resolution must be > 0; got {self.resolution}")
        if self.partly is not None and not (self.partly[0] <= lo and hi <= self.partly[1] and self.partly_reason):
            raise ValueError(f"{self.id}: a partly band must contain the tolerance and state its reason")
        if self.kind != "diagnostic" and not (math.isfinite(self.expect) and math.isfinite(self.rival)
                                              and self.rival_name.strip()):
            raise ValueError(f"{self.id}: a claim or precondition declares its controls (expect, rival, rival_name)")
        if self.kind == "diagnostic" and self.requires:
            raise ValueError(f"{self.id}: a diagnostic is shown, not judged: it requires nothing")

    @property
    def tolerance_text(self) -> str:
        lo, hi = self.tol
        if math.isinf(lo):
            text = f"≤ {hi:g}"
        elif math.isinf(hi):
            text = f"≥ {lo:g}"
        else:
            text = f"[{lo:g}, {hi:g}]"
        return f"{text}{(' ' + self.unit) if self.unit else ''} ({self.source})"


@dataclass(frozen=True)
class Registry:
    """The declared claims of one chapter, in the order their tables show them."""

    chapter: str
    title: str
    claims: tuple[Claim, ...]
    history: str = ""  # changes to a tolerance after it was declared, each with its reason
    tables: Mapping[str, tuple] = field(default_factory=dict)  # notebook → its key `rerun.Table`s, compared on rerun

    def __post_init__(self):
        ids = [c.id for c in self.claims]
        if len(set(ids)) != len(ids):
            raise ValueError(f"{self.chapter}: duplicate claim ids")
        seen: set[str] = set()
        for c in self.claims:
            missing = [r for r in c.requires if r not in seen]
            if missing:
                raise ValueError(f"{c.id}: requires {missing}, which must be preconditions declared before it")
            if c.kind == "precondition":
                seen.add(c.id)

    def __getitem__(self, claim_id: str) -> Claim:
        return next(c for c in self.claims if c.id == claim_id)

    def for_notebook(self, notebook: str) -> list[Claim]:
        return [c for c in self.claims if c.notebook == notebook]

    def table(self) -> pd.DataFrame:
        return pd.DataFrame([{"id": c.id, "kind": c.kind, "notebook": c.notebook, "paper": c.paper,
                              "quantity": c.quantity, "tolerance": c.tolerance_text, "reason": c.reason,
                              "partly": "" if c.partly is None else f"[{c.partly[0]:g}, {c.partly[1]:g}]: "
                              f"{c.partly_reason}", "resolution": c.resolution, "requires": ", ".join(c.requires),
                              "expect": c.expect, "rival": c.rival, "rival_name": c.rival_name,
                              "controls": c.controls}
                             for c in self.claims])


@dataclass(frozen=True)
class Measurement:
    """A measured value with its interval (over seeds or networks), n and the method of the interval.

    For calibration a measurement also carries its noise: `spread`, the estimator's deviations from `value` over
    the interval's resamples (a bootstrap's replicates minus the value), or `simulator(truth, rng, factor)`, a
    redraw of the whole measurement (estimator and interval) whose true quantity is `truth`, with `factor`× the
    independent units. Without either, the noise is read off the interval (normal, sd = width / 3.92).
    """

    value: float
    ci_low: float
    ci_high: float
    n: int
    method: str
    note: str = ""
    spread: np.ndarray | None = field(default=None, compare=False, repr=False)
    simulator: Callable[[float, np.random.Generator, int], "Measurement"] | None = field(
        default=None, compare=False, repr=False)

    def __post_init__(self):
        finite = [math.isfinite(v) for v in (self.value, self.ci_low, self.ci_high)]
        if all(finite) and not self.ci_low <= self.value <= self.ci_high:
            raise ValueError(f"interval [{self.ci_low}, {self.ci_high}] does not contain {self.value}")

    @property
    def measured(self) -> bool:
        return math.isfinite(self.ci_low) and math.isfinite(self.ci_high) and math.isfinite(self.value)


def missing(why: str = "nothing measured") -> Measurement:
    """No measurement at this scale (a point failed, too few configurations): the claim is not testable."""
    return Measurement(math.nan, math.nan, math.nan, 0, "none", why)


def exact(value: float, n: int = 1, method: str = "exact (deterministic computation)", note: str = "") -> Measurement:
    """A number with no sampling error (a closed form, a float64 identity): the interval is the point."""
    v = float(value)
    return Measurement(v, v, v, n, method, note) if math.isfinite(v) else missing(note or "not finite")


def bootstrap(samples: Sequence[float], statistic: Callable[[np.ndarray], float] = np.mean, *, n_boot: int = 2000,
              level: float = 0.95, seed: int = 0, note: str = "") -> Measurement:
    """statistic(samples) with the percentile bootstrap interval (`n_boot` resamples, seeded). Fewer than 2
    finite samples: not measured."""
    x = np.asarray([s for s in samples if np.isfinite(s)], dtype=float)
    if len(x) < 2:
        return missing(f"{len(x)} finite sample(s)")
    rng = np.random.default_rng(seed)
    boots = np.array([statistic(x[rng.integers(0, len(x), len(x))]) for _ in range(n_boot)])
    q = (1 - level) / 2
    lo, hi = np.quantile(boots, [q, 1 - q])
    value = float(statistic(x))
    return Measurement(value, min(float(lo), value), max(float(hi), value), len(x),
                       f"percentile bootstrap, {n_boot} resamples, {level:.0%}", note, spread=boots - value)


def wilson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of k/n (Newcombe 1998, method 3), term for term as
    `scipy.stats.binomtest(k, n).proportion_ci(level, "wilson")` computes it: written out because the calibration's
    redraws call it ~10⁴ times per claims table and binomtest's set-up cost ~1 ms a call (tests/test_claims.py
    checks the two agree bit for bit)."""
    p = k / n
    z = float(ndtri(0.5 + 0.5 * level))
    denom = 2 * (n + z**2)
    center = (2 * n * p + z**2) / denom
    delta = z / denom * math.sqrt(4 * n * p * (1 - p) + z**2)
    return (0.0 if k == 0 else center - delta), (1.0 if k == n else center + delta)


def fraction(successes: int, total: int, *, level: float = 0.95, note: str = "") -> Measurement:
    """successes/total with the Wilson score interval (a count of runs becomes a fraction with its interval)."""
    if total <= 0:
        return missing("0 runs")
    lo, hi = wilson(int(successes), int(total), level)

    def redraw(truth: float, rng: np.random.Generator, factor: int) -> Measurement:
        n = int(total) * factor
        return fraction(int(rng.binomial(n, min(max(truth, 0.0), 1.0))), n, level=level)

    return Measurement(successes / total, lo, hi, int(total), f"Wilson {level:.0%}",
                       note or f"{successes}/{total}", simulator=redraw)


def from_fit(fit: Mapping[str, float], n: int, *, key: str = "p", note: str = "") -> Measurement:
    """An exponent from `fits.power_law` (or any dict with key, key_lo, key_hi): bootstrap over seeds within
    each configuration, n = seeds (or networks) resampled."""
    value, lo, hi = (float(fit.get(k, math.nan)) for k in (key, f"{key}_lo", f"{key}_hi"))
    if not all(math.isfinite(v) for v in (value, lo, hi)):
        return missing(note or "fit not possible (fewer than 3 configurations)")
    return Measurement(value, min(lo, value), max(hi, value), int(n), "bootstrap over seeds within configurations",
                       note)


@dataclass(frozen=True)
class Row:
    """A judged claim: the declaration, what was measured, the verdict, and the preconditions that blocked it."""

    claim: Claim
    measurement: Measurement
    verdict: str
    blocked_by: tuple[str, ...] = field(default=())
    calibration: Calibration | None = None

    @property
    def ours(self) -> str:
        """The page's view of the value and interval: one digit finer than the nbval-checked `show` (the page is
        not compared across machines), and a value below the resolution in two significant digits."""
        m, r = self.measurement, self.claim.resolution / 10
        if not m.measured:
            return f"n/a ({m.note})" if m.note else "n/a"
        page = lambda x: f"{x:.2g}" if x != 0 and abs(x) < r else fmt(x, r)
        if m.ci_low == m.ci_high:
            return page(m.value)
        return f"{page(m.value)} [{page(m.ci_low)}, {page(m.ci_high)}]"


def fmt(x: float, resolution: float) -> str:
    """x rounded to a multiple of `resolution`, printed with the decimals the resolution needs."""
    if not math.isfinite(x):
        return str(x)
    decimals = max(0, -math.floor(math.log10(resolution) + 1e-9))
    mantissa = resolution / 10 ** -decimals if decimals else resolution
    decimals += 0 if abs(mantissa - round(mantissa)) < 1e-9 else 1
    value = round(x / resolution) * resolution
    text = f"{value:.{decimals}f}"
    return "0" if float(text) == 0 else text


def _inside(lo: float, hi: float, band: tuple[float, float]) -> bool:
    return band[0] <= lo and hi <= band[1]


def _disjoint(lo: float, hi: float, band: tuple[float, float]) -> bool:
    return hi < band[0] or lo > band[1]


def interval_verdict(claim: Claim, m: Measurement) -> str:
    """The interval rule alone (see the module docstring); preconditions read met / unclear / not met."""
    check = claim.kind == "precondition"
    if _inside(m.ci_low, m.ci_high, claim.tol):
        return "met" if check else "reproduced"
    if claim.partly is not None and _inside(m.ci_low, m.ci_high, claim.partly):
        return "partly"
    if _disjoint(m.ci_low, m.ci_high, claim.tol):
        return "not met" if check else "not reproduced"
    return "unclear" if check else "inconclusive"


@dataclass(frozen=True)
class Calibration:
    """What a row's test can tell apart at the design run: power = P(pass | expect), false_pass = P(pass |
    rival), each over `replicates` simulated redraws of the measurement; `design`: the smallest multiple of the
    independent units that reaches POWER and FALSE_PASS (empty when this design already does)."""

    power: float
    false_pass: float
    replicates: int
    design: str = ""

    @property
    def decides(self) -> bool:
        return self.power >= POWER and self.false_pass <= FALSE_PASS


def simulate(m: Measurement, truth: float, rng: np.random.Generator, factor: int = 1) -> Measurement:
    """One redraw of measurement `m` whose true quantity is `truth`, with `factor`× its independent units: its own
    simulator, else its estimator's deviations (`spread`, else normal from the interval) recentred on `truth`,
    deviations and interval shrunk by √factor (the location-shift approximation of the bootstrap)."""
    if m.simulator is not None:
        return m.simulator(truth, rng, factor)
    shrink = 1 / math.sqrt(factor)
    if m.spread is not None and len(m.spread):
        dev = float(rng.choice(m.spread))
    else:
        dev = float(rng.normal(0.0, (m.ci_high - m.ci_low) / 3.92))
    value = truth + dev * shrink
    return Measurement(value, value + (m.ci_low - m.value) * shrink, value + (m.ci_high - m.value) * shrink, m.n,
                       m.method)


def pass_rate(claim: Claim, m: Measurement, truth: float, *, factor: int = 1, replicates: int = REPLICATES,
              seed: int = 0) -> float:
    """P(the row passes — reproduced, or met — | the quantity's true value is `truth`), over simulated redraws."""
    rng = np.random.default_rng(seed)
    passing = ("reproduced", "met")
    return float(np.mean([interval_verdict(claim, simulate(m, truth, rng, factor)) in passing
                          for _ in range(replicates)]))


def calibrate(claim: Claim, m: Measurement, *, replicates: int = REPLICATES, seed: int = 0) -> Calibration | None:
    """Power and false-pass of `claim`'s test with the noise of measurement `m`, and, where this design cannot
    decide, the smallest multiple of the units (DESIGN_FACTORS) that would. None for a diagnostic or nothing
    measured."""
    if claim.kind == "diagnostic" or not m.measured:
        return None
    rates = lambda k: (pass_rate(claim, m, claim.expect, factor=k, replicates=replicates, seed=seed),
                       pass_rate(claim, m, claim.rival, factor=k, replicates=replicates, seed=seed + 1))
    power, false_pass = rates(1)
    design = ""
    if not (power >= POWER and false_pass <= FALSE_PASS):
        design = f"not decidable within {DESIGN_FACTORS[-1]}× the units (n = {m.n})"
        for k in DESIGN_FACTORS:
            p, f = rates(k)
            if p >= POWER and f <= FALSE_PASS:
                design = f"{k}× the independent units (n = {m.n} → {k * m.n}): power {p:.2f}, false-pass {f:.2f}"
                break
    return Calibration(power, false_pass, replicates, design)


def verdict(claim: Claim, m: Measurement, blocked: bool = False, calibration: Calibration | None = None) -> str:
    """The verdict of one row (see the module docstring)."""
    check = claim.kind == "precondition"
    if claim.kind == "diagnostic":
        return "diagnostic"
    if not m.measured:
        return "not measured" if check else "not testable at this scale"
    if blocked:  # a check that itself needs an unmet check cannot be read either
        return "not testable at this scale"
    if calibration is not None and not calibration.decides:
        return "underpowered"
    return interval_verdict(claim, m)


def judge(registry: Registry, notebook: str, measured: Mapping[str, Measurement]) -> list[Row]:
    """Judge every claim the registry declares for `notebook`, preconditions first, in registry order, each
    with its calibration (`calibrate`).

    `measured` must hold exactly the ids declared for this notebook (use `missing(why)` for what could not be
    measured): a forgotten claim or an undeclared id is an error, so no row can be added or dropped silently.
    A precondition declared for another notebook of the chapter may be required only through `measured` too.
    """
    declared = registry.for_notebook(notebook)
    ids = {c.id for c in declared}
    unknown = set(measured) - ids
    forgotten = ids - set(measured)
    if unknown or forgotten:
        raise KeyError(f"{registry.chapter}/{notebook}: undeclared {sorted(unknown)}; not measured {sorted(forgotten)}")
    outcome: dict[str, str] = {}
    rows = []
    for c in declared:
        blocked = tuple(r for r in c.requires if outcome.get(r) != "met")
        cal = calibrate(c, measured[c.id])
        v = verdict(c, measured[c.id], blocked=bool(blocked), calibration=cal)
        outcome[c.id] = v
        rows.append(Row(c, measured[c.id], v, blocked, cal))
    return rows


def table(rows: Iterable[Row]) -> pd.DataFrame:
    """One line per row, numbers and display strings both (the results file's columns)."""
    out = []
    for r in rows:
        c, m = r.claim, r.measurement
        out.append({"id": c.id, "kind": c.kind, "claim": c.quantity, "paper": c.paper, "value": m.value,
                    "ci_low": m.ci_low, "ci_high": m.ci_high, "n": m.n, "method": m.method, "note": m.note,
                    "tol_low": c.tol[0], "tol_high": c.tol[1], "tol_source": c.source, "resolution": c.resolution,
                    "ours": r.ours, "tolerance": c.tolerance_text, "verdict": r.verdict,
                    "blocked_by": ", ".join(r.blocked_by), "expect": c.expect, "rival": c.rival,
                    "rival_name": c.rival_name, "power": cal.power if (cal := r.calibration) else math.nan,
                    "false_pass": cal.false_pass if cal else math.nan, "design": cal.design if cal else ""})
    return pd.DataFrame(out)


def counts(rows: Iterable[Row]) -> dict[str, int]:
    """How many claims (preconditions excluded) got each verdict."""
    got = [r.verdict for r in rows if r.claim.kind == "claim"]
    return {v: got.count(v) for v in VERDICTS if got.count(v)}


def write(rows: Sequence[Row], chapter: str, notebook: str, scale: str, results_dir: str | os.PathLike,
          overrides: Mapping[str, object] | None = None) -> Path:
    """Write `<results_dir>/<notebook>.claims.csv` and `<notebook>.provenance.json` beside it: the commit (and
    whether the tree was dirty), overrides, scale, device, threads, versions, wall time, and the sha256 of
    every results file this notebook wrote there."""
    df = table(rows).assign(chapter=chapter, notebook=notebook, scale=scale)
    path = write_table(df, Path(results_dir) / f"{notebook}.claims.csv")
    record = {"chapter": chapter, "notebook": notebook, "scale": scale,
              **provenance(overrides, files=sorted(Path(results_dir).glob(f"{notebook}.*.csv")))}
    (Path(results_dir) / f"{notebook}.provenance.json").write_text(json.dumps(record, indent=1, default=str) + "\n")
    return path


def glue_counts(rows: Sequence[Row], key: str) -> str:
    """Glue the verdict counts of rows as text under `key` (for the chapter's index page:
    {glue:text}`notebook.ipynb::key`), and return that text."""
    from replicate.plots import _glue

    text = " · ".join(f"{n} {v}" for v, n in counts(rows).items()) or "no claims"
    _glue(key, text)
    return text


def glue_numbers(rows: Sequence[Row], extra: Mapping[str, object] | None = None) -> dict[str, object]:
    """Glue the numbers a chapter page quotes, so that it quotes the run's own (myst-nb glue; a no-op without it):
    each row's value [interval] as the claims table shows it (`Row.ours`) under its id without the chapter prefix,
    dots as hyphens ("lewkowycz.uv.peak-loss" → "uv-peak-loss"), and `extra` (key → text or table). Returns what was
    glued."""
    from replicate.plots import _glue

    glued: dict[str, object] = {r.claim.id.split(".", 1)[-1].replace(".", "-"): r.ours for r in rows}
    glued.update(extra or {})
    for key, value in glued.items():
        _glue(key, value)
    return glued
