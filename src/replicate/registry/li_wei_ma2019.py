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
SPREAD = 0.1  # display step of the synthetic rows whose seeds spread widely (≥ 2 × their seed sd, see `history`)

_regime_fit = "the issue's regime check: the small LR must memorise (fit) its training set before the anneal"
_noise = ("the large LR's training loss must plateau above the small LR's before the anneal (its gradient noise, "
          "not its step count, keeps it from fitting); any positive paired difference whose interval excludes 0")
_sign = "the paper predicts a positive gap of unstated size at this scale; the sign, with an interval excluding 0"
POS = 1e-6  # "an interval excluding 0": a lower edge just above 0 (an interval [0, 0], two identical arms, is not > 0)
LN2, LN10 = math.log(2), math.log(10)
_removed = "mechanism removed: both arms at the small LR (no gap)"
_same = ("identical arms give exactly 0 (the mechanism removed: the injected-fault test runs the large arm at the "
         "small LR through the real code); ")

SYNTH_REGIME = (f"{S}.small-fits-train", f"{S}.small-fits-clustered", f"{S}.large-noise-limited")
SYNTH_ORDER = (f"{S}.large-ignores-clustered", f"{S}.large-learns-clustered-after")
PATCH_REGIME = (f"{P}.small-fits-train", f"{P}.small-fits-patch-only", f"{P}.large-noise-limited")
PATCH_ORDER = (f"{P}.small-memorises-patch", f"{P}.small-conflict-patch-wins", f"{P}.large-ignores-patch",
               f"{P}.large-learns-patch-after")

REGISTRY = Registry(
    chapter="li-wei-ma2019-large-lr",
    title="Regularisation effect of an initial large learning rate (Li, Wei, Ma 2019)",
    claims=(
        # ---- synthetic: regime ----
        Claim(f"{S}.small-fits-train", "synthetic", "small LR fits the training data (Sec. 3; abstract)",
              "small LR: training accuracy, min over the last fifth of the steps before the anneal", (0.95, INF), "ours", _regime_fit, ACC,
              kind="precondition", expect=1.0, rival=0.92,
              rival_name="the clustered-only 16 % left at chance, every other example fitted (0.84 + 0.16 × 0.5)",
              controls="expect: memorised, as the paper's small LR (Sec. 3); rival: the one pattern a small LR "
                       "could fail to memorise left at chance, the rest fitted"),
        Claim(f"{S}.small-fits-clustered", "synthetic", "small LR memorises the hard-to-fit pattern first (abstract)",
              "small LR: accuracy on the clustered-only training examples, min over the last fifth before the "
              "anneal", (0.9, INF), "ours",
              "the issue's level for the memorised pattern (patch-only training accuracy ≥ 0.9)", ACC,
              kind="precondition", expect=1.0, rival=0.5, rival_name="not memorised: the 4 points at chance",
              controls="expect: all 4 distinct points fitted in every seed (memorised, abstract); rival: chance "
                       "(binary labels); redrawn as k ~ Binomial(4, ·) points per seed"),
        Claim(f"{S}.large-noise-limited", "synthetic", "large-LR noise prevents fitting the low-noise pattern (Sec. 3)",
              "training loss, large − small, mean over the second half before the anneal", (POS, INF), "ours",
              _noise, SPREAD, kind="precondition", expect=round(0.16 * LN2, 3), rival=0.0,
              rival_name="no plateau: the large LR fits the training set as well as the small LR",
              controls="expect: the clustered-only 16 % at chance cost ln 2 each for the large LR, the small LR's "
                       "loss ≈ 0 (0.16 ln 2); rival: " + _same + "a positive value from plain step size or "
                       "instability is not told apart (issue 29: a batch-size control would)"),
        # ---- synthetic: order ----
        Claim(f"{S}.large-ignores-clustered", "synthetic",
              "large LR ignores the hard-to-fit pattern until the anneal (abstract; Sec. 3)",
              "large LR: max clustered-only test accuracy before the anneal (chance 0.5)", (-INF, 0.6), "ours",
              "chance + 0.1, the binary analogue of the patch rows' chance + 0.15 (0.25 with chance 0.1)", 0.25,
              requires=SYNTH_REGIME, kind="precondition", expect=0.5, rival=1.0,
              rival_name="mechanism removed: the large LR fits the 4 points before the anneal, as the small LR",
              controls="expect: chance (one class predicted on the 4 points); rival: fitted; a max over the "
                       "pre-anneal steps of a 4-point accuracy, redrawn as k ~ Binomial(4, ·) per seed, so its "
                       "interval is at least the binomial one of 4 points × seeds"),
        Claim(f"{S}.large-learns-clustered-after", "synthetic", "large LR learns it after the anneal (Sec. 3)",
              "large LR: clustered-only test accuracy, min over the last fifth of the steps after the anneal",
              (0.9, INF), "ours",
              "the level at which we call a pattern fitted (as for the small LR)", ACC,
              requires=SYNTH_REGIME, kind="precondition", expect=1.0, rival=0.5,
              rival_name="the anneal does not restore it: the 4 points stay at chance",
              controls="expect: all 4 points fitted after the anneal (Sec. 3); rival: chance; redrawn as "
                       "k ~ Binomial(4, ·) points per seed"),
        # ---- synthetic: claims ----
        Claim(f"{S}.gap-mixed", "synthetic", "large-then-annealed LR generalises better (Sec. 3)",
              "final test accuracy on the training mix, large − small", (POS, INF), "ours", _sign, SPREAD,
              requires=SYNTH_REGIME + SYNTH_ORDER, expect=0.004, rival=0.0, rival_name=_removed,
              controls="expect: where the clustered pattern is present both schedules fit it by the end, so the "
                       "gap comes from the 20 % linear-only test examples: 0.2 × gap-linear's +0.02; rival: "
                       + _same.rstrip("; ")),
        Claim(f"{S}.gap-linear", "synthetic",
              "small LR generalises worse on the easy-to-fit, hard-to-generalise pattern (abstract)",
              "final test accuracy on the linear pattern alone, large − small", (POS, INF), "ours", _sign, 0.01,
              requires=SYNTH_REGIME + SYNTH_ORDER, expect=0.02, rival=0.0, rival_name=_removed,
              controls="expect: +2 pp, the smallest effect of interest (the paper states no size for this toy; "
                       "the pilots of issue 29 saw +1.8 to +12.2 pp in another configuration); rival: "
                       + _same.rstrip("; ")),
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
              "final clean test accuracy, large − small", (POS, INF), "ours", _sign, ACC,
              requires=PATCH_REGIME + PATCH_ORDER, expect=0.01, rival=0.0, rival_name=_removed,
              controls="expect: +1 pp, the smallest effect of interest for a small CPU model (the paper's "
                       "accuracies were not retrievable); rival: " + _same.rstrip("; ")),
        Claim(f"{P}.act-noise-helps", "patch",
              "activation noise with a small LR recovers the large LR's benefit (Sec. 5; official act_noise run)",
              "final clean test accuracy, act_noise − small", (POS, INF), "ours", _sign, ACC,
              requires=PATCH_REGIME + (f"{P}.small-memorises-patch",), expect=0.01, rival=0.0,
              rival_name="noise removed: the act_noise arm is the small LR (no gap)",
              controls="expect: +1 pp, as gap-clean (the noise recovers the large LR's benefit); rival: the "
                       "noise switched off, both arms identical (0)"),
    ),
    tables={
        "synthetic": (Table("runs", keys=("run", "seed_idx", "step"), columns={"test_linear": 0.2},
                            reason="the linear-pattern test accuracy of every (schedule, seed, logged step). The "
                                   "runs are 3000 SGD steps at η = 8 and 1, chaotic: another float path moves them "
                                   "like a new seed, and the seeds' range at one step reaches 0.11 relative (the "
                                   "published cpu run). 0.2 relative survives that and catches a broken run (chance "
                                   "0.5 against 0.85–0.95); no deterministic number of this notebook is checked "
                                   "finer, a 1 % change is left to the claims rows."),),
        "patch": (Table("runs", keys=("schedule", "seed_idx", "epoch"), columns={"clean_acc": 0.1, "train_loss": 0.15},
                        reason="clean test accuracy and training loss of every (schedule, seed, epoch): 480 SGD "
                               "steps with momentum, treated as chaotic (another float path ≈ a new seed); the "
                               "seeds' range at one epoch reaches 0.034 (accuracy) and 0.064 (loss) relative, so "
                               "0.1 and 0.15 relative survive it and catch a broken run; finer changes are left to "
                               "the claims rows."),),
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
             "and `patch.runs` clean_acc, train_loss, at tolerances wider than the seeds' range (chaotic runs)."),
)
