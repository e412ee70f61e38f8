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
# # One network, three thresholds
#
# For the same ReLU MLPs over depth × width we measure, side by side, the three learning rates the book's
# chapters are about (protocol and definitions on the [chapter page](index.md)): the lazy boundary
# $\eta_\text{crit} = 2/\lambda_0$ of {cite}`lewkowycz2020catapult`, the largest learning rate that still trains,
# $\eta_\text{max}$ (the catapult paper's divergence threshold, ≈ 12/λ0 for ReLU nets), and the maximal initial
# learning rate $\eta^*$ of {cite}`iyer2023maximal`, the largest that reaches a validation accuracy $t$ within the
# budget. Both $\eta_\text{max}$ and $\eta^*$ are bracketed by `lr_search.max_lr`, each round one batched run.

# %% tags=["parameters"]
scale = "cpu"  # smoke | cpu | paper
depths = None  # override: hidden-layer counts
widths = None  # override: widths
steps = None  # override: gradient-descent steps (the budget)
threshold = None  # override: validation accuracy that defines η*
seed = 0  # base seed
dry_run = False  # one step of the preset, to check that it runs
results_dir = "results"  # claims and tables are written here
figures_dir = None  # figures are saved here when set (replicate run sets it)
executor = None  # where sweep points run: None (in-process) | local | dask
scheduler = None  # Dask scheduler address tcp://HOST:PORT, with executor dask

# %%
import matplotlib.pyplot as plt
import numpy as np

from replicate import claims, fits, plots, results, runtime, scales, sweep
from replicate.papers import thresholds as th

device, dtype = runtime.setup(seed)
plots.style()
cfg = scales.resolve(th.PRESETS, scale, dict(depths=depths, widths=widths, steps=steps, threshold=threshold),
                     dry_run=dry_run, dry_overrides=th.DRY_RUN)
data = tuple(t.to(device) for t in th.load(cfg, seed=seed))
cfg

# %%
points = [{"depth": d, "width": w, "seed": seed + s} for d, w in th.grid(cfg) for s in range(cfg.seeds)]
table = sweep.run_sweep(points, lambda p: th.measure(p["depth"], p["width"], p["seed"], data, cfg),
                        None if dry_run else sweep.sweep_path(results_dir, "thresholds", cfg), desc="networks",
    executor=sweep.executor_from(executor, scheduler))
table = table.assign(dw=table.depth * table.width, max_over_crit=table.eta_max / table.eta_crit,
                     star_over_crit=table.eta_star / table.eta_crit, star_lam0=table.eta_star * table.lam0)
if not dry_run:
    results.write_table(table, f"{results_dir}/thresholds.runs.csv")
status = [c for c in ("eta_max_status", "eta_star_status") if c in table]  # why a threshold was not bracketed
table[["depth", "width", "seed", "lam0", "eta_crit", "eta_max", "eta_star", "max_over_crit", "star_over_crit",
       *status]].round(4)

# %% [markdown]
# ## The three learning rates against depth × width
#
# Left: the three thresholds on log–log axes (points: networks; seeds as separate points). Right: $\eta_\text{max}$
# and $\eta^*$ in units of $\eta_\text{crit}$, beside the catapult paper's window $(1, 6)$ for ReLU networks.

# %%
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4))
for ax, columns in ((ax1, (("eta_crit", "η_crit = 2/λ0", "o"), ("eta_max", "η_max (trains)", "s"),
                           ("eta_star", f"η* (val. acc. ≥ {cfg.threshold:g})", "^"))),
                    (ax2, (("max_over_crit", "η_max / η_crit", "s"), ("star_over_crit", "η* / η_crit", "^")))):
    for col, label, marker in columns:
        ok = table[np.isfinite(table[col])]  # unbracketed thresholds (NaN) are listed in the table above
        ax.scatter(ok.dw, ok[col], marker=marker, label=label)
ax2.axhline(1, **plots.PAPER_STYLE, label="paper: lazy boundary (1)")
ax2.axhline(6, color="black", linestyle="-.", linewidth=1.2, label="paper: η_max ≈ 12/λ0 (6)")
ax1.set(xscale="log", yscale="log", xlabel="depth × width", ylabel="learning rate η", title="three thresholds")
ax2.set(xscale="log", yscale="log", xlabel="depth × width", ylabel="η / η_crit", title="in units of 2/λ0")
for ax in (ax1, ax2):
    ax.set_xlim(table.dw.min() / 1.5, table.dw.max() * 1.5)
    ax.legend(fontsize="small")
plots.save(fig, "thresholds", figures_dir)
plt.show()

# %% [markdown]
# ## Claims
#
# What the papers together predict, with the tolerances proposed before any run (`shared/papers.md`, claims 4,
# 5 and 11, and the cross-paper link of its section 6): $\eta_\text{max}\lambda_0 \in [6, 16]$ for every network; if
# $\eta^*$ lives in the catapult window, $\eta_\text{crit} < \eta^* \le \eta_\text{max}$ for every network;
# $\lambda_0 \propto (d\cdot w)^q$ with $q \in [0.8, 1.2]$; $\eta^*\lambda_0$ not constant (spread > 2×). A threshold
# that the search interval $[\eta_\text{crit}, 128\,\eta_\text{crit}]$ does not bracket is counted as a failure.

# %%
q = fits.power_law(table, "dw", "lam0", by=["depth", "width"], n_boot=500, seed=seed)
ok_max = ((2 * table.max_over_crit >= 6) & (2 * table.max_over_crit <= 16)).sum()
in_window = ((table.star_over_crit > 1) & (table.eta_star <= table.eta_max)).sum()
star = table.star_lam0[np.isfinite(table.star_lam0)]
table_claims = [
    claims.fraction_claim("η_max·λ0 ∈ [6, 16] (ReLU MLP, MSE, GD)", "≈ 12", int(ok_max), len(table)),
    claims.fraction_claim("η_crit < η* ≤ η_max (η* in the catapult window)", "cross-paper hypothesis",
                          int(in_window), len(table)),
    claims.interval_claim("exponent q of λ0 ∝ (d·w)^q", "≈ 1 (NTK scale ∝ d·w)", q["p"], 0.8, 1.2),
    claims.interval_claim("η*·λ0 spread max/min over the grid", "not inversely related",
                          float(star.max() / star.min()) if len(star) >= 2 else None, 2, np.inf),
]
if not dry_run:
    claims.write(table_claims, "cross-paper-thresholds", "thresholds", scale, results_dir)

# %%
# NBVAL_CHECK_OUTPUT
print(claims.show(table_claims))
