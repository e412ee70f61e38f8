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
# # The patch experiment: memorised by a small LR, ignored by a large one until the anneal
#
# The official `train_patches.py` of {cite}`li2019towards` adds a 7×7 patch $z + s\,\zeta_y$ to the centre of
# 80 % of CIFAR-10 images (20 % of those are *patch-only*: the image is zeroed and the patch rescaled) and trains
# WRN-16-10 three ways: **large LR** (0.1, ×0.04 from epoch 30), **small LR** (0.004 throughout) and **small LR +
# activation noise** (0.004 with Gaussian noise of std 0.4 before every ReLU, switched off at epoch 30). The patch
# is linearly inseparable but noise-free: the small LR should memorise it at once, the large LR should ignore it
# until the anneal. See the [derivation page](index.md) for the construction and every deviation of each scale.
#
# At `cpu` scale the images are MNIST at full resolution (28×28) copied into 3 channels, so that the patch is the
# official 7×7×3 one (147 dimensions, same z and ζ scales); the net and the step budget are far smaller than
# WRN-16-10's 23 000 steps (the scale table on the derivation page). Seeds are network inits (bands).
# Memorisation is measured three ways: training accuracy on the patch-only training images, the official
# patch accuracy (all-zero images, 80 % carrying the exact training patch, 20 % a rescaled one), and a
# **conflict** set: test images carrying *another* class's patch — which label the net predicts.

# %% tags=["parameters"]
scale = "cpu"  # smoke | cpu | gpu | paper
n_train = None  # override: training images
epochs = None  # override: epochs
anneal_epoch = None  # override: first epoch (from 1) at the annealed LR
seeds = None  # override: network inits per schedule
seed = 0  # base seed (data subset, patch patterns, batch order)
dry_run = False  # one step of the preset, to check that it runs
results_dir = None  # claims and tables are written here (None: runs/<scale>/<chapter>)
figures_dir = None  # figures are saved here when set (replicate run sets it)

# %%
import matplotlib.pyplot as plt
import pandas as pd

from replicate import claims, claims_html, plots, rerun, results, runtime, scales
from replicate.papers import large_lr
from replicate.registry.li_wei_ma2019 import REGISTRY

CHAPTER = REGISTRY.chapter
device, _ = runtime.setup(seed)
plots.style()
cfg = scales.resolve(large_lr.PATCH_PRESETS, scale,
                     dict(n_train=n_train, epochs=epochs, anneal_epoch=anneal_epoch, seeds=seeds),
                     dry_run=dry_run, dry_overrides=large_lr.PATCH_DRY_RUN)
out = runtime.results_dir(results_dir, CHAPTER, scale)
figures = None if dry_run else figures_dir  # a dry run writes nothing
cfg

# %% [markdown]
# ## The data
#
# Normalised images first, the patch second (as the official transforms). One example of each kind, an image of
# the conflict set, and the measured mix of the training set and of the patch-only test set.

# %%
pdata = large_lr.patch_data(cfg, seed=seed, dry_run=dry_run, device=device)
pc = pdata.patch
print(f"images: {pdata.note}; patch {pc.patch_size}×{pc.patch_size}×{pc.channels} at rows/cols "
      f"{pc.start}..{pc.start + pc.patch_size - 1} of {pc.image_size}")
show = lambda ax, img: ax.imshow(img.permute(1, 2, 0).clamp(-2, 2) / 4 + 0.5 if img.shape[0] == 3 else img[0],
                                 cmap="gray")
fig, axes = plt.subplots(1, 4, figsize=(7, 2.2), layout="constrained")
for ax, k in zip(axes[:3], large_lr.KINDS):
    idx = (pdata.kind_train == k).nonzero()
    if len(idx):
        show(ax, pdata.X_train[int(idx[0])].cpu())
    ax.set(title=f"{large_lr.KINDS[k]} (y = {int(pdata.y_train[int(idx[0])]) if len(idx) else '–'})",
           xticks=[], yticks=[])
show(axes[3], pdata.X_conflict[0].cpu())
axes[3].set(title=f"conflict: image {int(pdata.y_clean[0])}, patch {int(pdata.y_conflict_patch[0])}",
            xticks=[], yticks=[])
plots.save(fig, "patch-examples", figures)
plt.show()
pd.DataFrame({"training set": pd.Series(pdata.kind_train.cpu().numpy()).map(large_lr.KINDS).value_counts(
                  normalize=True),
              "patch-only test set": pd.Series(pdata.kind_patch.cpu().numpy()).map(
                  {large_lr.PATCHED: "exact patch", large_lr.PATCH_ONLY: "rescaled patch"}).value_counts(
                  normalize=True)}).round(3)

# %% [markdown]
# **Figure 1.** One training image of each kind (the patch is the coloured square), and one conflict image.

# %% [markdown]
# ## Three schedules
#
# Each schedule trains `seeds` inits with `replicate.ensemble.train_ensemble` (SGD + Nesterov 0.9, WD 5e-4,
# batch 128). After every epoch, in eval mode: training loss and accuracy (all images, and the patch-only ones),
# clean and mixed test accuracy, the official patch accuracy (chance 0.1), and the conflict set.

# %%
runs = pd.concat([large_lr.run_patch(cfg, pdata, s, seed=seed) for s in large_lr.SCHEDULES], ignore_index=True)
if not dry_run:
    results.write_table(runs, out / "patch.runs.csv")
last = runs[runs.epoch == runs.epoch.max()]
last.groupby("schedule")[["train_acc", "train_patch_only_acc", "clean_acc", "patch_acc",
                          "conflict_patch_wins"]].mean().round(3)

# %%
named = runs.assign(schedule=runs.schedule.map({"large_lr": "large_lr", "small_lr": "small_lr",
                                                "act_noise": "small_lr_noise"}))
panels = [("train_patch_only_acc", "patch-only training images"), ("patch_acc", "official patch accuracy"),
          ("conflict_patch_wins", "conflict set: the patch's label wins"), ("clean_acc", "clean test accuracy")]
fig, axes = plt.subplots(2, 2, figsize=(7, 5.6), layout="constrained", sharex=True)
for ax, (col, title) in zip(axes.flat, panels):
    plots.seed_band(ax, named.dropna(subset=[col]), "epoch", col, hue="schedule")
    ax.axvspan(cfg.anneal_epoch - 1, cfg.epochs, color="grey", alpha=0.12)
    ax.set(xlabel="epoch", ylabel="accuracy" if "wins" not in col else "fraction", title=title)
    if ax.get_legend():  # no legend when a dry run's curve is empty
        ax.get_legend().remove()
for ax in axes.flat[:3]:
    ax.axhline(0.1, **plots.PAPER_STYLE, label="chance (the paper: large LR before the anneal)")
handles, labels = axes.flat[0].get_legend_handles_labels()
fig.legend(handles, [plots.display_name(t) for t in labels], title="schedule (grey: after the anneal)",
           loc="outside lower center", ncol=2)
plots.save(fig, "patch-curves", figures)
plt.show()

# %% [markdown]
# **Figure 2.** Memorisation of the patch and generalisation, per epoch (median and min–max over seeds). The paper
# predicts the small LR near 1 on the first three panels from the first epochs, the large LR at chance until the
# anneal (grey) and near 1 after it, and the large LR ahead on clean test accuracy at the end.

# %% [markdown]
# ## Claims
#
# Regime preconditions first (the small LR fits its training set and the patch-only images before the anneal;
# the large LR's training loss plateaus above it), then the order rows (the small LR memorises the patch, the
# large LR ignores it until the anneal and learns it after), then the generalisation gaps, which count only when
# the preconditions they need are met. Values are means over seeds with Student t intervals, gaps paired by seed;
# tolerances, controls and reasons are on the [registry page](../claims-registry.ipynb).

# %%
rows = claims.judge(REGISTRY, "patch", large_lr.measure_patch(runs, cfg.anneal_epoch))
if not dry_run:
    claims.write(rows, CHAPTER, "patch", scale, out,
                 overrides=dict(n_train=n_train, epochs=epochs, anneal_epoch=anneal_epoch, seeds=seeds))
claims.glue_counts(rows, "patch-verdicts")

# %% tags=["remove-input"]
claims_html.display(rows, CHAPTER)

# %% tags=["remove-cell"]
# NBVAL_CHECK_OUTPUT
print(rerun.compare(rows, REGISTRY, scale, out, dry_run=dry_run))
