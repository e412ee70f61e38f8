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
scale = "cpu"  # smoke | cpu | paper
starts = None  # override: starting points
steps = None  # override: gradient-descent steps
seed = 0  # seed of the starting angles
dry_run = False  # one step of the preset, to check that it runs
results_dir = "results"  # claims and tables are written here
figures_dir = None  # figures are saved here when set (replicate run sets it)

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from replicate import claims, plots, results, runtime, scales
from replicate.papers import exp_lr

runtime.setup(seed)
plots.style()
cfg = scales.resolve(exp_lr.TOY_PRESETS, scale, dict(starts=starts, steps=steps),
                     dry_run=dry_run, dry_overrides=exp_lr.TOY_DRY_RUN)
cfg

# %%
runs = {s: exp_lr.run_toy(cfg, s, seed=seed) for s in exp_lr.TOY_SETTINGS}
every = max(cfg.steps // 100, 1)
frames = []
for s, r in runs.items():
    t = np.arange(0, cfg.steps + 1, every)
    for k in range(cfg.starts):
        frames.append(pd.DataFrame({"setting": s, "start": k, "step": t, "grad_norm": r["grad_norm"][t, k].numpy(),
                                    "loss": r["loss"][t, k].numpy(), "norm": r["norm"][t, k].numpy()}))
df = pd.concat(frames, ignore_index=True)
if not dry_run:
    results.write_table(df, f"{results_dir}/toy.runs.csv")

fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
for ax, col, label in zip(axes, ["grad_norm", "loss", "norm"],
                          ["‖∇F(θ_t)‖ (objective gradient)", "L(θ_t) (dimensionless)", "‖θ_t‖"]):
    plots.seed_band(ax, df.assign(**{col: df[col].clip(lower=1e-300)}), "step", col, hue="setting", log_y=True)
    ax.set(xlabel="step t", ylabel=label)
axes[0].set(title="gradient norm (median, band = all starts)", ylim=(1e-17, 1e2))
axes[1].set(title="loss", ylim=(1e-30, 2))
axes[2].set(title="weight norm")
plots.paper_line(axes[0], y=1e-3, label="threshold: not converged above")
axes[0].axhline(1e-6, color="grey", linestyle=":", label="threshold: converged below")
axes[0].legend(fontsize="small")
plots.save(fig, "toy-gradient-norm", figures_dir)
plt.show()

# %% [markdown]
# With WD + normalisation the norm shrinks until the effective step η/‖θ‖² is so large that the iterate jumps
# across the minimum; the loss spikes, the norm is pushed back up (the gradient is orthogonal to θ), and the cycle
# repeats. Alone, either ingredient converges: without WD the norm grows and freezes; without normalisation the
# WD term only shrinks the irrelevant coordinate y towards 0, a global minimiser of x² + (λ/2)‖θ‖².

# %% [markdown]
# ## Claims
#
# No tolerance is proposed in the digest for the toy; ours, fixed before running: "converges" means
# ‖∇F‖ < 10⁻⁶ at the last step, "does not converge" means ‖∇F‖ > 10⁻³ at every step of the last 20 % of the run,
# for every starting point.

# %%
last = max(int(0.2 * cfg.steps), 1)
tail = {s: r["grad_norm"][-last:].min(0).values for s, r in runs.items()}
final = {s: r["grad_norm"][-1] for s, r in runs.items()}
table = [
    claims.fraction_claim("normalised + WD: ‖∇F‖ > 1e-3 over the last 20 % of steps", "does not converge",
                          int((tail["normalised + WD"] > 1e-3).sum()), cfg.starts if cfg.steps >= 1000 else 0),
    claims.fraction_claim("normalised, no WD: final ‖∇F‖ < 1e-6", "converges",
                          int((final["normalised, no WD"] < 1e-6).sum()), cfg.starts if cfg.steps >= 1000 else 0),
    claims.fraction_claim("WD, no normalisation: final ‖∇F‖ < 1e-6", "converges",
                          int((final["WD, no normalisation"] < 1e-6).sum()), cfg.starts if cfg.steps >= 1000 else 0),
]
if not dry_run:
    claims.write(table, "li-arora2020-exp-lr", "toy", scale, results_dir)
print(f"normalised + WD: smallest ‖∇F‖ over the last 20 %: {float(tail['normalised + WD'].min()):.3g}")

# %%
# NBVAL_CHECK_OUTPUT
print(claims.show(table))
