"""The four scales (smoke / cpu / gpu / paper) and the validation of a notebook's parameters.

Each notebook's module in `replicate.papers` defines a frozen dataclass config and one preset per scale.
A notebook's `parameters` cell holds `scale` and explicit overrides (None = keep the preset);
`resolve` picks the preset, applies the overrides, and checks every field, so that a bad value fails
with one line naming the parameter and what is allowed.
"""

from __future__ import annotations

import dataclasses
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
        return float(value)
    if annotation is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if annotation in (int, float, str, bool) and not isinstance(value, annotation):
        raise ParameterError(f"{name} must be of type {annotation.__name__}; got {value!r}")
    if annotation is int and isinstance(value, bool):
        raise ParameterError(f"{name} must be of type int; got {value!r}")
    return value


def positive(name: str, value: float | Sequence[float]) -> None:
    """Raise ParameterError unless every value is > 0."""
    values = value if isinstance(value, (tuple, list)) else (value,)
    if not values or any(v <= 0 for v in values):
        raise ParameterError(f"{name} must be > 0; got {value!r}")


def one_of(name: str, value: Any, allowed: Sequence[Any]) -> None:
    """Raise ParameterError unless value is one of allowed."""
    if value not in allowed:
        raise ParameterError(f"{name} must be one of {', '.join(map(str, allowed))}; got {value!r}")


def resolve(
    presets: Mapping[str, C],
    scale: str,
    overrides: Mapping[str, Any] | None = None,
    *,
    dry_run: bool = False,
    dry_overrides: Mapping[str, Any] | None = None,
) -> C:
    """Preset for `scale`, with the non-None `overrides` applied, then validated.

    `dry_run` applies `dry_overrides` last (one step on a few examples, the model sizes kept), so that a
    `paper` preset can be checked on a CPU in seconds. The config's own `validate()` is called if present.
    """
    check_scale(scale)
    if scale not in presets:
        raise ParameterError(f"scale {scale!r} is not defined for this notebook; it has {', '.join(presets)}")
    config = presets[scale]
    hints = typing.get_type_hints(type(config))
    fields = {f.name for f in dataclasses.fields(config)}
    changes = {}
    for source in (overrides or {}), (dry_overrides or {}) if dry_run else {}:
        for name, value in source.items():
            if value is None:
                continue
            if name not in fields:
                raise ParameterError(f"unknown parameter {name!r}; allowed: {', '.join(sorted(fields))}")
            changes[name] = _coerce(name, value, hints[name])
    config = dataclasses.replace(config, **changes)
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if hints[f.name] in (int, float) or typing.get_origin(hints[f.name]) is tuple:
            if isinstance(value, tuple) and not value:
                raise ParameterError(f"{f.name} must not be empty")
    if hasattr(config, "validate"):
        config.validate()
    return config
