"""The four scales (smoke / cpu / gpu / paper) and the validation of a notebook's parameters.

Each notebook's module in `replicate.papers` defines a frozen dataclass config and one preset per scale.
A notebook's `parameters` cell holds `scale` and explicit overrides (None = keep the preset);
`resolve` picks the preset, applies the overrides, and checks every field, so that a bad value fails
with one line naming the parameter and what is allowed.
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
import typing
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

SCALES = ("smoke", "cpu", "gpu", "paper")

C = TypeVar("C")


class ParameterError(ValueError):
    """A parameter outside what is allowed; the message is one line naming it."""


def check_scale(scale: str) -> str:
    if scale not in SCALES:
        raise ParameterError(f"scale must be one of {', '.join(SCALES)}; got {scale!r}")
    return scale


def _coerce(name: str, value: Any, annotation: Any) -> Any:
    """Coerce a papermill/CLI value (lists arrive as lists, numbers maybe as ints) to the field's type."""
    origin = typing.get_origin(annotation)
    if origin is tuple:
        args = typing.get_args(annotation)
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
            value = (value,)
        inner = args[0] if args else Any
        return tuple(_coerce(name, v, inner) for v in value)
    if annotation is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        if math.isnan(value):
            raise ParameterError(f"{name} must be a number; got nan")
        return float(value)
    if annotation is int and isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if annotation is int and isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**63:
        raise ParameterError(f"{name} must be an integer below 2**63; got {value!r}")
    if annotation in (int, float, str, bool) and not isinstance(value, annotation):
        raise ParameterError(f"{name} must be of type {annotation.__name__}; got {value!r}")
    if annotation is int and isinstance(value, bool):
        raise ParameterError(f"{name} must be of type int; got {value!r}")
    return value


def positive(name: str, value: float | Sequence[float]) -> None:
    """Raise ParameterError unless every value is a finite number > 0 (inf and nan are refused)."""
    values = value if isinstance(value, (tuple, list)) else (value,)
    if not values or any(not (math.isfinite(v) and v > 0) for v in values):
        raise ParameterError(f"{name} must be > 0 and finite; got {value!r}")


def one_of(name: str, value: Any, allowed: Sequence[Any]) -> None:
    """Raise ParameterError unless value is one of allowed."""
    if value not in allowed:
        raise ParameterError(f"{name} must be one of {', '.join(map(str, allowed))}; got {value!r}")


def configure(
    presets: Mapping[str, C],
    scale: str,
    overrides: Mapping[str, Any] | None = None,
    *,
    dry_run: bool = False,
    dry_overrides: Mapping[str, Any] | None = None,
) -> tuple[C, C]:
    """(the real run's config, the config to run): the preset for `scale` with the non-None `overrides` applied,
    then `dry_overrides` for a dry run; both validated (ParameterError), no memory check (`resolve` adds it)."""
    check_scale(scale)
    if scale not in presets:
        raise ParameterError(f"scale {scale!r} is not defined for this notebook; it has {', '.join(presets)}")
    config = presets[scale]
    hints = typing.get_type_hints(type(config))
    fields = {f.name for f in dataclasses.fields(config)}

    def changes(source: Mapping[str, Any] | None) -> dict[str, Any]:
        out = {}
        for name, value in (source or {}).items():
            if value is None:
                continue
            if name not in fields:
                raise ParameterError(f"unknown parameter {name!r}; allowed: {', '.join(sorted(fields))}")
            out[name] = _coerce(name, value, hints[name])
        return out

    full = dataclasses.replace(config, **changes(overrides))  # what a real run would use
    config = dataclasses.replace(full, **changes(dry_overrides)) if dry_run else full
    # the real run's config is validated too: a dry run must refuse what the run it stands for would refuse
    for checked in (full, config) if dry_run else (config,):
        for f in dataclasses.fields(checked):
            value = getattr(checked, f.name)
            if hints[f.name] in (int, float) or typing.get_origin(hints[f.name]) is tuple:
                if isinstance(value, tuple) and not value:
                    raise ParameterError(f"{f.name} must not be empty")
        if hasattr(checked, "validate"):
            checked.validate()
    return full, config


def resolve(
    presets: Mapping[str, C],
    scale: str,
    overrides: Mapping[str, Any] | None = None,
    *,
    dry_run: bool = False,
    dry_overrides: Mapping[str, Any] | None = None,
) -> C:
    """Preset for `scale`, with the non-None `overrides` applied, then validated (`configure`).

    `dry_run` applies `dry_overrides` last (one step on a few examples, the model sizes kept), so that a
    `paper` preset can be checked on a CPU in seconds. The config's own `validate()` is called if present; a
    config with `memory_bytes()` is checked against the memory of the run's device (`check_memory`).
    """
    full, config = configure(presets, scale, overrides, dry_run=dry_run, dry_overrides=dry_overrides)
    if hasattr(full, "memory_bytes"):  # a dry run reports the full run's estimate, and refuses nothing
        check_memory(full, refuse=not dry_run)
    return config


def memory_limit() -> tuple[int, str]:
    """(bytes, what) of the memory a run may use: the GPU's when the run's device (`runtime.choose_device()`) is
    CUDA, else the machine's physical memory, or the cgroup limit when lower (containers, Slurm jobs)."""
    from replicate.runtime import choose_device

    device = choose_device()
    if device.type == "cuda":
        import torch

        return torch.cuda.get_device_properties(device).total_memory, f"GPU {device}"
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for cgroup in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = open(cgroup).read().strip()
        except OSError:
            continue
        if text.isdigit():
            total = min(total, int(text))
    return total, "this machine"


def check_memory(config: Any, refuse: bool = True) -> int:
    """The config's `memory_bytes()` estimate, printed to stderr under `replicate run` ($REPLICATE_CLI=1);
    ParameterError when it exceeds `memory_limit()` and `refuse`, unless $REPLICATE_FORCE=1 (`--force`); when it
    exceeds it and not `refuse` (a dry run), one stderr line saying that the real run would be refused here."""
    need = int(config.memory_bytes())
    have, where = memory_limit()
    gib = 2**30
    too_big = f"needs an estimated {need / gib:.1f} GiB, more than {where}'s {have / gib:.1f} GiB"
    if need > have and os.environ.get("REPLICATE_FORCE") != "1":
        if refuse:
            raise ParameterError(f"the run {too_big}; choose a smaller scale or overrides, or pass --force")
        print(f"replicate: dry run only: the real run {too_big}, so it would be refused here (without --force)",
              file=sys.stderr)
    if os.environ.get("REPLICATE_CLI") == "1":
        print(f"replicate: estimated memory {need / gib:.2f} GiB ({where}: {have / gib:.1f} GiB)", file=sys.stderr)
    return need
