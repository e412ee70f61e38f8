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
# # The one-step update size: C(L) ∝ L³, so η* ∝ L^(−3/2)
#
# {cite}`jelassi2023depth` define the maximal-update learning rate of a mean-field ReLU MLP as the largest
# η for which the mean squared change of the pre-activations after one gradient step stays bounded as the
# width n and the depth L grow. Here we *measure* that change on a grid of widths and depths, with the
# per-layer table of the [derivation page](index.md) (input LR η·n/n₀, hidden η, output η/n; init He on the
# ReLU layers, N(0, 1/n²) on the output).
#
# Protocol: one Gaussian input x ~ N(0, I₆₄), target y = 1, loss ½(f − y)², one full-batch GD step. For
# each (n, L, seed) we compute (i) the **linear response** C_ℓ = lim_{η→0} M_ℓ(η)/η² exactly, by one
# `torch.func.jvp` of the pre-activations along the step direction (eq. 2), and (ii) the **full step**
# M_L(η) = mean_i (Δz_i^(L))² on a log grid of η (eq. 1). η*_lin = C_L^(−1/2) is where the linear
# response reaches M_L = 1; η*_full is where the full step does (bisection).

# %% tags=["parameters"]
scale = "cpu"  # smoke | cpu | gpu | paper
widths = None  # override: tuple of widths n
depths = None  # override: tuple of depths L
seeds = None  # override: seeds per (n, L)
batch = None  # override: inputs in the GD step (the note: 1)
seed = 0  # base seed
dry_run = False  # one small pass of the preset, to check that it runs
results_dir = None  # tables and claims go here (None: runs/<scale>/<chapter>)
figures_dir = None  # figures are saved here when set (replicate run sets it)

# %%
import dataclasses

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from replicate import claims, claims_html, fits, plots, rerun, results, runtime, scales
from replicate.papers import mup_depth
from replicate.registry.jelassi2023 import REGISTRY

CHAPTER = "jelassi2023-mup-depth"
device, _ = runtime.setup(seed)
plots.style()
cfg = scales.resolve(mup_depth.UPDATE_PRESETS, scale, dict(widths=widths, depths=depths, seeds=seeds, batch=batch),
                     dry_run=dry_run, dry_overrides=mup_depth.UPDATE_DRY_RUN)
out = runtime.results_dir(results_dir, CHAPTER, scale)
cfg

# %% [markdown]
# The per-layer table (here n = 1024, L = 4, n₀ = 64): initialisation, forward multiplier, LR scale c_ℓ.

# %%
mup_depth.mean_field_table(cfg.in_features, 1024, 4)

# %% [markdown]
# ## Update size against the learning rate
#
# M_L(η) for every (n, L) on the grid; the black dashed lines are the linear responses C_L·η² (median seed). At
# small η the two agree; at large η the full step is sub-quadratic (ReLU gating), which is why the
# definition of η* matters.

# %%
lin, full, stars = mup_depth.update_sizes(cfg, seed=seed, device=device)
last = lin[lin.layer == lin.L].reset_index(drop=True)
if not dry_run:
    results.write_table(lin, out / "update-size.linear.csv")
    results.write_table(full, out / "update-size.full-step.csv")
shown = [n for n in (cfg.widths[0], cfg.widths[-1])]
fig, axes = plt.subplots(1, 2, figsize=(7, 3.4), sharey=True, layout="constrained")
for ax, n in zip(axes, shown):
    d = full[full.n == n].rename(columns={"L": "depth L"})
    if len(d):
        plots.seed_band(ax, d, "eta", "M", hue="depth L", log_x=True, log_y=True)
        for _, g in d.groupby("depth L"):
            med = g.groupby("eta").M_linear.median()
            ax.plot(med.index, med.values, **plots.PAPER_STYLES[0])
    plots.paper_line(ax, y=1.0, label=r"$M_L = 1$ (defines $\eta^*$)", which=1)
    ax.set(xlabel=r"learning rate $\eta$", ylabel=r"$M_L(\eta)$ = mean $(\Delta z^{(L)})^2$", title=f"n = {n}",
           ylim=(1e-14, 1e6))
    ax.legend(title="depth L", loc="upper left", fontsize="x-small")
plots.save(fig, "update-size-vs-eta", figures_dir)
plt.show()

# %% [markdown]
# **Figure 1.** One-step update size M_L(η) at the narrowest and widest width (lines: median over seeds; bands:
# min–max), with the linear response C_L·η² (black dashed) and the level M_L = 1 that defines η* (black dotted).

# %% [markdown]
# ## The coefficient C(L) and its depth exponent
#
# C_L = M_L/η² (linear response) against L on log–log axes, one line per width, seeds as bands. The paper's
# law C ∝ L³ is the black dashed line, anchored at the fit width's smallest fit depth. Right: C_L/L³ against L/n;
# the law needs n ≫ L (the fits use n ≥ 32L; grey: L/n > 1/32).

# %%
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(7, 3.4), layout="constrained")
plots.seed_band(ax1, last.rename(columns={"n": "width n"}), "L", "C", hue="width n", estimator="mean", log_x=True,
                log_y=True, marker="o")
anchor = last[(last.n == cfg.fit_width) & (last.L == min(cfg.fit_depths))].C.mean()
Ls = np.array(sorted(last.L.unique()), dtype=float)
if np.isfinite(anchor):
    ax1.plot(Ls, anchor * (Ls / min(cfg.fit_depths)) ** 3, **plots.PAPER_STYLES[0], label=r"paper: $\propto L^3$")
ax1.set(xlabel=r"depth $L$ (hidden layers)", ylabel=r"$C_L = \lim M_L/\eta^2$", title="linear-response coefficient")
ax1.legend(title="width n", fontsize="x-small", loc="upper left")
plots.seed_band(ax2, last.assign(L_over_n=last.L / last.n, C_over_L3=last.C / last.L**3).rename(
    columns={"n": "width n"}), "L_over_n", "C_over_L3", hue="width n", estimator="mean", log_x=True, log_y=True,
    marker="o")
ax2.axvspan(1 / cfg.fit_ratio, max(1.0, float((last.L / last.n).max())), color="grey", alpha=0.2,
            label=f"L/n > 1/{cfg.fit_ratio}")
ax2.set(xlabel=r"depth / width $L/n$", ylabel=r"$C_L / L^3$", title=r"collapse onto $L^3$ needs $L \ll n$")
ax2.legend(title="width n", fontsize="x-small", loc="best")
plots.save(fig, "coefficient-vs-depth", figures_dir)
plt.show()

# %% [markdown]
# **Figure 2.** Left: the linear-response coefficient C_L against depth (lines: mean over seeds; bands: min–max),
# with the note's L³ (black dashed). Right: C_L/L³ against L/n.
#
# Fitted slopes s of C_L ∝ L^s per width (`fits.power_law` on the mean over seeds, depths with n ≥ 32L, 95 %
# bootstrap over seeds); η*_lin = C_L^(−1/2) ∝ L^(−s/2) (a diagnostic: the same number). Then C_L(n₁)/C_L(n₂) at
# every depth computed at both widths, with its two-sample bootstrap interval.

# %%
slopes = mup_depth.depth_fits(lin, cfg, seed=seed)
display(slopes.assign(eta_exponent=-slopes.slope / 2).round(3))
mup_depth.width_ratios(lin, cfg, seed=seed).round(3)

# %% [markdown]
# ## Width independence of the hidden-layer rate, and the first and last layers
#
# Left: C_L against n at fixed depth (flat lines = the hidden-layer LR does not depend on n). Right: the
# step restricted to one group of layers, at L = `group_depth`, with unit LR scales (dotted, open markers) and
# with the mean-field scales (solid). For the input layer and the hidden layers the quantity is C_L; for the
# output layer it is C_f, the change of the output f. Without the factors n/n₀ and 1/n, the input layer's
# contribution falls like n⁻² and the output's grows like n²; with them all three are flat (the mean-field
# exponents are the unit ones ± 2 by construction, shown as diagnostics).

# %%
scan = mup_depth.group_width_scan(cfg, seed=seed, device=device)
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(7, 3.4), layout="constrained")
plots.seed_band(ax1, last.rename(columns={"L": "depth L"}), "n", "C", hue="depth L", estimator="mean", log_x=True,
                log_y=True, marker="o")
ax1.set(xlabel=r"width $n$", ylabel=r"$C_L = \lim M_L/\eta^2$", title="hidden-layer rate: flat in n")
ax1.legend(title="depth L", fontsize="x-small", loc="best")
for (lr_table, group), g in scan.groupby(["lr_table", "group"]):
    mean = g.groupby("n").C.mean()
    ax2.plot(mean.index, mean.values, marker="o", linestyle="-" if lr_table == "mean_field" else ":",
             markerfacecolor=None if lr_table == "mean_field" else "none",
             color=dict(zip(mup_depth.GROUPS, plots.PALETTE))[group],
             label=f"{group}, {'mean-field' if lr_table == 'mean_field' else 'unit'} LR")
plots.log_axis(ax2.xaxis)
plots.log_axis(ax2.yaxis)
ax2.set(xlabel=r"width $n$", ylabel="C of the restricted step",
        title=f"per-layer-group response, L = {cfg.group_depth}")
ax2.legend(title="layer group", fontsize="x-small", loc="best")
plots.save(fig, "width-dependence", figures_dir)
plt.show()
mup_depth.group_exponents(scan, cfg, seed=seed).round(3)

# %% [markdown]
# **Figure 3.** Left: C_L against width, one line per depth. Right: the response of the step restricted to one layer
# group, with unit (dotted) and mean-field (solid) learning rates; the table gives the width exponents.
#
# ## Two definitions of η* (a diagnostic)
#
# At the fit width: η*_lin = C_L^(−1/2) (the leading-order, small-step definition) and η*_full (the η at which
# one full nonlinear step gives M_L = 1). The paper's L^(−3/2) law is a statement about the first.

# %%
if not dry_run:
    results.write_table(stars, out / "update-size.eta-star.csv")
long = stars.melt(id_vars=["n", "L", "seed"], value_vars=["eta_lin", "eta_full"], var_name="definition",
                  value_name="eta_star").replace({"eta_lin": "linear response", "eta_full": "full step"})
fit_star = {d: fits.power_law(g, "L", "eta_star", n_boot=cfg.bootstrap, seed=seed) for d, g in long.groupby("definition")}
fig, ax = plt.subplots(figsize=(5.5, 3.6), layout="constrained")
if len(long):
    plots.seed_band(ax, long, "L", "eta_star", hue="definition", log_x=True, log_y=True, marker="o")
    L0 = min(long.L)
    e0 = np.exp(np.log(long[(long.L == L0) & (long.definition == "linear response")].eta_star).mean())
    Ls = np.array(sorted(long.L.unique()), dtype=float)
    ax.plot(Ls, e0 * (Ls / L0) ** -1.5, **plots.PAPER_STYLES[0], label=r"paper: $\propto L^{-3/2}$")
    ax.legend(title=r"definition of $\eta^*$", loc="best")
ax.set(xlabel=r"depth $L$ (hidden layers)", ylabel=r"$\eta^*$ ($M_L = 1$)", title=f"maximal-update LR, n = {cfg.fit_width}")
plots.save(fig, "eta-star-vs-depth", figures_dir)
plt.show()
pd.DataFrame(fit_star).T[["p", "p_lo", "p_hi"]].astype(float).round(3)

# %% [markdown]
# **Figure 4.** η* by the two definitions against depth (lines: median over seeds; bands: min–max), with the note's
# L^(−3/2) (black dashed) anchored at the smallest depth; the table gives the fitted exponents.

# %% [markdown]
# ## Claims
#
# Each claim's value carries a 95 % interval over networks (bootstrap over seeds within each configuration); the
# verdict is read from the interval against the tolerance declared in the chapter's registry (listed with its
# reason, its expected value and its named rival on the book's page "How claims are judged"), and only where the
# test can decide: power ≥ 0.8 and false-pass ≤ 0.1, else *underpowered*. The depth slope and the width ratio
# require the precondition that the jvp coefficient is the small-step limit of the actual step.

# %%
rows = claims.judge(REGISTRY, "update-size", mup_depth.measure_update_size(lin, full, scan, cfg, seed=seed))
if not dry_run:
    claims.write(rows, CHAPTER, "update-size", scale, out,
                 overrides=dict(widths=widths, depths=depths, seeds=seeds, batch=batch))
claims.glue_counts(rows, "update-size-verdicts")
shallow = mup_depth.depth_fit(lin, dataclasses.replace(cfg, fit_depths=tuple(d for d in cfg.depths if d <= 8)),
                              cfg.fit_width, seed=seed)  # the lr-sweep's depths, for the page's comparison
_ = mup_depth.glue_numbers(rows, {"update-slope-shallow": f"{shallow['p']:.2f} [{shallow['p_lo']:.2f}, "
                                                          f"{shallow['p_hi']:.2f}]"})

# %% tags=["remove-input"]
claims_html.display(rows, CHAPTER)

# %% tags=["remove-cell"]
# NBVAL_CHECK_OUTPUT
print(rerun.compare(rows, REGISTRY, scale, out, dry_run=dry_run))
