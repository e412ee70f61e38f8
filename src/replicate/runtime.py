"""Seeds, devices, dtypes and threads: everything that makes a run repeatable."""

from __future__ import annotations

import os
import random

import numpy as np
import torch

DTYPES = {"float32": torch.float32, "float64": torch.float64}


def seed_everything(seed: int) -> torch.Generator:
    """Seed python, numpy and torch with one integer; return a torch generator seeded the same."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def choose_device(name: str | None = None) -> torch.device:
    """name, else $REPLICATE_DEVICE, else 'auto': cuda, then mps, then cpu. Other names are checked."""
    name = name or os.environ.get("REPLICATE_DEVICE", "auto")
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name not in ("cpu", "cuda", "mps") and not name.startswith("cuda:"):
        raise ValueError(f"device must be one of 'auto', 'cpu', 'cuda', 'cuda:N', 'mps'; got {name!r}")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} was asked for but CUDA is not available on this machine")
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
    set_threads(threads)
    seed_everything(seed)
    return choose_device(device), resolve_dtype(dtype)
