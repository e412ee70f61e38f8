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
