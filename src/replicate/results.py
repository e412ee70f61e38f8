"""Tidy result tables on disk: atomic writes, read back, append."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd


def write_table(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a CSV atomically (temp file in the same folder + rename): a crash never leaves half a table."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            df.to_csv(f, index=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read a table written by `write_table`; an absent file is an empty table."""
    path = Path(path)
    return pd.read_csv(path) if path.exists() and path.stat().st_size else pd.DataFrame()


def append_rows(path: str | os.PathLike, rows: pd.DataFrame) -> pd.DataFrame:
    """Append rows to the table at path (rewritten atomically); returns the whole table."""
    table = pd.concat([read_table(path), rows], ignore_index=True) if len(rows) else read_table(path)
    write_table(table, path)
    return table
