"""Claims of Iyer, Hanin & Rolnick (2023), "Maximal initial learning rates in deep ReLU networks" (ICML 2023).

Declared before the runs of this version of the chapter. The paper's fitted exponents were not available to us,
so every tolerance on a number is ours; each says why. η* of a network is one number everywhere: the largest
tested LR at which the majority of its seeds reach t (`papers.max_initial_lr.eta`). Bracketing preconditions: a law
fitted over a grid needs η* of every network of it, so a condition's claims are judged only when, in (nearly)
every network with w ≥ 16d, its search bracketed the edge and the majority success region is an interval up to it.
"""

from __future__ import annotations

import dataclasses
import math

from replicate.claims import Claim, Registry
from replicate.rerun import Table

INF = math.inf
CHAPTER = "iyer2023-maximal-initial-lr"
BRACKET_REASON = ("ours: a fit over the grid needs η* of every network, and an η* on an island above a failure is "
                  "not the edge the law is about; with 9 wide networks at cpu only 9 of 9 gives a Wilson interval "
                  "inside [0.6, 1]")
LAW = "η* is well predicted by a power of d·w, w ≫ d, input layer slow (abstract; Sec. 4, Fig. 1)"
R2_REASON = ("ours: 'well predicted' read as ≥ 90 % of the variance of log η* across networks explained by log(d·w)")
FIT = 1.0  # display step of the fits over the cpu grid: their bootstrap intervals are 0.6–1.0 wide (see history)
DW_REASON = ("ours: a power of d·w means equal depth and width exponents; 0.3 is a 1.5× change of η* over a 4× "
             "range of d or of w, about the seed-to-seed spread of η* in the pilot")


# Controls (issue 26), chosen before the calibrated verdicts were computed. The law rows are calibrated by
# simulation (`papers.max_initial_lr.calibration`): the law, the run's per-seed log-sd, the search's grid.
P_EXPECT = -0.5  # η* ∝ (d·w)^p: the paper's p is not available to us; half-way between no dependence and 1/λ1
DELTA_RIVAL = -0.7  # α − β of the rival law: depth's exponent exceeds width's by 0.7, half-way to depth alone
LAW_CONTROLS = ("expect: an exact power law in d·w (the row's value if the paper is right) with the run's own fitted "
                "exponent; rival: η* ∝ d^α w^β with α − β = −0.7 (depth steeper than width, half-way to 'depth "
                "alone'); both simulated with the run's per-seed log-sd and the majority search's grid, through the "
                "row's estimator and bootstrap")
R2_CONTROLS = ("expect 1: an exact power law in d·w, simulated with the run's per-seed log-sd and the search's grid "
               "quantisation, with the run's fitted exponent; rival 0.5: a law of d and w apart (α ≠ β) whose "
               "noise-free R² on the grid is 0.5, simulated the same way")
SEARCH_CONTROLS = ("expect 1: every search brackets an edge below which the majority always trains (the regime the "
                   "fits assume); rival 0.5: half the searches miss η* or land on an island; Wilson interval redrawn "
                   "binomially")


def _bracket(cond: str, what: str) -> Claim:
    return Claim(f"iyer2023.{cond}.brackets", "eta-star", "η* exists in the searched interval (Algorithm 1)",
                 f"{what}: fraction of the networks with w ≥ 16d whose search brackets η*'s edge (to ≤ ×1.25 at cpu) "
                 "with a majority success region that is an interval up to it (no island above a failure)",
                 (0.6, 1.0), "ours", BRACKET_REASON, 0.05, kind="precondition", expect=1.0, rival=0.5,
                 rival_name="half the searches do not bracket η*", controls=SEARCH_CONTROLS)


def _r2(cid: str, quantity: str, paper: str = LAW) -> Claim:
    cond = cid.split(".")[1]
    return Claim(cid, "eta-star", paper, quantity, (0.9, 1.0), "ours", R2_REASON, FIT,
                 requires=(f"iyer2023.{cond}.brackets",), expect=1.0, rival=0.5,
                 rival_name="η* a law of d and w apart, noise-free R² 0.5 on the grid", controls=R2_CONTROLS)


# Key result tables compared on a rerun (issue 30). λ1 at init is deterministic (a fixed init, Lanczos to a relative
# residual 1e-3 with a fixed start): another CPU's float path moves it ~1e-6 relative, so 1e-4 survives it and still
# catches a 1 % error in λ1. η* per seed comes from large-LR training, where one seed's success at the threshold flips
# with the float path (a grid step, ×1.3–4; history of 2026-11-30): it is left to the claims rows.
TABLES = {
    "sharpness-at-init": (
        Table("runs", keys=("depth", "width", "seed"), columns={"lam1": 1e-4, "lam1_pre": 1e-4},
              reason="λ1 at init (plain, preconditioned): deterministic up to float-path rounding (~1e-6)"),),
}

# Rows made of η* (every eta-star row, and sharpness-at-init's η*–λ1 rows listed here, which read its trainings):
# η* is a threshold event of large-LR training, whose outcome near the edge flips with the last bit, so a rerun on
# another float path is a fresh draw of the seeds' training noise (history of 2026-12-03; `rerun.CHAOTIC_FRACTION`).
OTHER_ETA_STAR_ROWS = ("iyer2023.eta-lambda.spearman", "iyer2023.eta-lambda.not-inverse")


def _chaotic(claims: tuple[Claim, ...]) -> tuple[Claim, ...]:
    made_of_eta = lambda c: c.notebook == "eta-star" or c.id in OTHER_ETA_STAR_ROWS  # noqa: E731
    return tuple(dataclasses.replace(c, chaotic=True) if made_of_eta(c) else c for c in claims)


REGISTRY = Registry(
    chapter=CHAPTER,
    title="Maximal initial learning rates in deep ReLU networks",
    claims=_chaotic((
        _bracket("gaussian", "two Gaussians, cross-entropy, input at 0.01η"),
        _bracket("gaussian-full-input", "two Gaussians, cross-entropy, input at the full η"),
        _bracket("gaussian-mse", "two Gaussians, MSE, input at 0.01η"),
        _bracket("mnist", "MNIST, cross-entropy, input at 0.01η"),
        _r2("iyer2023.gaussian.r2", "two Gaussians: R² of log η* on log(d·w), networks with w ≥ 16d"),
        Claim("iyer2023.gaussian.exponent", "eta-star", "η* decreases as a power of d·w (Sec. 4, Fig. 1)",
              "two Gaussians: exponent p of η* ∝ (d·w)^p, networks with w ≥ 16d", (-INF, -0.2), "ours",
              "ours: the paper's p is not available to us; we test that η* falls with d·w, clearly (≥ 0.2) away "
              "from no dependence", FIT, requires=("iyer2023.gaussian.brackets",), expect=P_EXPECT, rival=0.0,
              rival_name="η* independent of d·w (p = 0)",
              controls="expect −0.5: the paper's exponent is not available to us; between no dependence and the "
                       "inverse of λ1 ∝ d·w (−1), which 'not inversely' excludes; rival 0: no dependence; both "
                       "simulated as exact power laws with the run's per-seed log-sd and the search's grid"),
        Claim("iyer2023.gaussian.depth-vs-width", "eta-star", LAW,
              "two Gaussians: depth exponent α minus width exponent β of η* ∝ d^α w^β", (-0.3, 0.3), "ours",
              DW_REASON, FIT, requires=("iyer2023.gaussian.brackets",), expect=0.0, rival=DELTA_RIVAL,
              rival_name="depth steeper than width, α − β = −0.7", controls=LAW_CONTROLS),
        Claim("iyer2023.gaussian.equal-product", "eta-star", "only d·w matters (abstract)",
              "two Gaussians: largest max/min of η* among networks with the same d·w", (1.0, 1.6), "ours",
              "ours, declared in the chapter's first version: a factor 1.6 is ~1/3 of the 4× range of η* a d·w law "
              "with p ≈ -0.7 spans over the cpu grid", 5.0, requires=("iyer2023.gaussian.brackets",), expect=1.0,
              rival=2.6, rival_name="×2.6 within an equal-product group, noise-free (α − β ≈ −1.4 on the cpu grid's "
              "pairs, whose d/w differ ×4)",
              controls=LAW_CONTROLS + "; the largest ratio of the noisy estimate exceeds 1 even under the exact law"),
        Claim("iyer2023.gaussian.input-ablation", "eta-star",
              "the law needs the input layer at a relatively small LR (abstract, condition (ii)); the paper states "
              "no size of the effect on η*",
              "two Gaussians: median over (d, w) of η*(input at 0.01η) / η*(input at η)", (2.0, INF), "ours",
              "diagnostic since issue 27: the ≥ 2× of the first version was ours, not the paper's; at D_in = 100 "
              "the input layer's term is < 2 % of λ1 (sharpness notebook), so no size of the move follows from "
              "the paper or from eq. (4)–(5); shown with its interval, not judged", 0.5, kind="diagnostic"),
        Claim("iyer2023.gaussian.narrow", "eta-star",
              "the law holds provided w ≫ d (abstract, condition (i)); the paper states no size of its failure",
              "two Gaussians: median over the networks with w < 16d of η* / the d·w law fitted on the networks "
              "with w ≥ 16d, at their d·w", (0.0, INF), "ours",
              "diagnostic (issue 27): condition (i) tested on networks outside it; the paper gives no size for how "
              "far they leave the law, so none is judged; shown with its interval over seeds", 0.5,
              kind="diagnostic"),
        _r2("iyer2023.gaussian-mse.r2", "two Gaussians, MSE: R² of log η* on log(d·w), w ≥ 16d",
            LAW + "; the paper's loss is not stated in what we read"),
        _r2("iyer2023.mnist.r2", "MNIST: R² of log η* on log(d·w), w ≥ 16d"),
        Claim("iyer2023.mnist.depth-vs-width", "eta-star", LAW,
              "MNIST: depth exponent α minus width exponent β of η* ∝ d^α w^β", (-0.3, 0.3), "ours", DW_REASON, 2 * FIT,
              requires=("iyer2023.mnist.brackets",), expect=0.0, rival=DELTA_RIVAL,
              rival_name="depth steeper than width, α − β = −0.7", controls=LAW_CONTROLS),
        Claim("iyer2023.lanczos.converged", "sharpness-at-init", "λ1 is the top Hessian eigenvalue (Sec. 5)",
              "fraction of Lanczos runs (plain and preconditioned) that met their residual tolerance", (0.8, 1.0),
              "ours", "ours: an unconverged top eigenvalue underestimates λ1; allow a few slow runs", 0.05,
              kind="precondition", expect=1.0, rival=0.5, rival_name="half the Lanczos runs stop unconverged",
              controls="expect 1: every run converges (the regime assumed); rival 0.5; Wilson interval redrawn "
                       "binomially"),
        Claim("iyer2023.lambda-pre.exponent", "sharpness-at-init",
              "λ1 at init is bounded by functions of d·w (abstract; Sec. 5)",
              "exponent q of λ1 ∝ (d·w)^q, Hessian in the coordinates SGD uses (input layer's LR folded in)",
              (0.8, 1.2), "ours",
              "ours: the NTK derivation (derivation page, eq. 4) gives q = 1 for the hidden layers; ±0.2 allows the "
              "finite-width corrections of a 4× range in d and in w", 0.05,
              requires=("iyer2023.lanczos.converged",), expect=1.0, rival=0.5,
              rival_name="λ1 ∝ w alone (no depth term): q = 0.5 on this grid",
              controls="expect 1: eq. (4)–(5), the NTK of the hidden layers ∝ d·w; rival 0.5: the exponent in d·w "
                       "that λ1 ∝ w (or ∝ d) alone has on a grid where d and w each span ×4; the run's bootstrap "
                       "deviations recentred on each"),
        Claim("iyer2023.eta-lambda.spearman", "sharpness-at-init", "η* and λ1 are closely related (abstract)",
              "Spearman rank correlation of η* and λ1 (preconditioned) over (d, w)", (-1.0, -0.7), "ours",
              "ours: 'closely related' read as a strong monotone decreasing relation (|ρ| ≥ 0.7)", 0.1,
              requires=("iyer2023.lanczos.converged",), expect=-1.0, rival=0.0,
              rival_name="η* independent of λ1",
              controls="expect −1: η* a decreasing power of λ1 (the run's fitted slope) across networks; rival 0: "
                       "η* independent of λ1; both simulated with the run's per-seed log-sd of η*, the search's "
                       "grid and the run's λ1 of every seed (a rank statistic bounded at −1: no location shift)"),
        Claim("iyer2023.eta-lambda.not-inverse", "sharpness-at-init", "η* and λ1 are not inversely related (abstract)",
              "|s + 1|, s the slope of log η* on log λ1 (preconditioned) over (d, w)", (0.2, INF), "ours",
              "ours: η* = c/λ1 gives s = -1; a slope 0.2 away from it changes η*·λ1 by ≥ 1.3× per doubling of λ1", 0.1,
              requires=("iyer2023.lanczos.converged",), expect=0.5, rival=0.0,
              rival_name="η* = c/λ1, the stability rule (s = −1)",
              controls="expect 0.5: s = p/q = −0.5 for the exponent row's p = −0.5 and q = 1 (eq. 4–5); rival 0: "
                       "η* = c/λ1; both simulated with the run's per-seed log-sd of η*, the search's grid and the "
                       "run's λ1 (|s + 1| is bounded at 0: no location shift)"),
    )),
    history=("2026-11-30, display resolutions only (no tolerance, no verdict): under `make nbval-portable` (2 "
             "threads, default kernels) every verdict of `eta-star` held, but five printed fits moved by one to "
             "three steps (e.g. MNIST R² 0.75 → 0.90, Gaussian exponent −0.9 → −0.8): the majority search's η* of "
             "a network moves when one seed's run flips at the threshold. The issue asks for a display step "
             "coarser than the seed-to-seed spread; these fits' 95 % bootstrap intervals over seeds are 0.6–1.0 "
             "wide at cpu, so the fits (R², exponent, depth-vs-width) now show at the 1-2-5 step at or above "
             "their interval's full width (1; 2 for MNIST depth-vs-width, whose interval is 1.04 wide) and the "
             "equal-product ratio, whose interval spans a factor 12, at 5. The page shows one digit finer, with "
             "the interval.\n"
             "2026-12-02, calibration (issue 26; no tolerance moved): every row declares a positive control (expect) "
             "and a named rival, and reads underpowered where P(pass | expect) < 0.8 or P(pass | rival) > 0.1. The "
             "law rows (R², p, α − β, equal-product ratio, ρ and |s + 1| of η* on λ1) are calibrated by simulating "
             "the law with the run's per-seed log-sd and the majority search's grid, because their estimators are "
             "biased under noise (an exact d·w law gives a median R² of about 0.7 with the cpu run's noise).\n"
             "2026-12-02, `gaussian.input-ablation` demoted to a diagnostic (issue 27): its ≥ 2× was ours and the "
             "paper states no size; at D_in = 100 the input layer's share of λ1 is < 2 %, so neither the paper nor "
             "eq. (4)–(5) predicts a size to test. Shown, not judged.\n"
             "2026-12-02, rerun comparison (issue 30): the sharpness-at-init runs table's λ1 and λ1_pre are compared "
             "with the published ones at relative tolerance 1e-4.\n"
             "2026-12-02, η*, threshold and grid (issue 27), decided after seeing the cpu run of b09075f and an audit "
             "that re-ran it with one setting changed at a time (so not blind): (a) one η*: the largest tested LR at "
             "which the majority of seeds reach t (the Definition, Sec. 2), for figures, tables and every row; the "
             "per-seed η* that drove the claims before is gone, and the intervals resample seeds within a network and "
             "recompute that η*; the search refines the edge to ≤ ×1.25 at cpu (rel_tol 0.4 → 0.25, 3 LRs a round); "
             "an η* above a majority failure is flagged as an island, and the bracket precondition now requires the "
             "success region to be an interval up to the edge. (b) The two-Gaussian threshold is the Bayes accuracy "
             "Φ(m) minus a declared margin 0.08 (t = 0.853 for m = 1.5) instead of 0.75: the audit measured that t = "
             "0.75, 18 points below the ceiling, lets badly damaged d = 2 networks pass on islands; the margin was "
             "chosen after seeing those numbers. (c) The cpu grid spans d·w 64–2048 (×32: widths 32–256, d·w ≤ 2048) "
             "instead of 256–1024, and three networks with w < 16d are searched and shown as the diagnostic "
             "`gaussian.narrow`. No tolerance moved; the equal-product rival's name now gives its α − β on the cpu "
             "grid's pairs.\n"
             "2026-12-03, rerun comparison of the η* rows (issue 30), decided after seeing a failing rerun (so not "
             "blind): under `make nbval-portable` (2 threads, default kernels, MKL's compatible GEMM) on the "
             "publishing CPU, `mnist.depth-vs-width` came out −1.59 against the published −0.83 [−1.71, −0.37]: "
             "1.14 published half-widths away, beyond the rerun tolerance of one half-width, with every other row of "
             "the chapter within it. Nothing regressed: the inits are the same, but η* is a threshold event of "
             "large-LR training whose outcome near the edge flips with the last bit, so a rerun on another float path "
             "is a fresh draw of the seeds' training noise, and two such estimates differ by up to √2 × the 95 % "
             "half-width (19 times in 20). Every row made of η* (the eta-star rows, and `eta-lambda.spearman` and "
             "`eta-lambda.not-inverse`, which read the same trainings) is now compared that way (`chaotic`); no "
             "tolerance, value or verdict moved. The portable value lies inside the published interval.\n"
             "2026-12-03, recorded (issue 27; decided in an earlier version, not recorded then): the MNIST threshold "
             "at cpu, t = 0.7, was set from a pilot (seed 0, the cpu data and budget) whose weakest network, (8, 128), "
             "reached at best 0.78 validation accuracy: 8 points below it, so that every network has successful "
             "learning rates. The page quotes that pilot's number as such.\n"
             "2026-12-03, correction (issue 27): `gaussian.input-ablation`'s reason says the input layer's share of "
             "λ1 is < 2 %; that held on the grid of its time (d·w 256–1024). On the present cpu grid the sharpness "
             "notebook now glues the largest gap between plain and preconditioned λ1: 7.5 %, at (2, 32), the smallest "
             "d·w; the row stays a diagnostic (the paper states no size), and the page quotes the glued number."),
    tables=TABLES,
)
