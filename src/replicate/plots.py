"""Shared figure conventions: one style, seeds drawn as bands, the paper's prediction beside ours, labels that
never collide (`overlaps` checks a figure for it)."""

from __future__ import annotations

import math
import os
import warnings
from itertools import combinations
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

# The paper's predictions: black, one line style each (dashed for the first, dotted for a second, dash-dot next).
PAPER_STYLES = (dict(color="black", linestyle="--", linewidth=1.2), dict(color="black", linestyle=":", linewidth=1.6),
                dict(color="black", linestyle="-.", linewidth=1.2))
PAPER_STYLE = PAPER_STYLES[0]
# Okabe & Ito's colour-blind-safe qualitative palette, ordered so that neighbours differ in hue and lightness.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000", "#F0E442")
COLUMN_WIDTH_IN = 7.0  # the book's text column is ~730 px; figure.dpi makes 7 in exactly that wide
# Code names → what a reader should see in legends and titles (anything else: underscores become spaces).
DISPLAY_NAMES = {"sp": "SP", "mup": "μP", "ntk": "NTK", "depth_mup": "depth-μP", "large_lr": "large LR",
                 "small_lr": "small LR", "small_lr_noise": "small LR + noise", "lr": "learning rate", "eta": "η",
                 "eta_star": "η*", "lambda": "λ", "relu": "ReLU", "mlp": "MLP", "sgd": "SGD", "gd": "GD"}


def style() -> None:
    """One look for every figure in the book: constrained layout, the Okabe–Ito palette, fonts that stay legible
    when a 7-inch figure fills the ~730 px column (9–10 pt at 104 dpi ≈ 13–14 px)."""
    sns.set_theme(context="notebook", style="whitegrid", palette=list(PALETTE))
    plt.rcParams.update({
        "figure.constrained_layout.use": True, "figure.dpi": 104, "savefig.dpi": 150,
        "figure.figsize": (6.4, 3.8), "font.size": 10, "axes.titlesize": 10, "axes.labelsize": 10,
        "xtick.labelsize": 9, "ytick.labelsize": 9, "legend.fontsize": 9, "legend.title_fontsize": 9,
        "legend.framealpha": 0.9, "axes.formatter.use_mathtext": True, "lines.linewidth": 1.6,
    })


def display_name(name: object) -> str:
    """A code name as a reader should see it: `depth_mup` → "depth-μP", `large_lr` → "large LR", other
    underscores and hyphens → spaces; numbers and text with spaces are kept."""
    text = str(name)
    if text in DISPLAY_NAMES:
        return DISPLAY_NAMES[text]
    return " ".join(DISPLAY_NAMES.get(w, w) for w in text.replace("-", "_").split("_")) if " " not in text else text


def levels_palette(values, cmap: str = "plasma") -> dict:
    """One colour per distinct level of a numeric (or ordered) variable, evenly spaced along a sequential map by
    rank, not by value: 100 and 1000 in a sweep up to 10⁴ get as different colours as any two neighbours. The
    map's pale end is cut so the last level stays visible on white."""
    levels = sorted(set(values))
    colours = sns.color_palette(cmap, max(len(levels), 2) + 1)[:max(len(levels), 2)]
    return dict(zip(levels, colours))


def seed_band(ax, df: pd.DataFrame, x: str, y: str, hue: str | None = None, *, estimator: str = "median",
              log_x: bool = False, log_y: bool = False, **kwargs):
    """Line over seeds with a band from min to max across seeds (every row is one seed's value). A numeric hue
    gets `levels_palette` (neighbouring levels distinguishable); the legend's title is the hue's display name."""
    kwargs.setdefault("legend", "full")
    if hue and "palette" not in kwargs:
        kwargs["palette"] = levels_palette(df[hue]) if pd.api.types.is_numeric_dtype(df[hue]) else list(PALETTE)[:df[hue].nunique()]
    sns.lineplot(data=df, x=x, y=y, hue=hue, estimator=estimator, errorbar=("pi", 100), ax=ax, **kwargs)
    if log_x:
        log_axis(ax.xaxis)
    if log_y:
        log_axis(ax.yaxis)
    legend = ax.get_legend()
    if hue and legend is not None:
        legend.set_title(display_name(hue))
        for text in legend.get_texts():
            text.set_text(display_name(text.get_text()))
    return ax


def _log_label(value: float, _pos=None) -> str:
    """A plain number (0.01, 2, 500), or 10^k beyond three decades from 1, where plain digits get long."""
    if value <= 0:
        return ""
    k = math.log10(value)
    if abs(k - round(k)) < 1e-9 and abs(round(k)) >= 3:
        return rf"$10^{{{round(k)}}}$"
    return f"{value:g}"


class _SpanAwareLogLocator(LogLocator):
    """Log ticks at 1, 2, 5 × 10^k when the axis spans at most two decades, at 10^k only beyond (where 1-2-5
    labels run together, e.g. "0.0000.0010.002…"). Decided at draw time, from the limits the data set."""

    def tick_values(self, vmin, vmax):
        lo, hi = sorted((vmin, vmax))
        wide = lo > 0 and math.log10(hi / lo) > 2
        self.set_params(subs=(1.0,) if wide else (1.0, 2.0, 5.0))
        return super().tick_values(vmin, vmax)


def log_axis(axis) -> None:
    """Log scale; major labels as plain numbers (1-2-5 within two decades, decades only beyond), minor ticks
    unlabelled."""
    axis.axes.set_xscale("log") if axis is axis.axes.xaxis else axis.axes.set_yscale("log")
    axis.set_major_locator(_SpanAwareLogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(_log_label))
    axis.set_minor_locator(LogLocator(base=10, subs=tuple(range(2, 10)), numticks=100))
    axis.set_minor_formatter(NullFormatter())


def paper_line(ax, *, x: float | None = None, y: float | None = None, label: str = "paper", which: int = 0) -> None:
    """The paper's prediction as a black line (vertical at x or horizontal at y); `which` picks the style of the
    first, second, third prediction on the same axes (dashed, dotted, dash-dot)."""
    line_style = PAPER_STYLES[which]
    if x is not None:
        ax.axvline(x, label=label, **line_style)
    if y is not None:
        ax.axhline(y, label=label, **line_style)


def save(fig, name: str, output_dir: str | os.PathLike | None) -> Path | None:
    """Save fig as `<output_dir>/<name>.png` when an output folder is given (runs of `replicate run`). Every figure
    is checked by `overlaps` first: colliding labels are a warning in the notebook's output, which the notebook
    tests turn into a failure."""
    collisions = overlaps(fig)
    if collisions:
        warnings.warn(f"figure {name}: overlapping labels: {'; '.join(collisions[:3])}", stacklevel=2)
    if output_dir is None:
        return None
    path = Path(output_dir) / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, bbox_inches="tight")
    return path


def _glue(key: str, value, display: bool = False) -> None:
    """myst-nb's glue when it is installed (the book's environment); a no-op for library-only users."""
    try:
        from myst_nb import glue
    except ImportError:
        return
    glue(key, value, display=display)


def headline(fig, key: str) -> None:
    """Show fig as a chapter's headline figure, glued under `key` (e.g. "iyer2023-maximal-initial-lr-headline")
    so that the chapter's index page pastes it with ```{glue} key``` and `:doc: <notebook>.ipynb`; the cell's
    plt.show() is then not needed. The glued output is the displayed one: myst-nb writes only displayed images
    into the build, and a second rendering of the same figure can differ by a few bytes, so a paste of a
    separately rendered copy named an image file that was never written."""
    try:
        from myst_nb import glue
    except ImportError:  # library-only users: the open figure is shown at the end of the cell as usual
        return
    glue(key, fig, display=True)
    plt.close(fig)


def _drawn_tick_labels(axis):
    """The tick labels matplotlib draws: visible, non-empty, at a tick inside the view limits."""
    lo, hi = sorted(axis.get_view_interval())
    slack = 1e-9 * max(abs(lo), abs(hi), 1.0)
    for locs, labels in ((axis.get_majorticklocs(), axis.get_majorticklabels()),
                         (axis.get_minorticklocs(), axis.get_minorticklabels())):
        for loc, label in zip(locs, labels):
            if label.get_visible() and label.get_text().strip() and lo - slack <= loc <= hi + slack:
                yield label


def _labelled_boxes(fig) -> list[tuple[str, object]]:
    """(description, window bounding box) of every tick label, axis label, title and legend of the figure."""
    renderer = fig.canvas.get_renderer()
    boxes = []
    for i, ax in enumerate(a for a in fig.axes if a.get_visible() and a.axison):
        where = f"axes {i}" + (f" ({ax.get_title()!r})" if ax.get_title() else "")
        for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            for label in _drawn_tick_labels(axis):
                boxes.append((f"{name} tick label {label.get_text()!r} of {where}", label.get_window_extent(renderer)))
            if axis.label.get_visible() and axis.label.get_text().strip():
                boxes.append((f"{name} label {axis.label.get_text()!r} of {where}",
                              axis.label.get_window_extent(renderer)))
        for title in (ax.title, ax._left_title, ax._right_title):  # matplotlib has no public list of the three
            if title.get_visible() and title.get_text().strip():
                boxes.append((f"title {title.get_text()!r} of axes {i}", title.get_window_extent(renderer)))
        legend = ax.get_legend()
        if legend is not None and legend.get_visible():
            boxes.append((f"legend of {where}", legend.get_window_extent(renderer)))
    for j, legend in enumerate(fig.legends):
        boxes.append((f"figure legend {j}", legend.get_window_extent(renderer)))
    for text in (fig._suptitle, fig._supxlabel, fig._supylabel):  # the same: no public accessor
        if text is not None and text.get_visible() and text.get_text().strip():
            boxes.append((f"figure text {text.get_text()!r}", text.get_window_extent(renderer)))
    return boxes


def overlaps(fig, tolerance_px: float = 1.0) -> list[str]:
    """Draw fig and list every pair of tick labels, axis labels, titles and legends whose bounding boxes overlap
    by more than `tolerance_px` in both directions (empty: nothing collides). A legend's own texts are inside
    its box and are not checked against it."""
    fig.canvas.draw()
    boxes = _labelled_boxes(fig)
    found = []
    for (a, box_a), (b, box_b) in combinations(boxes, 2):
        dx = min(box_a.x1, box_b.x1) - max(box_a.x0, box_b.x0)
        dy = min(box_a.y1, box_b.y1) - max(box_a.y0, box_b.y0)
        if dx > tolerance_px and dy > tolerance_px:
            found.append(f"{a} overlaps {b}")
    return found
