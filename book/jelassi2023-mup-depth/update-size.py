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
scale = "cpu"  # smoke | cpu | paper
widths = None  # override: tuple of widths n
depths = None  # override: tuple of depths L
seeds = None  # override: seeds per (n, L)
batch = None  # override: inputs in the GD step (the note: 1)
seed = 0  # base seed
dry_run = False  # one small pass of the preset, to check that it runs
results_dir = "results"  # claims and tables are written here
figures_dir = None  # figures are saved here when set (replicate run sets it)

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from replicate import claims, fits, plots, results, runtime, scales
from replicate.papers import mup_depth

runtime.setup(seed)
plots.style()
cfg = scales.resolve(mup_depth.UPDATE_PRESETS, scale, dict(widths=widths, depths=depths, seeds=seeds, batch=batch),
                     dry_run=dry_run, dry_overrides=mup_depth.UPDATE_DRY_RUN)
cfg

# %% [markdown]
# The per-layer table (here n = 1024, L = 4, n₀ = 64): initialisation, forward multiplier, LR scale c_ℓ.

# %%
mup_depth.mean_field_table(cfg.in_features, 1024, 4)

# %% [markdown]
# ## Update size against the learning rate
#
# M_L(η) for every (n, L) on the grid; the dashed lines are the linear responses C_L·η² (median seed). At
# small η the two agree; at large η the full step is sub-quadratic (ReLU gating), which is why the
# definition of η* matters (claim 20 below).

# %%
lin, full = mup_depth.update_sizes(cfg, seed=seed)
last = lin[lin.layer == lin.L].reset_index(drop=True)
if not dry_run:
    results.write_table(lin, f"{results_dir}/update-size.linear.csv")
    results.write_table(full, f"{results_dir}/update-size.full-step.csv")
fig, axes = plt.subplots(1, len(cfg.widths), figsize=(3.6 * len(cfg.widths), 3.6), sharey=True, squeeze=False)
for ax, n in zip(axes[0], cfg.widths):
    d = full[full.n == n]
    if len(d):
        plots.seed_band(ax, d, "eta", "M", hue="L", log_x=True, log_y=True)
        for L, g in d.groupby("L"):
            med = g.groupby("eta").M_linear.median()
            ax.plot(med.index, med.values, color="black", linestyle="--", linewidth=0.8)
    plots.paper_line(ax, y=1.0, label="M_L = 1 (defines η*)")
    ax.set(xlabel="learning rate η (dimensionless)", ylabel="M_L(η) = mean (Δz^(L))²", title=f"n = {n}",
           ylim=(1e-8, 1e6))
    ax.legend(fontsize="x-small", title="L", title_fontsize="x-small")
plots.save(fig, "update-size-vs-eta", figures_dir)
plt.show()

# %% [markdown]
# ## The coefficient C(L) and its depth exponent
#
# C_L = M_L/η² (linear response) against L on log–log axes, one line per width, seeds as bands. The paper's
# law C ∝ L³ is the dashed line, anchored at the fit width's smallest fit depth. Right: C_L/L³ against L/n;
# the law needs n ≫ L and breaks down beyond L/n ≈ 1/16 (grey region).

# %%
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
plots.seed_band(ax1, last, "L", "C", hue="n", log_x=True, log_y=True, marker="o")
anchor = last[(last.n == cfg.fit_width) & (last.L == min(cfg.fit_depths))].C.mean()
Ls = np.array(sorted(last.L.unique()), dtype=float)
if np.isfinite(anchor):
    ax1.plot(Ls, anchor * (Ls / min(cfg.fit_depths)) ** 3, **plots.PAPER_STYLE, label="paper: ∝ L³")
ax1.set(xlabel="depth L (hidden layers)", ylabel="C_L = lim M_L/η²", title="linear-response coefficient")
ax1.legend(fontsize="small", title="n")
plots.seed_band(ax2, last.assign(L_over_n=last.L / last.n, C_over_L3=last.C / last.L**3), "L_over_n",
                "C_over_L3", hue="n", log_x=True, log_y=True, marker="o")
ax2.axvspan(1 / 16, max(1.0, float((last.L / last.n).max())), color="grey", alpha=0.2, label="L/n > 1/16")
ax2.set(xlabel="depth / width L/n", ylabel="C_L / L³", title="collapse onto L³ needs L ≪ n")
ax2.legend(fontsize="small", title="n")
plots.save(fig, "coefficient-vs-depth", figures_dir)
plt.show()

# %% [markdown]
# Fitted exponents s of C_L ∝ L^s (least squares on log–log of the mean over seeds, depths in the fit range
# with n ≥ 32·L, 95 % bootstrap interval over seeds); η*_lin ∝ L^(−s/2).

# %%
depth_fits = pd.DataFrame([(n, *mup_depth.depth_fit(lin, cfg, n, seed=seed)) for n in cfg.widths],
                    columns=["n", "slope", "lo", "hi"]).dropna()
depth_fits.assign(eta_exponent=-depth_fits.slope / 2).round(3)

# %% [markdown]
# ## Width independence of the hidden-layer rate, and the first and last layers
#
# Left: C_L against n at fixed depth (flat lines = the hidden-layer LR does not depend on n). Right: the
# step restricted to one group of layers, at L = `group_depth`, with unit LR scales (open markers) and with
# the mean-field scales (filled). For the input layer and the hidden layers the quantity is C_L; for the
# output layer it is C_f, the change of the output f. Without the factors n/n₀ and 1/n, the input layer's
# contribution falls like n⁻² and the output's grows like n²; with them all three are flat.

# %%
scan = mup_depth.group_width_scan(cfg, seed=seed)
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
plots.seed_band(ax1, last, "n", "C", hue="L", log_x=True, log_y=True, marker="o")
ax1.set(xlabel="width n", ylabel="C_L = lim M_L/η²", title="hidden-layer rate: flat in n")
ax1.legend(fontsize="small", title="L")
for (lr_table, group), g in scan.groupby(["lr_table", "group"]):
    med = g.groupby("n").C.median()
    ax2.plot(med.index, med.values, marker="o", linestyle="-" if lr_table == "mean_field" else ":",
             markerfacecolor=None if lr_table == "mean_field" else "none",
             color={"input": "C0", "hidden": "C1", "output": "C2"}[group], label=f"{group}, {lr_table} LR")
ax2.set(xscale="log", yscale="log", xlabel="width n", ylabel="C of the restricted step",
        title=f"per-layer-group response, L = {cfg.group_depth}")
ax2.legend(fontsize="x-small")
plots.save(fig, "width-dependence", figures_dir)
plt.show()

# %%
def width_exponent(g: pd.DataFrame) -> float:
    return fits.power_law(g, "n", "C", average="arithmetic", n_boot=cfg.bootstrap, seed=seed)["p"]


width_exp = scan.groupby(["lr_table", "group"]).apply(width_exponent, include_groups=False).rename("exponent")
ratios = mup_depth.width_ratio(lin, cfg)
display(width_exp.round(3).unstack(), ratios.round(3))

# %% [markdown]
# ## Two definitions of η*
#
# At the fit width: η*_lin = C_L^(−1/2) (the leading-order, small-step definition) and η*_full (the η at which
# one full nonlinear step gives M_L = 1). The paper's L^(−3/2) law is a statement about the first.

# %%
stars = mup_depth.nonlinear_eta_star(cfg, seed=seed)
if not dry_run:
    results.write_table(stars, f"{results_dir}/update-size.eta-star.csv")
long = stars.melt(id_vars=["n", "L", "seed"], value_vars=["eta_lin", "eta_full"], var_name="definition",
                  value_name="eta_star")
fit_star = {d: tuple(fits.power_law(g, "L", "eta_star", average="arithmetic", n_boot=cfg.bootstrap,
                                    seed=seed)[k] for k in ("p", "p_lo", "p_hi")) for d, g in long.groupby("definition")}
fig, ax = plt.subplots(figsize=(6, 4))
if len(long):
    plots.seed_band(ax, long, "L", "eta_star", hue="definition", log_x=True, log_y=True, marker="o")
    L0 = min(long.L)
    e0 = long[(long.L == L0) & (long.definition == "eta_lin")].eta_star.mean()
    Ls = np.array(sorted(long.L.unique()), dtype=float)
    ax.plot(Ls, e0 * (Ls / L0) ** -1.5, **plots.PAPER_STYLE, label="paper: ∝ L^(−3/2)")
ax.set(xlabel="depth L (hidden layers)", ylabel="η* (M_L = 1)", title=f"maximal-update LR, n = {cfg.fit_width}")
ax.legend(fontsize="small")
plots.save(fig, "eta-star-vs-depth", figures_dir)
plt.show()
pd.DataFrame(fit_star, index=["exponent", "lo", "hi"]).round(3)

# %% [markdown]
# ## Claims
#
# Tolerances fixed before any run (digest claims 18–20, and this chapter's width exponents on the
# [derivation page](index.md)): slope s of C_L in [2.7, 3.3] for L ∈ [4, 32], n ≥ 32L (equivalently η*_lin
# exponent in [−1.65, −1.35]); C_L(512)/C_L(2048) in [0.7, 1.4] at every L ≤ 16; width exponents of the
# per-group response −2, 0, +2 ± 0.3 with unit LRs and 0 ± 0.3 with the mean-field LRs. The full-step exponent
# is a diagnostic, checked against the same −3/2 ± 0.15 band: it is *expected* to miss.

# %%
s_fit = mup_depth.depth_fit(lin, cfg, cfg.fit_width, seed=seed)
per_width_ok = depth_fits[(depth_fits.slope >= 2.7) & (depth_fits.slope <= 3.3)]
unit, mf = width_exp.get("unit", pd.Series(dtype=float)), width_exp.get("mean_field", pd.Series(dtype=float))
mf_ok = int(sum(abs(v) <= 0.3 for v in mf.dropna()))
n1, n2 = cfg.ratio_widths[0], cfg.ratio_widths[-1]
table = [
    claims.interval_claim(f"C_L ∝ L^s, linear response, n = {cfg.fit_width}: slope s", "3 (η* ∝ L^-3/2)",
                          s_fit[0], 2.7, 3.3),
    claims.interval_claim(f"η*_lin = C_L^-1/2 ∝ L^p, n = {cfg.fit_width}: exponent p", "-1.5",
                          fit_star.get("eta_lin", (np.nan,))[0], -1.65, -1.35),
    claims.fraction_claim(f"slope s in [2.7, 3.3] at every width with ≥ 3 depths, n ≥ {cfg.fit_ratio}L",
                          "3 at every n",
                          len(per_width_ok), len(depth_fits)),
    claims.fraction_claim(f"C_L(n={n1}) / C_L(n={n2}) in [0.7, 1.4], L ≤ {cfg.ratio_max_depth}",
                          "n-independent", int(ratios.ratio.between(0.7, 1.4).sum()), len(ratios)),
    claims.interval_claim("input layer, unit LR: width exponent of C_L", "-2 (needs LR ∝ n/n0)",
                          unit.get("input", np.nan), -2.3, -1.7),
    claims.interval_claim("output layer, unit LR: width exponent of C_f", "+2 (needs LR ∝ 1/n)",
                          unit.get("output", np.nan), 1.7, 2.3),
    claims.fraction_claim("mean-field LRs: |width exponent| ≤ 0.3 (input, hidden, output)", "0 for all",
                          mf_ok, len(mf.dropna())),
    claims.interval_claim(f"diagnostic: η*_full ∝ L^p (full nonlinear step), n = {cfg.fit_width}",
                          "not the paper's definition; digest: -1.10", fit_star.get("eta_full", (np.nan,))[0],
                          -1.65, -1.35),
]
if not dry_run:
    claims.write(table, "jelassi2023-mup-depth", "update-size", scale, results_dir)
print(f"slope at n = {cfg.fit_width}: {s_fit[0]:.3g} (95% bootstrap {s_fit[1]:.3g}..{s_fit[2]:.3g})")

# %%
# NBVAL_CHECK_OUTPUT
print(claims.show(table))
