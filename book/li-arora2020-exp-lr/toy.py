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
# # The toy: weight decay and normalisation together do not converge
#
# {cite}`li2020exponential` (abstract): "using either weight decay or BN alone reaches global minimum, but
# convergence fails when both are used". The paper's exact toy is not pinned by our sources; we use the authors'
# own two-dimensional example from their follow-up blog, the scale-invariant $L(x, y) = x^2/(x^2+y^2)$ (a
# "normalised" unit), and its unnormalised counterpart $L(x, y) = x^2$. Full-batch gradient descent on
# $F = L + \tfrac{\lambda}{2}\lVert\theta\rVert^2$, η = 0.1, λ = 0.1, float64, from many starting angles on the
# unit circle (seeds shown as bands). With both ingredients F has **no stationary point**: since
# $\langle\nabla L, \theta\rangle = 0$, $\lVert\nabla F\rVert^2 = \lVert\nabla L\rVert^2 + \lambda^2\lVert\theta\rVert^2$
# (derivation page, eq. 7).

# %% tags=["parameters"]
scale = "cpu"  # smoke | cpu | gpu | paper
starts = None  # override: starting points
steps = None  # override: gradient-descent steps
seed = 0  # seed of the starting angles
dry_run = False  # one step of the preset, to check that it runs
results_dir = None  # claims and tables are written here (None: runs/<scale>/<chapter>)
figures_dir = None  # figures are saved here when set (replicate run sets it)

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from replicate import claims, claims_html, plots, rerun, results, runtime, scales
from replicate.papers import exp_lr
from replicate.registry.li_arora2020 import REGISTRY

CHAPTER = REGISTRY.chapter
device, _ = runtime.setup(seed)
plots.style()
cfg = scales.resolve(exp_lr.TOY_PRESETS, scale, dict(starts=starts, steps=steps),
                     dry_run=dry_run, dry_overrides=exp_lr.TOY_DRY_RUN)
out = runtime.results_dir(results_dir, CHAPTER, scale)
cfg

# %%
runs = {s: exp_lr.run_toy(cfg, s, seed=seed, device=device) for s in exp_lr.TOY_SETTINGS}
every = max(cfg.steps // 100, 1)
frames = []
for s, r in runs.items():
    t = np.arange(0, cfg.steps + 1, every)
    for k in range(cfg.starts):
        frames.append(pd.DataFrame({"setting": s, "start": k, "step": t,
                                    "grad_norm": r["grad_norm"][t, k].cpu().numpy(),
                                    "loss": r["loss"][t, k].cpu().numpy(), "norm": r["norm"][t, k].cpu().numpy()}))
df = pd.concat(frames, ignore_index=True)
if not dry_run:  # median, min and max over starting points per (setting, step)
    summary = df.groupby(["setting", "step"])[["grad_norm", "loss", "norm"]].agg(["median", "min", "max"])
    summary.columns = ["_".join(c) for c in summary.columns]
    results.write_table(summary.reset_index(), out / "toy.summary.csv")

fig, axes = plt.subplots(1, 2, figsize=(7, 3.2), layout="constrained")
for ax, col, label in zip(axes, ["grad_norm", "loss"], [r"$\|\nabla F(\theta_t)\|$", r"loss $L(\theta_t)$"]):
    plots.seed_band(ax, df.assign(**{col: df[col].clip(lower=1e-300)}), "step", col, hue="setting", log_y=True)
    ax.set(xlabel=r"step $t$", ylabel=label)
    ax.legend(title="setting", fontsize="x-small", loc="best")
axes[0].set(title="objective gradient", ylim=(1e-17, 1e2))
axes[1].set(title="loss", ylim=(1e-30, 2))
plots.save(fig, "toy-gradient-norm", figures_dir)
plt.show()

# %% [markdown]
# **Figure 1.** Gradient descent on the toy from many starting angles (line: median, band: all starts). Left: the
# gradient of the objective actually minimised, $F = L + \frac\lambda2\lVert\theta\rVert^2$; right: the loss.
# Either ingredient alone converges; with both, the loss keeps spiking.

# %% [markdown]
# With WD + normalisation the norm shrinks until the effective step η/‖θ‖² is so large that the iterate jumps
# across the minimum; the loss spikes, the norm is pushed back up (the gradient is orthogonal to θ), and the cycle
# repeats. Alone, either ingredient converges: without WD the norm grows and freezes; without normalisation the
# WD term only shrinks the irrelevant coordinate y towards 0, a global minimiser of x² + (λ/2)‖θ‖².
# Not a claim, as it follows from eq. 7 of the derivation page whatever the run does: with both ingredients
# $\lVert\nabla F\rVert \ge \lambda\lVert\theta\rVert$; its smallest value over the last 20 % is printed below.

# %%
last = max(int(0.2 * cfg.steps), 1)
print(f"normalised + WD: smallest ‖∇F‖ over the last 20 %: {float(runs['normalised + WD']['grad_norm'][-last:].min()):.3g}")

# %% [markdown]
# ## Claims
#
# Each claim is a fraction of starting points with a Wilson interval. Tolerances and their reasons are on the
# [registry page](../claims-registry.ipynb).

# %%
rows = claims.judge(REGISTRY, "toy", exp_lr.measure_toy(runs))
if not dry_run:
    claims.write(rows, CHAPTER, "toy", scale, out, overrides=dict(starts=starts, steps=steps))
claims.glue_counts(rows, "toy-verdicts")

# %% tags=["remove-input"]
claims_html.display(rows, CHAPTER)

# %% tags=["remove-cell"]
# NBVAL_CHECK_OUTPUT
print(rerun.compare(rows, REGISTRY, scale, out, dry_run=dry_run))
