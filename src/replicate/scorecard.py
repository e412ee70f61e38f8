"""The book's two summary pages: the scorecard (every published claims file, judged rows only, never recomputed)
and the registry page "How claims are judged" (every declared claim, its tolerance and why).

The scorecard reads only what `make notebooks` published: `<chapter>/results/<notebook>.claims.csv` and
`.provenance.json` (the book's scale), and the same files under `<chapter>/results/<scale>/` for other scales.
"""

from __future__ import annotations

import html
import json
import math
import textwrap
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from replicate.claims import COLORS, VERDICTS, Registry
from replicate.claims_html import REGISTRY_PAGE, anchor

NUMBERS = ["value", "ci_low", "ci_high", "n", "tol_low", "tol_high", "resolution", "expect", "rival", "power",
           "false_pass"]
COLUMNS = ["chapter", "notebook", "scale", "id", "kind", "claim", "paper", "value", "ci_low", "ci_high", "n",
           "method", "tol_low", "tol_high", "tol_source", "resolution", "ours", "tolerance", "verdict", "blocked_by",
           "expect", "rival", "rival_name", "power", "false_pass", "design"]
SHORT = {"not testable at this scale": "not testable"}  # column headers of the summary
_esc = html.escape


def _files(book_dir: Path, suffix: str) -> list[Path]:
    """Published files: the book's scale (`<chapter>/results/*`) first, then other scales (`results/<scale>/*`)."""
    return sorted(book_dir.glob(f"*/results/*{suffix}")) + sorted(book_dir.glob(f"*/results/*/*{suffix}"))


def collect(book_dir: Path) -> pd.DataFrame:
    """Every published claims row (claims and preconditions), numbers as floats, in path order."""
    frames = [pd.read_csv(f, keep_default_na=False, na_values=[""]) for f in _files(Path(book_dir), ".claims.csv")]
    frames = [f for f in frames if "id" in f.columns]  # files in the format before claims had ids are not read
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=float if c in NUMBERS else object) for c in COLUMNS})
    table = pd.concat(frames, ignore_index=True)
    for column in table.columns:
        if column in NUMBERS:
            table[column] = pd.to_numeric(table[column], errors="coerce")
        else:  # an all-empty text column (e.g. blocked_by) reads as float NaN
            table[column] = table[column].astype(object).where(table[column].notna(), "").astype(str)
    return table


def book_scale(table: pd.DataFrame) -> str:
    """The scale the book's own notebooks were executed at (the most common one among the claims rows)."""
    return table["scale"].mode().iloc[0] if len(table) else "cpu"


def chapters_without_results(book_dir: Path) -> list[str]:
    """Chapter folders (those with an index.md) that hold no published claims file in the current format."""
    found = set(collect(book_dir)["chapter"])
    return sorted(p.parent.name for p in Path(book_dir).glob("*/index.md") if p.parent.name not in found)


def summary(table: pd.DataFrame, scale: str | None = None) -> pd.DataFrame:
    """Counts of each verdict per chapter: claims only (preconditions are not claims), at one scale."""
    scale = scale or book_scale(table)
    claims = table[(table["kind"] == "claim") & (table["scale"] == scale)]
    counts = pd.crosstab(claims["chapter"], pd.Categorical(claims["verdict"], categories=VERDICTS), dropna=False)
    counts.columns = list(VERDICTS)
    return counts.rename_axis(None)


def summary_text(counts: pd.DataFrame) -> str:
    """The nbval-checked summary: one line per chapter, its non-zero counts."""
    lines = [f"{chapter:<32} " + " · ".join(f"{n} {v}" for v, n in row.items() if n) for chapter, row in counts.iterrows()]
    total = counts.sum()
    lines.append(f"{'all chapters':<32} " + (" · ".join(f"{n} {v}" for v, n in total.items() if n) or "no claims"))
    return "\n".join(lines)


def _tint(color: str, alpha: float = 0.18) -> str:
    """A light background of `color` (#rrggbb) on white."""
    r, g, b = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{round(255 - alpha * (255 - c)):02x}" for c in (r, g, b))


def summary_html(counts: pd.DataFrame) -> str:
    """Counts as a small table, one coloured column per verdict, a zero left blank."""
    head = "".join(f'<th style="color:{COLORS[v]}">{_esc(SHORT.get(v, v))}</th>' for v in counts.columns)
    rows = []
    for chapter, row in list(counts.iterrows()) + [("all chapters", counts.sum())]:
        cells = "".join(f'<td style="background:{_tint(COLORS[v])};color:{COLORS[v]};font-weight:bold;'
                        f'text-align:center">{n or ""}</td>' if n else "<td></td>" for v, n in row.items())
        rows.append(f'<tr><th style="text-align:left;font-weight:normal">{_esc(str(chapter))}</th>{cells}</tr>')
    return ('<table class="scorecard-summary" style="table-layout:fixed;width:100%;font-size:0.85em">'
            f'<thead><tr><th style="width:34%"></th>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>')


def normalised(row: pd.Series) -> tuple[float, float, float] | None:
    """value, ci_low, ci_high in tolerance units: a two-sided band [lo, hi] maps to [0, 1]; a one-sided band keeps
    its edge at 0 (≥ lo) or 1 (≤ hi), the distance scaled by the largest of the interval's width, its distance to
    the edge and the resolution (so every measured claim fits one axis; only the side of the edge is read off)."""
    x = np.array([row["value"], row["ci_low"], row["ci_high"]], dtype=float)
    lo, hi = float(row["tol_low"]), float(row["tol_high"])
    if not np.isfinite(x).all():
        return None
    if math.isfinite(lo) and math.isfinite(hi):
        u = (x - lo) / (hi - lo if hi > lo else row["resolution"])
    else:
        edge = lo if math.isfinite(lo) else hi
        scale = max(x[2] - x[1], *np.abs(x - edge), float(row["resolution"]))
        u = (x - edge) / scale + (0.0 if math.isfinite(lo) else 1.0)
    return tuple(float(v) for v in u)


def forest(table: pd.DataFrame, scale: str | None = None, *, titles: Mapping[str, str] | None = None,
           ncols: int = 2):
    """One panel per chapter (titled and ordered by `titles`, chapter → title), one line per claim: our interval and value
    in tolerance units (band shaded: [0, 1], or from its one edge outwards), coloured by verdict; a claim with
    nothing measured is marked "n/a"."""
    import matplotlib.pyplot as plt

    from replicate.plots import display_name

    scale = scale or book_scale(table)
    claims = table[(table["kind"] == "claim") & (table["scale"] == scale)]
    chapters = list(dict.fromkeys(claims["chapter"]))
    chapters.sort(key=lambda c: list(titles or {}).index(c) if c in (titles or {}) else len(titles or {}))
    if not chapters:
        fig, ax = plt.subplots(figsize=(7, 0.8), layout="constrained")
        ax.set_axis_off()
        ax.text(0.5, 0.5, "no claims published yet", ha="center", va="center", transform=ax.transAxes)
        return fig
    nrows = math.ceil(len(chapters) / ncols)
    tallest = [max((claims["chapter"] == c).sum() for c in chapters[i * ncols:(i + 1) * ncols]) for i in range(nrows)]
    fig, axes = plt.subplots(nrows, ncols, figsize=(7, 0.6 + sum(0.17 * t + 0.45 for t in tallest)), squeeze=False,
                             layout="constrained", gridspec_kw={"height_ratios": [t + 1.5 for t in tallest]})
    lim = (-1.6, 2.6)
    for ax, chapter in zip(axes.flat, chapters):
        rows = claims[claims["chapter"] == chapter].reset_index(drop=True)
        for i, row in rows.iterrows():
            y = -i
            lo, hi = float(row["tol_low"]), float(row["tol_high"])
            left = 0.0 if math.isfinite(lo) else lim[0]
            right = 1.0 if math.isfinite(hi) and math.isfinite(lo) else (lim[1] if math.isfinite(lo) else 1.0)
            ax.plot([left, right], [y, y], color="0.85", linewidth=6, solid_capstyle="butt", zorder=1)
            u = normalised(row)
            color = COLORS.get(row["verdict"], "0.4")
            if u is None:
                ax.text(0.5, y, "n/a", color=color, ha="center", va="center", fontsize=7)
                continue
            value, low, high = np.clip(u, lim[0] + 0.05, lim[1] - 0.05)
            ax.plot([low, high], [y, y], color=color, linewidth=1.6, zorder=2)
            ax.plot([value], [y], "o", color=color, markersize=4, zorder=3)
        ax.set_yticks(-np.arange(len(rows)), [display_name(i.split(".", 1)[-1]) for i in rows["id"]], fontsize=7)
        ax.set_ylim(-len(rows) + 0.4, 0.6)
        ax.set_xlim(*lim)
        ax.set_xticks([0, 1], ["lower\nedge", "upper\nedge"], fontsize=7)
        ax.grid(False)
        ax.set_title(textwrap.fill((titles or {}).get(chapter, display_name(chapter)), 48), fontsize=8)
    for ax in list(axes.flat)[len(chapters):]:
        ax.set_axis_off()
    return fig


TABLE_STYLE = ("<style>.scorecard-table td,.scorecard-table th{padding:2px 5px;vertical-align:top;line-height:1.3}"
               ".scorecard-table tr.notebook-row td{padding-top:8px;border-bottom:1px solid #ccc}</style>")


def _scale_cell(row: pd.Series | None, rows: Mapping[tuple[str, str], pd.Series]) -> str:
    """The verdict (coloured) and our value at one scale; † where preconditions blocked the claim, with their
    verdicts and numbers at that scale as a tooltip."""
    if row is None:
        return '<td style="color:#6a6a6a">not run</td>'
    color = COLORS.get(row["verdict"], "#333333")
    verdict = SHORT.get(row["verdict"], row["verdict"])
    needs = [rows.get((row["chapter"], i.strip())) for i in row["blocked_by"].split(",") if i.strip()]
    why = "; ".join(f'{n["id"]}: {n["verdict"]} ({n["ours"]})' for n in needs if n is not None)
    blocked = f'<span title="needs {_esc(why or row["blocked_by"])}">†</span>' if row["blocked_by"] else ""
    power = (f'<br><small>power {float(row["power"]):.2f} · false-pass {float(row["false_pass"]):.2f}</small>'
             if math.isfinite(float(row.get("power", math.nan))) else "")
    return f'<td><b style="color:{color}">{_esc(verdict)}</b>{blocked} {_esc(str(row["ours"]))}{power}</td>'


def table_html(table: pd.DataFrame, registry_href: str = f"{REGISTRY_PAGE}.html") -> str:
    """ONE table of the claims, grouped by notebook (a row linking to its claims section, where the preconditions
    stand too): each claim's id (a link to the registry's reason; hover for the quantity), its tolerance, then the
    verdict and our value at each published scale side by side, the book's scale first. † marks a claim that a
    precondition blocked (hover for which, with its number)."""
    main = book_scale(table)
    scales = [main] + sorted(set(table["scale"]) - {main})
    by_scale = {s: {(r["chapter"], r["id"]): r for _, r in table[table["scale"] == s].iterrows()} for s in scales}
    claims = table[table["kind"] == "claim"]
    first = {(r["chapter"], r["id"]): r for _, r in claims[::-1].iterrows()}
    head = ('<tr><th style="width:36%">claim</th><th style="width:16%">tolerance</th>'
            + "".join(f"<th>at {_esc(s)}</th>" for s in scales) + "</tr>")
    body, notebook = [], None
    for key in dict.fromkeys(zip(claims["chapter"], claims["id"])):
        r = by_scale[main].get(key, first[key])
        if (r["chapter"], r["notebook"]) != notebook:
            notebook = (r["chapter"], r["notebook"])
            body.append(f'<tr class="notebook-row"><td colspan="{2 + len(scales)}"><a href="{_esc(r["chapter"])}/'
                        f'{_esc(r["notebook"])}.html#claims">{_esc(r["chapter"])} / {_esc(r["notebook"])}</a></td></tr>')
        body.append(
            f'<tr><td><a href="{registry_href}#{anchor(r["id"])}" title="{_esc(r["claim"])}"><code>{_esc(r["id"])}'
            f'</code></a></td><td>{_esc(r["tolerance"])}</td>'
            + "".join(_scale_cell(by_scale[s].get(key), by_scale[s]) for s in scales) + "</tr>")
    return (f'{TABLE_STYLE}<table class="claims-table scorecard-table" style="table-layout:fixed;width:100%;'
            f'word-wrap:break-word;font-size:0.75em"><thead>{head}</thead><tbody>{"".join(body)}</tbody></table>')


def environments(book_dir: Path) -> pd.DataFrame:
    """Per published notebook run (from its provenance file): scale, wall time, device and threads, versions,
    commit (marked dirty) and the parameters overridden."""
    rows = []
    for path in _files(Path(book_dir), ".provenance.json"):
        p = json.loads(path.read_text())
        rows.append({"notebook": f'{p.get("chapter", "")}/{p.get("notebook", path.name.split(".")[0])}',
                     "scale": p.get("scale", ""), "wall time (s)": p.get("wall_time_s"),
                     "device · threads": f'{p.get("device", "")} · {p.get("torch_threads", "")}',
                     "torch · python": f'{p.get("torch", "")} · {p.get("python", "")}',
                     "commit": str(p.get("commit") or "")[:10] + (" (dirty)" if p.get("dirty") else ""),
                     "overrides": ", ".join(f"{k}={v}" for k, v in (p.get("overrides") or {}).items())})
    return pd.DataFrame(rows, columns=["notebook", "scale", "wall time (s)", "device · threads", "torch · python",
                                       "commit", "overrides"])


def environments_html(env: pd.DataFrame) -> str:
    """What is the same for every run as one sentence; then a line per notebook with each scale's wall time, and
    whatever differs between runs (commit, device, versions, overrides)."""
    if env.empty:
        return "<p>No provenance published yet.</p>"
    shared = [c for c in env.columns[3:] if env[c].nunique() == 1]
    sentence = "; ".join(f"{c}: {_esc(str(env[c].iloc[0]) or '—')}" for c in shared)
    wide = env.pivot_table(index="notebook", columns="scale", values="wall time (s)", aggfunc="last", sort=False)
    wide.columns = [f"wall time at {s} (s)" for s in wide.columns]
    varying = env.groupby("notebook", sort=False)[[c for c in env.columns[3:] if c not in shared]].agg(
        lambda v: " / ".join(dict.fromkeys(map(str, v))))
    out = wide.join(varying).reset_index()
    table = out.to_html(index=False, na_rep="", border=0, classes="scorecard-table", escape=True)
    return (f"{TABLE_STYLE}<p>Every run: {sentence}.</p>" if sentence else TABLE_STYLE) + \
        table.replace('class="dataframe scorecard-table"', 'class="scorecard-table" style="font-size:0.75em;width:100%"')


def registry_html(registries: Iterable[Registry], published: pd.DataFrame | None = None) -> str:
    """Every declared claim of every chapter: its anchor, the paper's statement, what we measure, the tolerance
    with its source and reason, the looser band if any, its controls (expect, rival) with the power and
    false-pass the published run measured (`published`, from `collect`), the display resolution, its
    preconditions; then the registry's history of changes."""
    parts = []
    pub = {} if published is None else {r["id"]: r for _, r in published[published["scale"] == book_scale(
        published)].iterrows()}
    for reg in registries:
        rows = []
        for c in reg.claims:
            got = pub.get(c.id)
            measured = (f"; at {_esc(str(got['scale']))}: power {float(got['power']):.2f}, false-pass "
                        f"{float(got['false_pass']):.2f}" + (f" — decides with {_esc(str(got['design']))}"
                                                             if str(got.get("design", "")) else "")
                        if got is not None and math.isfinite(float(got.get("power", math.nan))) else "")
            controls = ("<br><b>diagnostic</b>: shown, not judged (implied by another row or by the run itself)"
                        if c.kind == "diagnostic" else
                        f"<br><b>controls</b>: passes if {c.expect:g} (the paper's side) · must fail if "
                        f"{c.rival:g} ({_esc(c.rival_name)}){'. ' + _esc(c.controls) if c.controls else ''}"
                        f"{measured}")
            needs = ", ".join(f'<a href="#{anchor(r)}"><code>{_esc(r)}</code></a>' for r in c.requires) or "none"
            partly = (f"<br><b>partly</b> inside [{c.partly[0]:g}, {c.partly[1]:g}]: {_esc(c.partly_reason)}"
                      if c.partly is not None else "")
            rows.append(
                f'<tr id="{anchor(c.id)}"><td><code>{_esc(c.id)}</code><br><small>{_esc(c.kind)} · '
                f'<a href="{_esc(reg.chapter)}/{_esc(c.notebook)}.html#claims">{_esc(c.notebook)}</a></small></td>'
                f"<td><b>paper</b>: {_esc(c.paper)}<br><b>we measure</b>: {_esc(c.quantity)}"
                f"<br><b>tolerance</b>: {_esc(c.tolerance_text)}, because {_esc(c.reason)}{partly}{controls}"
                f"<br><b>shown to</b> {c.resolution:g} · <b>needs</b>: {needs}</td></tr>")
        history = f"<p><b>History.</b> {_esc(reg.history)}</p>" if reg.history.strip() else \
            "<p><b>History.</b> No tolerance changed after it was declared.</p>"
        parts.append(
            f'<h3 id="registry-{_esc(reg.chapter)}">{_esc(reg.title)}</h3>'
            '<table class="registry-table" style="table-layout:fixed;width:100%;word-wrap:break-word;'
            'font-size:0.85em"><colgroup><col style="width:30%"><col style="width:70%"></colgroup>'
            f'<tbody>{"".join(rows)}</tbody></table>{history}')
    style = ("<style>.registry-table td{vertical-align:top;padding:4px 6px;border-top:1px solid #ddd}"
             ".registry-table tr:target{background:#fff6d5}</style>")
    return style + "".join(parts)


def registry_counts(registries: Iterable[Registry]) -> str:
    """The nbval-checked line per chapter: how many claims and preconditions it declares."""
    lines = []
    for reg in registries:
        kinds = [c.kind for c in reg.claims]
        lines.append(f"{reg.chapter:<32} {kinds.count('claim'):>3} claims {kinds.count('precondition'):>3} preconditions"
                     f" {kinds.count('diagnostic'):>3} diagnostics")
    return "\n".join(lines) or "no registries"
