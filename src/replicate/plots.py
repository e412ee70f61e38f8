"""Shared figure conventions: one style, seeds drawn as bands, the paper's prediction beside ours."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

PAPER_STYLE = dict(color="black", linestyle="--", linewidth=1.2)


def style() -> None:
    """One look for every figure in the book."""
    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")
    plt.rcParams.update({"figure.dpi": 90, "savefig.dpi": 150, "axes.titlesize": "medium"})


def seed_band(ax, df: pd.DataFrame, x: str, y: str, hue: str | None = None, *, estimator: str = "median",
              log_x: bool = False, log_y: bool = False, **kwargs):
    """Line over seeds with a band from min to max across seeds (every row is one seed's value)."""
    kwargs.setdefault("legend", "full")
    sns.lineplot(data=df, x=x, y=y, hue=hue, estimator=estimator, errorbar=("pi", 100), ax=ax,
                 palette="viridis" if hue else None, **kwargs)
    if log_x:
        log_axis(ax.xaxis)
    if log_y:
        ax.set_yscale("log")
    return ax


def log_axis(axis) -> None:
    """Log scale with plain-number major labels (1, 2, 5, 10 …) and no crowded minor labels."""
    from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter

    axis.axes.set_xscale("log") if axis is axis.axes.xaxis else axis.axes.set_yscale("log")
    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(ScalarFormatter())
    axis.set_minor_formatter(NullFormatter())


def paper_line(ax, *, x: float | None = None, y: float | None = None, label: str = "paper") -> None:
    """The paper's prediction as a dashed black line (vertical at x or horizontal at y)."""
    if x is not None:
        ax.axvline(x, label=label, **PAPER_STYLE)
    if y is not None:
        ax.axhline(y, label=label, **PAPER_STYLE)


def save(fig, name: str, output_dir: str | os.PathLike | None) -> Path | None:
    """Save fig as `<output_dir>/<name>.png` when an output folder is given (runs of `replicate run`)."""
    if output_dir is None:
        return None
    path = Path(output_dir) / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, bbox_inches="tight")
    return path
