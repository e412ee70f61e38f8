"""The replication scorecard: every chapter's claims tables, read from the results files they wrote."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from replicate.claims import VERDICTS


def collect(book_dir: Path) -> pd.DataFrame:
    """All `<book_dir>/<chapter>/results/*.claims.csv`, concatenated, in chapter and notebook order."""
    files = sorted(book_dir.glob("*/results/*.claims.csv"))
    if not files:
        return pd.DataFrame(columns=["chapter", "notebook", "scale", "claim", "paper", "ours", "tolerance", "verdict"])
    return pd.concat([pd.read_csv(f, dtype=str, keep_default_na=False) for f in files], ignore_index=True)


def chapters_without_results(book_dir: Path) -> list[str]:
    """Chapter folders (those with an index.md) that hold no claims file yet."""
    return sorted(p.parent.name for p in book_dir.glob("*/index.md")
                  if not list(p.parent.glob("results/*.claims.csv")))


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Counts of each verdict per chapter."""
    counts = pd.crosstab(table["chapter"], pd.Categorical(table["verdict"], categories=VERDICTS), dropna=False)
    counts.columns = list(VERDICTS)
    return counts


def with_links(table: pd.DataFrame) -> pd.DataFrame:
    """Add a `source` column linking each claim to the Claims section of the notebook page that produced it."""
    return table.assign(source=[f'<a href="{c}/{n}.html#claims">{c}/{n}</a>'
                                for c, n in zip(table["chapter"], table["notebook"])])


def environments(book_dir: Path) -> pd.DataFrame:
    """Per notebook: the environment its claims file recorded, and the wall time of the stored execution
    (papermill's `duration` in the executed .ipynb)."""
    import json

    rows = []
    for env_file in sorted(book_dir.glob("*/results/*.env.json")):
        env = json.loads(env_file.read_text())
        notebook = env_file.parent.parent / f"{env['notebook']}.ipynb"
        duration = None
        if notebook.exists():
            duration = json.loads(notebook.read_text()).get("metadata", {}).get("papermill", {}).get("duration")
        rows.append({**env, "wall_time_s": None if duration is None else round(duration, 1)})
    columns = ["chapter", "notebook", "scale", "wall_time_s", "torch", "python", "cpu", "cores", "torch_threads",
               "device"]
    return pd.DataFrame(rows, columns=columns)
