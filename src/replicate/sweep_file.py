"""A sweep's file on disk: one JSON line per point, appended when the point finishes, values stored with their types.

A line is `{"key": ..., "columns": [...], "dtypes": [...], "values": [[column values], ...]}`: the point's rows
(its fields, what its function returned, an `error` message for a failed point) as JSON values beside each column's
pandas dtype, so a point read back is the frame its function returned: "007" and "NA" stay strings, float32 stays
float32, None stays None (a CSV read gives 7, NaN and float64). Appending costs one line, however long the file: a
kill mid-append can only tear the last line, which the next reader drops. A later line for the same key (a failed
point retried) replaces the earlier one. `compact` rewrites the file atomically with only the records kept.

JSON lines by hand, not pandas' `to_json(orient="table")`: its Table Schema has no float32 and no per-append form.
"""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from replicate.results import write_atomic

SUFFIX = ".sweep.jsonl"
ERROR = "error"  # the column holding a failed point's message


def _json_value(value):
    """A value JSON cannot store natively: numpy scalars as Python numbers, NA as null, times in ISO 8601."""
    if isinstance(value, np.generic):
        return value.item()
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    raise TypeError(f"a sweep result value of type {type(value).__name__} cannot be stored; return numbers, strings, "
                    "booleans or None")


def encode(key: str, frame: pd.DataFrame) -> str:
    """One point's line: its key and its rows, column by column with their dtypes."""
    return json.dumps({"key": key, "columns": list(frame.columns), "dtypes": [str(t) for t in frame.dtypes],
                       "values": [frame.iloc[:, i].tolist() for i in range(frame.shape[1])]},
                      default=_json_value) + "\n"


def _decode(record: dict) -> pd.DataFrame:
    columns = [pd.Series(v, dtype=t, name=c) for c, t, v in zip(record["columns"], record["dtypes"], record["values"])]
    return pd.concat(columns, axis=1)


def read(path: str | os.PathLike) -> tuple[dict[str, pd.DataFrame], bool]:
    """The points stored at path (key → rows; the last line of a key wins) and whether the file is compact (no torn
    last line, no replaced line). An absent file holds nothing; a corrupt line before the last raises ValueError."""
    path = Path(path)
    data = path.read_bytes() if path.exists() else b""
    whole = data[:data.rfind(b"\n") + 1]  # a last line without its newline was torn by a kill mid-append
    lines = whole.splitlines()
    records = {}
    for n, line in enumerate(lines, 1):
        try:
            record = json.loads(line)
            records[record["key"]] = _decode(record)
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(f"{path}:{n} is not a sweep record ({type(err).__name__}); move the file away to "
                             "recompute its points") from None
    return records, len(whole) == len(data) and len(records) == len(lines)


def append(path: str | os.PathLike, key: str, frame: pd.DataFrame) -> None:
    """Add one point's line at the end of the file (created with the umask's mode if absent)."""
    line = encode(key, frame).encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        view = memoryview(line)
        while view:  # os.write may write less than asked
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def compact(path: str | os.PathLike, records: dict[str, pd.DataFrame]) -> None:
    """Rewrite the file atomically with these records only (a torn line, replaced and stale lines gone)."""
    write_atomic(path, "".join(encode(k, f) for k, f in records.items()))


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """Every stored point's rows in one table, each row stamped with its point's key in a `sweep_key` column."""
    records, _ = read(path)
    frames = [f.assign(sweep_key=k) for k, f in records.items()]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
