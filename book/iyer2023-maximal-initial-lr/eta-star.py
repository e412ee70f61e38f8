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
# and widths $w$ with equal-product networks, one η* per network from three seeds (majority rule), and test the
# law as stated: separate depth and width exponents (equal ⇔ a power of $d\cdot w$), the fit on $d\cdot w$, the
# equal-product networks, the input layer at the full learning rate, and MSE beside cross-entropy. Protocol and
# every deviation from the paper: the [derivation page](index.md).

# %% tags=["parameters"]
scale = "cpu"  # smoke | cpu | gpu | paper
depths = None  # override: hidden-layer counts d
widths = None  # override: widths w
seeds = None  # override: seeds per search (majority rule)
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
from replicate.papers.max_initial_lr import analysis, measure, protocol
from replicate.registry.iyer2023 import CHAPTER, REGISTRY

device, _ = runtime.setup(seed)
plots.style()
cfg = scales.resolve(mil.ETA_PRESETS, scale, dict(depths=depths, widths=widths, seeds=seeds), dry_run=dry_run,
                     dry_overrides=mil.ETA_DRY_RUN)
cfg = protocol.dry_tasks(cfg) if dry_run else cfg
out = runtime.results_dir(results_dir, CHAPTER, scale)
data = {t.name: mil.load_task(t, seed=seed, dry_run=dry_run, device=device) for t in cfg.tasks}
labels = {c.name: c.label for c in cfg.conditions}
pd.DataFrame([{**vars(c), "threshold t": cfg.task(c.task).threshold, "steps": cfg.task(c.task).steps,
               "[lr_lo, lr_hi]": f"[{cfg.task(c.task).lr_lo:g}, {cfg.task(c.task).lr_hi:g}]"} for c in cfg.conditions])

# %% [markdown]
# ## η* of every network
#
# One point per (condition, $d$, $w$): a log-space bracketing of η* in [`lr_lo`, `lr_hi`] whose first round is a
# coarse log grid; every round trains all its learning rates × all seeds at once, and a learning rate succeeds
# when the majority of seeds reach $t$. Every training is a row (learning rate, seed, success, dead ReLUs per
# layer); η* is the largest majority success and `first_failure` the smallest majority failure above it. A bracket
# is non-monotone when some seed, or the majority, succeeds above a failure.

# %%
conditions = {c.name: c for c in cfg.conditions}
trainings = sweep.run_sweep(
    protocol.eta_points(cfg),
    lambda p: protocol.eta_star(p["depth"], p["width"], conditions[p["condition"]],
                                data[conditions[p["condition"]].task], cfg, seed=seed),
    None if dry_run else sweep.sweep_path(out, "eta-star", cfg, seed=seed, data=data),
    key=["condition", "depth", "width"], desc="η* searches", executor=sweep.executor_from(executor, scheduler),
    on_error="record")
failed = trainings[trainings["error"].notna()] if "error" in trainings else trainings.iloc[:0]
trainings = trainings.drop(index=failed.index)
nets = measure.networks(trainings).assign(dw=lambda t: t.depth * t.width)
per_seed = analysis.per_seed_eta_star(trainings)
if not dry_run:
    results.write_table(trainings, out / "eta-star.trainings.csv")
    results.write_table(per_seed, out / "eta-star.per-seed.csv")
print("failed points:", len(failed))
print("non-monotone brackets:", int((~nets.monotone.astype(bool)).sum()), "of", len(nets))
nets.assign(ratio=nets.first_failure / nets.eta_star).pivot_table(
    index=["depth", "width"], columns="condition", values=["eta_star", "ratio"]).round(3)

# %% [markdown]
# ## The law, as the paper states it
#
# Left: η* against $d\cdot w$ on the two-Gaussian task (input layer slow, cross-entropy), each network's bracket
# [η*, first failure] as a bar, with the least-squares line of $\log\eta^*$ on $\log(d\cdot w)$ over the networks
# with $w \ge 16d$. Right: the same on MNIST. If η* were a power of $d\cdot w$, depth and width would move it
# alike: networks sharing $d\cdot w$ would sit on one vertical line.

# %%
def law_panel(ax, cond):
    n = nets[(nets.condition == cond) & (nets.status == "ok")]
    palette = plots.levels_palette(sorted(nets.depth.unique()))
    for d, g in n.groupby("depth"):
        ax.errorbar(g.dw, g.eta_star, yerr=[0 * g.eta_star, g.first_failure - g.eta_star], fmt="o", capsize=3,
                    color=palette[d], label=f"{d}")
    wide = per_seed[(per_seed.condition == cond) & (per_seed.width >= cfg.min_ratio * per_seed.depth)]
    m = analysis.geometric_means(wide, "eta_star")
    if len(m) >= 3:
        p, a = np.polyfit(np.log(m.dw), np.log(m.eta_star), 1)
        xs = np.geomspace(m.dw.min(), m.dw.max(), 20)
        ax.plot(xs, np.exp(a) * xs ** p, color="grey", label=f"fit, $p$ = {p:.2f}")
    logs = "log" if len(n) else "linear"  # nothing bracketed (a dry run): an empty, linear panel
    ax.set(xscale=logs, yscale=logs, xlabel=r"depth × width $d\cdot w$", ylabel=r"$\eta^*$ (SGD learning rate)",
           title=labels[cond].split(",")[0])
    if len(n):
        ax.legend(title="depth $d$", fontsize="x-small", loc="best")


fig, axes = plt.subplots(1, 2, figsize=(7, 3.2), layout="constrained")
for ax, cond in zip(axes, ("gaussian", "mnist")):
    law_panel(ax, cond)
plots.save(fig, "eta-star-law", figures_dir)
plots.headline(fig, "iyer2023-maximal-initial-lr-headline")

# %% [markdown]
# **Figure 1.** η* (dots: the largest learning rate at which the majority of three seeds reach $t$; bars up to
# the first failure above it) against depth × width, coloured by depth; grey: the least-squares power law over
# the networks with $w \ge 16d$. Left: two-Gaussian task; right: MNIST (pooled to 7×7).
#
# The depth and width exponents separately, $\eta^* \propto d^\alpha w^\beta$, and the $d\cdot w$ fit, for every
# condition that ran (intervals: 95 % bootstrap over seeds within each network):

# %%
fit_rows = []
for cond in conditions:
    s = per_seed[per_seed.condition == cond]
    wide = s[s.width >= cfg.min_ratio * s.depth]
    fitted = {**{k: v for k, v in analysis.fit_power_law(wide, "eta_star", n_boot=cfg.n_boot, seed=seed).items()
                 if k in ("p", "r2")},
              **{k: v for k, v in analysis.fit_power_law(s, "eta_star", n_boot=cfg.n_boot, seed=seed).items()
                 if k in ("alpha", "beta", "alpha_minus_beta")}}
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
g = nets[(nets.condition == "gaussian") & (nets.status == "ok")]
for dw, grp in g.groupby("dw"):
    if len(grp) >= 2:
        grp = grp.sort_values("depth")
        ax1.plot(grp.depth, grp.eta_star, "o-", label=f"{dw}")
ax1.set(xlabel="depth $d$ (width $= d\\cdot w / d$)", ylabel=r"$\eta^*$", title="equal $d\\cdot w$")
for cond, marker in (("gaussian", "o"), ("gaussian-full-input", "s"), ("gaussian-mse", "^")):
    n = nets[(nets.condition == cond) & (nets.status == "ok")]
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
# search bracketed η* in the networks of the grid. Each row is calibrated first: the law it tests (and its named
# rival) is simulated with this run's per-seed spread of η* and the search's grid of learning rates, through the
# same fit and bootstrap; a row whose test cannot tell the two apart reads *underpowered*, with the design that
# would. Tolerances, controls and reasons: the registry page.

# %%
rows = claims.judge(REGISTRY, "eta-star", measure.measure_eta_star(
    trainings, tuple(conditions), min_ratio=cfg.min_ratio, n_boot=cfg.n_boot, seed=seed,
    grids=measure.search_grids(cfg)))
if not dry_run:
    claims.write(rows, CHAPTER, "eta-star", scale, out, overrides=dict(depths=depths, widths=widths, seeds=seeds))
claims.glue_counts(rows, "eta-star-verdicts")

# %% tags=["remove-input"]
claims_html.display(rows, CHAPTER)

# %% tags=["remove-cell"]
# NBVAL_CHECK_OUTPUT
print(rerun.compare(rows, REGISTRY, scale, out, dry_run=dry_run))
