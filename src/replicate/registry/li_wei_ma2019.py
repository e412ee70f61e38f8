"""Li, Wei & Ma (2019): a large initial LR, annealed, generalises better; a small LR memorises first.

Three kinds of rows. Regime preconditions (our run is in the paper's regime): the small LR memorises before the
anneal, the large LR is noise-limited. Order preconditions (the paper's mechanism, measured in our run): the
large LR ignores the clustered pattern / the patch until the anneal and learns it after; the small LR memorises
it at once. Claims (the generalisation gaps) require both kinds: a gap whose order rows fail cannot be
attributed to the paper's mechanism and reads *not testable at this scale*. Values are means over seeds
(network inits) with percentile bootstrap intervals; differences are paired by seed.
"""

from __future__ import annotations

import math

from replicate.claims import Claim, Registry

INF = math.inf
S, P = "li2019.synthetic", "li2019.patch"
ACC = 0.05  # display step of accuracies: coarser than their seed-to-seed spread in the pilots (~0.01–0.03)
SPREAD = 0.1  # display step of the synthetic rows whose seeds spread widely (≥ 2 × their seed sd, see `history`)

_regime_fit = "the issue's regime check: the small LR must memorise (fit) its training set before the anneal"
_noise = ("the large LR's training loss must plateau above the small LR's before the anneal (its gradient noise, "
          "not its step count, keeps it from fitting); any positive paired difference whose interval excludes 0")
_sign = "the paper predicts a positive gap of unstated size at this scale; the sign, with an interval excluding 0"

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
              kind="precondition"),
        Claim(f"{S}.small-fits-clustered", "synthetic", "small LR memorises the hard-to-fit pattern first (abstract)",
              "small LR: accuracy on the clustered-only training examples, min over the last fifth before the "
              "anneal", (0.9, INF), "ours",
              "the issue's level for the memorised pattern (patch-only training accuracy ≥ 0.9)", ACC,
              kind="precondition"),
        Claim(f"{S}.large-noise-limited", "synthetic", "large-LR noise prevents fitting the low-noise pattern (Sec. 3)",
              "training loss, large − small, mean over the second half before the anneal", (0.0, INF), "ours",
              _noise, SPREAD, kind="precondition"),
        # ---- synthetic: order ----
        Claim(f"{S}.large-ignores-clustered", "synthetic",
              "large LR ignores the hard-to-fit pattern until the anneal (abstract; Sec. 3)",
              "large LR: max clustered-only test accuracy before the anneal (chance 0.5)", (-INF, 0.6), "ours",
              "chance + 0.1, the binary analogue of the patch rows' chance + 0.15 (0.25 with chance 0.1)", 0.25,
              requires=SYNTH_REGIME, kind="precondition"),
        Claim(f"{S}.large-learns-clustered-after", "synthetic", "large LR learns it after the anneal (Sec. 3)",
              "large LR: clustered-only test accuracy, min over the last fifth of the steps after the anneal",
              (0.9, INF), "ours",
              "the level at which we call a pattern fitted (as for the small LR)", ACC,
              requires=SYNTH_REGIME, kind="precondition"),
        # ---- synthetic: claims ----
        Claim(f"{S}.gap-mixed", "synthetic", "large-then-annealed LR generalises better (Sec. 3)",
              "final test accuracy on the training mix, large − small", (0.0, INF), "ours", _sign, SPREAD,
              requires=SYNTH_REGIME + SYNTH_ORDER),
        Claim(f"{S}.gap-linear", "synthetic",
              "small LR generalises worse on the easy-to-fit, hard-to-generalise pattern (abstract)",
              "final test accuracy on the linear pattern alone, large − small", (0.0, INF), "ours", _sign, 0.01,
              requires=SYNTH_REGIME + SYNTH_ORDER),
        # ---- patch: regime ----
        Claim(f"{P}.small-fits-train", "patch", "small LR fits the training set (Sec. 5, patch experiment)",
              "small LR: training accuracy (eval mode) after the last epoch before the anneal", (0.95, INF), "ours",
              _regime_fit, ACC, kind="precondition"),
        Claim(f"{P}.small-fits-patch-only", "patch", "the patch is memorised by the small LR (abstract)",
              "small LR: accuracy on the patch-only training images after the last epoch before the anneal",
              (0.9, INF), "ours", "the issue's level for memorising the patch", ACC, kind="precondition"),
        Claim(f"{P}.large-noise-limited", "patch", "large-LR noise keeps it from the patch (Sec. 5)",
              "training loss, large − small, mean over the second half of the epochs before the anneal", (0.0, INF),
              "ours", _noise, 0.01, kind="precondition"),
        # ---- patch: order ----
        Claim(f"{P}.small-memorises-patch", "patch", "a patch immediately memorisable by a small LR (abstract)",
              "small LR: official patch accuracy (80 % exact, 20 % rescaled patches) before the anneal",
              (0.9, INF), "ours", "the level of the project digest (claim 22: ≥ 90 %)", ACC,
              requires=PATCH_REGIME, kind="precondition"),
        Claim(f"{P}.small-conflict-patch-wins", "patch", "the small LR memorises the patch (abstract)",
              "small LR: fraction of conflict images (another class's patch) labelled as the patch says, before "
              "the anneal", (0.5, INF), "ours", "the patch must win over the image on most conflict images", ACC,
              requires=PATCH_REGIME, kind="precondition"),
        Claim(f"{P}.large-ignores-patch", "patch", "ignored by the large LR until after annealing (abstract)",
              "large LR: max official patch accuracy over the epochs before the anneal (chance 0.1)",
              (-INF, 0.25), "ours", "the level of the project digest (claim 23: ≤ 25 %)", ACC,
              requires=PATCH_REGIME, kind="precondition"),
        Claim(f"{P}.large-learns-patch-after", "patch", "…until after annealing (abstract)",
              "large LR: official patch accuracy at the end", (0.9, INF), "ours",
              "the level of the project digest (claim 23: ≥ 90 %)", ACC, requires=PATCH_REGIME,
              kind="precondition"),
        # ---- patch: claims ----
        Claim(f"{P}.gap-clean", "patch", "large initial LR generalises better (abstract; Sec. 5)",
              "final clean test accuracy, large − small", (0.0, INF), "ours", _sign, ACC,
              requires=PATCH_REGIME + PATCH_ORDER),
        Claim(f"{P}.act-noise-helps", "patch",
              "activation noise with a small LR recovers the large LR's benefit (Sec. 5; official act_noise run)",
              "final clean test accuracy, act_noise − small", (0.0, INF), "ours", _sign, ACC,
              requires=PATCH_REGIME + (f"{P}.small-memorises-patch",)),
    ),
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
             "show at the accuracies' step 0.05 (25 test images), coarser than that spread."),
)
