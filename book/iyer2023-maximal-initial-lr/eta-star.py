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
# # η* over depth and width
#
# {cite}`iyer2023maximal` define the maximal initial learning rate η* of a network as the largest constant
# learning rate at which it, from its random initialisation, reaches a threshold validation accuracy $t$ within a
# training budget, and observe that η* "is well predicted as a power of (depth × width)" for constant-width ReLU
# MLPs, provided (i) $w \gg d$ and (ii) the input layer is trained at a relatively small learning rate. Here we
# measure η* on the paper's synthetic two-Gaussian task and on MNIST, over a grid of depths $d$ (hidden layers)
# and widths $w$ with equal-product networks, one η* per network from three seeds: the largest tested learning rate
# at which the majority reaches $t$, the paper's definition. On the two-Gaussian task $t$ sits a declared margin below
# the task's ceiling, its Bayes accuracy. We test the law as stated: separate depth and width exponents (equal ⇔ a
# power of $d\cdot w$), the fit on $d\cdot w$, the equal-product networks; and show networks outside condition (i)
# ($w < 16d$), the input layer at the full learning rate, and MSE beside cross-entropy. Protocol and every deviation
# from the paper: the [derivation page](index.md).

# %% tags=["parameters"]
scale = "cpu"  # smoke | cpu | gpu | paper
depths = None  # override: hidden-layer counts d
widths = None  # override: widths w
seeds = None  # override: seeds per search (majority rule)
threshold_margin = None  # override: two-Gaussian threshold, this far below the Bayes accuracy
separation = None  # override: two-Gaussian separation m (Bayes accuracy Φ(m))
seed = 0  # base seed (data and first init)
dry_run = False  # one step of the preset, to check that it runs
results_dir = None  # tables and claims go here (None: runs/<scale>/<chapter>)
figures_dir = None  # figures are saved here when set (replicate run sets it)
executor = None  # where sweep points run: None (in-process) | local | dask
scheduler = None  # Dask scheduler address tcp://HOST:PORT, with executor dask

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from replicate import claims, claims_html, plots, rerun, results, runtime, scales, sweep
from replicate.papers import max_initial_lr as mil
from replicate.papers.max_initial_lr import analysis, eta, measure, protocol
from replicate.registry.iyer2023 import CHAPTER, REGISTRY

device, _ = runtime.setup(seed)
plots.style()
cfg = scales.resolve(mil.ETA_PRESETS, scale, dict(depths=depths, widths=widths, seeds=seeds), dry_run=dry_run,
                     dry_overrides=mil.ETA_DRY_RUN)
cfg = protocol.with_gaussian(cfg, separation, threshold_margin)
cfg = protocol.dry_tasks(cfg) if dry_run else cfg
out = runtime.results_dir(results_dir, CHAPTER, scale)
data = {t.name: mil.load_task(t, seed=seed, dry_run=dry_run, device=device) for t in cfg.tasks}
labels = {c.name: c.label for c in cfg.conditions}
pd.DataFrame([{**vars(c), "ceiling": round(cfg.task(c.task).ceiling, 3),
               "threshold t": round(cfg.task(c.task).threshold, 3), "steps": cfg.task(c.task).steps,
               "[lr_lo, lr_hi]": f"[{cfg.task(c.task).lr_lo:g}, {cfg.task(c.task).lr_hi:g}]"} for c in cfg.conditions])

# %% [markdown]
# ## η* of every network
#
# One point per (condition, $d$, $w$): a log-space search in [`lr_lo`, `lr_hi`] whose first round is a coarse log
# grid and whose later rounds refine the cell above the largest majority success until its ends differ by at most
# ×(1 + `rel_tol`); every round trains all its learning rates × all seeds at once. Every training is a row
# (learning rate, seed, best accuracy, success, dead ReLUs per layer). η* is read from them by one function
# (`eta.majority_eta_star`): the largest tested learning rate at which the majority of seeds reach $t$;
# `first_failure` is the next tested rate above it, and `island` flags an η* above a majority failure (the success
# region is then not an interval). `wide`: $w \ge 16d$, the networks of the law's fits.

# %%
conditions = {c.name: c for c in cfg.conditions}
trainings = sweep.run_sweep(
    protocol.eta_points(cfg),
    lambda p: protocol.search(p["depth"], p["width"], conditions[p["condition"]],
                                data[conditions[p["condition"]].task], cfg, seed=seed),
    None if dry_run else sweep.sweep_path(out, "eta-star", cfg, seed=seed, data=data),
    key=["condition", "depth", "width"], desc="η* searches", executor=sweep.executor_from(executor, scheduler),
    on_error="record")
failed = trainings[trainings["error"].notna()] if "error" in trainings else trainings.iloc[:0]
trainings = trainings.drop(index=failed.index)
nets = mil.networks(trainings, cfg.min_ratio)
if not dry_run:
    results.write_table(trainings, out / "eta-star.trainings.csv")
    results.write_table(nets, out / "eta-star.networks.csv")
print("failed points:", len(failed))
print("islands:", int(nets.island.sum()), "of", len(nets), "networks")
nets.assign(ratio=nets.first_failure / nets.eta_star).pivot_table(
    index=["depth", "width"], columns="condition", values=["eta_star", "ratio", "island"], aggfunc="first").round(3)

# %% [markdown]
# ## The law, as the paper states it
#
# Left: η* against $d\cdot w$ on the two-Gaussian task (input layer slow, cross-entropy), each network's bracket
# [η*, first failure] as a bar, with the least-squares line of $\log\eta^*$ on $\log(d\cdot w)$ over the networks
# with $w \ge 16d$; red rings: η* on an island above a majority failure; open squares: networks with $w < 16d$.
# Right: the same on MNIST. If η* were a power of $d\cdot w$, depth and width would move it
# alike: networks sharing $d\cdot w$ would sit on one vertical line.

# %%
def law_panel(ax, cond):
    n = nets[(nets.condition == cond) & (nets.status == "ok")]
    palette = plots.levels_palette(sorted(nets.depth.unique()))
    for d, g in n[n.wide].groupby("depth"):
        ax.errorbar(g.dw, g.eta_star, yerr=[0 * g.eta_star, g.first_failure - g.eta_star], fmt="o", capsize=3,
                    color=palette[d], label=f"{d}")
    narrow = n[~n.wide]
    if len(narrow):
        ax.scatter(narrow.dw, narrow.eta_star, marker="s", facecolors="none", edgecolors="black", label="$w < 16d$")
    isl = n[n.island]
    if len(isl):
        ax.scatter(isl.dw, isl.eta_star, s=90, facecolors="none", edgecolors="red", label="island")
    m = n[n.wide & np.isfinite(n.eta_star)]
    if len(m) >= 3:
        p, a = np.polyfit(np.log(m.dw), np.log(m.eta_star), 1)
        xs = np.geomspace(m.dw.min(), m.dw.max(), 20)
        ax.plot(xs, np.exp(a) * xs ** p, color="grey", label=f"fit, $p$ = {p:.2f}")
    logs = "log" if len(n) else "linear"  # nothing bracketed (a dry run): an empty, linear panel
    ax.set(xscale=logs, yscale=logs, xlabel=r"depth × width $d\cdot w$", ylabel=r"$\eta^*$ (SGD learning rate)",
           title=labels[cond].split(",")[0])
    if len(n):
        plots.log_axis(ax.xaxis)
        ax.legend(title="depth $d$", fontsize="x-small", loc="best")


fig, axes = plt.subplots(1, 2, figsize=(7, 3.2), layout="constrained")
for ax, cond in zip(axes, ("gaussian", "mnist")):
    law_panel(ax, cond)
plots.save(fig, "eta-star-law", figures_dir)
plots.headline(fig, "iyer2023-maximal-initial-lr-headline")

# %% [markdown]
# **Figure 1.** η* (dots: the largest tested learning rate at which the majority of three seeds reach $t$; bars up
# to the next tested rate, a failure) against depth × width, coloured by depth; red rings: η* on an island; open
# squares: networks with $w < 16d$ (outside condition (i), not fitted); grey: the least-squares power law over the
# networks with $w \ge 16d$. Left: two-Gaussian task; right: MNIST (pooled to 7×7).
#
# The $d\cdot w$ fit and the depth-minus-width exponent $\alpha - \beta$ of $\eta^* \propto d^\alpha w^\beta$ over the
# networks with $w \ge 16d$, for every condition that ran (intervals: 95 % bootstrap over seeds within each network,
# η* recomputed from the resampled seeds):

# %%
fit_rows = []
for cond in conditions:
    wide_runs = trainings[(trainings.condition == cond) & (trainings.width >= cfg.min_ratio * trainings.depth)]
    fit_net = eta.networks_of(wide_runs, min_ratio=cfg.min_ratio)
    fitted = {k: fit_net.measure(k, np.random.default_rng(seed), cfg.n_boot) for k in ("p", "r2", "alpha_minus_beta")}
    fit_rows.append({"condition": labels[cond], **{k: f"{m.value:.2f} [{m.ci_low:.2f}, {m.ci_high:.2f}]"
                                                    if m.measured else "n/a" for k, m in fitted.items()}})
pd.DataFrame(fit_rows)

# %% [markdown]
# ## Equal products, the input layer, and the loss
#
# Left: η* of the networks sharing $d\cdot w$ (lines join equal products). Right: η* against $d\cdot w$ on the
# two-Gaussian task under the paper's condition (ii) (input layer at 0.01η), with the input layer at the full η
# (the ablation), and with MSE instead of cross-entropy.

# %%
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(7, 3.2), layout="constrained")
g = nets[(nets.condition == "gaussian") & (nets.status == "ok") & nets.wide]
for dw, grp in g.groupby("dw"):
    if len(grp) >= 2:
        grp = grp.sort_values("depth")
        ax1.plot(grp.depth, grp.eta_star, "o-", label=f"{dw}")
ax1.set(xlabel="depth $d$ (width $= d\\cdot w / d$)", ylabel=r"$\eta^*$", title="equal $d\\cdot w$")
for cond, marker in (("gaussian", "o"), ("gaussian-full-input", "s"), ("gaussian-mse", "^")):
    n = nets[(nets.condition == cond) & (nets.status == "ok") & nets.wide]
    if len(n):
        ax2.scatter(n.dw, n.eta_star, marker=marker, label=labels[cond].replace("gaussian, ", ""))
ax2.set(xlabel=r"depth × width $d\cdot w$", ylabel=r"$\eta^*$", title="two Gaussians")
for ax, title in ((ax1, r"$d\cdot w$"), (ax2, "condition")):
    if ax.get_legend_handles_labels()[0]:  # nothing bracketed (a dry run): leave the panel empty and linear
        ax.set(xscale="log", yscale="log")
        ax.legend(title=title, fontsize="x-small", loc="best")
plots.save(fig, "eta-star-equal-products-ablation", figures_dir)
plt.show()

# %% [markdown]
# **Figure 2.** Left: η* of networks with the same $d\cdot w$ (a power of $d\cdot w$ puts each line flat).
# Right: η* on the two-Gaussian task for the three conditions.
#
# ## What η* measures: dead ReLUs
#
# After each training of the search we count, per hidden layer, the ReLUs that never fire on 512 validation
# inputs. Left: the fraction dead per layer at η* and at the first failure above it. Right: the smallest tested
# learning rate at which, for the majority of seeds, some layer is half dead, beside η*.

# %%
dead = analysis.dead_near_eta_star(trainings)
half = analysis.half_dead_lr(trainings)
if not dry_run:
    results.write_table(dead, out / "eta-star.dead-units.csv")
    results.write_table(half, out / "eta-star.half-dead.csv")
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(7, 3.2), layout="constrained")
dg = dead[dead.condition == "gaussian"].groupby(["dw", "depth", "where"]).dead.max().reset_index()
for where, marker in (("below", "o"), ("above", "x")):
    w_ = dg[(dg["where"] == where) & np.isfinite(dg.dead)]
    ax1.scatter(w_.dw, w_.dead, marker=marker, label={"below": r"at $\eta^*$", "above": "at the first failure"}[where])
ax1.set(xscale="log" if np.isfinite(dg.dead).any() else "linear", ylim=(-0.05, 1.05), xlabel=r"depth × width $d\cdot w$",
        ylabel="dead ReLUs, worst layer", title="two Gaussians")
if np.isfinite(dg.dead).any():
    plots.log_axis(ax1.xaxis)
ax1.legend(title="learning rate", fontsize="x-small", loc="best")
hg = half[half.condition == "gaussian"]
for col, marker, label in (("half_dead_lr", "s", "half a layer dead"), ("eta_star", "o", r"$\eta^*$")):
    ok = hg[np.isfinite(hg[col])]  # NaN: no tested learning rate killed half a layer / no η* bracketed
    ax2.scatter(ok.dw, ok[col], marker=marker, label=label)
logs = "log" if np.isfinite(hg[["half_dead_lr", "eta_star"]].to_numpy()).any() else "linear"
ax2.set(xscale=logs, yscale=logs, xlabel=r"depth × width $d\cdot w$", ylabel=r"learning rate $\eta$",
        title="two Gaussians")
ax2.legend(title="threshold", fontsize="x-small", loc="best")
plots.save(fig, "eta-star-dead-units", figures_dir)
plt.show()
dead.pivot_table(index=["condition", "depth", "width"], columns=["where", "layer"], values="dead").round(2)

# %% [markdown]
# **Figure 3.** Left: the fraction of dead ReLUs in the worst hidden layer after training at η* (dots) and at the
# first failure above it (crosses). Right: the learning rate at which half a layer dies, beside η*.
#
# ## Claims
#
# Each claim is judged from a 95 % interval (bootstrap over seeds within each network, or Wilson for fractions)
# against a tolerance declared in the registry before the run; a condition's claims are judged only when its
# search bracketed η*'s edge, with no island, in the networks of the grid with $w \ge 16d$. Each row is calibrated
# first: the law it tests (and its named rival) is simulated with this run's seed-to-seed spread and the search's
# grid of learning rates, through the same η*, fit and bootstrap; a row whose test cannot tell the two apart reads *underpowered*, with the design that
# would. Tolerances, controls and reasons: the registry page.

# %%
rows = claims.judge(REGISTRY, "eta-star", measure.measure_eta_star(
    trainings, tuple(conditions), min_ratio=cfg.min_ratio, n_boot=cfg.n_boot, seed=seed,
    grids=measure.search_grids(cfg)))
if not dry_run:
    claims.write(rows, CHAPTER, "eta-star", scale, out, overrides=dict(depths=depths, widths=widths, seeds=seeds,
                                                                 threshold_margin=threshold_margin, separation=separation))
claims.glue_counts(rows, "eta-star-verdicts")
gauss = cfg.task("gaussian")
wide_dw = nets[nets.wide].dw
_ = claims.glue_numbers(rows, {
    "gaussian-ceiling": f"{gauss.ceiling:.3f}", "gaussian-threshold": f"{gauss.threshold:.3f}",
    "dw-range": f"{wide_dw.min():g}–{wide_dw.max():g}" if len(wide_dw) else "n/a",
    "islands": f"{int(nets.island.sum())} of {len(nets)}",
    "gaussian-islands": f"{int(nets[nets.condition == 'gaussian'].island.sum())} of "
                        f"{int((nets.condition == 'gaussian').sum())}"})

# %% tags=["remove-input"]
claims_html.display(rows, CHAPTER)

# %% tags=["remove-cell"]
# NBVAL_CHECK_OUTPUT
print(rerun.compare(rows, REGISTRY, scale, out, dry_run=dry_run))
