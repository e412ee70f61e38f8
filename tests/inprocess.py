"""Execute a notebook's text twin in the calling process (no kernel start-up: seconds instead of ~15 s a run)."""

import os
from pathlib import Path

import jupytext
import matplotlib


def run_in_process(text: Path, out: Path, scale: str, dry_run: bool = False) -> dict:
    """Run the code cells of `text` at `scale` (its parameters cell, then these overrides) with results in `out`
    and no figures; return the notebook's namespace."""
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from IPython.display import display

    cells = [c.source for c in jupytext.read(text).cells if c.cell_type == "code"]
    ns: dict = {"__name__": "__main__", "display": display}  # a kernel's builtin, which notebooks call
    exec(cells[0], ns)
    ns.update(scale=scale, dry_run=dry_run, results_dir=str(out), figures_dir=None)
    cwd = Path.cwd()
    os.chdir(text.parent)
    try:
        for i, source in enumerate(cells[1:], 1):
            exec(compile(source, f"{text.name}, code cell {i}", "exec"), ns)
    finally:
        os.chdir(cwd)
        plt.close("all")
    return ns
