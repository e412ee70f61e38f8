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
# budget. Both $\eta_\text{max}$ and $\eta^*$ are bracketed by `lr_search.max_lr` from $\eta_\text{crit}/8$ (a rate
that trains) to $128\,\eta_\text{crit}$, each round one batched run; the run at $\eta_\text{crit}/8$ and at
$\eta_\text{crit}$ is kept in the table, so that a search that does not bracket says why.

# %% tags=["parameters"]
scale = "cpu"  # smoke | cpu | gpu | paper
depths = None  # override: hidden-layer counts
widths = None  # override: widths
steps = None  # override: gradient-descent steps (the budget)
threshold = None  # override: validation accuracy that defines η*
seed = 0  # base seed
dry_run = False  # one step of the preset, to check that it runs
results_dir = None  # tables and claims go here (None: runs/<scale>/<chapter>)
figures_dir = None  # figures are saved here when set (replicate run sets it)
executor = None  # where sweep points run: None (in-process) | local | dask
scheduler = None  # Dask scheduler address tcp://HOST:PORT, with executor dask

# %%
import matplotlib.pyplot as plt
import numpy as np

from replicate import claims, claims_html, plots, rerun, results, runtime, scales, sweep
from replicate.papers import thresholds as th
from replicate.registry.thresholds import REGISTRY

CHAPTER = "cross-paper-thresholds"
device, dtype = runtime.setup(seed)
plots.style()
cfg = scales.resolve(th.PRESETS, scale, dict(depths=depths, widths=widths, steps=steps, threshold=threshold),
                     dry_run=dry_run, dry_overrides=th.DRY_RUN)
out = runtime.results_dir(results_dir, CHAPTER, scale)
data = tuple(t.to(device) for t in th.load(cfg, seed=seed))
cfg

# %%
points = [{"depth": d, "width": w, "seed": seed + s} for d, w in th.grid(cfg) for s in range(cfg.seeds)]
table = sweep.run_sweep(points, lambda p: th.measure(p["depth"], p["width"], p["seed"], data, cfg),
                        None if dry_run else sweep.sweep_path(out, "thresholds", cfg, seed=seed, data=data),
                        desc="networks", executor=sweep.executor_from(executor, scheduler), on_error="record")
table = table[table["error"].isna()] if "error" in table else table
table = table.assign(dw=table.depth * table.width, max_over_crit=table.eta_max / table.eta_crit,
                     star_over_crit=table.eta_star / table.eta_crit, star_lam0=table.eta_star * table.lam0)
if not dry_run:
    results.write_table(table, out / "thresholds.runs.csv")
# lo/crit_loss_ratio: final loss over min(initial loss, loss of the zero output) at η_crit/8 and η_crit (< 1: trains)
table[["depth", "width", "seed", "lam0", "eta_crit", "eta_max", "eta_star", "max_over_crit", "star_over_crit",
       "eta_max_status", "eta_star_status", "lo_loss_ratio", "crit_loss_ratio", "lo_best_acc"]].round(4)

# %% [markdown]
# ## The three learning rates against depth × width
#
# Left: the three thresholds on log–log axes (points: networks; seeds as separate points). Right: $\eta_\text{max}$
# and $\eta^*$ in units of $\eta_\text{crit}$, beside the catapult paper's window $(1, 6)$ for ReLU networks.

# %%
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(7, 3.2), layout="constrained")
for ax, columns in ((ax1, (("eta_crit", r"$\eta_{crit} = 2/\lambda_0$", "o"), ("eta_max", r"$\eta_{max}$ (trains)", "s"),
                           ("eta_star", rf"$\eta^*$ (val. acc. ≥ {cfg.threshold:g})", "^"))),
                    (ax2, (("max_over_crit", r"$\eta_{max} / \eta_{crit}$", "s"),
                           ("star_over_crit", r"$\eta^* / \eta_{crit}$", "^")))):
    for col, label, marker in columns:
        ok = table[np.isfinite(table[col])]  # unbracketed thresholds (NaN) are listed in the table above
        ax.scatter(ok.dw, ok[col], marker=marker, label=label)
ax2.axhline(1, **plots.PAPER_STYLE, label="paper: lazy boundary (1)")
ax2.axhline(6, **plots.PAPER_STYLES[1], label=r"paper: $\eta_{max} \approx 12/\lambda_0$ (6)")
ax1.set(xscale="log", yscale="log", xlabel=r"depth × width $d\cdot w$", ylabel=r"learning rate $\eta$",
        title="three thresholds")
ax2.set(xscale="log", yscale="log", xlabel=r"depth × width $d\cdot w$", ylabel=r"$\eta / \eta_{crit}$",
        title=r"in units of $2/\lambda_0$")
for ax, title in ((ax1, "threshold"), (ax2, "ratio")):
    ax.set_xlim(table.dw.min() / 1.5, table.dw.max() * 1.5)
    ax.legend(title=title, fontsize="x-small", loc="best")
plots.save(fig, "thresholds", figures_dir)
plots.headline(fig, "cross-paper-thresholds-headline")

# %% [markdown]
# **Figure 1.** Left: the three learning rates of every network against depth × width. Right: η_max and η* in
# units of η_crit = 2/λ0, beside the catapult paper's lazy boundary (1) and its η_max ≈ 12/λ0 (6).
#
# λ0 against $d\cdot w$, beside $c\,(D_\text{in} + d\cdot w)$ (every layer, the input layer included, trains at
# the same rate here, so its term ∝ ‖x‖² = $D_\text{in}$ stays in the NTK; derivation on the chapter page):

# %%
D_in = data[0].shape[1]
c = float(np.exp(np.mean(np.log(table.lam0) - np.log(D_in + table.dw))))
free = np.polyfit(np.log(table.dw), np.log(table.lam0), 1)
for name, pred in ((f"c (D_in + d·w), D_in = {D_in}, c = {c:.3g}", np.log(c * (D_in + table.dw))),
                   (f"free power law, exponent {free[0]:.2f}", np.polyval(free, np.log(table.dw)))):
    print(f"{name}: rms log residual {np.sqrt(np.mean((np.log(table.lam0) - pred) ** 2)):.3f}")

# %% [markdown]
# ## Claims
#
# Each claim is judged from a 95 % interval (Wilson for fractions of networks, a bootstrap over networks for the
# rest; one seed per network at `cpu`) against a tolerance declared in the registry before the run; a claim on a
# threshold is judged only when that threshold's search bracketed in the networks of the grid. A row whose test,
# redrawn around its expected value and around its named rival with this run's noise, cannot tell them apart reads
# *underpowered*, with the number of networks that would decide it; the λ0 exponent and the η*–λ0 slope are shown
# as diagnostics (see the chapter page).

# %%
rows = claims.judge(REGISTRY, "thresholds", th.measure_thresholds(table, n_boot=cfg.n_boot, seed=seed))
if not dry_run:
    claims.write(rows, CHAPTER, "thresholds", scale, out,
                 overrides=dict(depths=depths, widths=widths, steps=steps, threshold=threshold))
claims.glue_counts(rows, "thresholds-verdicts")

# %% tags=["remove-input"]
claims_html.display(rows, CHAPTER)

# %% tags=["remove-cell"]
# NBVAL_CHECK_OUTPUT
print(rerun.compare(rows, REGISTRY, scale, out, dry_run=dry_run))
