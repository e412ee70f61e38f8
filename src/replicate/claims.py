"""Claims tables: claim, the paper's number, ours, tolerance, verdict — printed and written to disk.

A verdict is computed from the measured number and the stated tolerance, never typed in:
`reproduced` when ours is inside the tolerance, `partly` when it is inside a looser band stated with
it, `not reproduced` otherwise, and `not testable at this scale` when there is no measurement.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from replicate.results import write_table
from replicate.runtime import environment

VERDICTS = ("reproduced", "partly", "not reproduced", "not testable at this scale")


@dataclass(frozen=True)
class Claim:
    claim: str
    paper: str
    ours: str
    tolerance: str
    verdict: str

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}; got {self.verdict!r}")


def _fmt(x: float | None, digits: int) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x:.{digits}g}"


def interval_claim(claim: str, paper: str, ours: float | None, lo: float, hi: float, *,
                   partly: tuple[float, float] | None = None, digits: int = 3, note: str = "") -> Claim:
    """Reproduced iff lo ≤ ours ≤ hi; partly iff inside the looser `partly` band; n/a → not testable."""
    tol = f"[{_fmt(lo, digits)}, {_fmt(hi, digits)}]" + (f" ({note})" if note else "")
    if ours is None or (isinstance(ours, float) and math.isnan(ours)):
        return Claim(claim, paper, "n/a", tol, "not testable at this scale")
    if lo <= ours <= hi:
        verdict = "reproduced"
    elif partly is not None and partly[0] <= ours <= partly[1]:
        verdict = "partly"
    else:
        verdict = "not reproduced"
    return Claim(claim, paper, _fmt(ours, digits), tol, verdict)


def fraction_claim(claim: str, paper: str, passed: int, total: int, *, need: float = 1.0,
                   partly: float | None = None) -> Claim:
    """Reproduced iff passed/total ≥ need; partly iff ≥ partly; no runs → not testable."""
    tol = f"≥ {need:.0%} of runs"
    if total == 0:
        return Claim(claim, paper, "0 runs", tol, "not testable at this scale")
    frac = passed / total
    verdict = ("reproduced" if frac >= need else
               "partly" if partly is not None and frac >= partly else "not reproduced")
    return Claim(claim, paper, f"{passed}/{total}", tol, verdict)


def table(claims: list[Claim]) -> pd.DataFrame:
    return pd.DataFrame([asdict(c) for c in claims], columns=["claim", "paper", "ours", "tolerance", "verdict"])


def write(claims: list[Claim], chapter: str, notebook: str, scale: str,
          results_dir: str | os.PathLike) -> Path:
    """Write the claims table to `<results_dir>/<notebook>.claims.csv`, stamped with chapter and scale, and the
    environment that produced it (`runtime.environment()`) to `<notebook>.env.json` beside it."""
    df = table(claims).assign(chapter=chapter, notebook=notebook, scale=scale)
    path = write_table(df, Path(results_dir) / f"{notebook}.claims.csv")
    env = Path(results_dir) / f"{notebook}.env.json"
    env.write_text(json.dumps({"chapter": chapter, "notebook": notebook, "scale": scale, **environment()}, indent=1))
    return path


def show(claims: list[Claim]) -> str:
    """The printed form (checked by nbval): a fixed-width text table."""
    with pd.option_context("display.max_colwidth", 80, "display.width", 250):
        return table(claims).to_string(index=False)
