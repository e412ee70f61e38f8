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
# # Wide ReLU networks: λ0, the catapult and η_max
#
# The paper carries the solvable model's phases to wide ReLU networks trained by full-batch gradient descent on
# the squared loss {cite}`lewkowycz2020catapult`. Here: an NTK-parametrised ReLU MLP on an MNIST subset (one-hot
# targets, $L = \frac{1}{2m}\sum_i \lVert f(x_i) - y_i\rVert^2$). For each seed we measure $\lambda_0$, the top
# eigenvalue of the NTK $JJ^\top/m$ at initialisation (Lanczos on Gauss–Newton products, `replicate.sharpness`),
# set $\eta = c\cdot\eta_\text{crit}$ with $\eta_\text{crit} = 2/\lambda_0$ for a grid of $c$, and train all the
# learning rates of a seed at once (`replicate.ensemble`), tracking $\lambda_t$ for a few of them.
#
# With ten outputs the initial loss is dominated by directions that fall at once, so the catapult shows as a
# *rebound*: the loss climbs above its running minimum ($\max_t L_t/\min_{s\le t}L_s > 1.05$) before converging.
# The grid of $c = \eta/\eta_\text{crit}$ is fine near 1 (the onset) and near 6 (η_max), so each boundary is
# reported as a bracket [last point of one phase, first of the next]; two widths show the finite-width trend.
# Test accuracy is compared at a fixed *physical time* $\tau = \eta\lambda_0 t$ (each run is evaluated at
# the step where it has moved as far as the slowest run at the end of its budget), not at a fixed step count.
# The deviations from the paper are listed on the [derivation page](index.md).

# %% tags=["parameters"]
scale = "cpu"  # smoke | cpu | gpu | paper
dataset = None  # override: mnist | fashion-mnist
widths = None  # override: hidden widths
depth = None  # override: number of hidden layers
steps = None  # override: gradient-descent steps
seeds = None  # override: number of seeds per width
lr_factors = None  # override: η / η_crit grid
seed = 0  # base seed (data subset and first init)
dry_run = False  # one step of the preset, to check that it runs
results_dir = None  # claims and tables are written here (None: runs/<scale>/<chapter>)
figures_dir = None  # figures are saved here when set (replicate run sets it)
executor = None  # where sweep points run: None (in-process) | local | dask
scheduler = None  # Dask scheduler address tcp://HOST:PORT, with executor dask

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy.stats import t as student_t

from replicate import claims, claims_html, plots, rerun, results, runtime, scales, sweep
from replicate.papers import catapult
from replicate.registry.lewkowycz2020 import REGISTRY

CHAPTER = REGISTRY.chapter
device, dtype = runtime.setup(seed)
plots.style()
cfg = scales.resolve(catapult.RELU_PRESETS, scale,
                     dict(dataset=dataset, widths=widths, depth=depth, steps=steps, seeds=seeds, lr_factors=lr_factors),
                     dry_run=dry_run, dry_overrides=catapult.RELU_DRY_RUN)
out = runtime.results_dir(results_dir, CHAPTER, scale)
data = catapult.relu_data(cfg, seed=seed)  # on the CPU: each sweep point moves it to its own device
cfg

# %% [markdown]
# Each (width, seed) is one point of a resumable sweep: its rows are saved when it finishes, and a rerun skips it.
# λ_t is tracked only in the first seed at the widest width (Figure 1): Lanczos costs as much as the training.

# %%
history = sweep.run_sweep(
    [{"width": w, "seed": seed + s} for w in cfg.widths for s in range(cfg.seeds)],
    lambda p: catapult.run_relu_seed(cfg, p["width"], p["seed"], *(t.to(device) for t in data),
                                     track=(p["width"], p["seed"]) == (max(cfg.widths), seed)).drop(columns=["seed"]),
    None if dry_run else sweep.sweep_path(out, "relu-networks", cfg, seed=seed, data=data), key=("width", "seed"),
    desc="width × seed", executor=sweep.executor_from(executor, scheduler), on_error="record")
failed = history[history.error.notna()]
if len(failed):
    print("failed points (their groups are missing below):", failed[["width", "seed", "error"]].to_dict("records"))
history = history[history.error.isna()]
phases = catapult.relu_phases(history, cfg.steps)
bounds = catapult.brackets(phases, x="factor", by=("width", "seed"))
if not dry_run:
    results.write_table(phases, out / "relu-networks.runs.csv")
print("λ0 per (width, seed):", history.groupby(["width", "seed"]).lam0.first().round(3).to_dict())
phases.pivot(index="factor", columns=["width", "seed"], values="phase")

# %% [markdown]
# ## Loss and curvature in each phase
#
# The first seed at the widest width, the tracked learning rates.

# %%
first = history[(history.width == history.width.max()) & (history.seed == history.seed.min())]
tracked = first[first.factor.isin(cfg.track_factors)]
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(7, 3.2), layout="constrained")
for c, g in tracked.groupby("factor"):
    ax1.plot(g.step, g.loss, label=f"{c:g}")
    lam = g.dropna(subset=["lam"])
    ax2.plot(lam.step, 2 * c * lam.lam / g.lam0.iloc[0], marker="o", ms=3, label=f"{c:g}")
ax1.set(yscale="log", xscale="symlog", xlabel=r"step $t$", ylabel=r"training loss $L_t$ (MSE)", title="loss")
ax2.set(xscale="symlog", xlabel=r"step $t$", ylabel=r"$\eta\lambda_t$", title="NTK curvature × learning rate")
plots.paper_line(ax2, y=2, label=r"$\eta\lambda = 2$")
ax1.legend(title=r"$\eta/\eta_{\rm crit}$", fontsize="x-small", loc="best")
ax2.legend(fontsize="x-small", loc="best")
plots.save(fig, "relu-trajectories", figures_dir)
plt.show()

# %% [markdown]
# **Figure 1.** Training loss (left) and $\eta\lambda_t$ (right, Lanczos at every early step, then every few; the
# step axis is linear up to 1 and logarithmic after) for the tracked
# learning rates, first seed, widest width. Above $\eta_\text{crit}$ the loss rebounds while λ falls until
# $\eta\lambda < 2$ (black dashed), then it converges.

# %% [markdown]
# ## The phase diagram

# %%
PHASE_COLORS = {"lazy": "#4575b4", "catapult": "#fdae61", "divergent": "#d73027"}
edges = bounds.groupby("width")[["lazy_catapult", "catapult_divergent"]].median()
w_max = phases.width.max()
fig, axes = plt.subplots(1, 2, figsize=(7, 3.2), layout="constrained")
conv = phases[phases.phase != "divergent"].assign(width=lambda d: d.width.astype(str))
lo, hi = edges.loc[w_max].to_numpy() if w_max in edges.index else (np.nan, np.nan)
for ax in axes:
    x_end = max(phases.factor.max(), 1.0)
    for (a, b), name in (((min(phases.factor.min(), 0.4), lo), "lazy"), ((lo, hi), "catapult"), ((hi, x_end), "divergent")):
        if np.isfinite(a) and np.isfinite(b):
            ax.axvspan(a, b, color=PHASE_COLORS[name], alpha=0.15, lw=0)
plots.seed_band(axes[0], conv, "factor", "lam_final_ratio", hue="width", log_x=True)
grid = np.geomspace(1, max(x_end, 1.01), 50)
axes[0].plot(grid, 1 / grid, **plots.PAPER_STYLE, label=r"paper: $\lambda_{\rm final} < 2/\eta$")
axes[0].set(xlabel=r"$\eta/\eta_{\rm crit}$", ylabel=r"$\lambda_{\rm final}/\lambda_0$", title="final curvature")
plots.seed_band(axes[1], conv.assign(acc_tau=100 * conv.acc_tau), "factor", "acc_tau", hue="width", log_x=True)
axes[1].set(xlabel=r"$\eta/\eta_{\rm crit}$", ylabel="test accuracy (%)",
            title=rf"accuracy at fixed $\eta\lambda_0 t = {2 * min(cfg.lr_factors) * cfg.steps:g}$")
for ax in axes:
    ax.legend(title="width", fontsize="x-small", loc="best")
plots.save(fig, "relu-phase-diagram", figures_dir)
plt.show()

# %% [markdown]
# **Figure 2.** The measured phase diagram of the ReLU networks (the paper's phase-diagram style). Shading: lazy
# (blue), catapult (orange) and divergent (red) regions at the widest width, between the median measured
# boundaries. Left: the final NTK curvature over $\lambda_0$, against the paper's bound $2/\eta$ (black dashed);
# right: test accuracy at a fixed physical time. Lines: median over seeds; bands: min to max.

# %% [markdown]
# The boundaries per (width, seed), in units of $\eta_\text{crit}$: the brackets [last lazy, first catapult] and
# [last converged, first divergent]. The onset above 1 at finite width, moving down as the width grows, is the
# finite-width trend.

# %%
bounds.round(3)

# %% [markdown]
# The onset depends on the rebound threshold that calls a run a catapult (1.05, fixed before the first `cpu` run):
# the onset bracket per (width, seed) at thresholds 1.03, 1.05 and 1.10, from the same runs.

# %%
REBOUNDS = (1.03, 1.05, 1.10)
sensitivity = {r: catapult.brackets(catapult.relu_phases(history, cfg.steps, rebound=r), x="factor",
                                    by=("width", "seed")).set_index(["width", "seed"])[["last_lazy", "first_catapult"]]
               for r in REBOUNDS}
pd.concat(sensitivity, axis=1, names=["rebound"])

# %% [markdown]
# Diagnostics (not claims). A run converges only if $\eta\lambda_\text{final} < 2$, so the count of converged
# catapult runs with $\eta\lambda_\text{final} < 2$ follows from convergence; the two curvature rows of the table
# below (λ_final of catapult runs over the largest lazy run's, and its rank correlation with η) follow from it too,
# and are unchanged when η is doubled by a bug, so they are shown, not judged. The curvature claim that can fail is
# how close the catapult window's largest $\eta\lambda_\text{final}$ comes to the edge 2.

# %%
below = catapult.eta_lam_final_below_two(phases)
print(f"η·λ_final < 2 in {below.note} converged catapult runs")

# %% [markdown]
# The numbers the [derivation page](index.md) quotes about this run, glued from it: the drift of λ in the lazy
# phase, the runs that rebound by less than the threshold, the accuracy comparison's groups and their gaps
# (best catapult − best lazy run, percentage points) against one run's binomial s.d. on the test set, and the
# presets' designs.

# %%
def _lam_final_at(c: float) -> str:
    """λ_final/λ0 and phase of every seed's run at factor c, by width."""
    at = phases[np.isclose(phases.factor, c)]
    return f"at c = {c:g}: " + ", ".join(
        " and ".join(f"{r.lam_final_ratio:.2f} ({r.phase})" for r in g.itertuples()) + f" at width {w}"
        for w, g in at.groupby("width"))


best = phases.groupby(["width", "seed", "phase"]).acc_tau.max().unstack().reindex(columns=["lazy", "catapult"])
gaps = 100 * (best.catapult - best.lazy)
n_phase = phases.groupby(["width", "seed"]).phase.value_counts().unstack(fill_value=0).reindex(
    columns=["lazy", "catapult"], fill_value=0)
acc = 100 * phases[phases.phase != "divergent"].acc_tau.dropna()
p_acc = acc.median() / 100
near = phases[(phases.phase == "lazy") & (phases.rebound > min(REBOUNDS))]
below_one = sorted(f for f in cfg.lr_factors if f <= 1)
gap_at = int(np.argmax(np.diff(below_one))) if len(below_one) > 1 else 0
dof = int(bounds.width.eq(bounds.width.max()).sum()) - 1
pd.DataFrame({"accuracy gap (pp)": gaps.round(1), **n_phase})

# %% [markdown]
# ## Claims
#
# The onset and η_max are read at the widest width: the mean over its seeds of each seed's bracket midpoint, with a
# Student-t interval over seeds widened by the grid's resolution. The edge $\eta\lambda_\text{final}$ and the
# accuracy gap are averaged over every (width, seed), with Student-t intervals over those groups (at two to four
# groups a bootstrap interval would cover far less than 95 %). Each row also shows its power and false-pass rate
# from the run's own noise; a row that cannot tell the paper from its rival at this number of seeds reads
# *underpowered*, with the number of seeds that would decide it. Tolerances, controls and reasons are on the
# [registry page](../claims-registry.ipynb).

# %%
rows = claims.judge(REGISTRY, "relu-networks", catapult.measure_relu_networks(phases))
if not dry_run:
    claims.write(rows, CHAPTER, "relu-networks", scale, out,
                 overrides=dict(dataset=dataset, widths=widths, depth=depth, steps=steps, seeds=seeds,
                                lr_factors=lr_factors))
claims.glue_counts(rows, "relu-networks-verdicts")
_ = claims.glue_numbers(rows, {
    "relu-design": f"{cfg.n_train} training images pooled to {28 // cfg.pool}×{28 // cfg.pool}, {cfg.n_test} test "
                   f"images, width{'s' * (len(cfg.widths) > 1)} {' and '.join(map(str, cfg.widths))} with "
                   f"{cfg.depth} hidden layers, {cfg.steps} steps",
    "relu-groups": f"{cfg.seeds} seed{'s' * (cfg.seeds > 1)} per width ({len(bounds)} (width, seed) groups)",
    "relu-rebound-thresholds": ", ".join(f"{r:.2f}" for r in REBOUNDS),
    "relu-lam-final-drift": "; ".join(_lam_final_at(c) for c in (1.0, 1.3) if np.isclose(phases.factor, c).any())
                            or "(c = 1 and 1.3 are not on this grid)",
    "relu-near-misses": ", ".join(f"width {r.width}, seed {r.seed} at c = {r.factor:g} (rebound {r.rebound:.3f})"
                                  for r in near.itertuples()) or "none",
    "relu-t-factor": f"{student_t.ppf(0.975, dof):.1f} at {dof} degree{'s' * (dof != 1)} of freedom" if dof > 0
                     else "undefined (one seed)",
    "relu-grid-gap": (f"between {below_one[gap_at]:g} and {below_one[gap_at + 1]:g}" if len(below_one) > 1
                      else "below 1"),
    "relu-tau": f"{2 * min(cfg.lr_factors) * cfg.steps:g}",
    "relu-accuracy-range": f"{acc.min():.0f}–{acc.max():.0f} %" if len(acc) else "not measured",
    "relu-runs-per-group": f"{n_phase.catapult.min()}–{n_phase.catapult.max()} catapult runs against "
                           f"{n_phase.lazy.min()}–{n_phase.lazy.max()} lazy runs per (width, seed), over "
                           f"{len(n_phase)} (width, seed) groups",
    "relu-accuracy-gaps": ", ".join(f"{g:+.1f}" for g in gaps.dropna()) + " pp",
    "relu-binomial-sd": f"{100 * np.sqrt(p_acc * (1 - p_acc) / cfg.n_test):.1f} pp on {cfg.n_test} test images, "
                        f"at the median accuracy {100 * p_acc:.0f} %",
    "relu-presets": pd.DataFrame([{
        "scale": name, "data": f"{p.n_train} {p.dataset} images, {28 // p.pool}×{28 // p.pool}",
        "test images": p.n_test,
        "widths × hidden layers": f"({', '.join(map(str, p.widths))}) × {p.depth}", "seeds per width": p.seeds,
        "steps": p.steps, "η/η_crit": f"{len(p.lr_factors)} values, {min(p.lr_factors):g} … {max(p.lr_factors):g}, "
                                      f"finest step {np.diff(sorted(p.lr_factors)).min():.3g}"}
        for name, p in catapult.RELU_PRESETS.items()]).set_index("scale")})

# %% tags=["remove-input"]
claims_html.display(rows, CHAPTER)

# %% tags=["remove-cell"]
# NBVAL_CHECK_OUTPUT
print(rerun.compare(rows, REGISTRY, scale, out, dry_run=dry_run))
