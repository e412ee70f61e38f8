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
# # Sharpness at initialisation, and η*
#
# {cite}`iyer2023maximal` bound the sharpness $\lambda_1$ — the top eigenvalue of the Hessian of the training
# loss — at initialisation by functions of depth × width, and find η* "closely though not inversely" related to
# it. SGD trains the input layer at $0.01\,\eta$ here (the paper's condition (ii)), so the curvature it sees is
# that of the loss in the coordinates $\varphi = P^{-1/2}\theta$ in which it is plain SGD at one learning rate,
# $H_\text{pre} = P^{1/2} H P^{1/2}$ ($P$ the per-parameter learning-rate ratios); we measure both $\lambda_1(H)$
# and $\lambda_1(H_\text{pre})$ (Lanczos on Hessian-vector products, `replicate.sharpness.top_eigenvalues`) for the
# very networks of the [η* notebook](eta-star.ipynb) — same two-Gaussian data, same init seeds — and relate them to
# η*. Derivation (why the plain λ1 is $\approx c(D_\text{in} + d\cdot w)$): the [chapter page](index.md).

# %% tags=["parameters"]
scale = "cpu"  # smoke | cpu | gpu | paper
depths = None  # override: hidden-layer counts d
widths = None  # override: widths w
seeds = None  # override: networks (init seeds) per (d, w)
n_sharp = None  # override: training inputs in the loss whose Hessian is measured
seed = 0  # base seed (data and first init)
dry_run = False  # one step of the preset, to check that it runs
results_dir = None  # tables and claims go here (None: runs/<scale>/<chapter>)
figures_dir = None  # figures are saved here when set (replicate run sets it)
executor = None  # where sweep points run: None (in-process) | local | dask
scheduler = None  # Dask scheduler address tcp://HOST:PORT, with executor dask

# %%
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from replicate import claims, claims_html, plots, rerun, results, runtime, scales, sweep
from replicate.papers import max_initial_lr as mil
from replicate.papers.max_initial_lr import analysis, measure
from replicate.registry.iyer2023 import CHAPTER, REGISTRY

device, _ = runtime.setup(seed)
plots.style()
cfg = scales.resolve(mil.SHARP_PRESETS, scale, dict(depths=depths, widths=widths, seeds=seeds, n_sharp=n_sharp),
                     dry_run=dry_run, dry_overrides=mil.SHARP_DRY_RUN)
out = runtime.results_dir(results_dir, CHAPTER, scale)
X, y, _, _ = mil.load_task(cfg.task, seed=seed, dry_run=dry_run, device=device)
X, y = X[:cfg.n_sharp], y[:cfg.n_sharp]
D_in = X.shape[1]
cfg

# %% [markdown]
# ## λ1 of every network
#
# One point per (d, w, seed), saved as it goes. `lam1`: plain Hessian; `lam1_pre`: the Hessian in SGD's
# coordinates (input layer's learning-rate ratio folded in); `*_converged`: Lanczos' own residual test.

# %%
points = [{"depth": d, "width": w, "seed": seed + s}
          for d, w in mil.grid(cfg.depths, cfg.widths, cfg.min_ratio, cfg.max_dw) for s in range(cfg.seeds)]
lam = sweep.run_sweep(points, lambda p: mil.sharpness_at_init(p["depth"], p["width"], p["seed"], X, y, cfg),
                      None if dry_run else sweep.sweep_path(out, "sharpness-at-init", cfg, seed=seed, data=(X, y)),
                      desc="λ1 points", executor=sweep.executor_from(executor, scheduler), on_error="record")
lam = lam[lam["error"].isna()] if "error" in lam else lam
lam = lam.assign(dw=lam.depth * lam.width)
if not dry_run:
    results.write_table(lam, out / "sharpness-at-init.runs.csv")
lam.pivot_table(index=["depth", "width"], values=["lam1", "lam1_pre"], aggfunc="median").round(3)

# %% [markdown]
# ## λ1 against d·w
#
# Left: the plain λ1, beside $c\,(D_\text{in} + d\cdot w)$ (black dotted; $c$ fitted, one number) and the pure
# $d\cdot w$ scaling (black dashed, through the centre of the points). Right: λ1 in SGD's coordinates, beside the
# $d\cdot w$ scaling of the bounds.

# %%
m = analysis.geometric_means(lam, "lam1").merge(analysis.geometric_means(lam, "lam1_pre"), on=["depth", "width", "dw"])
c_plain = float(np.exp(np.mean(np.log(m.lam1) - np.log(D_in + m.dw))))
xs = np.geomspace(lam.dw.min(), lam.dw.max(), 50)
fig, axes = plt.subplots(1, 2, figsize=(7, 3.2), layout="constrained")
palette = plots.levels_palette(sorted(lam.depth.unique()))
for ax, col, title in ((axes[0], "lam1", "plain Hessian $H$"), (axes[1], "lam1_pre", r"SGD's coordinates $H_{pre}$")):
    for d, g in lam.groupby("depth"):
        ax.scatter(g.dw, g[col], color=palette[d], s=14, label=f"{d}")
    centre = float(np.exp(np.mean(np.log(m[col])) - np.mean(np.log(m.dw))))
    ax.plot(xs, centre * xs, **plots.PAPER_STYLES[0], label=r"$\propto d\cdot w$")
    if col == "lam1":
        ax.plot(xs, c_plain * (D_in + xs), **plots.PAPER_STYLES[1], label=r"$c\,(D_{in} + d\cdot w)$")
    ax.set(xscale="log", yscale="log", xlabel=r"depth × width $d\cdot w$", ylabel=r"$\lambda_1$ at init", title=title)
    ax.legend(title="depth $d$ / prediction", fontsize="x-small", loc="best")
plots.save(fig, "sharpness-lambda1", figures_dir)
plt.show()
fit_plain = analysis.config_bootstrap(lam, ["lam1"], analysis.power_law_stats("lam1")["p"], n_boot=cfg.n_boot, seed=seed)
resid = np.log(m.lam1) - np.log(c_plain * (D_in + m.dw))
print(f"plain λ1: exponent in d·w {fit_plain.value:.2f} [{fit_plain.ci_low:.2f}, {fit_plain.ci_high:.2f}]; "
      f"c(D_in + d·w) with D_in = {D_in}, c = {c_plain:.3g}: rms log residual {np.sqrt(np.mean(resid ** 2)):.2f}")

# %% [markdown]
# **Figure 1.** λ1 at initialisation (one dot per seed, coloured by depth) against depth × width. Left: the plain
# Hessian, whose input layer adds a term ∝ $D_\text{in}$ (dotted); right: the Hessian in the coordinates SGD uses,
# where that term is scaled by the input layer's learning-rate ratio 0.01, leaving the $d\cdot w$ of the bounds
# (dashed).
#
# ## η* against λ1
#
# η* of every network (the largest tested learning rate at which the majority of its seeds reach $t$), read from the
# η* notebook's trainings of the same networks (the run's own results folder, else the book's published ones),
# against the geometric mean of its seeds' λ1; black dashed: $\eta^* = c/\lambda_1$, the classical stability rule's
# shape, through the centre of the points.

# %%
published = (runtime.repository_root() or Path.cwd()) / "book" / CHAPTER / "results"
candidates = [out / "eta-star.trainings.csv",
              (published if scale == "cpu" else published / scale) / "eta-star.trainings.csv"]
source = next((p for p in candidates if p.exists()), None)
eta = None
if source is not None:
    eta = results.read_table(source)
    eta = eta[eta.condition == "gaussian"]
    print("η* from", source.relative_to(source.parents[2]) if len(source.parents) > 2 else source)
else:
    print("no η* results found: the η*–λ1 claims are not measured")
fig, ax = plt.subplots(figsize=(3.6, 3.2), layout="constrained")
if eta is not None:
    both = mil.networks(eta, cfg.min_ratio).merge(m, on=["depth", "width", "dw"])
    both = both[np.isfinite(both.eta_star) & both.wide]
    for d, g in both.groupby("depth"):
        ax.scatter(g.lam1_pre, g.eta_star, color=palette[d], s=14, label=f"{d}")
    if len(both):
        ls = np.geomspace(both.lam1_pre.min(), both.lam1_pre.max(), 20)
        c = float(np.exp(np.mean(np.log(both.eta_star) + np.log(both.lam1_pre))))
        ax.plot(ls, c / ls, **plots.PAPER_STYLE, label=r"$\propto 1/\lambda_1$")
        plots.log_axis(ax.xaxis)
        plots.log_axis(ax.yaxis)
        ax.legend(title="depth $d$", fontsize="x-small", loc="best")
ax.set(xlabel=r"$\lambda_1(H_{pre})$ at init", ylabel=r"$\eta^*$", title="two Gaussians")
plots.save(fig, "sharpness-eta-star", figures_dir)
plt.show()

# %% [markdown]
# **Figure 2.** η* (one per network) against λ1 in SGD's coordinates, coloured by depth; dashed: the inverse relation.
#
# ## Claims
#
# Each claim is judged from a 95 % interval (bootstrap over seeds within each network, η* and λ1 of a seed resampled
# together; Wilson for the fraction of converged Lanczos runs) against a tolerance declared in the registry before
# the run, after its calibration: the η*–λ1 rows simulate their law and its rival with the η* run's seed-to-seed
# spread and search grid; a row that cannot
# tell them apart reads *underpowered*.

# %%
grid = measure.search_grids(mil.ETA_PRESETS[scale])["gaussian"]  # the η* search's learning rates (calibration)
rows = claims.judge(REGISTRY, "sharpness-at-init", measure.measure_sharpness_at_init(lam, eta, n_boot=cfg.n_boot,
                                                                                      seed=seed, min_ratio=cfg.min_ratio,
                                                                                      grid=grid))
if not dry_run:
    claims.write(rows, CHAPTER, "sharpness-at-init", scale, out,
                 overrides=dict(depths=depths, widths=widths, seeds=seeds, n_sharp=n_sharp))
claims.glue_counts(rows, "sharpness-at-init-verdicts")
# the input layer's share of λ1: how far the preconditioned λ1 (input layer at 0.01η) is below the plain one
_ = claims.glue_numbers(rows, {"input-share": f"{100 * (1 - lam.lam1_pre / lam.lam1).abs().max():.1f} %"})

# %% tags=["remove-input"]
claims_html.display(rows, CHAPTER)

# %% tags=["remove-cell"]
# NBVAL_CHECK_OUTPUT
print(rerun.compare(rows, REGISTRY, scale, out, dry_run=dry_run))
