"""Resumable sweeps: each finished point is saved as it goes; a rerun skips finished points.

A point is a dict of parameters; its key is the tuple of `key` fields. The results table on disk holds
the point's fields and whatever its function returned (a dict of scalars, or a DataFrame of rows each
stamped with the point's fields). Only this process writes, atomically, so an interruption (Ctrl-C, a
killed job) loses at most the point in flight.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from replicate.results import append_rows, read_table


def point_key(point: Mapping[str, Any], key: Sequence[str]) -> tuple:
    """The identity of a point: its `key` fields, as strings (so that CSV round trips compare equal)."""
    return tuple(str(point[k]) for k in key)


def run_sweep(
    points: Iterable[Mapping[str, Any]],
    fn: Callable[[Mapping[str, Any]], Mapping[str, Any] | pd.DataFrame],
    path: str | os.PathLike | None,
    *,
    key: Sequence[str] | None = None,
    progress: bool | None = None,
    desc: str = "sweep",
) -> pd.DataFrame:
    """Run fn on every point not already in the table at `path`; return the table of all points.

    path=None keeps everything in memory (nothing resumes). progress=None shows a bar unless $CI is set.
    """
    points = [dict(p) for p in points]
    if not points:
        return pd.DataFrame()
    key = list(key) if key is not None else list(points[0])
    if len({point_key(p, key) for p in points}) != len(points):
        raise ValueError(f"sweep points are not unique in their key fields {key}")
    done_table = read_table(path) if path is not None else pd.DataFrame()
    done = set()
    if len(done_table):
        done = {point_key(row, key) for row in done_table[key].to_dict("records")}
    todo = [p for p in points if point_key(p, key) not in done]
    collected = [done_table] if len(done_table) else []
    show = progress if progress is not None else not os.environ.get("CI")
    for p in tqdm(todo, desc=desc, disable=not show):
        out = fn(p)
        rows = out.assign(**p) if isinstance(out, pd.DataFrame) else pd.DataFrame([{**p, **out}])
        if path is not None:
            append_rows(Path(path), rows)
        collected.append(rows)
    table = pd.concat(collected, ignore_index=True) if collected else pd.DataFrame()
    wanted = {point_key(p, key) for p in points}
    mask = [point_key(r, key) in wanted for r in table[key].to_dict("records")]
    return table[mask].reset_index(drop=True)
