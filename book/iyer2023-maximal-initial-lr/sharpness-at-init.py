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
# # Sharpness at initialisation, and η*·λ1
#
# {cite}`iyer2023maximal` bound the sharpness $\lambda_1$ — the top eigenvalue of the Hessian of the training
# loss — at initialisation by functions of depth × width, and find η* "closely though not inversely" related to
# it: the classical stability rule $\eta < 2/\lambda_1$ would make $\eta^*\lambda_1$ constant, and it is not.
# Here we measure $\lambda_1$ (Lanczos on Hessian-vector products, `replicate.sharpness.top_eigenvalues`) of the
# very networks of the [η* notebook](eta-star.ipynb) — same data subset, same init seeds — fit its exponent in
# $d\cdot w$, draw the $d\cdot w$ scaling that the bounds predict (derivation page, eq. 5) against it, and form
# $\eta^*\lambda_1$ from the η* table when that notebook's results are present.

# %% tags=["parameters"]
scale = "cpu"  # smoke | cpu | paper
dataset = None  # override: mnist | fashion-mnist | cifar-10
depths = None  # override: hidden-layer counts d
widths = None  # override: widths w
seeds = None  # override: networks (init seeds) per (d, w)
n_sharp = None  # override: training images in the loss whose Hessian is measured
seed = 0  # base seed (data subset and first init)
dry_run = False  # one step of the preset, to check that it runs
results_dir = "results"  # claims and tables are written here
figures_dir = None  # figures are saved here when set (replicate run sets it)
executor = None  # where sweep points run: None (in-process) | local | dask
scheduler = None  # Dask scheduler address tcp://HOST:PORT, with executor dask

# %%
import matplotlib.pyplot as plt
import numpy as np

from replicate import claims, plots, results, runtime, scales, sweep
from replicate.papers import max_initial_lr as mil

runtime.setup(seed)
plots.style()
cfg = scales.resolve(mil.SHARP_PRESETS, scale,
                     dict(dataset=dataset, depths=depths, widths=widths, seeds=seeds, n_sharp=n_sharp),
                     dry_run=dry_run, dry_overrides=mil.SHARP_DRY_RUN)
X, y, _, _ = mil.load_data(cfg.dataset, cfg.n_train, 1, cfg.pool, seed=seed)
X, y = X[:cfg.n_sharp], y[:cfg.n_sharp]
cfg

# %% [markdown]
# ## λ1 of every network
#
# One point per (d, w, seed), saved as it goes (an interrupted run resumes). `converged` is Lanczos' own test
# (relative residual ≤ `tol`).

# %%
points = [{"depth": d, "width": w, "seed": seed + s}
          for d, w in mil.grid(cfg.depths, cfg.widths, cfg.min_ratio, cfg.max_dw) for s in range(cfg.seeds)]
lam = sweep.run_sweep(points, lambda p: mil.sharpness_at_init(p["depth"], p["width"], p["seed"], X, y, cfg),
                      None if dry_run else sweep.sweep_path(results_dir, "sharpness-at-init", cfg), desc="λ1 points",
    executor=sweep.executor_from(executor, scheduler))
lam = lam.assign(dw=lam.depth * lam.width)
if not dry_run:
    results.write_table(lam, f"{results_dir}/sharpness-at-init.runs.csv")
print("Lanczos converged:", int(lam.converged.astype(bool).sum()), "of", len(lam))
lam.pivot_table(index=["depth", "width"], columns="seed", values="lam1").round(3)

# %% [markdown]
# ## λ1 against d·w
#
# The bounds of the derivation page (eq. 5) make $\lambda_1$ grow linearly in $d\cdot w$ at fixed data; the
# dashed line has slope 1 through the centre of our points (its height is not predicted: the constants depend
# on the data), the solid line is our least-squares fit.

# %%
fit = mil.fit_power_law(lam, "lam1", n_boot=cfg.n_boot, seed=seed)
fig, ax = plt.subplots(figsize=(6, 4))
for d, g in lam.groupby("depth"):
    ax.scatter(g.dw, g.lam1, s=18, alpha=0.7, label=f"d = {d} (one dot per seed)")
if np.isfinite(fit["p"]):
    xs = np.geomspace(lam.dw.min(), lam.dw.max(), 50)
    ax.plot(xs, np.exp(fit["a"]) * xs ** fit["p"], color="black",
            label=f"fit: q = {fit['p']:.2f} [{fit['p_lo']:.2f}, {fit['p_hi']:.2f}], R² = {fit['r2']:.2f}")
    x0 = np.exp(np.log(lam.dw).mean())
    ax.plot(xs, np.exp(fit["a"]) * x0 ** fit["p"] * xs / x0, **plots.PAPER_STYLE, label="bounds: λ1 ∝ d·w")
ax.set(xscale="log", yscale="log", xlabel="depth × width d·w", ylabel="λ1 at init (Hessian of the CE loss)",
       title="sharpness at initialisation")
ax.legend(fontsize="x-small")
plots.save(fig, "sharpness-power-law", figures_dir)
plt.show()
print(f"λ1 ∝ (d·w)^q: q = {fit['p']:.3g} [{fit['p_lo']:.3g}, {fit['p_hi']:.3g}], R² = {fit['r2']:.3g}")

# %% [markdown]
# ## η*·λ1 across the grid
#
# η* comes from the η* notebook's table (`results/eta-star.runs.csv`, input layer at the small learning rate,
# same seeds). If that table is absent — the notebooks may run in any order — the product is reported as not
# testable. A constant product would mean η* ∝ 1/λ1; the paper says it is not constant.

# %%
eta = results.read_table(f"{results_dir}/eta-star.runs.csv")
prod = None
if len(eta) and not dry_run:
    eta = eta[(eta.input_lr_mult == eta.input_lr_mult.min()) & (eta.status == "ok")]
    prod = lam.merge(eta[["depth", "width", "seed", "eta_star"]], on=["depth", "width", "seed"])
    prod = prod.assign(eta_lam=prod.eta_star * prod.lam1)
if prod is not None and len(prod):
    gm = mil.geometric_means(prod, "eta_lam")
    prod_fit = mil.fit_power_law(prod, "eta_lam", n_boot=cfg.n_boot, seed=seed)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    for d, g in prod.groupby("depth"):
        ax1.scatter(g.lam1, g.eta_star, s=18, label=f"d = {d}")
        ax2.scatter(g.dw, g.eta_lam, s=18, label=f"d = {d}")
    ls = np.geomspace(prod.lam1.min() / 1.5, prod.lam1.max() * 1.5, 20)
    ax1.plot(ls, 2 / ls, **plots.PAPER_STYLE, label="η = 2/λ1 (inverse relation)")
    ax1.set(xscale="log", yscale="log", xlabel="λ1 at init", ylabel="η*", title="η* against λ1 (per network)")
    plots.paper_line(ax2, y=2, label="η·λ1 = 2 (stability edge)")
    ax2.set(xscale="log", yscale="log", xlabel="depth × width d·w", ylabel="η*·λ1 (dimensionless)",
            title=f"η*·λ1: spread ×{mil.spread(gm.eta_lam):.2f}, slope {prod_fit['p']:.2f} in d·w")
    for ax in (ax1, ax2):
        ax.legend(fontsize="x-small")
    plots.save(fig, "eta-star-times-sharpness", figures_dir)
    plt.show()
    print(gm.round(3).to_string(index=False))
else:
    gm = None
    print("η* table absent: run eta-star first; the product is not testable here")

# %% [markdown]
# ## Claims
#
# Tolerances proposed before any run (the digest's claims 4 and 5): $\lambda_1 \propto (d\cdot w)^q$ with
# $q \in [0.8, 1.2]$; $\eta^*\lambda_1$ (geometric mean over seeds per configuration) varies by more than 2×
# across the grid.

# %%
table = [
    claims.interval_claim("4: exponent q of λ1(init) ∝ (d·w)^q", "bounds in d·w (∝ d·w)", fit["p"], 0.8, 1.2),
    claims.interval_claim("5: η*·λ1 spread max/min over (d, w)", "not inversely related",
                          mil.spread(gm.eta_lam) if gm is not None else None, 2.0, np.inf),
]
if not dry_run:
    claims.write(table, "iyer2023-maximal-initial-lr", "sharpness-at-init", scale, results_dir)

# %%
# NBVAL_CHECK_OUTPUT
print(claims.show(table))
