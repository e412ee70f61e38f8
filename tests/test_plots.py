"""Figures: `plots.overlaps` finds colliding labels (and nothing in a clean figure); the shared helpers draw
figures without collisions; log axes switch to decade ticks beyond two decades; display names."""

import matplotlib

matplotlib.use("agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex

from replicate import plots, scorecard


@pytest.fixture(autouse=True)
def book_style():
    with plt.rc_context():
        plots.style()
        yield
    plt.close("all")


def sweep(widths=(100, 1000, 10000), seeds=3) -> pd.DataFrame:
    lr = np.logspace(-4, 0, 9)
    rows = [{"lr": x, "loss": x**2 * (1 + 0.1 * s) + 1e-3, "width": w} for w in widths for s in range(seeds) for x in lr]
    return pd.DataFrame(rows)


def test_overlaps_finds_colliding_labels_in_a_broken_figure():
    fig, axes = plt.subplots(1, 2, figsize=(3, 2), layout="none")
    axes[0].set_xticks(range(8), [f"tick label {i}" for i in range(8)])
    axes[1].set_ylabel("a y label long enough to reach the neighbouring panel and more")
    axes[0].set_title("a title as long as a sentence, over both panels")
    axes[1].set_title("another title")
    found = plots.overlaps(fig)
    assert any("x tick label 'tick label 0'" in f and "'tick label 1'" in f for f in found), found
    assert any("title 'a title" in f and "title 'another title'" in f for f in found), found


def test_overlaps_finds_a_legend_over_an_axis_label():
    fig, ax = plt.subplots(figsize=(4, 3), layout="none")
    ax.plot([0, 1], [0, 1], label="a line")
    ax.set_xlabel("x label")
    ax.legend(loc="upper left", bbox_to_anchor=(0.3, -0.02))
    assert any("legend" in f and "x label" in f for f in plots.overlaps(fig))


def test_a_clean_two_panel_figure_has_no_overlap():
    fig, axes = plt.subplots(1, 2, figsize=(7, 3))
    for ax in axes:
        ax.plot([1, 2, 3], [3, 1, 2], label="ours")
        ax.set(xlabel=r"learning rate $\eta$", ylabel="training loss", title="a panel")
        ax.legend(title="run")
    assert plots.overlaps(fig) == []


@pytest.mark.parametrize("lo, hi, decades_only", [(1e-4, 1.0, True), (0.05, 0.5, False), (10, 5000, True)])
def test_log_axis_uses_decades_beyond_two_decades(lo, hi, decades_only):
    fig, ax = plt.subplots(figsize=(3.5, 2.5))
    x = np.geomspace(lo, hi, 20)
    ax.plot(x, x)
    plots.log_axis(ax.xaxis)
    fig.canvas.draw()
    ticks = [t for t in ax.xaxis.get_majorticklocs() if lo <= t <= hi]
    mantissas = {round(t / 10 ** np.floor(np.log10(t) + 1e-9), 6) for t in ticks}
    assert (mantissas == {1.0}) == decades_only, ticks
    assert plots.overlaps(fig) == []


def test_seed_band_figure_at_column_width_has_no_overlap_and_distinct_level_colours():
    fig, axes = plt.subplots(1, 2, figsize=(plots.COLUMN_WIDTH_IN, 3))
    for ax in axes:
        plots.seed_band(ax, sweep(), "lr", "loss", hue="width", log_x=True, log_y=True)
        ax.set(xlabel=r"learning rate $\eta$", ylabel=r"loss $\mathcal{L}$")
    plots.paper_line(axes[0], y=0.01, label="paper: first")
    plots.paper_line(axes[0], x=0.1, label="paper: second", which=1)
    assert plots.overlaps(fig) == []
    colours = list(plots.levels_palette([100, 1000, 10000]).values())
    gaps = [np.abs(np.subtract(a, b)).sum() for a, b in zip(colours, colours[1:])]
    assert min(gaps) > 0.5, gaps
    assert axes[0].get_legend().get_title().get_text() == "width"
    styles = {line.get_linestyle() for line in axes[0].lines if line.get_label().startswith("paper")}
    assert styles == {"--", ":"}


def test_style_sets_constrained_layout_and_a_colour_blind_palette():
    assert plt.rcParams["figure.constrained_layout.use"]
    assert plt.rcParams["figure.dpi"] * plots.COLUMN_WIDTH_IN <= 730
    cycle = [to_hex(c["color"]) for c in plt.rcParams["axes.prop_cycle"]]
    assert cycle[:3] == [c.lower() for c in plots.PALETTE[:3]]


def test_display_names():
    assert plots.display_name("depth_mup") == "depth-μP"
    assert plots.display_name("large_lr") == "large LR"
    assert plots.display_name("sp") == "SP"
    assert plots.display_name("batch_size") == "batch size"
    assert plots.display_name(128) == "128"
    assert "_" not in plots.display_name("small_lr_noise")


def test_scorecard_forest_plot_has_no_overlap(tmp_path):
    from test_scorecard import publish

    publish(tmp_path)
    fig = scorecard.forest(scorecard.collect(tmp_path))
    assert plots.overlaps(fig) == []
