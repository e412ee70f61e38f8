"""Claims: declared before the run, judged from an interval, never typed into a notebook.

A `Claim` is a registry entry (`replicate.registry.<chapter>`): the paper's statement and where it stands,
the quantity we measure, the tolerance [lo, hi] with its source ("paper" or "ours") and reason, the
preconditions it needs, and the resolution its number is shown at. A `Measurement` is what a run
gives: a value with an interval over seeds or networks, its method and n. `judge` turns the two into rows:

    a required precondition not met, or nothing measured  → not testable at this scale
    lo ≤ ci_low and ci_high ≤ hi                           → reproduced
    inside the looser `partly` band (stated with a reason)  → partly
    interval disjoint from [lo, hi]                        → not reproduced
    otherwise (the interval straddles an edge)             → inconclusive

A precondition is judged the same way about our own run and reads met / not met / unclear / not measured
(or not testable, when it needs another precondition that is not met); a claim runs only when every
precondition it requires is *met*.
"""

from __future__ import annotations

import html as _html
import json
import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from replicate.results import write_table
from replicate.runtime import provenance

VERDICTS = ("reproduced", "partly", "inconclusive", "not reproduced", "not testable at this scale")
CHECKS = ("met", "unclear", "not met", "not measured", "not testable at this scale")
KINDS = ("claim", "precondition")
SOURCES = ("paper", "ours")
COLORS = {"reproduced": "#1b7837", "partly": "#7fbc41", "inconclusive": "#b8860b", "not reproduced": "#b2182b",
          "not testable at this scale": "#6a6a6a", "met": "#1b7837", "unclear": "#b8860b", "not met": "#b2182b",
          "not measured": "#6a6a6a"}


@dataclass(frozen=True)
class Claim:
    """One declared claim (or, with kind="precondition", a check on our own run's regime).

    id: stable, "<paper>.<topic>.<what>"; paper: the paper's statement and where it stands ("Thm 1; Fig. 2");
    quantity: what we measure; tol: [lo, hi] (±inf for one-sided); source: "paper" or "ours"; reason: why
    this tolerance; resolution: the display step of value and interval (coarser than the seed-to-seed
    spread, so that the printed, nbval-checked number survives another CPU); requires: ids of preconditions;
    notebook: the notebook that measures it; partly: a looser band, only with `partly_reason`.
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
                              f"{c.partly_reason}", "resolution": c.resolution, "requires": ", ".join(c.requires)}
                             for c in self.claims])


@dataclass(frozen=True)
class Measurement:
    """A measured value with its interval (over seeds or networks), n and the method of the interval."""

    value: float
    ci_low: float
    ci_high: float
    n: int
    method: str
    note: str = ""

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
                       f"percentile bootstrap, {n_boot} resamples, {level:.0%}", note)


def fraction(successes: int, total: int, *, level: float = 0.95, note: str = "") -> Measurement:
    """successes/total with the Wilson score interval (a count of runs becomes a fraction with its interval)."""
    from scipy.stats import binomtest

    if total <= 0:
        return missing("0 runs")
    ci = binomtest(int(successes), int(total)).proportion_ci(confidence_level=level, method="wilson")
    return Measurement(successes / total, float(ci.low), float(ci.high), int(total), f"Wilson {level:.0%}",
                       note or f"{successes}/{total}")


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


def verdict(claim: Claim, m: Measurement, blocked: bool = False) -> str:
    """The verdict of one claim (see the module docstring); preconditions read met / unclear / not met."""
    check = claim.kind == "precondition"
    if not m.measured:
        return "not measured" if check else "not testable at this scale"
    if blocked:  # a check that itself needs an unmet check cannot be read either
        return "not testable at this scale"
    if _inside(m.ci_low, m.ci_high, claim.tol):
        return "met" if check else "reproduced"
    if claim.partly is not None and _inside(m.ci_low, m.ci_high, claim.partly):
        return "partly"
    if _disjoint(m.ci_low, m.ci_high, claim.tol):
        return "not met" if check else "not reproduced"
    return "unclear" if check else "inconclusive"


def judge(registry: Registry, notebook: str, measured: Mapping[str, Measurement]) -> list[Row]:
    """Judge every claim the registry declares for `notebook`, preconditions first, in registry order.

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
        v = verdict(c, measured[c.id], blocked=bool(blocked))
        outcome[c.id] = v
        rows.append(Row(c, measured[c.id], v, blocked))
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
                    "blocked_by": ", ".join(r.blocked_by)})
    return pd.DataFrame(out)


def show(rows: Iterable[Row]) -> str:
    """The nbval-checked text: per row, id, verdict and the value at the claim's declared resolution, nothing
    finer (the interval is on the page; its ends move with the reduction order of another CPU)."""
    lines = []
    for r in rows:
        value = fmt(r.measurement.value, r.claim.resolution) if r.measurement.measured else "n/a"
        lines.append(f"{r.claim.id:<44} {r.verdict:<27} {value}")
    return "\n".join(lines)


def counts(rows: Iterable[Row]) -> dict[str, int]:
    """How many claims (preconditions excluded) got each verdict."""
    got = [r.verdict for r in rows if r.claim.kind == "claim"]
    return {v: got.count(v) for v in VERDICTS if got.count(v)}


REGISTRY_PAGE = "claims-registry"  # the book page that renders every registry: book/claims-registry.(py|ipynb)


def anchor(claim_id: str) -> str:
    """The HTML anchor of a claim on the registry page."""
    return "claim-" + claim_id.replace(".", "-")


def published_scales(chapter: str, notebook: str) -> dict[str, pd.DataFrame]:
    """The claims tables of `notebook` published at other scales (`book/<chapter>/results/<scale>/`, written
    by `replicate publish`), by scale; empty outside the repository or when none is published."""
    from replicate.runtime import repository_root

    root = repository_root()
    if root is None:
        return {}
    found = sorted((root / "book" / chapter / "results").glob(f"*/{notebook}.claims.csv"))
    return {f.parent.name: pd.read_csv(f, dtype=str, keep_default_na=False).set_index("id") for f in found}


def html(rows: Sequence[Row], registry_href: str = f"../{REGISTRY_PAGE}.html",
         other_scales: Mapping[str, pd.DataFrame] | None = None) -> str:
    """The readable table for the page: wrapped text, verdict coloured, ours with its interval, the tolerance
    with its source, a link to the registry's reason for it, and (`other_scales`) the verdicts published at
    other scales beside ours."""
    esc = _html.escape
    other_scales = other_scales or {}
    body = []
    for r in rows:
        c, m = r.claim, r.measurement
        color = COLORS[r.verdict]
        why = f" — needs {', '.join(r.blocked_by)}" if r.blocked_by else ""
        method = f"n = {m.n}, {m.method}" if m.measured else m.note
        kind = "precondition: " if c.kind == "precondition" else ""
        others = ""
        for table_ in other_scales.values():
            if c.id in table_.index:
                got = table_.loc[c.id]
                others += (f'<td>{esc(got["ours"])}<br><b style="color:{COLORS.get(got["verdict"], "#000")}">'
                           f'{esc(got["verdict"])}</b></td>')
            else:
                others += "<td>—</td>"
        body.append(
            "<tr>"
            f'<td><a href="{registry_href}#{anchor(c.id)}"><code>{esc(c.id)}</code></a><br>{esc(kind)}{esc(c.quantity)}</td>'
            f"<td>{esc(c.paper)}</td>"
            f"<td>{esc(r.ours)}<br><small>{esc(method)}</small></td>"
            f"<td>{esc(c.tolerance_text)}</td>"
            f'<td style="color:{color};font-weight:bold">{esc(r.verdict)}<small>{esc(why)}</small></td>'
            f"{others}</tr>")
    extra = "".join(f"<th>at {esc(scale)} scale (published)</th>" for scale in other_scales)
    head = f"<tr><th>claim</th><th>paper</th><th>ours [interval]</th><th>tolerance</th><th>verdict</th>{extra}</tr>"
    return ('<table class="claims-table" style="table-layout:fixed;width:100%;word-wrap:break-word;'
            'font-size:0.85em">' f"<thead>{head}</thead><tbody>{''.join(body)}</tbody></table>")


def display(rows: Sequence[Row], chapter: str | None = None):
    """Show the HTML claims table in the notebook (the page's view; the nbval-checked text is `show`); with
    `chapter`, the verdicts published at other scales stand beside ours."""
    from IPython.display import HTML

    scales = published_scales(chapter, rows[0].claim.notebook) if chapter and rows else {}
    return HTML(html(rows, other_scales=scales))


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
