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
# # The two-pattern distribution: learning order at cpu scale
#
# The mechanism of {cite}`li2019towards` in its smallest form. Each input $x = (x_1, x_2)$ carries the **linear
# pattern P** $x_1$ (two Gaussians along a direction $w^\*$: *easy to fit, hard to generalise*), the **clustered
# pattern Q** $x_2 = z + s\,\zeta_y$ (a large shared vector, a small class-specific perturbation and a random sign:
# 4 distinct points, not linearly separable — *hard to fit, easy to generalise*), or both (10 / 10 / 80 %). The
# distribution and every constant are stated on the [derivation page](index.md) (eqs. 3.1–3.2).
#
# A two-layer ReLU network (width 512, second layer fixed at $\pm 1/\sqrt{512}$) is trained with the logistic loss by
# plain SGD (batch 32, weight decay 5e-4 on the first layer and its biases). Four runs per **unit** (a data draw ×
# a network init; the same init and batch stream in every run of a unit):
#
# * **large_lr**: η = 1.5 for the first half of the steps, then 0.05 (the anneal);
# * **small_lr**: η = 0.05 throughout;
# * **no_q** (control): the small LR on the training set with Q removed (x₂ zeroed, the Q-only examples dropped);
# * **large_b256** (control): η = 1.5 at batch 256 for the first half only — the same step size with 8× less
#   gradient noise.
#
# Claims are judged over units (Student t), paired across runs.

# %% tags=["parameters"]
scale = "cpu"  # smoke | cpu | gpu | paper
data_seeds = None  # override: data draws
init_seeds = None  # override: network inits per data draw
control_inits = None  # override: inits per data draw that also run the two controls
steps = None  # override: SGD steps of the main runs
anneal_step = None  # override: the step at which large_lr drops to lr_small
lr_small = None  # override: η_small
lr_large = None  # override: η_large
seed = 0  # base seed (data draws seed, seed + 1, …; inits and batch streams from them)
dry_run = False  # two steps of the preset, to check that it runs
results_dir = None  # claims and tables are written here (None: runs/<scale>/<chapter>)
figures_dir = None  # figures are saved here when set (replicate run sets it)

# %%
import matplotlib.pyplot as plt

from replicate import claims, claims_html, plots, rerun, results, runtime, scales
from replicate.papers import large_lr
from replicate.registry.li_wei_ma2019 import REGISTRY

CHAPTER = REGISTRY.chapter
device, _ = runtime.setup(seed)
plots.style()
overrides = dict(data_seeds=data_seeds, init_seeds=init_seeds, control_inits=control_inits, steps=steps,
                 anneal_step=anneal_step, lr_small=lr_small, lr_large=lr_large)
cfg = scales.resolve(large_lr.SYNTH_PRESETS, scale, overrides, dry_run=dry_run,
                     dry_overrides=large_lr.SYNTH_DRY_RUN)
out = runtime.results_dir(results_dir, CHAPTER, scale)
figures = None if dry_run else figures_dir  # a dry run writes nothing
cfg

# %%
runs = large_lr.run_synth(cfg, seed=seed, device=device)
if not dry_run:
    results.write_table(runs, out / "synthetic.runs.csv")
fits = large_lr.fit_times(runs)
fits.groupby("run")[["t_linear", "t_clustered"]].median()

# %% [markdown]
# The table: the median over units of the step from which the P-only and the Q-only training examples stay fitted
# (accuracy ≥ 0.9 to the run's end; inf = never; the batch control runs only the first half).

# %%
shown = {"large_lr": "large → anneal", "small_lr": "small", "no_q": "small, no Q (control)"}
fig, axes = plt.subplots(1, 2, figsize=(7.2, 3.4), layout="constrained", sharey=True)
for ax, (col, title, arms) in zip(axes, [("test_linear", "linear pattern P alone", shown),
                                         ("test_clustered", "clustered pattern Q alone",
                                          {k: v for k, v in shown.items() if k != "no_q"})]):
    d = runs[runs.run.isin(arms)].assign(schedule=lambda df: df.run.map(arms))
    plots.seed_band(ax, d, "step", col, hue="schedule", hue_order=list(arms.values()))
    ax.axvspan(cfg.anneal_step, cfg.steps, color="grey", alpha=0.12)
    ax.axhline(0.5, **plots.PAPER_STYLE)
    ax.set(xlabel="SGD step", ylabel="test accuracy", title=title, ylim=(0.4, 1.02))
    if ax.get_legend():  # no legend when a dry run's curve is empty
        ax.get_legend().remove()
handles, labels = axes[0].get_legend_handles_labels()
fig.legend(handles, labels, title="schedule (grey: after the anneal; dashed: chance)", loc="outside lower center",
           ncol=3)
plots.save(fig, "synthetic-learning-order", figures)
plots.headline(fig, f"{CHAPTER}-headline")

# %% [markdown]
# **Figure 1.** Test accuracy on each pattern alone (fresh examples; chance 0.5) against the SGD step: the large LR
# annealed at the grey span, the small LR throughout, and (left) the small LR trained without Q; lines are medians
# over units, bands their min–max. The paper predicts the small LR fits Q at once and the large LR only after the
# anneal, and the large LR ahead of the small LR on P at the end.

# %%
d = runs[runs.run.isin(["large_lr", "large_b256"]) & (runs.step <= cfg.anneal_step)]
d = d.assign(batch=d.run.map({"large_lr": f"{cfg.batch_size}", "large_b256": f"{cfg.control_batch}"}))
fig, ax = plt.subplots(figsize=(5.6, 3.4), layout="constrained")
plots.seed_band(ax, d, "step", "train_clustered", hue="batch",
                hue_order=[f"{cfg.batch_size}", f"{cfg.control_batch}"])
ax.axhline(large_lr.FIT, **plots.PAPER_STYLE, label=f"fitted ({large_lr.FIT})")
ax.set(xlabel="SGD step (before the anneal)", ylabel="Q-only training accuracy", ylim=(0.4, 1.02),
       title=f"η = {cfg.lr_large:g}: the batch-size control")
ax.legend(title="batch size", loc="lower right")
plots.save(fig, "synthetic-batch-control", figures)
plt.show()

# %% [markdown]
# **Figure 2.** The noise control: accuracy on the training examples that carry Q alone, at the large learning rate,
# with batch 32 and batch 256 (same init, same number of steps; the control runs on the first `control_inits` inits
# of every data draw). If the step size alone kept the large LR from Q, the larger batch would not fit it either.

# %% [markdown]
# ## Claims
#
# Regime preconditions first (the small LR fits the training set, and fits Q before P; at the large LR the larger
# batch fits Q where batch 32 does not), then the order rows (the large LR fits Q later than the small LR, and after
# the anneal), then the claims: the gap on P-only test data and the no-Q control. A gap counts only when every
# precondition it requires is met. Values are means over units with Student t intervals, paired by unit;
# tolerances, controls and reasons are on the [registry page](../claims-registry.ipynb).

# %%
rows = claims.judge(REGISTRY, "synthetic", large_lr.measure_synthetic(runs, cfg.anneal_step))
if not dry_run:
    claims.write(rows, CHAPTER, "synthetic", scale, out, overrides=overrides)
claims.glue_counts(rows, "synthetic-verdicts")
_ = large_lr.glue_synthetic(rows, runs, cfg)

# %% tags=["remove-input"]
claims_html.display(rows, CHAPTER)

# %% tags=["remove-cell"]
# NBVAL_CHECK_OUTPUT
print(rerun.compare(rows, REGISTRY, scale, out, dry_run=dry_run))
