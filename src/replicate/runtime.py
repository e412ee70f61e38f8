"""Seeds, devices, dtypes and threads: everything that makes a run repeatable."""

from __future__ import annotations

import functools
import os
import random
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from replicate.paths import repository_root  # noqa: F401  (notebooks call runtime.repository_root)

DTYPES = {"float32": torch.float32, "float64": torch.float64}
_STARTED = time.time()  # reset by setup(): the wall time in provenance() counts from a notebook's first cell


def seed_everything(seed: int) -> torch.Generator:
    """Seed python, numpy and torch with one integer; return a torch generator seeded the same."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def on_cpu(fn: Callable) -> Callable:
    """Run `fn` with new tensors made on the CPU, whatever torch's default device. Data and initial weights are
    drawn there from CPU generators, so one seed gives the same numbers on every device; the caller moves them
    to the device it computes on."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with torch.device("cpu"):
            return fn(*args, **kwargs)
    return wrapper


def choose_device(name: str | None = None) -> torch.device:
    """name, else $REPLICATE_DEVICE, else 'auto': cuda, then mps, then cpu. Other names are checked."""
    name = name or os.environ.get("REPLICATE_DEVICE", "auto")
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    index = name[5:] if name.startswith("cuda:") else ""
    if name not in ("cpu", "cuda", "mps") and not index.isdigit():
        raise ValueError(f"device must be one of 'auto', 'cpu', 'cuda', 'cuda:N', 'mps'; got {name!r}")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} was asked for but CUDA is not available on this machine")
    if index and int(index) >= torch.cuda.device_count():
        raise ValueError(f"device {name!r}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    if name == "mps" and not (getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()):
        raise ValueError("device 'mps' was asked for but MPS is not available on this machine")
    return torch.device(name)


def resolve_dtype(name: str | torch.dtype) -> torch.dtype:
    """'float32' | 'float64' (or a torch dtype) → torch dtype."""
    if isinstance(name, torch.dtype):
        return name
    if name not in DTYPES:
        raise ValueError(f"dtype must be one of {sorted(DTYPES)}; got {name!r}")
    return DTYPES[name]


def set_threads(n: int | None = None) -> int:
    """Set torch's intra-op threads: n, else $REPLICATE_THREADS, else 1.

    One thread by default: the thread count changes the order of float reductions (so the printed
    numbers), and two threads on a 2-core machine under any other load were measured 5-18x slower.
    """
    if n is None:
        n = int(os.environ.get("REPLICATE_THREADS", "1"))
    if n < 1:
        raise ValueError(f"threads must be >= 1; got {n}")
    torch.set_num_threads(n)
    return n


def show_progress(progress: bool | None = None) -> bool:
    """Progress bars: `progress` if given, else on unless $CI is set or $REPLICATE_PROGRESS is 0 (stored
    notebooks are executed without them, so the book shows no bar residue)."""
    if progress is not None:
        return progress
    return not os.environ.get("CI") and os.environ.get("REPLICATE_PROGRESS", "1") != "0"


def environment() -> dict[str, str | int]:
    """What produced a run: versions, processor, cores, torch threads, the device 'auto' resolves to."""
    import platform

    import replicate

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    return {"replicate": replicate.__version__, "python": platform.python_version(), "torch": torch.__version__,
            "numpy": np.__version__, "platform": platform.platform(), "cpu": cpu, "cores": os.cpu_count() or 0,
            "torch_threads": torch.get_num_threads(), "device": str(choose_device())}


def setup(seed: int = 0, device: str | None = None, dtype: str = "float32", threads: int | None = None):
    """One call at the top of a notebook: threads, seed, device, dtype. Returns (device, dtype)."""
    global _STARTED
    _STARTED = time.time()
    set_threads(threads)
    seed_everything(seed)
    return choose_device(device), resolve_dtype(dtype)


def results_dir(given: str | os.PathLike | None, chapter: str, scale: str) -> Path:
    """Where a notebook writes its tables: `given` when set; else, under $REPLICATE_PUBLISH=1 (only `make
    notebooks` sets it), the book's published `book/<chapter>/results` (`results/<scale>` for other scales);
    else `$REPLICATE_RESULTS_ROOT/<scale>/<chapter>`; else `runs/<scale>/<chapter>` in the repository (or the
    working directory). Runs never write into book/ unless they publish."""
    if given is not None:
        return Path(given)
    root = repository_root() or Path.cwd()
    if os.environ.get("REPLICATE_PUBLISH") == "1":
        published = root / "book" / chapter / "results"
        return published if scale == "cpu" else published / scale
    base = os.environ.get("REPLICATE_RESULTS_ROOT")
    return (Path(base) if base else root / "runs") / scale / chapter


def git_state(path: str | os.PathLike | None = None) -> dict[str, object]:
    """The commit of the repository holding `path` (default: this package) and whether its code or notebook
    sources differ from it (`dirty`); 'unknown' outside a git checkout."""
    where = Path(path or __file__).resolve().parent
    try:
        run = lambda *a: subprocess.run(["git", *a], cwd=where, capture_output=True, text=True, timeout=10,
                                        check=True).stdout.strip()
        commit = run("rev-parse", "HEAD")
        dirty = bool(run("status", "--porcelain", "--", ":(top)src", ":(top,glob)book/**/*.py", ":(top)pyproject.toml"))
    except (OSError, subprocess.SubprocessError):
        return {"commit": "unknown", "dirty": None}
    return {"commit": commit, "dirty": dirty}


def provenance(overrides: Mapping[str, object] | None = None,
               files: Sequence[str | os.PathLike] = ()) -> dict[str, object]:
    """What produced a results file: commit (+ dirty), the non-None parameter overrides, environment(),
    wall time since setup(), the peak CUDA memory the process allocated (when it used CUDA: what a GPU run
    needed, beside the config's estimate), and the sha256 of each of `files`."""
    import hashlib

    used_cuda = torch.cuda.is_available() and torch.cuda.is_initialized()
    return {**git_state(), "overrides": {k: v for k, v in (overrides or {}).items() if v is not None},
            **environment(), "wall_time_s": round(time.time() - _STARTED, 1),
            **({"cuda_peak_memory_bytes": torch.cuda.max_memory_allocated()} if used_cuda else {}),
            "files": {Path(f).name: hashlib.sha256(Path(f).read_bytes()).hexdigest() for f in files}}
