# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # The two-pattern distribution: which pattern each learning rate learns first
#
# The mechanism of {cite}`li2019towards` in its smallest form. Each input $x = (x_1, x_2)$ carries a **linear**
# pattern $x_1$ (linearly separable, no margin, high-dimensional: *easy to fit, hard to generalise*), a
# **clustered** pattern $x_2 = z + s\,\zeta_y$ (a large shared vector, a tiny class-specific perturbation and a
# random sign: linearly inseparable but noise-free, *hard to fit, easy to generalise*), or both (20 / 16 / 64 %,
# the mix of the official patch code). The patterns are defined by construction (eqs. 3.1–3.2 on the
# [derivation page](index.md)), not by the paper's letters.
#
# A two-layer ReLU network (second layer fixed) is trained by SGD (batch 32) with a **large LR** annealed ×0.04
# half-way, or with the **small LR** (= the annealed one) throughout. We track the accuracy on each pattern alone
# over training. Seeds are network inits (bands: min–max).

# %% tags=["parameters"]
scale = "cpu"  # smoke | cpu | paper
n_train = None  # override: training examples
steps = None  # override: SGD steps
seeds = None  # override: network inits per schedule
lr_large = None  # override: the large LR (the small one is lr_large × 0.04)
seed = 0  # base seed (data and batch order)
dry_run = False  # one step of the preset, to check that it runs
results_dir = "results"  # claims and tables are written here
figures_dir = None  # figures are saved here when set (replicate run sets it)

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from replicate import claims, plots, results, runtime, scales
from replicate.papers import large_lr

runtime.setup(seed)
plots.style()
cfg = scales.resolve(large_lr.SYNTH_PRESETS, scale,
                     dict(n_train=n_train, steps=steps, seeds=seeds, lr_large=lr_large),
                     dry_run=dry_run, dry_overrides=large_lr.SYNTH_DRY_RUN)
print(f"small LR = {cfg.lr_small:.3g}, anneal at step {cfg.anneal_step}")
cfg

# %%
sd = large_lr.synth_data(cfg, seed=seed)
runs = pd.concat([large_lr.run_synth(cfg, sd, s, seed=seed) for s in ("large_lr", "small_lr")], ignore_index=True)
if not dry_run:
    results.write_table(runs, f"{results_dir}/synthetic.runs.csv")
runs[runs.step == runs.step.max()].groupby("schedule")[
    ["train_linear", "train_clustered", "test_linear", "test_clustered", "test_mixed"]].mean().round(3)

# %% [markdown]
# ## Learning order
#
# Test accuracy on each pattern alone (1000 fresh examples each; chance is 0.5). The grey span is after the
# anneal of the large-LR run.

# %%
fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
panels = [("test_clustered", "clustered pattern alone (hard to fit, easy to generalise)"),
          ("test_linear", "linear pattern alone (easy to fit, hard to generalise)"),
          ("test_mixed", "test set with the training mix")]
for ax, (col, title) in zip(axes, panels):
    plots.seed_band(ax, runs, "step", col, hue="schedule")
    ax.axvspan(cfg.anneal_step, cfg.steps, color="grey", alpha=0.12, label="after the anneal")
    ax.set(xlabel="SGD step", ylabel="test accuracy (fraction)", title=title, ylim=(0.4, 1.02))
plots.paper_line(axes[0], y=0.5, label="chance")
for ax in axes:
    ax.legend(fontsize="x-small")
plots.save(fig, "synthetic-learning-order", figures_dir)
plt.show()

# %% [markdown]
# ## Claims
#
# The digest gives tolerances for the patch experiment only (claims 22–23); here they are carried over to this
# task before any run, with the time axis in fractions of training (epoch 5 of 60 → the first 1/12 of the steps)
# and chance at 0.5 instead of 0.1: small-LR clustered accuracy ≥ 0.9 within the first 1/12 of the steps; large-LR
# clustered accuracy ≤ 0.6 at every logged step before the anneal and ≥ 0.9 within 1/12 of the steps after it; final
# test accuracy (training mix, and the linear pattern alone) large − small ≥ +1 pp.

# %%
def by_seed(schedule, col, lo, hi):
    d = runs[(runs.schedule == schedule) & (runs.step >= lo) & (runs.step <= hi)]
    return d.groupby("seed_idx")[col]


twelfth = cfg.steps // 12
small_early = by_seed("small_lr", "test_clustered", 1, twelfth).max()
large_pre = by_seed("large_lr", "test_clustered", 1, cfg.anneal_step).max()
large_post = by_seed("large_lr", "test_clustered", cfg.anneal_step + 1, cfg.anneal_step + twelfth).max()
fin = {s: runs[(runs.schedule == s) & (runs.step == runs.step.max())].set_index("seed_idx")
       for s in ("large_lr", "small_lr")}
gap_mixed = float((fin["large_lr"].test_mixed - fin["small_lr"].test_mixed).mean())
gap_linear = float((fin["large_lr"].test_linear - fin["small_lr"].test_linear).mean())
table = [
    claims.fraction_claim("small LR: clustered acc ≥ 0.9 within the first 1/12 of steps (seeds)",
                          "learned first", int((small_early >= 0.9).sum()), len(small_early)),
    claims.fraction_claim("large LR: clustered acc ≤ 0.6 at every step before the anneal (seeds)",
                          "ignored until anneal", int((large_pre <= 0.6).sum()), len(large_pre)),
    claims.fraction_claim("large LR: clustered acc ≥ 0.9 within 1/12 of steps after the anneal (seeds)",
                          "learned after anneal", int((large_post >= 0.9).sum()), len(large_post)),
    claims.interval_claim("final test acc (training mix): large − small", "large better", gap_mixed, 0.01, np.inf),
    claims.interval_claim("final test acc (linear pattern alone): large − small", "large better", gap_linear,
                          0.01, np.inf),
]
if not dry_run:
    claims.write(table, "li-wei-ma2019-large-lr", "synthetic", scale, results_dir)
print("final test acc (training mix):", {s: round(float(f.test_mixed.mean()), 3) for s, f in fin.items()})

# %%
# NBVAL_CHECK_OUTPUT
print(claims.show(table))
