"""Does a rerun reproduce the published numbers? Compared with declared numeric tolerances, never as strings.

A notebook's last cell prints `compare(...)`: one line per claims row and per key result table, "agrees" or
"differs" with the numbers, and nbval checks those lines. The published side is `book/<chapter>/results/`
(`results/<scale>/` for another published scale); the fresh side is what the run just wrote.

    claims row: |value − published| ≤ RERUN_FRACTION × the published interval's half-width (a deterministic
                value, zero width: ≤ DETERMINISTIC_RTOL relative, or the claim's measured `rerun_rtol`; a
                `chaotic` claim's value, a fresh draw of its seeds' training noise: ≤ CHAOTIC_FRACTION × that
                half-width), same n, and the same verdict —
                unless the published row sits on an edge: its value ± that tolerance reaches a tolerance edge,
                or its power / false-pass lies within EDGE_POWER / EDGE_FALSE_PASS of the decision thresholds.
                Such a row's verdict may differ on another CPU without a regression; it prints "agrees (on an
                edge)" whenever its value agrees, on every machine, so the printed line is the same.
    key table:  every `Table.columns` value within its relative tolerance (keys matched by `Table.keys`).

A key table the notebook computes early can also be checked where it is made (`compare_early`): a regression
there fails nbval at that cell, and `make regressions` (pytest -x) stops the rerun there.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from replicate.claims import FALSE_PASS, POWER, Registry, Row, table
from replicate.runtime import repository_root

RERUN_FRACTION = 1.0  # of the published 95 % half-width (≈ 2 s.e.): a regression larger than that differs
DETERMINISTIC_RTOL = 1e-6  # a zero-width interval (a closed form, a float64 identity): float-path rounding only
# two independent estimates with the published s.e. differ by ≤ √2 × 1.96 s.e. 19 times in 20: a chaotic claim's rerun
# (large-LR trainings whose outcome at η* flips with the last bit) is such a second draw
CHAOTIC_FRACTION = math.sqrt(2)
EDGE_POWER, EDGE_FALSE_PASS = 0.1, 0.05  # calibration numbers this close to POWER / FALSE_PASS may flip


@dataclass(frozen=True)
class Table:
    """A key result table to compare: `<notebook>.<name>.csv`, rows matched on `keys`, each of `columns` within
    its relative tolerance (the float-path noise of that number on another CPU, declared in the registry with
    its reason)."""

    name: str
    keys: tuple[str, ...]
    columns: Mapping[str, float]
    reason: str = ""
    atol: float = 1e-12
    median_over: str | None = None  # a key (the seeds) to take the median over first: chaotic runs whose single
    # rows jump with the float path (an instability spike in one seed) while their median over seeds does not


def published_dir(chapter: str, scale: str) -> Path | None:
    """Where `chapter`'s results at `scale` are published, or None outside the repository."""
    root = repository_root()
    if root is None:
        return None
    base = root / "book" / chapter / "results"
    return base if scale == "cpu" else base / scale


def _tolerance(pub: pd.Series, rtol: float = math.nan, chaotic: bool = False) -> float:
    value, lo, hi = (float(pub[k]) for k in ("value", "ci_low", "ci_high"))
    half = (hi - lo) / 2
    if half > 0:
        return (CHAOTIC_FRACTION if chaotic else RERUN_FRACTION) * half
    return (rtol if math.isfinite(rtol) else DETERMINISTIC_RTOL) * max(abs(value), 1e-12)


def on_edge(pub: pd.Series, rtol: float = math.nan, chaotic: bool = False) -> bool:
    """Whether the published row's verdict may differ on another CPU with no regression (module docstring)."""
    value, tol = float(pub["value"]), _tolerance(pub, rtol, chaotic)
    edges = [float(pub["tol_low"]), float(pub["tol_high"])]
    near = any(math.isfinite(e) and abs(value - e) <= tol + (float(pub["ci_high"]) - float(pub["ci_low"]))
               for e in edges)
    power, false_pass = float(pub.get("power", math.nan)), float(pub.get("false_pass", math.nan))
    return near or abs(power - POWER) <= EDGE_POWER or abs(false_pass - FALSE_PASS) <= EDGE_FALSE_PASS


def compare_row(fresh: pd.Series, pub: pd.Series, rtol: float = math.nan, chaotic: bool = False) -> str:
    """'agrees', 'agrees (on an edge)' or 'differs: …' for one claims row against its published row (`rtol`: the
    claim's declared `rerun_rtol`, for a value with no sampling interval; `chaotic`: the claim's flag)."""
    fresh_nan, pub_nan = (not math.isfinite(float(x["value"])) for x in (fresh, pub))
    if fresh_nan or pub_nan:
        same = fresh_nan == pub_nan and fresh["verdict"] == pub["verdict"]
        return "agrees" if same else f"differs: {fresh['verdict']} ({fresh['ours']}) vs published {pub['verdict']} " \
                                     f"({pub['ours']})"
    tol = _tolerance(pub, rtol, chaotic)
    delta = abs(float(fresh["value"]) - float(pub["value"]))
    if delta > tol or int(fresh["n"]) != int(pub["n"]):
        return (f"differs: value {float(fresh['value']):.6g} (n = {fresh['n']}) vs published "
                f"{float(pub['value']):.6g} (n = {pub['n']}), tolerance ±{tol:.3g}")
    if on_edge(pub, rtol, chaotic):
        return "agrees (on an edge)"
    if fresh["verdict"] != pub["verdict"]:
        return f"differs: verdict {fresh['verdict']} vs published {pub['verdict']}"
    return "agrees"


def _rounded_keys(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Float key columns (a grid of learning rates) to 12 significant digits: a grid computed on another CPU
    differs in its last bits (measured: update-size's η grid, published on an Intel Xeon, matched no row on an AMD
    EPYC), and a key must match exactly to be merged."""
    floats = [k for k in keys if pd.api.types.is_float_dtype(df[k])]
    return df.assign(**{k: df[k].map(lambda x: float(f"{x:.12g}")) for k in floats}) if floats else df


def compare_table(fresh: pd.DataFrame, pub: pd.DataFrame, spec: Table) -> str:
    """'agrees (N rows)' or 'differs: …' (the worst row) for one key result table."""
    keys = list(spec.keys)
    if len(fresh) != len(pub):
        return f"differs: {len(fresh)} rows vs published {len(pub)}"
    if spec.median_over:
        keys.remove(spec.median_over)
        fresh, pub = (df.groupby(keys, as_index=False)[list(spec.columns)].median() for df in (fresh, pub))
    fresh, pub = _rounded_keys(fresh, keys), _rounded_keys(pub, keys)
    both = pub.merge(fresh, on=keys, how="outer", suffixes=("_pub", "_new"), indicator=True)
    if (both["_merge"] != "both").any():
        return f"differs: {int((both['_merge'] != 'both').sum())} rows match no published row on {keys}"
    for col, rtol in spec.columns.items():
        a, b = both[f"{col}_pub"].to_numpy(float), both[f"{col}_new"].to_numpy(float)
        same_nan = np.isnan(a) == np.isnan(b)
        err = np.where(np.isnan(a) & np.isnan(b), 0.0, np.abs(a - b) / (np.abs(a) * rtol + spec.atol))
        if not same_nan.all() or (err > 1).any():
            i = int(np.argmax(np.where(same_nan, err, np.inf)))
            where = ", ".join(f"{k} {both[k].iloc[i]}" for k in keys)
            return f"differs: {col} at {where}: {b[i]:.6g} vs published {a[i]:.6g} (rtol {rtol:g})"
    return f"agrees ({len(pub)} rows{f', medians over {spec.median_over}' if spec.median_over else ''})"


def compare_early(fresh: pd.DataFrame, registry: Registry, notebook: str, name: str, scale: str, *,
                  dry_run: bool = False, **where: object) -> str:
    """The nbval-checked line of one key table as soon as the notebook has it: `fresh` against the published
    `<notebook>.<name>.csv` rows whose columns equal `where` (the rows this part of the notebook computes)."""
    spec = next(t for t in registry.tables[notebook] if t.name == name)
    pub_dir, file = published_dir(registry.chapter, scale), f"{notebook}.{name}.csv"
    if dry_run or pub_dir is None or not (pub_dir / file).exists():
        return f"nothing to compare: no published {file} at scale {scale}" + (" (dry run)" * dry_run)
    pub = pd.read_csv(pub_dir / file)
    for column, value in where.items():
        pub = pub[pub[column] == value]
    fresh = pd.read_csv(io.StringIO(fresh.assign(**where)[list(pub.columns)].to_csv(index=False)))  # as if written
    part = f" ({', '.join(f'{k} {v}' for k, v in where.items())})" if where else ""
    return f"table {file + part:<42} {compare_table(fresh, pub.reset_index(drop=True), spec)}"


def compare(rows: Sequence[Row], registry: Registry, scale: str, results_dir: str | os.PathLike, *,
            dry_run: bool = False) -> str:
    """The nbval-checked text of a notebook: each of its claims rows, and each key table the registry declares
    for it (`registry.tables[notebook]`), against the ones published at `scale`."""
    chapter, notebook = registry.chapter, rows[0].claim.notebook
    tables = registry.tables.get(notebook, ())
    pub_dir = published_dir(chapter, scale)
    pub_file = pub_dir / f"{notebook}.claims.csv" if pub_dir else None
    if dry_run or pub_file is None or not pub_file.exists():
        return f"nothing to compare: no published {notebook} results at scale {scale}" + (" (dry run)" * dry_run)
    published = pd.read_csv(pub_file, keep_default_na=False, na_values=[""]).set_index("id")
    fresh = table(rows).set_index("id")
    lines = []
    for claim_id, row in fresh.iterrows():
        claim = registry[claim_id]
        status = (compare_row(row, published.loc[claim_id], claim.rerun_rtol, claim.chaotic)
                  if claim_id in published.index else "new row (not published)")
        lines.append(f"{claim_id:<48} {status}")
    lines += [f"{claim_id:<48} dropped (published, not measured now)" for claim_id in published.index
              if claim_id not in fresh.index]
    for spec in tables:
        name = f"{notebook}.{spec.name}.csv"
        new, old = Path(results_dir) / name, pub_dir / name
        status = (compare_table(pd.read_csv(new), pd.read_csv(old), spec) if new.exists() and old.exists()
                  else f"differs: {'fresh' if not new.exists() else 'published'} table missing")
        lines.append(f"table {name:<42} {status}")
    return "\n".join(lines)
