"""The declared claims of every chapter, one module per chapter, reviewable in one place.

Each module defines `REGISTRY = claims.Registry(chapter=..., title=..., claims=(...))`. Tolerances and their
reasons live here and nowhere else: notebooks measure and call `claims.judge(REGISTRY, notebook, measured)`.
The book page "How claims are judged" (book/claims-registry) renders `every()`.
"""

from __future__ import annotations

import importlib
import pkgutil

from replicate.claims import Registry


def every() -> list[Registry]:
    """Every chapter's registry, in module-name order."""
    out = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        out.append(module.REGISTRY)
    return out
