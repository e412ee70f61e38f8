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
# # Coordinate check and LR sweep: does the optimal LR move like L^(−3/2)?
#
# The [update-size notebook](update-size.ipynb) measured the note's one-step quantity {cite}`jelassi2023depth` on
# Gaussian inputs. Here we test it on a small real data set (mnist1d, 40 features, 10 classes, one-hot targets,
# MSE) with the library's parametrisations (`replicate.parametrizations`): μP (mean-field init, input LR
# η·n/n₀, hidden η, output η/n), **depth-μP** (μP with every LR × L^(−3/2)) and, at the gpu and paper scales,
# SP (He init, one LR). Everything runs in float64 at cpu, and every width is at least 32 times its depth (the law
# needs L ≪ n).
#
# 1. **Coordinate check** (the note's protocol: one input). RMS change of the last hidden pre-activation z^(L)
#    after 3 SGD steps on a single training example, at one small base LR, on a (width × depth) grid, averaged
#    over networks and examples. Theory: under μP flat in n and growing like L^(3/2) (M_L ∝ L³, eq. 3).
# 2. **LR sweep.** Short minibatch SGD runs at one width; per depth one `train_ensemble` call whose members are
#    the LR grid × seeds. Whether the per-seed optimal LR (lowest final training loss) moves like L^(−3/2) under μP
#    goes beyond the note (one step on one input): its exponent is shown as a diagnostic, not judged.
#    Depth-μP's base LR is μP's × L^(3/2): the same networks, so its optimum exponent is μP's + 3/2.

# %% tags=["parameters"]
scale = "cpu"  # smoke | cpu | gpu | paper
width = None  # override: width of the LR sweep
depths = None  # override: depths of the LR sweep
seeds = None  # override: seeds per LR
steps = None  # override: SGD steps per run
coord_seeds = None  # override: networks (one input each) per coordinate-check cell
seed = 0  # base seed
dry_run = False  # one step of the preset, to check that it runs
results_dir = None  # tables and claims go here (None: runs/<scale>/<chapter>)
figures_dir = None  # figures are saved here when set (replicate run sets it)
executor = None  # where sweep points run: None (in-process) | local | dask
scheduler = None  # Dask scheduler address tcp://HOST:PORT, with executor dask

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from replicate import claims, claims_html, fits, plots, rerun, results, runtime, scales, sweep
from replicate.papers import mup_depth
from replicate.registry.jelassi2023 import REGISTRY

CHAPTER = "jelassi2023-mup-depth"
device, _ = runtime.setup(seed)
plots.style()
cfg = scales.resolve(mup_depth.LR_SWEEP_PRESETS, scale, dict(width=width, depths=depths, seeds=seeds, steps=steps,
                                                             coord_seeds=coord_seeds),
                     dry_run=dry_run, dry_overrides=mup_depth.LR_SWEEP_DRY_RUN)
out = runtime.results_dir(results_dir, CHAPTER, scale)
X, Y = mup_depth.sweep_data(cfg, seed=seed)
cfg

# %% [markdown]
# ## Coordinate check over width and depth
#
# Network s steps on each of its `coord_inputs` training examples alone (batch 1, from its initialisation each
# time), `coord_steps` SGD steps at base LR `coord_lrs`; M is averaged over those inputs; one row per
# (parametrisation, width, depth, network). μP and depth-μP share the base LR 10⁻⁶; SP (gpu and paper presets),
# whose update grows with n, runs at 10⁻⁷ so that it too stays in the linear regime.

# %%
coord = mup_depth.coordinate_grid(cfg, X, Y, seed=seed, device=device)
if not dry_run:
    results.write_table(coord, out / "lr-sweep.coordinate-check.csv")
ns = np.array(cfg.coord_widths, dtype=float)
Ls = np.array(cfg.coord_depths, dtype=float)
mup = coord[coord.parametrization == "mup"]
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(7, 3.4), layout="constrained")
plots.seed_band(ax1, mup.rename(columns={"width": "width n"}), "depth", "rms_dz", hue="width n", estimator="mean",
                log_x=True, log_y=True, marker="o")
ref = mup[mup.depth == Ls[0]].rms_dz.mean()
ax1.plot(Ls, ref * (Ls / Ls[0]) ** 1.5, **plots.PAPER_STYLES[0], label=r"paper: $\propto L^{3/2}$")
ax1.set(xlabel=r"depth $L$ (hidden layers)", ylabel=r"RMS $\Delta z^{(L)}$", title="μP against depth")
ax1.legend(title="width n", loc="upper left")
plots.seed_band(ax2, mup.rename(columns={"depth": "depth L"}), "width", "rms_dz", hue="depth L", estimator="mean",
                log_x=True, log_y=True, marker="o")
ax2.plot(ns, np.full_like(ns, mup[mup.depth == Ls[-1]].rms_dz.mean()), **plots.PAPER_STYLES[0],
         label=r"paper: flat in $n$")
ax2.set(xlabel=r"width $n$", ylabel=r"RMS $\Delta z^{(L)}$", title="μP against width")
ax2.legend(title="depth L", loc="best")
plots.save(fig, "coordinate-check", figures_dir)
plots.headline(fig, "jelassi2023-mup-depth-headline")

# %% [markdown]
# **Figure 1.** Coordinate check under μP, one mnist1d input per network (lines: mean over networks; bands: min–max).
# Left: RMS Δz^(L) against depth, one line per width, with the note's L^(3/2) (black dashed) anchored at L = 2.
# Right: against width, one line per depth, with the note's flat line at the deepest depth.

# %% tags=["remove-cell"]
# NBVAL_CHECK_OUTPUT
print(rerun.compare_early(coord, REGISTRY, "lr-sweep", "coordinate-check", scale, dry_run=dry_run))

# %% [markdown]
# Fitted exponents of RMS Δz^(L) (half those of M = RMS², arithmetic mean over networks, 95 % bootstrap over
# networks), per parametrisation: in depth at each width and in width at each depth. Depth-μP's depth exponent is
# μP's − 3/2 by construction (its rates are μP's × L^(−3/2)); the last table shows how exactly: the ratio
# RMS Δz(μP)/RMS Δz(depth-μP)/L^(3/2) − 1 (0 in the linear regime). SP's width exponent is the diagnostic the
# note's mean-field table removes (theory n^(1/2)).

# %%
d_exp = mup_depth.coordinate_exponents(coord, "depth", "width", n_boot=cfg.bootstrap, seed=seed)
w_exp = mup_depth.coordinate_exponents(coord, "width", "depth", n_boot=cfg.bootstrap, seed=seed)
display(pd.concat([d_exp.assign(fit="in depth L"), w_exp.assign(fit="in width n")]).round(3))
lin = mup_depth.linearity(coord)
lin.groupby(["width", "depth"]).deviation.agg(["min", "max"]).map(lambda v: f"{v:.1e}")

# %% [markdown]
# ## LR sweep: final training loss against the base LR
#
# Each depth is one point of a resumable sweep (one `train_ensemble` call, float64). Lines: median over seeds,
# bands: min–max; diverged runs are dropped. Stars: per-seed optima after the parabolic refinement in log η.

# %%
points = [{"parametrization": p, "depth": d} for p in cfg.parametrizations for d in cfg.depths]
runs = sweep.run_sweep(points, lambda q: mup_depth.lr_sweep_point(cfg, q["parametrization"], q["depth"], X, Y,
                                                                  seed=seed, device=device),
                       None if dry_run else sweep.sweep_path(out, "lr-sweep", cfg, seed=seed, data=(X, Y)),
                       desc="lr sweep", executor=sweep.executor_from(executor, scheduler), on_error="record")
opt = mup_depth.optimal_lrs(runs.dropna(subset=["lr"]))
if not dry_run:
    results.write_table(runs, out / "lr-sweep.runs.csv")
    results.write_table(opt, out / "lr-sweep.optima.csv")
fig, axes = plt.subplots(1, len(cfg.parametrizations), figsize=(3.5 * len(cfg.parametrizations), 3.4),
                         squeeze=False, layout="constrained")
for ax, p in zip(axes[0], cfg.parametrizations):
    d = runs[runs.parametrization == p].dropna(subset=["final_loss"]).rename(columns={"depth": "depth L"})
    if len(d):
        plots.seed_band(ax, d, "lr", "final_loss", hue="depth L", log_x=True, log_y=True, marker=".")
        palette = plots.levels_palette(d["depth L"])
        o = opt[opt.parametrization == p]
        ax.scatter(o.lr_opt, o.final_loss, marker="*", s=60, c=[palette[v] for v in o.depth], edgecolor="black",
                   linewidth=0.5, zorder=3)
        ax.legend(title="depth L", loc="best")
    ax.set(xlabel=r"base learning rate $\eta$", ylabel=f"training loss after {cfg.steps} steps",
           title=plots.display_name(p))
plots.save(fig, "lr-sweep-loss", figures_dir)
plt.show()

# %% [markdown]
# **Figure 2.** Final training loss (MSE, whole training set) against the base LR, per depth, at the sweep's
# width (lines: median over seeds, bands: min–max); stars mark the per-seed optima.

# %% [markdown]
# ## The optimum against depth
#
# Per-seed optimal LRs against L, with the note's prediction anchored at the smallest depth (black dashed: μP
# ∝ L^(−3/2); black dotted: depth-μP flat). Depth-μP's points are μP's times L^(3/2) (the same runs). The
# exponent is fitted with `fits.power_law` (geometric mean over seeds, bootstrap over seeds within each depth).

# %%
fig, ax = plt.subplots(figsize=(5.5, 3.6), layout="constrained")
Ld = np.array(cfg.depths, dtype=float)
o = opt[(opt.parametrization == "mup") & opt.interior]
views = {"mup": o, "depth_mup": o.assign(lr_opt=o.lr_opt * o.depth**1.5)}
opt_fit = {}
for (p, d), colour, which in zip(views.items(), plots.PALETTE, (0, 1)):
    opt_fit[plots.display_name(p)] = fits.power_law(d, "depth", "lr_opt", n_boot=cfg.bootstrap, seed=seed)
    if not len(d):
        continue
    gm = d.groupby("depth").lr_opt.apply(lambda v: np.exp(np.log(v).mean()))
    ax.scatter(d.depth, d.lr_opt, color=colour, alpha=0.4, s=14)
    ax.plot(gm.index, gm.values, color=colour, marker="o", label=f"{plots.display_name(p)} (ours)")
    ax.plot(Ld, gm.iloc[0] * (Ld / Ld[0]) ** (-1.5 if p == "mup" else 0.0), **plots.PAPER_STYLES[which],
            label=f"paper: {plots.display_name(p)} " + (r"$\propto L^{-3/2}$" if p == "mup" else "flat"))
ax.set_xscale("log", base=2)
ax.set_yscale("log", base=2)
ax.set(xlabel=r"depth $L$ (hidden layers)", ylabel=r"optimal base LR $\eta^*$", title=f"width {cfg.width}")
ax.legend(title="parametrisation", loc="best")
plots.save(fig, "lr-optimum-vs-depth", figures_dir)
plt.show()
trained = runs[runs.parametrization == "mup"].dropna(subset=["final_loss"])
stable = trained.groupby(["depth", "seed"], as_index=False).lr.max()
opt_fit["largest LR that trained (μP)"] = fits.power_law(stable, "depth", "lr", n_boot=cfg.bootstrap, seed=seed)
pd.DataFrame(opt_fit).T[["p", "p_lo", "p_hi", "points"]].astype(float).round(3)

# %% [markdown]
# **Figure 3.** Training-optimal base LR against depth (points: seeds; line: geometric mean). The table gives the
# fitted exponents with their 95 % bootstrap intervals; depth-μP's is μP's + 3/2 by construction. Its last row, a
# diagnostic, is the exponent of the largest grid LR at which μP still trained (did not diverge), per seed.

# %% [markdown]
# ## Claims
#
# Each claim's value carries a 95 % interval over networks (bootstrap over seeds within each configuration); the
# verdict is read from the interval against the tolerance declared in the chapter's registry (listed with its
# reason, its expected value and its named rival on the book's page "How claims are judged"), and only where the
# test can decide: its power (P(pass) with the run's noise around the note's value) ≥ 0.8 and its false-pass rate
# (around the rival) ≤ 0.1, else *underpowered*. A claim whose precondition (the linear regime) fails reads *not
# testable at this scale*. The training optimum's exponent and the fraction of optima inside the grid are
# diagnostics: the note says nothing about the optimum after training.

# %%
rows = claims.judge(REGISTRY, "lr-sweep", mup_depth.measure_lr_sweep(coord, opt, cfg, seed=seed))
if not dry_run:
    claims.write(rows, CHAPTER, "lr-sweep", scale, out,
                 overrides=dict(width=width, depths=depths, seeds=seeds, steps=steps, coord_seeds=coord_seeds))
claims.glue_counts(rows, "lr-sweep-verdicts")
gm_opt = o.groupby("depth").lr_opt.apply(lambda v: np.exp(np.log(v).mean()))
top = stable.groupby("depth").lr.mean()
_ = mup_depth.glue_numbers(rows, {
    "sweep-optima-by-depth": ", ".join(f"{v:.2g} (L = {d})" for d, v in gm_opt.items()),
    "sweep-largest-trained-by-depth": ", ".join(f"{v:.2g} (L = {d})" for d, v in top.items()),
    "sweep-largest-trained-at-top": f"{int((stable[stable.depth == min(cfg.depths)].lr >= cfg.lrs('mup')[-1]).sum())} "
                                    f"of {cfg.seeds}",
    "coord-networks": f"{cfg.coord_seeds} networks × {cfg.coord_inputs} inputs",
    "sweep-optima-interior": next(r.measurement.note for r in rows if r.claim.id == "jelassi.sweep.optima-interior")})

# %% tags=["remove-input"]
claims_html.display(rows, CHAPTER)

# %% tags=["remove-cell"]
# NBVAL_CHECK_OUTPUT
print(rerun.compare(rows, REGISTRY, scale, out, dry_run=dry_run))
