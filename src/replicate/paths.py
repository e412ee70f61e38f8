"""Where the book is: torch-free, so that the CLI answers `list` and its one-line errors without importing torch."""

from __future__ import annotations

import os
from pathlib import Path


def repository_root(start: str | os.PathLike | None = None) -> Path | None:
    """The book's repository: the first folder at or above `start` (default: the working directory) holding
    `_toc.yml`; None outside one."""
    here = Path(start or Path.cwd()).resolve()
    return next((p for p in (here, *here.parents) if (p / "_toc.yml").exists()), None)
