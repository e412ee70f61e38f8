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
# # The solvable model: three phases of gradient descent
#
# The two-layer linear model $f = v^\top u\,x/\sqrt{n}$ of {cite}`lewkowycz2020catapult` is the smallest
# network with a catapult. Its gradient descent closes on two numbers, the output $f_t$ and the NTK
# $\lambda_t$ (eqs. 3–4 on the [derivation page](index.md)), so we can run thousands of widths, seeds and
# learning rates in seconds and *measure* where the phases change, instead of drawing the formula.
#
# Protocol: one sample $x = 1$, label $y = 1$, $u, v \sim \mathcal N(0, I_n)$; for each width $n$ and seed,
# $\eta = c/\lambda_0$ for $c$ on a grid over $(0, 5]$; gradient descent for a fixed number of steps. A run is
# *divergent* when its loss overflows, *lazy* or *catapult* when the final loss is below $10^{-3} L_0$ (catapult
# if the loss rose above $L_0$ on the way), and *unconverged* otherwise (counted, never folded into a phase).

# %% tags=["parameters"]
scale = "cpu"  # smoke | cpu | paper
widths = None  # override: tuple of widths n
seeds = None  # override: seeds per width
steps = None  # override: gradient-descent steps
seed = 0  # base seed
dry_run = False  # one step of the preset, to check that it runs
results_dir = "results"  # claims and tables are written here
figures_dir = None  # figures are saved here when set (replicate run sets it)

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch

from replicate import claims, plots, results, runtime, scales
from replicate.papers import catapult

runtime.setup(seed)
plots.style()
cfg = scales.resolve(catapult.UV_PRESETS, scale, dict(widths=widths, seeds=seeds, steps=steps),
                     dry_run=dry_run, dry_overrides=catapult.UV_DRY_RUN)
cfg

# %% [markdown]
# ## Trajectories in each phase
#
# One width ($n = 1000$, or the largest at `smoke`), one seed, five learning rates. Below $2/\lambda_0$ the loss
# falls and $\lambda$ stays put; between $2/\lambda_0$ and $4/\lambda_0$ the loss first grows exponentially,
# $\lambda$ falls until $\eta\lambda < 2$, then the loss converges; above $4/\lambda_0$ it diverges.

# %%
n_show = 1000 if 1000 in cfg.widths else max(cfg.widths)
c_show = torch.tensor([0.5, 1.9, 2.5, 3.5, 4.1], dtype=torch.float64)
u, v = catapult.uv_init(n_show, 1, seed=seed)
f0, lam0 = catapult.uv_f_lambda(u, v)
show_steps = min(cfg.steps, 300)
f, lam = catapult.uv_trajectories(f0.expand_as(c_show), lam0.expand_as(c_show), c_show / lam0, n_show, show_steps)
loss = 0.5 * (f - 1.0) ** 2

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.8))
for i, c in enumerate(c_show.tolist()):
    ax1.plot(loss[:, i] / loss[0, i], label=f"ηλ0 = {c:g}")
    ax2.plot(c * lam[:, i] / lam0, label=f"ηλ0 = {c:g}")
ax1.set(yscale="log", xlabel="step t", ylabel="loss L_t / L_0", title=f"loss, n = {n_show}", ylim=(1e-12, 1e8))
ax2.set(xlabel="step t", ylabel="η·λ_t (dimensionless)", title="curvature × learning rate", ylim=(0, 5))
plots.paper_line(ax2, y=2, label="ηλ = 2 (stability edge)")
ax1.legend(fontsize="small")
ax2.legend(fontsize="small")
plots.save(fig, "uv-trajectories", figures_dir)
plt.show()

# %% [markdown]
# ## The phase diagram, measured
#
# Every (width, seed, $\eta\lambda_0$) on the grid, run to the end of the budget.

# %%
df = catapult.simulate_uv(cfg, seed=seed)
bounds = catapult.boundaries(df)
if not dry_run:
    results.write_table(df, f"{results_dir}/uv-model.runs.csv")
df.groupby(["n", "phase"]).size().unstack(fill_value=0)

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
conv = df[df.phase.isin(["lazy", "catapult"])]
plots.seed_band(axes[0], conv, "eta_lam0", "eta_lam_final", hue="n")
axes[0].plot([0, 2], [0, 2], **plots.PAPER_STYLE, label="paper: λ_final = λ0 (lazy)")
axes[0].plot([2, 4], [2, 2], color="grey", linestyle=":", label="paper: ηλ_final < 2 (catapult)")
axes[0].set(xlabel="η·λ0 (dimensionless)", ylabel="η·λ_final (dimensionless)", title="final curvature")
plots.seed_band(axes[1], df.replace([np.inf], np.nan).dropna(subset=["peak_loss_ratio"]),
                "eta_lam0", "peak_loss_ratio", hue="n", log_y=True)
axes[1].set(xlabel="η·λ0 (dimensionless)", ylabel="max_t L_t / L_0", title="peak loss (divergent runs omitted)")
for ax in axes:
    plots.paper_line(ax, x=2, label="paper: 2/λ0")
    ax.axvline(4, color="black", linestyle="-.", linewidth=1.2, label="paper: 4/λ0")
    ax.legend(fontsize="small")
plots.save(fig, "uv-phase-diagram", figures_dir)
plt.show()

# %% [markdown]
# Measured boundaries per width (over seeds): the midpoint between the last lazy and the first catapult
# grid point, and between the last converged and the first divergent one.

# %%
summary = bounds.groupby("n")[["lazy_catapult", "catapult_divergent"]].agg(["min", "median", "max"])
summary.round(3)

# %% [markdown]
# ## Claims
#
# Tolerances are the ones proposed before any run (`shared/papers.md`, claims 7–9): boundaries at
# $2 \pm 0.05$ and $4 \pm 0.1$ for every width $n \ge 100$ and every seed; $\eta\lambda_\text{final} < 2$ in every
# converged catapult run; the catapult's peak loss at $\eta\lambda_0 = 3$ grows with $n$, at least $100\times L_0$
# at $n = 1000$.

# %%
at3 = df[np.isclose(df.eta_lam0, 3.0)].groupby("n").peak_loss_ratio.median()
cat = df[df.phase == "catapult"]
lc, cd = bounds.lazy_catapult, bounds.catapult_divergent
table = [
    claims.interval_claim("uv: lazy→catapult boundary ηλ0 (worst seed/width)", "2 (exact as n→∞)",
                          float(lc.iloc[(lc - 2).abs().argmax()]) if lc.notna().all() else None, 1.95, 2.05),
    claims.interval_claim("uv: catapult→divergent boundary ηλ0 (worst seed/width)", "4 (exact as n→∞)",
                          float(cd.iloc[(cd - 4).abs().argmax()]) if cd.notna().all() else None, 3.9, 4.1),
    claims.fraction_claim("uv: η·λ_final < 2 in converged catapult runs", "always",
                          int((cat.eta_lam_final < 2).sum()), len(cat)),
    claims.interval_claim("uv: peak loss / L0 at ηλ0 = 3, n = 1000", "grows with n",
                          float(at3.get(1000, np.nan)), 100, np.inf),
    claims.fraction_claim("uv: peak loss at ηλ0 = 3 grows with n (successive widths)", "grows with n",
                          int((np.diff(at3.to_numpy()) > 0).sum()), max(len(at3) - 1, 0)),
]
if not dry_run:
    claims.write(table, "lewkowycz2020-catapult", "uv-model", scale, results_dir)
print(f"unconverged runs: {int((df.phase == 'unconverged').sum())} of {len(df)}")

# %%
# NBVAL_CHECK_OUTPUT
print(claims.show(table))
