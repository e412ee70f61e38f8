"""Li, Wei & Ma (2019): a large initial LR, annealed, generalises better; a small LR memorises first.

Three kinds of rows. Regime preconditions (our run is in the paper's regime): the small LR memorises before the
anneal, the large LR is noise-limited. Order preconditions (the paper's mechanism, measured in our run): the
large LR ignores the clustered pattern / the patch until the anneal and learns it after; the small LR memorises
it at once. Claims (the generalisation gaps) require both kinds: a gap whose order rows fail cannot be
attributed to the paper's mechanism and reads *not testable at this scale*. Values are means over seeds
(network inits) with Student t intervals (the clustered-only rows: at least the binomial interval of their 4
distinct points per seed); differences are paired by seed. Every row declares its controls: `expect`, the value
if the paper's regime / mechanism holds, and `rival`, the value with the mechanism removed (`claims.calibrate`
redraws the run's seeds around each with `measure.seed_mean`'s simulator).
"""

from __future__ import annotations

import math

from replicate.claims import Claim, Registry
from replicate.rerun import Table

INF = math.inf
S, P = "li2019.synthetic", "li2019.patch"
ACC = 0.05  # display step of accuracies: coarser than their seed-to-seed spread in the pilots (~0.01–0.03)

_regime_fit = "the issue's regime check: the small LR must memorise (fit) its training set before the anneal"
_noise_batch = ("the large LR's gradient noise, not its step size, must keep it from the clustered pattern: at the "
                "same η and steps a larger batch fits what batch 32 does not (issue 29's batch control); any "
                "positive paired difference whose interval excludes 0")
_noise = ("the large LR's training loss must plateau above the small LR's before the anneal (its gradient noise, "
          "not its step count, keeps it from fitting); any positive paired difference whose interval excludes 0")
_sign = "the paper predicts a positive gap of unstated size at this scale; the sign, with an interval excluding 0"
POS = 1e-6  # "an interval excluding 0": a lower edge just above 0 (an interval [0, 0], two identical arms, is not > 0)
LN10 = math.log(10)
_removed = "mechanism removed: both arms at the small LR (no gap)"
_same = ("identical arms give exactly 0 (the mechanism removed: the injected-fault test runs the large arm at the "
         "small LR through the real code); ")

SYNTH_REGIME = (f"{S}.small-fits-train", f"{S}.small-fits-clustered-first", f"{S}.large-noise-limited")
SYNTH_ORDER = (f"{S}.large-learns-clustered-later", f"{S}.large-learns-clustered-after")
STEPS = 500  # display step of the synthetic fit-step rows: 2.5 log intervals at cpu, coarser than their units' spread
_order = ("the order of learning is the paper's mechanism: any positive difference whose interval excludes 0 "
          "(steps are read at the log interval; 'fitted' = stays ≥ 0.9 to the run's end, the 4-point statistic's "
          "single crossings do not count)")
PATCH_REGIME = (f"{P}.small-fits-train", f"{P}.small-fits-patch-only", f"{P}.large-noise-limited")
PATCH_ORDER = (f"{P}.small-memorises-patch", f"{P}.small-conflict-patch-wins", f"{P}.large-ignores-patch",
               f"{P}.large-learns-patch-after")
PS = f"{P}.strong"  # the deviation: the patch's per-class noise ζ widened to the calibrated level
STRONG_REGIME = (f"{PS}.small-fits-train", f"{PS}.small-memorises-patch", f"{PS}.large-noise-limited")
_strong = ("the stronger patch (ζ from the declared calibration, `protocol.calibrate_sep`: the smallest ζ of "
           "(0.5, 0.6, 0.7, 0.8, 1.0) at which the small LR's official patch accuracy is ≥ 0.95 after the last "
           "epoch before the anneal, on a calibration init that is not one of the comparison's)")

REGISTRY = Registry(
    chapter="li-wei-ma2019-large-lr",
    title="Regularisation effect of an initial large learning rate (Li, Wei, Ma 2019)",
    claims=(
        # ---- synthetic: regime ----
        Claim(f"{S}.small-fits-train", "synthetic", "small LR fits the training data (Sec. 3; abstract)",
              "small LR: training accuracy, min over the last fifth of the steps before the anneal", (0.95, INF),
              "ours", _regime_fit, ACC, kind="precondition", expect=1.0, rival=0.9,
              rival_name="the linear-only and clustered-only 10 % each left at chance, the rest fitted "
                         "(0.8 + 0.2 × 0.5)",
              controls="expect: memorised, as the paper's small LR (Sec. 3); rival: the examples that carry one "
                       "pattern alone left at chance"),
        Claim(f"{S}.small-fits-clustered-first", "synthetic",
              "small LR memorises the hard-to-fit, easy-to-generalise pattern (Q) first (abstract; Sec. 3)",
              "small LR: step from which the linear-only training examples stay fitted (accuracy ≥ 0.9 to the "
              "run's end) minus the same step for the clustered-only ones (never fitted = the run's end + one "
              "log interval)", (POS, INF), "ours", _order, STEPS, kind="precondition", expect=1000.0, rival=0.0,
              rival_name="no order: both patterns fitted at the same logged step",
              controls="expect: the clustered pattern within the first quarter of the pre-anneal phase, the "
                       "linear one in its second half (half the phase, 1000 steps at cpu); rival: no order (0)"),
        Claim(f"{S}.large-noise-limited", "synthetic",
              "large-LR noise prevents fitting the low-noise pattern (Sec. 3)",
              "at the large LR: clustered-only training accuracy, min over the last fifth before the anneal, "
              "batch 256 − batch 32 (same init and steps)", (POS, INF), "ours", _noise_batch, ACC,
              kind="precondition", expect=0.5, rival=0.0,
              rival_name="the step size, not the noise, blocks Q: the larger batch does not fit it either",
              controls="expect: batch 256 (8× less gradient noise, same η and steps) fits the 4 points (1.0), "
                       "batch 32 leaves them at chance (0.5); rival: the batch does not matter (0), as when plain "
                       "step size or instability keeps the large LR from Q"),
        # ---- synthetic: order ----
        Claim(f"{S}.large-learns-clustered-later", "synthetic",
              "large LR ignores the hard-to-fit pattern until the anneal (abstract; Sec. 3)",
              "step from which the clustered-only training examples stay fitted (≥ 0.9 to the run's end), large "
              "− small LR, paired by unit", (POS, INF), "ours", _order, STEPS, requires=SYNTH_REGIME,
              kind="precondition", expect=1600.0, rival=0.0,
              rival_name="mechanism removed: the large LR fits Q as early as the small LR",
              controls="expect: the large LR fits Q only after the anneal (step 2000 at cpu), the small LR within "
                       "the first fifth of the phase (≤ 400): 1600; rival: the same step (0), as with the large arm "
                       "run at the small LR"),
        Claim(f"{S}.large-learns-clustered-after", "synthetic", "large LR learns it after the anneal (Sec. 3)",
              "large LR: clustered-only test accuracy, min over the last fifth of the steps after the anneal",
              (0.9, INF), "ours", "the level at which we call a pattern fitted (as for the small LR)", ACC,
              requires=SYNTH_REGIME, kind="precondition", expect=1.0, rival=0.5,
              rival_name="the anneal does not restore it: the 4 points stay at chance",
              controls="expect: all 4 points fitted after the anneal (Sec. 3); rival: chance; redrawn as "
                       "k ~ Binomial(4, ·) points per unit"),
        # ---- synthetic: claims ----
        Claim(f"{S}.gap-linear", "synthetic",
              "small LR generalises worse on the easy-to-fit, hard-to-generalise pattern P (abstract; Sec. 3)",
              "final test accuracy on the linear pattern alone (P-only), large→anneal − small, paired by unit "
              "(data draw × init)", (POS, INF), "ours", _sign, ACC, requires=SYNTH_REGIME + SYNTH_ORDER,
              expect=0.05, rival=0.0, rival_name=_removed,
              controls="expect: +5 pp, the smallest gap we call the paper's effect on this toy (the paper states "
                       "no size; a gap of a few test points per 2000 is not one, and the linear pattern's Bayes "
                       "accuracy Φ(1.5) = 0.93 leaves room for tens of pp); rival: " + _same.rstrip("; ")),
        Claim(f"{S}.no-q-linear", "synthetic",
              "the small LR's deficit on P comes from memorising Q (abstract: the order of learning)",
              "final P-only test accuracy, small LR trained without the clustered pattern (no-Q control) − small "
              "LR, paired by unit", (POS, INF), "ours", _sign, ACC, requires=SYNTH_REGIME[:2], expect=0.05, rival=0.0,
              rival_name="Q irrelevant: without it the small LR generalises on P no better (too few steps, not Q)",
              controls="expect: +5 pp, as gap-linear (the deficit the large LR avoids); rival: no difference (0): "
                       "the small LR's P accuracy is limited by its steps or the data, not by Q"),
        Claim(f"{S}.gap-mixed", "synthetic", "large-then-annealed LR generalises better (Sec. 3)",
              "final test accuracy on the training mix, large − small, paired by unit", (POS, INF), "ours", _sign,
              ACC, kind="diagnostic",
              controls="implied by gap-linear and the clustered rows: 80 % of the mix carries Q, which both "
                       "schedules fit by the end, so the gap is about 0.1 × gap-linear — shown, not judged"),
        # ---- patch: regime ----
        Claim(f"{P}.small-fits-train", "patch", "small LR fits the training set (Sec. 5, patch experiment)",
              "small LR: training accuracy (eval mode) after the last epoch before the anneal", (0.95, INF), "ours",
              _regime_fit, ACC, kind="precondition", expect=1.0, rival=0.856,
              rival_name="the patch-only 16 % at chance, every other image fitted (0.84 + 0.16 × 0.1)",
              controls="expect: memorised (the official small LR fits its training set); rival: the patch-only "
                       "images, the ones only memorising can fit, at chance"),
        Claim(f"{P}.small-fits-patch-only", "patch", "the patch is memorised by the small LR (abstract)",
              "small LR: accuracy on the patch-only training images after the last epoch before the anneal",
              (0.9, INF), "ours", "the issue's level for memorising the patch", ACC, kind="precondition",
              expect=1.0, rival=0.1, rival_name="not memorised: chance over 10 classes",
              controls="expect: memorised (abstract); rival: chance (0.1)"),
        Claim(f"{P}.large-noise-limited", "patch", "large-LR noise keeps it from the patch (Sec. 5)",
              "training loss, large − small, mean over the second half of the epochs before the anneal", (POS, INF),
              "ours", _noise, 0.01, kind="precondition", expect=round(0.16 * LN10, 3), rival=0.0,
              rival_name="no plateau: the large LR fits the training set as well as the small LR",
              controls="expect: the patch-only 16 % at chance cost ln 10 each for the large LR, the small LR's "
                       "loss ≈ 0 (0.16 ln 10); rival: " + _same + "a positive value from plain step size is not "
                       "told apart"),
        # ---- patch: order ----
        Claim(f"{P}.small-memorises-patch", "patch", "a patch immediately memorisable by a small LR (abstract)",
              "small LR: official patch accuracy (80 % exact, 20 % rescaled patches) before the anneal",
              (0.9, INF), "ours", "the level of the project digest (claim 22: ≥ 90 %)", ACC,
              requires=PATCH_REGIME, kind="precondition", expect=1.0, rival=0.1,
              rival_name="not memorised: chance over 10 classes",
              controls="expect: memorised (abstract: 'immediately memorizable'); rival: chance (0.1)"),
        Claim(f"{P}.small-conflict-patch-wins", "patch", "the small LR memorises the patch (abstract)",
              "small LR: fraction of conflict images (another class's patch) labelled as the patch says, before "
              "the anneal", (0.5, INF), "ours", "the patch must win over the image on most conflict images", ACC,
              requires=PATCH_REGIME, kind="precondition", expect=0.9, rival=0.02,
              rival_name="the patch ignored: its label only through the image's errors, (1 − 0.85)/9",
              controls="expect: a memorised, noise-free patch decides as often as it is decoded on blank images "
                       "(the 0.9 of small-memorises-patch); rival: the image decides, the patch's label comes "
                       "only from misclassified images (clean accuracy ≈ 0.85, 9 other classes)"),
        Claim(f"{P}.large-ignores-patch", "patch", "ignored by the large LR until after annealing (abstract)",
              "large LR: max official patch accuracy over the epochs before the anneal (chance 0.1)",
              (-INF, 0.25), "ours", "the level of the project digest (claim 23: ≤ 25 %)", ACC,
              requires=PATCH_REGIME, kind="precondition", expect=0.1, rival=1.0,
              rival_name="mechanism removed: the large LR memorises the patch before the anneal",
              controls="expect: chance until the anneal (abstract); rival: memorised as by the small LR"),
        Claim(f"{P}.large-learns-patch-after", "patch", "…until after annealing (abstract)",
              "large LR: official patch accuracy at the end", (0.9, INF), "ours",
              "the level of the project digest (claim 23: ≥ 90 %)", ACC, requires=PATCH_REGIME,
              kind="precondition", expect=1.0, rival=0.1,
              rival_name="the anneal does not restore it: chance",
              controls="expect: learned after the anneal (abstract); rival: chance (0.1)"),
        # ---- patch: claims ----
        Claim(f"{P}.gap-clean", "patch", "large initial LR generalises better (abstract; Sec. 5)",
              "final clean test accuracy (the final clean set), large − small", (POS, INF), "ours", _sign, ACC,
              requires=PATCH_REGIME + PATCH_ORDER, expect=0.01, rival=0.0, rival_name=_removed,
              controls="expect: +1 pp, the smallest effect of interest for a small CPU model (the paper's "
                       "accuracies were not retrievable); rival: " + _same.rstrip("; ")),
        Claim(f"{P}.act-noise-helps", "patch",
              "activation noise with a small LR recovers the large LR's benefit (Sec. 5; official act_noise run)",
              "final clean test accuracy (the final clean set), act_noise − small", (POS, INF), "ours", _sign, ACC,
              requires=PATCH_REGIME + (f"{P}.small-memorises-patch",), expect=0.01, rival=0.0,
              rival_name="noise removed: the act_noise arm is the small LR (no gap)",
              controls="expect: +1 pp, as gap-clean (the noise recovers the large LR's benefit); rival: the "
                       "noise switched off, both arms identical (0)"),
        # ---- patch, the deviation: a stronger patch that a CPU-sized net can memorise ----
        Claim(f"{PS}.small-fits-train", "patch", "small LR fits the training set (Sec. 5, patch experiment)",
              "stronger patch, small LR: training accuracy (eval mode) after the last epoch before the anneal",
              (0.95, INF), "ours", _regime_fit + "; " + _strong, ACC, kind="precondition", expect=1.0,
              rival=0.856, rival_name="the patch-only 16 % at chance, every other image fitted (0.84 + 0.16 × 0.1)",
              controls="expect: memorised; rival: the patch-only images at chance (as the official row)"),
        Claim(f"{PS}.small-memorises-patch", "patch", "a patch immediately memorisable by a small LR (abstract)",
              "stronger patch, small LR: official patch accuracy (80 % exact, 20 % rescaled patches) after the last "
              "epoch before the anneal", (0.9, INF), "ours",
              "the level of the project digest (claim 22: ≥ 90 %), the official metric (issue 29: the patch-only "
              "training accuracy is stricter than the official code's measure)", ACC, kind="precondition",
              expect=1.0, rival=0.1, rival_name="not memorised: chance over 10 classes",
              controls="expect: memorised (the calibration rule asks 0.95 on its own init); rival: chance (0.1)"),
        Claim(f"{PS}.large-noise-limited", "patch", "large-LR noise keeps it from the patch (Sec. 5)",
              "stronger patch: training loss, large − small, mean over the second half of the epochs before the "
              "anneal", (POS, INF), "ours", _noise, 0.01, kind="precondition", expect=round(0.16 * LN10, 3),
              rival=0.0, rival_name="no plateau: the large LR fits the training set as well as the small LR",
              controls="expect: the patch-only 16 % at chance for the large LR (0.16 ln 10); rival: " + _same
                       + "a positive value from plain step size is not told apart (no batch-size control here)"),
        Claim(f"{PS}.large-lags-patch", "patch", "ignored by the large LR until after annealing (abstract)",
              "stronger patch: official patch accuracy after the last epoch before the anneal, small − large, "
              "paired by init", (0.2, INF), "ours",
              "the weak form of 'ignored' that a patch strong enough to be memorised on a CPU allows: the large LR "
              "behind the small LR by at least 0.2 (twice chance), wider than the pilots' seed spread (≈ 0.1); the "
              "official form (the large LR ≤ 0.25) is the official arm's large-ignores-patch", ACC,
              requires=STRONG_REGIME, kind="precondition", expect=0.8, rival=0.0,
              rival_name="mechanism removed: the large LR decodes the patch as early as the small LR",
              controls="expect: the small LR memorised (≥ 0.9), the large LR at chance (0.1): 0.8; rival: the "
                       "same level for both (0), the large LR's faster steps not held back by its noise"),
        Claim(f"{PS}.large-learns-patch-after", "patch", "…until after annealing (abstract)",
              "stronger patch, large LR: official patch accuracy at the end", (0.9, INF), "ours",
              "the level of the project digest (claim 23: ≥ 90 %)", ACC,
              requires=STRONG_REGIME + (f"{PS}.large-lags-patch",),
              expect=1.0, rival=0.1, rival_name="the anneal does not restore it: chance",
              controls="expect: learned after the anneal (abstract); rival: chance (0.1). A claim, not a "
                       "precondition of the gap: the gap is attributed to the order before the anneal"),
        Claim(f"{PS}.gap-clean", "patch", "large initial LR generalises better (abstract; Sec. 5)",
              "stronger patch: final clean test accuracy (the final clean set), large − small, paired by init",
              (POS, INF), "ours", _sign, 0.02, requires=STRONG_REGIME + (f"{PS}.large-lags-patch",),
              expect=0.01, rival=0.0, rival_name=_removed,
              controls="expect: +1 pp, the smallest effect of interest for a small CPU model; rival: "
                       + _same.rstrip("; ") + "; display step 0.02, the 1-2-5 step ≥ 2 × the pilots' paired sd"),
    ),
    tables={
        "synthetic": (Table("runs", keys=("run", "seed_idx", "step"), columns={"test_linear": 0.2},
                            reason="the linear-pattern (P-only) test accuracy of every (run, unit, logged step). Not "
                                   "chaotic under a change of float path, measured 2026-12-02 on unit 0 of the cpu "
                                   "preset: all 4000 steps of both arms under ATEN_CPU_CAPABILITY=default "
                                   "MKL_CBWR=COMPATIBLE against the default path moved the large arm by 0 and the "
                                   "small arm by at most 0.07 % (one test example), while another init moves early "
                                   "steps by up to 30 %. 0.2 relative (declared before the first cpu run of the issue-29 "
                                   "design) catches a broken run (chance 0.5 against the 0.7–0.9 the runs reach); no "
                                   "deterministic number of this notebook is checked finer, a few-pp change is left "
                                   "to the claims rows."),),
        "patch": (Table("runs", keys=("arm", "schedule", "seed_idx", "epoch"),
                        columns={"clean_acc": 0.1, "train_loss": 0.15}, median_over="seed_idx",
                        reason="clean test accuracy and training loss of every (arm, schedule, epoch), median over "
                               "the inits: up to 736 SGD steps with momentum. Measured 2026-12-02 under "
                               "ATEN_CPU_CAPABILITY=default MKL_CBWR=COMPATIBLE against the default path (official "
                               "arm, large LR, seed 0, 15 epochs): at most 0.7 % (accuracy) and 0.5 % (loss) "
                               "relative. The stronger patch's large LR is chaotic (2026-12-03, its 4 inits × 47 "
                               "epochs on three other paths): single rows moved up to 11 % (accuracy: an instability "
                               "spike of one init at epoch 10, 0.794 published, 0.874–0.880 elsewhere) and 34 % "
                               "(loss), their medians over the inits at most 1.0 % and 8.5 %. So medians are "
                               "compared: 0.1 and 0.15 relative survive another CPU and catch a broken run (the "
                               "large LR removed moves the large arm's loss several-fold); finer changes are left "
                               "to the claims rows."),),
    },
    history=("2026-11-30, before the final cpu run of `synthetic`: the first cpu run read 'fitted' as the first "
             "logged crossing of 0.9 and the precondition values at the single anneal step. The clustered-only "
             "accuracy takes 4 values (2 classes × 2 signs = 4 distinct points): at η = 0.25 it crossed 0.9 at "
             "step 850 and was back at 0.52 at step 1500, so a crossing is not a fit. Changed, for the calibration "
             "rule and the three synthetic rows that read a fit, to 'stays fitted': the minimum over the last "
             "fifth of the phase. No tolerance changed.\n"
             "2026-11-30, display resolutions only (no tolerance, no verdict): `make nbval-portable` moved three "
             "printed synthetic values (large-noise-limited 0.23 → 0.21, large-ignores-clustered 0.50 → 0.60, "
             "gap-mixed −0.09 → −0.10) with the same verdicts. Their resolutions were finer than the seed-to-seed "
             "spread the issue requires them to exceed: seed sd 0.034 (noise-limited) and 0.026 (gap-mixed) at "
             "step 0.01, so both now show at 0.1 (the 1-2-5 step ≥ 2 sd); the clustered-only test accuracy takes "
             "a handful of values per net and its max over the pre-anneal steps jumped 0.1 with the reduction "
             "order, so it shows at 0.25.\n"
             "2026-11-30, display resolutions only: the two patch gaps (+0.005 at cpu, 2–3 of 500 test images) "
             "printed 0.01 and, under `make nbval-portable`, 0: a value half a step from a rounding edge. They now "
             "show at the accuracies' step 0.05 (25 test images), coarser than that spread.\n"
             "2026-12-02, after the published cpu runs (issue 26, calibration): intervals. With 3 (synthetic) and 2 "
             "(patch) seeds the percentile bootstrap was the min–max range of the seeds (every resample at the "
             "minimum has probability 1/27 and 1/4, above 2.5 %): now the Student t interval over seeds "
             "(`measure.seed_mean`). The three clustered-only rows are statistics of 4 distinct points (k/4 per "
             "seed): their interval is at least the binomial one of the 4 × n point outcomes, so three seeds that "
             "agree by chance (all 0.51 on one CPU, 0.75 on another: issue 30) no longer read as exact.\n"
             "2026-12-02, same change: the rows whose reason says 'an interval excluding 0' (both noise-limited "
             "rows and the four gaps) had the lower edge 0, which the interval rule (lo ≤ ci_low) passes for an "
             "interval [0, 0] — two identical arms, the mechanism removed. The edge is now 1e-6 (`POS`), below "
             "every display resolution, as the reason stated.\n"
             "2026-12-02, same change: every row declares its controls (expect, rival, rival_name, controls: "
             "chosen from the regime's definition or the smallest effect of interest, never from a run's value); "
             "a row whose test cannot tell them apart at the seeds run now reads underpowered with the design that "
             "would decide it. No row was made a diagnostic (none follows from another row or from the run's "
             "definition). Key tables declared for the rerun comparison (issue 30): `synthetic.runs` test_linear "
             "and `patch.runs` clean_acc, train_loss, at tolerances wider than the seeds' range (chaotic runs).\n"
             "2026-12-02, before the cpu run of `patch` (issue 29): a stated deviation beside the official patch. "
             "Nothing memorises the official patch (ζ ±0.1) at cpu (published run; issue 29's pilots), so every "
             "row after the regime read not testable. Added the `strong` arm: the patch's per-class noise ζ widened "
             "to the smallest of (0.5, 0.6, 0.7, 0.8, 1.0) at which the small LR's official patch accuracy is ≥ 0.95 "
             "after epoch anneal − 1 on one calibration init (seed + 1, not a comparison init; rule fixed before "
             "the comparison ran, `protocol.calibrate_sep`), then small vs large→anneal at that ζ, 4 inits each at "
             "cpu, paired by init, with six rows: regime (fits train, memorises the patch by the official metric, "
             "noise-limited), the order row large-lags-patch (small − large ≥ 0.2 before the anneal: the official "
             "'large ≤ 0.25' stays on the official arm), and the claims large-learns-patch-after and gap-clean "
             "(which no longer requires the post-anneal row: the gap is attributed to the order before the "
             "anneal). The cpu preset changed with it: BN-MLP (512, 512) (was 1024, 1024), 46 epochs (anneal at "
             "16: 31 epochs after it, was 15), a final clean set of 5000 test images for the gaps (was the 500 of "
             "the curves), the official arm stopped at the anneal (its regime is not met at cpu, so its later rows "
             "read not testable whatever they show) and without act_noise (its only row needs the end). The "
             "activation noise on an MLP is now one scalar per call (the official (1, 1, H, W) map with a 1×1 map "
             "per unit), was one (1, F) vector. No tolerance of an existing row changed; the gaps' quantities now "
             "read the final clean set.\n"
             "2026-12-02, before the cpu run of `synthetic` (issue 29): the toy redesigned. Every regime precondition "
             "of the published run read not met (no η of the calibration sweep blocked the clustered pattern while "
             "fitting the linear one in the old distribution), so nothing of the paper could be seen. Replaced by "
             "issue 29's lead configuration, declared here before its run: the linear pattern P is two Gaussians "
             "along w* (x₁ = 2(1.5(2y − 1)w* + ξ)/√1000; was a reflected N(0, I) in 100 dimensions), the clustered "
             "pattern Q is z + sζ_y with z = 2·N(0, I), ζ ~ U[−0.6, 0.6]^50 (was 1·N, ±0.2), the mix 10/10/80 % "
             "(was 20/16/64), the net width 512; the calibration sweep and its rule are gone (η fixed at 0.05 and "
             "1.5 by the issue's configuration, anneal at step 2000 of 4000). Units are data draws × inits "
             "(3 × 2 at cpu), paired across runs; Student t over units; the two controls (no-Q, batch 256) run on "
             "the first init of each data draw (3 units at cpu: the batch-256 run costs 4 small-batch runs); "
             "metrics logged every 200 steps at cpu. Rows changed: small-fits-clustered (the "
             "level of Q alone) → small-fits-clustered-first (Q fitted before P, from the fit steps of the logged "
             "curves); large-noise-limited read a loss difference that plain step size or instability also make "
             "positive → the batch control (clustered-only training accuracy at η = 1.5, batch 256 − batch 32, "
             "tol > 0); large-ignores-clustered (max of a 4-point accuracy ≤ 0.6, failed by one log at 3/4) → "
             "large-learns-clustered-later (the fit step of Q, large − small, > 0); the no-Q control added as its "
             "own claim (no-q-linear: the small LR trained without Q, minus the small LR, on P-only test data; it "
             "requires the two small-LR regime rows only, not the large LR's noise control); "
             "gap-linear's expect 0.02 → 0.05 (the smallest gap we call the paper's effect; 2 pp is a few test "
             "points and cannot be told from 0 with 6 units); gap-mixed made a diagnostic (implied by gap-linear: "
             "80 % of the mix carries Q, fitted by both schedules at the end). The rival-injection fault "
             "(`synthetic-large-lr-removed`) now sets η_large = η_small in the config `run_synth` receives.\n"
             "2026-12-03, after a run (issue 30): `make nbval-portable` (2 threads, torch's default kernels, MKL's "
             "compatible GEMM) failed `patch` on its runs table: the stronger patch's large-LR clean accuracy of "
             "init 0 at epoch 10 read 0.874 against 0.794 published (rtol 0.1), an instability spike of one init "
             "in the published run that the other float path does not have. The stronger patch rerun on three "
             "paths (that one, `make nbval`'s stand-in float path, default kernels with MKL's compatible GEMM at "
             "one thread): single rows of the large arm moved up to 11 % (accuracy) and 34 % (loss), their medians "
             "over the 4 inits at most 1.0 % and 8.5 %. The runs table is now compared as medians over inits per (arm, schedule, epoch) "
             "(`Table.median_over`), with its declared tolerances (0.1, 0.15) unchanged; the official arm's rows "
             "are also checked where they are made (`rerun.compare_early`). No claim, tolerance or verdict "
             "changed."),
)
