"""The replication scorecard: every chapter's claims tables, read from the results files they wrote."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from replicate.claims import VERDICTS


def collect(book_dir: Path, pattern: str = "*/results/*.claims.csv") -> pd.DataFrame:
    """All claims files under `book_dir` matching `pattern`, concatenated in path order: by default the book's
    own (`<chapter>/results/<notebook>.claims.csv`); `replicate run` writes `runs/<scale>/<chapter>/*.claims.csv`."""
    files = sorted(book_dir.glob(pattern))
    if not files:
        return pd.DataFrame(columns=["chapter", "notebook", "scale", "claim", "paper", "ours", "tolerance", "verdict"])
    return pd.concat([pd.read_csv(f, dtype=str, keep_default_na=False) for f in files], ignore_index=True)


def chapters_without_results(book_dir: Path) -> list[str]:
    """Chapter folders (those with an index.md) that hold no claims file yet."""
    return sorted(p.parent.name for p in book_dir.glob("*/index.md")
                  if not list(p.parent.glob("results/*.claims.csv")))


def at_each_scale(book: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """One row per claim, `ours` and `verdict` side by side for every scale at which it was run."""
    both = pd.concat([book, runs], ignore_index=True)
    if both.empty:
        return both
    wide = both.pivot_table(index=["chapter", "notebook", "claim", "paper", "tolerance"], columns="scale",
                            values=["ours", "verdict"], aggfunc="last", sort=False)
    wide.columns = [f"{value} ({scale})" for value, scale in wide.columns]
    return wide.reset_index()


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
