"""The claims table as the page shows it: HTML rows with verdict, interval, tolerance, power and false-pass,
linked to the registry page's reason for each tolerance, with the verdicts published at other scales beside."""

from __future__ import annotations

import html as _html
from collections.abc import Mapping, Sequence

import pandas as pd

from replicate.claims import COLORS, Row

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
        kind = f"{c.kind}: " if c.kind != "claim" else ""
        cal = r.calibration
        power = (f"<br><small>power {cal.power:.2f} · false-pass {cal.false_pass:.2f} (vs {esc(c.rival_name)})"
                 f"{'; decides with ' + esc(cal.design) if cal.design else ''}</small>" if cal else "")
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
            f'<td><b style="color:{color}">{esc(r.verdict)}</b><small>{esc(why)}</small>{power}</td>'
            f"{others}</tr>")
    extra = "".join(f"<th>at {esc(scale)} scale (published)</th>" for scale in other_scales)
    head = f"<tr><th>claim</th><th>paper</th><th>ours [interval]</th><th>tolerance</th><th>verdict</th>{extra}</tr>"
    return ('<table class="claims-table" style="table-layout:fixed;width:100%;word-wrap:break-word;'
            'font-size:0.85em">' f"<thead>{head}</thead><tbody>{''.join(body)}</tbody></table>")


def display(rows: Sequence[Row], chapter: str | None = None):
    """Show the HTML claims table in the notebook (the page's view; the nbval-checked text is `rerun.compare`); with
    `chapter`, the verdicts published at other scales stand beside ours."""
    from IPython.display import HTML

    scales = published_scales(chapter, rows[0].claim.notebook) if chapter and rows else {}
    return HTML(html(rows, other_scales=scales))
