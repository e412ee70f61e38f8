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
# # Training with an exponentially growing learning rate
#
# {cite}`li2020exponential`, Fig. 5: step decay with weight decay and its tapered-exponential equivalent TEXP
# (no weight decay, the LR *grows* inside each phase and is divided by 10 at each milestone, eq. 6 on the
# [derivation page](index.md)) train alike and reach similar test accuracy. Here: the scale-invariant conv net of
# the previous notebook on a subset of Fashion-MNIST (14×14), float32, η = 0.1, λ = 5·10⁻⁴, γ = 0.9, batch 128,
# LR ÷10 at 50 % and 75 % of training. Three arms — step decay + WD, TEXP without WD, and the *exact* no-WD
# equivalent of step decay (`schedules.equivalent_lrs`) — and a fourth, the negative control: step decay *without*
# WD and without any growth (the exponential part removed). Each arm has its own seeds, so that inits and batch
# orders differ between arms exactly as between seeds: a gap between arms is judged against the seed-to-seed
# spread, and a gap the equivalents share with the negative control says nothing about the theorem. At `cpu` scale
# the first phase is 192 steps at η = 0.1, in which the equivalents' LR grows only ×1.21, against a weight-decay
# equilibrium time (1 − γ)/(2λη) = 1000 steps: there the negative control is expected to train like the others, and
# the two gap rows read underpowered by construction (their rival predicts their value). At `paper` scale the run follows the
# paper: CIFAR-10 (random crops with 4-pixel padding and flips), PreResNet32 (`exp_lr.PreResNet32`, made
# scale-invariant as the small net: BN without affine or running statistics, frozen head), 160 epochs, LR ÷10 at
# epochs 80 and 120; it needs the official CIFAR-10 archive (see the [derivation page](index.md)).

# %% tags=["parameters"]
scale = "cpu"  # smoke | cpu | gpu | paper
epochs = None  # override: training epochs
seeds = None  # override: seeds per arm
seed = 0  # base seed
dry_run = False  # one step of the preset, to check that it runs
results_dir = None  # claims and tables are written here (None: runs/<scale>/<chapter>)
figures_dir = None  # figures are saved here when set (replicate run sets it)

# %%
import matplotlib.pyplot as plt
import pandas as pd

from replicate import claims, claims_html, plots, rerun, results, runtime, scales
from replicate.papers import exp_lr
from replicate.registry.li_arora2020 import REGISTRY

CHAPTER = REGISTRY.chapter
device, _ = runtime.setup(seed)
plots.style()
cfg = scales.resolve(exp_lr.ACCURACY_PRESETS, scale, dict(epochs=epochs, seeds=seeds),
                     dry_run=dry_run, dry_overrides=exp_lr.ACCURACY_DRY_RUN)
out = runtime.results_dir(results_dir, CHAPTER, scale)
cfg

# %%
ds, note = exp_lr.load_accuracy_data(cfg, seed=seed, dry_run=dry_run, device=device)
if note:
    print(note)
df = pd.concat([exp_lr.train_schedule(ds, cfg, s, exp_lr.arm_seed(seed, s, k))
                for s in exp_lr.SCHEDULES for k in range(cfg.seeds)], ignore_index=True)
if not dry_run:
    results.write_table(df, out / "accuracy.runs.csv")
final = df[df.epoch == df.epoch.max()].assign(test_acc=lambda d: 100 * d.test_acc)
final.groupby("schedule").test_acc.agg(["mean", "std", "min", "max", "count"]).round(2)

# %% [markdown]
# The table is the seed-to-seed spread of the final test accuracy (%) in each arm: the scale against which the
# gaps between arms are read.

# %%
fig, axes = plt.subplots(1, 2, figsize=(7, 3.2), layout="constrained")
plots.seed_band(axes[0], df, "epoch", "lr", hue="schedule", log_y=True)
plots.seed_band(axes[1], df.assign(test_acc=100 * df.test_acc), "epoch", "test_acc", hue="schedule")
axes[0].set(xlabel="epoch", ylabel=r"learning rate $\eta_t$ (last step of the epoch)", title="schedules")
axes[1].set(xlabel="epoch", ylabel="test accuracy (%)", title="test accuracy")
for ax in axes:
    ax.legend(title="schedule", fontsize="x-small", loc="best")
plots.save(fig, "accuracy-curves", figures_dir)
plt.show()

# %% [markdown]
# **Figure 1.** Left: the four schedules (log scale): step decay (with WD, and without it: the negative control),
# and its two no-WD equivalents, which grow exponentially inside each phase. Right: test accuracy per epoch; lines:
# median over seeds, bands: min to max.

# %% [markdown]
# ## Claims
#
# Each gap is the difference of the arms' mean final test accuracy, with a bootstrap interval that resamples the
# seeds of each arm independently. Each row's power and false-pass come from redrawing that bootstrap around the
# value the paper predicts (0) and around its rival's, "the exponential schedule removed"; the negative control's
# own gap is the diagnostic row. Tolerances, their reasons and the controls are on the
# [registry page](../claims-registry.ipynb).

# %%
rows = claims.judge(REGISTRY, "accuracy", exp_lr.measure_accuracy(df))
if not dry_run:
    claims.write(rows, CHAPTER, "accuracy", scale, out, overrides=dict(epochs=epochs, seeds=seeds))
exp_lr.glue_numbers(rows)
claims.glue_counts(rows, "accuracy-verdicts")

# %% tags=["remove-input"]
claims_html.display(rows, CHAPTER)

# %% tags=["remove-cell"]
# NBVAL_CHECK_OUTPUT
print(rerun.compare(rows, REGISTRY, scale, out, dry_run=dry_run))
