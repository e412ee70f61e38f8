"""Tidy result tables on disk: atomic writes with the user's umask, read back.

A write goes to `.<name>.<pid>.<random>.tmp` in the same folder and is renamed over the table, so a crash
never leaves half a table. A process killed mid-write (SIGKILL, SIGTERM) leaves its temp file; the next write of
the same table removes every temp file of a process that is no longer alive, so kills do not pile up litter.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pandas as pd


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this machine (a zombie counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def process_start(pid: int) -> str | None:
    """When process pid started (clock ticks since boot, from /proc/<pid>/stat: the kernel's own record, so a reused
    pid reads differently), or None where /proc cannot tell (not Linux, no such process). By hand: psutil comes only
    with the optional Dask extra."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]  # field 22, counted after the parenthesised command name


def _temp_files(path: Path) -> list[Path]:
    return list(path.parent.glob(f".{path.name}.*.tmp"))


def clean_stale_temps(path: str | os.PathLike) -> int:
    """Remove the temp files left beside `path` by writers that died mid-write; returns how many."""
    removed = 0
    for tmp in _temp_files(Path(path)):
        pid = tmp.name[len(Path(path).name) + 2:].split(".")[0]
        if pid.isdigit() and not pid_alive(int(pid)):
            tmp.unlink(missing_ok=True)
            removed += 1
    return removed


def write_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write text to path atomically (temp file in the same folder + rename): a crash never leaves half a file.

    The file gets the mode a plain `open(path, "w")` would (0666 less the umask), not mkstemp's 0600.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temps(path)
    tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies, as for open()
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_table(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a CSV atomically (`write_atomic`)."""
    return write_atomic(path, df.to_csv(index=False))


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read a table written by `write_table`; an absent file is an empty table."""
    path = Path(path)
    return pd.read_csv(path) if path.exists() and path.stat().st_size else pd.DataFrame()
