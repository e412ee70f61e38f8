"""Resumable sweeps: each finished point is saved as it goes; a rerun skips finished points.

A point is a dict of parameters; its key is the canonical JSON of its `key` fields (1 ≠ 1.0 ≠ "1"). The
results table holds the point's fields and whatever its function returned (a dict of scalars, or a DataFrame of
rows each stamped with the point's fields). Points run in this process or as tasks on a Dask cluster
(`replicate.executors`); either way only this process writes, under a lock file (one writer per sweep file),
appending each finished point as one typed line (`replicate.sweep_file`: a resumed point reads back with its
types), so an interruption (Ctrl-C, a killed job) loses at most the points in flight, and a point is recorded
once even if its task was retried. The returned table lists the points in the order given, whatever order they
finished in, with the point's fields exactly as given.

`sweep_path` names the file after everything that changes a point's numbers (config, base seed, data, the
library's code), so a changed run recomputes and an unchanged one resumes; each stored key also carries
`point_function_identity` (the point function's source and torch's thread count), so a row computed by an edited
point function, or under another thread count, is stale: dropped and recomputed, never resumed.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import inspect
import json
import operator
import os
import socket
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager, nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from replicate import sweep_file
from replicate.executors import Executor, executor_from, run_points
from replicate.results import clean_stale_temps, pid_alive, process_start
from replicate.runtime import show_progress
from replicate.sweep_file import ERROR

__all__ = ["SweepLocked", "code_digest", "data_digest", "executor_from", "point_key", "point_seed", "run_sweep",
           "sweep_path", "writer_lock"]


class SweepLocked(RuntimeError):
    """Another live process is writing this sweep file."""


@functools.cache
def code_digest() -> str:
    """sha256 of every source file of the `replicate` package (paths and bytes), computed once per process."""
    root = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for f in sorted(root.rglob("*.py")):
        h.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


def _feed(h: Any, obj: Any) -> None:
    """Hash obj's content: tensor/array/DataFrame bytes with dtype and shape, containers recursively."""
    if obj is None or isinstance(obj, (bool, int, float, complex, str, bytes)):
        h.update(repr((type(obj).__name__, obj)).encode())
    elif isinstance(obj, torch.Tensor):
        t = obj.detach().cpu().contiguous()
        h.update(f"tensor {t.dtype} {tuple(t.shape)}".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy())
    elif isinstance(obj, np.ndarray) and obj.dtype != object:
        h.update(f"array {obj.dtype} {obj.shape}".encode())
        h.update(np.ascontiguousarray(obj).view(np.uint8))
    elif isinstance(obj, np.generic):
        _feed(h, obj.item())
    elif isinstance(obj, (pd.DataFrame, pd.Series)):
        frame = obj if isinstance(obj, pd.DataFrame) else obj.to_frame()
        h.update(f"{type(obj).__name__} {list(map(str, frame.columns))} {list(map(str, frame.dtypes))}".encode())
        h.update(pd.util.hash_pandas_object(obj, index=True).to_numpy())
    elif isinstance(obj, Mapping):
        h.update(f"map {len(obj)}".encode())
        for k in sorted(obj, key=repr):
            _feed(h, k)
            _feed(h, obj[k])
    elif isinstance(obj, (tuple, list)):
        h.update(f"{type(obj).__name__} {len(obj)}".encode())
        for x in obj:
            _feed(h, x)
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        h.update(type(obj).__name__.encode())
        _feed(h, {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)})
    else:  # a default repr holds a memory address: the file would never resume, so refuse loudly
        raise TypeError(f"sweep data of type {type(obj).__name__} cannot be fingerprinted; pass tensors, arrays, "
                        "DataFrames, numbers or strings (in tuples, lists, dicts or dataclasses)")


def data_digest(data: Any) -> str:
    """sha256 of the data's content (see `_feed`): equal for equal data in any process."""
    h = hashlib.sha256()
    _feed(h, data)
    return h.hexdigest()


def sweep_path(results_dir: str | os.PathLike, name: str, config: Any, *, seed: int, data: Any = None) -> Path:
    """`<results_dir>/<name>.<digest>.sweep.jsonl`, the digest covering the resolved config, the base seed, the
    data's content and the library's code: change any of them and the sweep recomputes; change none and it
    resumes."""
    h = hashlib.sha256()
    for part in (repr(config), repr(operator.index(seed)), data_digest(data), code_digest()):
        h.update(part.encode() + b"\0")
    return Path(results_dir) / f"{name}.{h.hexdigest()[:12]}{sweep_file.SUFFIX}"


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"a sweep key field must be a number, string, None, or a list/tuple/dict of them; got "
                    f"{type(value).__name__}")


def point_function_identity(fn: Callable) -> str:
    """12 hex digits of sha256 over the point function's source (for a lambda in a notebook cell, IPython keeps
    the cell's text; without a source, its bytecode, constants and names) and torch's thread count (which changes
    the reduction order, hence the numbers)."""
    try:
        text = inspect.getsource(fn)
    except (OSError, TypeError):
        code = getattr(fn, "__code__", None)
        text = repr((code.co_code, code.co_consts, code.co_names)) if code else getattr(fn, "__qualname__",
                                                                                        type(fn).__qualname__)
    return hashlib.sha256(f"{text}\0threads={torch.get_num_threads()}".encode()).hexdigest()[:12]


def point_key(point: Mapping[str, Any], key: Sequence[str]) -> str:
    """The identity of a point: the canonical JSON of its `key` fields (1 ≠ 1.0 ≠ "1"; None and "007" kept)."""
    return json.dumps([_plain(point[k]) for k in key], sort_keys=True)


def point_seed(point: Mapping[str, Any], base_seed: int = 0, key: Sequence[str] | None = None) -> int:
    """A seed in [0, 2**31) from the point's `key` fields (default: all) and base_seed, stable across processes.

    Seed every point from its own parameters (`runtime.seed_everything(point_seed(p, seed))` at the top of fn)
    so that its result does not depend on which worker ran it, or after which other point.
    """
    fields = sorted(key if key is not None else point)
    text = repr((int(base_seed), [(k, str(point[k])) for k in fields]))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big") % 2**31


_HELD: set[Path] = set()  # lock files this process holds


@contextmanager
def writer_lock(path: str | os.PathLike) -> Iterator[Path]:
    """Hold `<path>.lock` (created with O_EXCL, holding "pid@host start": the process and when it started) for the
    block: one writer per sweep file.

    A lock left by a dead process on this host, or by a process whose pid now belongs to another one (its start
    differs), is taken over (and the temp files it left are removed); one held by a live process raises SweepLocked,
    whose message names the file to remove if the owner is gone (a lock from another host, or an unreadable one).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = path.with_name(path.name + ".lock").resolve()
    host = socket.gethostname()
    for _ in range(5):
        try:
            fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            try:
                owner = lock.read_text().strip()
            except FileNotFoundError:  # released meanwhile: try again
                continue
            if not _stale(owner, host, lock):
                raise SweepLocked(f"{path.name} is being written by process {owner or '(no owner recorded)'}; one "
                                  f"writer at a time: wait for it or stop it; if no such process is running, "
                                  f"remove {lock}") from None
            lock.unlink(missing_ok=True)
            continue
        with os.fdopen(fd, "w") as f:
            f.write(f"{os.getpid()}@{host} {process_start(os.getpid()) or '?'}\n")
        break
    else:
        raise SweepLocked(f"could not take the lock {lock.name}")
    _HELD.add(lock)
    clean_stale_temps(path)  # what a writer killed mid-write left
    try:
        yield lock
    finally:
        _HELD.discard(lock)
        lock.unlink(missing_ok=True)


def _stale(owner: str, host: str, lock: Path) -> bool:
    """Whether the lock's owner ("pid@host start") is gone: on this host, its pid is dead, is this process's own
    without holding the lock, or now names a process started at another time."""
    ident, _, start = owner.partition(" ")
    pid, _, where = ident.partition("@")
    if where != host or not pid.isdigit():
        return False
    pid = int(pid)
    if not pid_alive(pid) or (pid == os.getpid() and lock not in _HELD):
        return True
    now = process_start(pid)
    return start not in ("", "?") and now is not None and now != start


def _stored(path: Path | None, identity: str) -> dict[str, pd.DataFrame]:
    """The points stored at `path` under this point-function identity; the file is compacted first when it holds
    anything else (stale points of another identity, replaced lines, a line torn by a kill)."""
    if path is None:
        return {}
    records, clean = sweep_file.read(path)
    current = {k: f for k, f in records.items() if k.endswith(f"#{identity}")}
    if not clean or len(current) < len(records):
        sweep_file.compact(path, current)
    return current


@dataclasses.dataclass(frozen=True)
class _Failure:
    message: str


@dataclasses.dataclass(frozen=True)
class _Recording:
    """fn, with any Exception turned into a `_Failure` (a picklable wrapper, so it works on Dask workers too)."""

    fn: Callable

    def __call__(self, point):
        try:
            return self.fn(point)
        except Exception as err:  # noqa: BLE001 - recorded as the point's error, by request (on_error="record")
            return _Failure(" ".join(f"{type(err).__name__}: {err}".split())[:500])


def _rows(point: Mapping[str, Any], out: Any) -> pd.DataFrame:
    if isinstance(out, _Failure):
        return pd.DataFrame([{**point, ERROR: out.message}])
    names = set(out.columns if isinstance(out, pd.DataFrame) else out)
    if ERROR in names:
        raise ValueError(f"a sweep point's result may not have a column named {ERROR!r}: the sweep keeps it for "
                         "failures; rename it")
    if isinstance(out, pd.DataFrame) and out.empty:
        raise ValueError("a sweep point returned an empty table: it would never count as finished (return one row, "
                         "e.g. with a count of 0)")
    if isinstance(out, pd.DataFrame):
        return out.assign(**{f: [v] * len(out) for f, v in point.items()})
    return pd.DataFrame([{**point, **out}])


def run_sweep(
    points: Iterable[Mapping[str, Any]],
    fn: Callable[[Mapping[str, Any]], Mapping[str, Any] | pd.DataFrame],
    path: str | os.PathLike | None,
    *,
    key: Sequence[str] | None = None,
    progress: bool | None = None,
    desc: str = "sweep",
    executor: Executor = None,
    on_error: str = "raise",
) -> pd.DataFrame:
    """Run fn on every point not already finished in the table at `path`; return the table of all points, in
    point order.

    path=None keeps everything in memory (nothing resumes). progress=None: `runtime.show_progress()` (a tqdm bar
    on stderr: points done/total, elapsed, ETA). executor: None or "local" runs the points here, one after the
    other; a `distributed.Client` or a scheduler address ("tcp://HOST:PORT") runs each point as a Dask task (fn
    and the points must pickle; the workers need this package installed).

    on_error="raise": the first failing point raises (the finished ones are kept). on_error="record": a failing
    point becomes one row of its fields with the message in the `error` column, and the sweep goes on; with
    "record" the returned table always has an `error` column (NaN for finished points). A rerun retries the
    failed points only, replacing their error rows. Raises SweepLocked if another live process writes `path`.
    """
    if on_error not in ("raise", "record"):
        raise ValueError(f"on_error must be 'raise' or 'record'; got {on_error!r}")
    points = [dict(p) for p in points]
    if not points:
        return pd.DataFrame()
    key = list(key) if key is not None else list(points[0])
    identity = point_function_identity(fn)
    keys = [f"{point_key(p, key)}#{identity}" for p in points]
    if len(set(keys)) != len(points):
        raise ValueError(f"sweep points are not unique in their key fields {key}")
    path = Path(path) if path is not None else None
    with writer_lock(path) if path is not None else nullcontext():
        frames = _stored(path, identity)
        todo = [i for i, k in enumerate(keys) if k not in frames or ERROR in frames[k]]  # failed points run again
        call = _Recording(fn) if on_error == "record" else fn
        names = [f"{desc}[{','.join(map(str, (points[i][f] for f in key)))}]" for i in todo]
        seen, failures = set(), []
        with tqdm(total=len(todo), desc=desc, disable=not show_progress(progress)) as bar, \
                closing(run_points(call, [points[i] for i in todo], executor, names)) as results:
            for j, out in results:  # closing() cancels what is left on Dask after an error or Ctrl-C
                i = todo[j]
                if keys[i] in seen:  # a retried task's second result
                    continue
                frames[keys[i]] = _rows(points[i], out)
                if path is not None:
                    sweep_file.append(path, keys[i], frames[keys[i]])
                seen.add(keys[i])
                if isinstance(out, _Failure):
                    failures.append(out.message)
                    bar.set_postfix(failed=len(failures))
                bar.update()
    if failures:
        print(f"{desc}: {len(failures)} of {len(todo)} points failed (their rows hold the error; a rerun retries "
              f"them). First: {failures[0]}", file=sys.stderr)
    return _in_point_order(frames, points, keys, with_error=on_error == "record")


def _in_point_order(frames: dict[str, pd.DataFrame], points: list[dict], keys: list[str],
                    with_error: bool) -> pd.DataFrame:
    """The rows of the given points, in point order, each point's fields as given."""
    done = [(p, frames[k]) for p, k in zip(points, keys) if k in frames]
    table = pd.concat([f for _, f in done], ignore_index=True)
    owners = [p for p, f in done for _ in range(len(f))]
    for f in dict.fromkeys(f for p in points for f in p):
        values = [p.get(f) for p in owners]
        numbers = all(isinstance(v, (int, float, np.number)) for v in values)  # else kept as objects: None, "007"
        table[f] = pd.Series(values, index=table.index, dtype=None if numbers else object)
    if with_error and ERROR not in table:
        table[ERROR] = np.nan
    if ERROR in table and not with_error and table[ERROR].isna().all():
        table = table.drop(columns=ERROR)
    if ERROR in table:  # last, whichever point finished first (column order must not depend on timing)
        table = table[[c for c in table if c != ERROR] + [ERROR]]
    return table
