"""Resumable sweeps: each finished point is saved as it goes; a rerun skips finished points.

A point is a dict of parameters; its key is the tuple of `key` fields. The results table on disk holds
the point's fields and whatever its function returned (a dict of scalars, or a DataFrame of rows each
stamped with the point's fields). Points run in this process or as tasks on a Dask cluster
(`replicate.executors`); either way only this process writes, atomically, so an interruption (Ctrl-C, a
killed job) loses at most the points in flight, and a point is recorded once even if its task was retried.
The returned table lists the points in the order given, whatever order they finished in.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm import tqdm

from replicate.executors import Executor, executor_from, run_points
from replicate.results import append_rows, read_table
from replicate.runtime import show_progress

__all__ = ["executor_from", "point_key", "point_seed", "run_sweep", "sweep_path"]


def sweep_path(results_dir: str | os.PathLike, name: str, config: Any) -> Path:
    """`<results_dir>/<name>.<hash of config>.sweep.csv`: a changed configuration never resumes stale points."""
    digest = hashlib.sha256(repr(config).encode()).hexdigest()[:10]
    return Path(results_dir) / f"{name}.{digest}.sweep.csv"


def point_key(point: Mapping[str, Any], key: Sequence[str]) -> tuple:
    """The identity of a point: its `key` fields, as strings (so that CSV round trips compare equal)."""
    return tuple(str(point[k]) for k in key)


def point_seed(point: Mapping[str, Any], base_seed: int = 0, key: Sequence[str] | None = None) -> int:
    """A seed in [0, 2**31) from the point's `key` fields (default: all) and base_seed, stable across processes.

    Seed every point from its own parameters (`runtime.seed_everything(point_seed(p, seed))` at the top of fn)
    so that its result does not depend on which worker ran it, or after which other point.
    """
    fields = sorted(key if key is not None else point)
    text = repr((int(base_seed), [(k, str(point[k])) for k in fields]))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big") % 2**31


def run_sweep(
    points: Iterable[Mapping[str, Any]],
    fn: Callable[[Mapping[str, Any]], Mapping[str, Any] | pd.DataFrame],
    path: str | os.PathLike | None,
    *,
    key: Sequence[str] | None = None,
    progress: bool | None = None,
    desc: str = "sweep",
    executor: Executor = None,
) -> pd.DataFrame:
    """Run fn on every point not already in the table at `path`; return the table of all points, in point order.

    path=None keeps everything in memory (nothing resumes). progress=None: `runtime.show_progress()`.
    executor: None or "local" runs the points here, one after the other; a `distributed.Client` or a scheduler
    address ("tcp://HOST:PORT") runs each point as a Dask task (fn and the points must pickle; the workers need
    this package installed).
    """
    points = [dict(p) for p in points]
    if not points:
        return pd.DataFrame()
    key = list(key) if key is not None else list(points[0])
    order = {point_key(p, key): i for i, p in enumerate(points)}
    if len(order) != len(points):
        raise ValueError(f"sweep points are not unique in their key fields {key}")
    done_table = read_table(path) if path is not None else pd.DataFrame()
    done = set()
    if len(done_table):
        done = {point_key(row, key) for row in done_table[key].to_dict("records")}
    todo = [p for p in points if point_key(p, key) not in done]
    collected = [done_table] if len(done_table) else []
    show = show_progress(progress)
    names = [f"{desc}[{','.join(point_key(p, key))}]" for p in todo]
    with tqdm(total=len(todo), desc=desc, disable=not show) as bar, \
            closing(run_points(fn, todo, executor, names)) as finished:  # closing cancels what is left on Dask
        for i, out in finished:
            p = todo[i]
            if point_key(p, key) in done:  # a retried task's second result
                continue
            rows = out.assign(**p) if isinstance(out, pd.DataFrame) else pd.DataFrame([{**p, **out}])
            if path is not None:
                append_rows(Path(path), rows)
            done.add(point_key(p, key))
            collected.append(rows)
            bar.update()
    table = pd.concat(collected, ignore_index=True) if collected else pd.DataFrame()
    rank = pd.Series([order.get(point_key(r, key), -1) for r in table[key].to_dict("records")], dtype="int64")
    table = table[(rank >= 0).to_numpy()]
    position = rank[rank >= 0].to_numpy()
    return table.iloc[position.argsort(kind="stable")].reset_index(drop=True)
