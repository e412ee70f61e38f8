"""Li & Arora (2020), an exponential learning rate schedule: declared claims of the equivalence, accuracy and toy
notebooks, each with its controls (the value if the paper is right, and the named rival it must tell apart).

Not claims: "‖w‖²/η̃ is constant after a transient" (by Thm. 1 it equals ‖θ_t‖²/(αη) exactly, so it asks whether the
weight-decay run's norm has reached its equilibrium; the equivalence notebook draws it); "the equivalence holds in
float32 with BN's ε = 10⁻⁵" (the paper does not claim it: Thm. 1 needs exact arithmetic and an exactly
scale-invariant loss, and ε = 10⁻⁵ breaks the latter; the notebook prints the gap in the four cells float64/float32 ×
ε = 10⁻¹²/10⁻⁵, and the float64 ε = 10⁻⁵ cell is a diagnostic row). The accuracy notebook's negative control (step
decay without WD) is a diagnostic row beside the two gaps it controls.
"""

import math

from replicate.claims import Claim, Registry
from replicate.rerun import Table

EQ = "equivalence"
ACC = "accuracy"
TOY = "toy"

# α⁻² per step for (η, λ, γ) = (0.1, 5·10⁻⁴, 0.9) is 1.0010053; its first-order form 1 + 2λη/(1 − γ) = 1.001 gives
# 1.001^391 = 1.47817 per epoch, the nearest plausible wrong growth factor.
RULE_OF_THUMB_PER_EPOCH = 1.001 ** 391
# The zero-buffer twin's identity error and logit gap over 200 float64 steps, in the first published cpu run (the
# rival of the exactness rows: the initial buffer v₋₁ left at zero).
ZERO_BUFFER_IDENTITY_ERROR = 1.9e-2
ZERO_BUFFER_LOGIT_GAP = 1.95

REGISTRY = Registry(
    chapter="li-arora2020-exp-lr",
    title="An exponential learning rate schedule (Li & Arora 2020)",
    claims=(
        # ---- the equivalence (Thm. 1) ----
        Claim("li-arora.growth.per-epoch", EQ, "η̃ grows 1.481× per epoch for (η, λ, γ) = (0.1, 5·10⁻⁴, 0.9), "
              "391 steps per epoch (authors' blog, Fig. 2)", "α^(−2·391) from the roots of eq. 4",
              (1.4805, 1.4815), "paper", "the paper's 1.481, ± half its last digit", 1e-5,
              expect=1.481, rival=RULE_OF_THUMB_PER_EPOCH,
              rival_name="α⁻² replaced by its first-order form 1 + 2λη/(1 − γ) (1.4782 per epoch)",
              controls="expect: the blog's 1.481 (Fig. 2 caption); rival: the rule of thumb's 1.001^391 = 1.4782, "
                       "the nearest plausible wrong growth factor. A deterministic computation: power and "
                       "false-pass are 1 or 0."),
        Claim("li-arora.thm1.horizon", EQ, "—", "steps run in float64 (the exactness run)",
              (200.0, math.inf), "ours", "exactness is tested over ≥ 200 steps, long enough for a broken "
              "initial buffer or α to show (the zero-buffer twin misses by O(1) within it)", 1.0,
              kind="precondition", expect=200.0, rival=1.0, rival_name="a dry run (one step)",
              controls="expect: the cpu preset's 200 float64 steps; rival: the one step of a dry run, too short for "
                       "a wrong buffer to grow."),
        Claim("li-arora.thm1.norm-identity", EQ, "θ_t = α^t φ_t: SGD + WD is SGD with η̃_t = ηα^(−2t−1) and no WD, "
              "up to scale (Thm. 1)", "float64: max over steps and layers of |(‖φ_t‖²/η̃_{t−1}) / "
              "(‖θ_t‖²/(αη)) − 1|", (-math.inf, 1e-9), "ours", "an identity: float64 rounding (10⁻¹⁶ per "
              "operation) grown over 200 steps stays many orders below 10⁻⁹; a wrong α or buffer gives ≥ 10⁻³",
              1e-9, requires=("li-arora.thm1.horizon",), expect=0.0, rival=ZERO_BUFFER_IDENTITY_ERROR,
              rival_name="a zero initial buffer v₋₁ (PyTorch's default)",
              controls="expect: 0, Thm. 1 in exact arithmetic; rival: the zero-buffer twin's error over the same 200 "
                       "float64 steps of the first published cpu run, 1.9·10⁻². The value is float64 rounding: its "
                       "interval is value ×/÷ 10."),
        Claim("li-arora.thm1.logit-gap-float64", EQ, "the two runs compute the same network function at every "
              "step (Thm. 1)", "float64, BN ε = 10⁻¹²: max |logit_WD − logit_ExpLR| on a probe batch over the "
              "horizon, matched v₋₁", (-math.inf, 1e-6), "ours", "exact in exact arithmetic (the paper gives no "
              "number); 10⁻⁶ logit units is ours: far above accumulated float64 rounding and far below any change "
              "of a prediction", 1e-6, requires=("li-arora.thm1.horizon",), expect=0.0, rival=ZERO_BUFFER_LOGIT_GAP,
              rival_name="a zero initial buffer v₋₁ (PyTorch's default)",
              controls="expect: 0, Thm. 1 in exact arithmetic; rival: the zero-buffer twin's gap over the same 200 "
                       "float64 steps of the first published cpu run, 1.95 logits. The value is float64 rounding: "
                       "its interval is value ×/÷ 10."),
        Claim("li-arora.thm1.zero-buffer", EQ, "the equivalence needs the run's initial state: with PyTorch's "
              "momentum, v₋₁ = −(1 − α)θ₀/(αη) (Thm. 1 read in PyTorch's convention)", "float64: max |logit "
              "gap| over the horizon with a zero v₋₁", (1e-6, math.inf), "ours", "a zero buffer is only "
              "approximately equivalent: its gap must exceed the exact twin's tolerance", 0.5,
              requires=("li-arora.thm1.horizon",), expect=1e-2, rival=0.0,
              rival_name="the initial state does not matter (a zero buffer is exact too)",
              controls="expect: a zero v₋₁ leaves the twin's scale off by ~(1 − α)/(α(1 − γ)) ≈ 5·10⁻³, so its "
                       "effective LR η̃/‖φ‖² by ~1 %: logit gaps ≳ 10⁻² over the horizon (our reading of eq. 5); "
                       "rival: 0, the buffer irrelevant. The value is a gap grown by chaotic float64 dynamics: its "
                       "interval is value ×/÷ 10."),
        Claim("li-arora.thm1.bn-eps-float64", EQ, "— (diagnostic: Thm. 1 assumes an exactly scale-invariant loss, "
              "which BN's ε = 10⁻⁵ breaks)", "float64, BN ε = 10⁻⁵ (the float32 run's ε): max |logit gap| over the "
              "first 200 steps, matched v₋₁", (-math.inf, 1e-6), "ours", "not judged: the exactness tolerance of "
              "li-arora.thm1.logit-gap-float64, shown for comparison; with ε = 10⁻⁵ the theorem's premise does not "
              "hold, and the notebook prints this gap beside the float32 cells to separate BN's ε from float32 "
              "rounding", 0.01, kind="diagnostic"),
        # ---- accuracy (Thm. 2; Fig. 5) ----
        Claim("li-arora.accuracy.baseline-trains", ACC, "—", "final test accuracy of step decay + WD, mean over "
              "seeds", (0.7, 1.0), "ours", "a comparison of schedules means something only if the baseline "
              "learns; small conv nets reach ~85 % on 14×14 Fashion-MNIST, 70 % rules out a broken run", 0.01,
              kind="precondition", expect=0.85, rival=0.1, rival_name="a broken run (chance, 10 classes)",
              controls="expect: ~85 %, what small conv nets reach on 14×14 Fashion-MNIST; rival: chance, 10 %."),
        Claim("li-arora.accuracy.texp-gap", ACC, "TEXP without WD trains as well as step decay with WD (Thm. 2; "
              "Fig. 5)", "final test accuracy, TEXP − step decay + WD, means over independent seeds (inits and "
              "batch orders)", (-1.5, 1.5), "ours", "'similar accuracy': ±1.5 pp, about twice the binomial "
              "s.d. of one run's accuracy on 2000 test images (0.8 pp at 85 %), proposed before any run", 1.0,
              requires=("li-arora.accuracy.baseline-trains",), unit="pp", expect=0.0, rival=0.0,
              rival_name="the exponential schedule removed (step decay without WD)",
              controls="expect: 0, equal training (Thm. 2). rival: 0 at cpu scale too — the first phase is 192 "
                       "steps at η = 0.1, in which α⁻² per step grows η̃ only ×1.21 (×1.23 over the run) against a "
                       "WD equilibrium time (1 − γ)/(2λη) = 1000 steps, so dropping WD and the growth together "
                       "changes the effective LR too little to move the gap. With expect = rival no number of "
                       "seeds decides: the row reads underpowered until the first phase lasts several equilibrium "
                       "times (≳ 2000 steps at η = 0.1, η̃ ×7; the gpu preset has 4680), where the negative "
                       "control li-arora.accuracy.no-wd-gap measures the rival."),
        Claim("li-arora.accuracy.exact-gap", ACC, "step decay + WD has an exact no-WD exponential equivalent "
              "(Thm. 2)", "final test accuracy, exact equivalent (schedules.equivalent_lrs) − step decay + WD, "
              "means over independent seeds", (-1.5, 1.5), "ours", "as for TEXP: equal training up to the "
              "seed-to-seed spread; ±1.5 pp as above", 1.0, requires=("li-arora.accuracy.baseline-trains",),
              unit="pp", expect=0.0, rival=0.0, rival_name="the exponential schedule removed (step decay without WD)",
              controls="as for li-arora.accuracy.texp-gap: expect 0 (exact equivalence); rival 0 at cpu scale, "
                       "where the exponential part grows η̃ only ×1.23 — underpowered by construction there."),
        Claim("li-arora.accuracy.no-wd-gap", ACC, "— (diagnostic: the negative control of the two gaps above)",
              "final test accuracy, step decay without WD (no exponential growth) − step decay + WD, means over "
              "independent seeds", (-1.5, 1.5), "ours", "not judged: shown against the gaps' tolerance; inside "
              "it, the gap rows cannot tell the equivalence from dropping WD altogether", 1.0, unit="pp",
              kind="diagnostic"),
        # ---- the toy (abstract) ----
        Claim("li-arora.toy.horizon", TOY, "—", "gradient-descent steps run", (1000.0, math.inf), "ours",
              "the norm of the WD run shrinks as (1 − ηλ)^t: by 1000 steps (×4·10⁻⁵) the cycle has started, and "
              "a converging run has reached ‖∇F‖ < 10⁻⁶", 1.0, kind="precondition", expect=2000.0, rival=1.0,
              rival_name="a dry run (one step)",
              controls="expect: the smallest preset's 2000 steps (smoke; cpu runs 5000); rival: a dry run's one "
                       "step."),
        Claim("li-arora.toy.wd-and-norm-keep-spiking", TOY, "with both WD and normalisation GD does not converge "
              "(abstract)", "fraction of starting points whose loss still spikes above 0.1 in the last 20 % of "
              "steps", (0.9, 1.0), "ours", "'does not converge' for (nearly) every start; a converging run's loss "
              "would settle near 0 (L ≤ 1 everywhere)", 0.01, requires=("li-arora.toy.horizon",), expect=1.0,
              rival=0.0, rival_name="GD converges with both (as with either alone)",
              controls="expect: every start (the abstract; eq. 7 leaves F no stationary point); rival: no start "
                       "spikes. Redrawn as a binomial count over the run's starts."),
        Claim("li-arora.toy.norm-alone-converges", TOY, "with normalisation alone GD converges (abstract)",
              "fraction of starting points with final ‖∇F‖ < 10⁻⁶, no WD", (0.9, 1.0), "ours",
              "'converges' for (nearly) every start", 0.01, requires=("li-arora.toy.horizon",), expect=1.0,
              rival=0.0, rival_name="normalisation alone keeps GD from converging (WD not needed)",
              controls="expect: every start (the abstract); rival: none. Redrawn as a binomial count."),
        Claim("li-arora.toy.wd-alone-converges", TOY, "with WD alone (no normalisation) GD converges (abstract)",
              "fraction of starting points with final ‖∇F‖ < 10⁻⁶, L = x²", (0.9, 1.0), "ours",
              "'converges' for (nearly) every start", 0.01, requires=("li-arora.toy.horizon",), expect=1.0,
              rival=0.0, rival_name="WD alone keeps GD from converging (normalisation not needed)",
              controls="expect: every start (the abstract); rival: none. Redrawn as a binomial count."),
    ),
    tables={
        EQ: (Table("float64", keys=("step", "variant"), columns={"lr_tilde": 1e-9},
                   reason="η̃_t = ηα^(−2t−1) is float64 arithmetic on three constants, the same on every CPU: a 1 % "
                          "change of η, or any change of λ, γ or α, differs. The float64 norms and losses are not "
                          "compared: another float path (the float32 preprocessing of the images, vector kernels) "
                          "moved them by up to 2 % within the 200 steps (a one-off check with "
                          "ATEN_CPU_CAPABILITY=default MKL_CBWR=COMPATIBLE), while each machine's twins stay equal "
                          "to rounding; the claims rows judge that."),),
        ACC: (Table("runs", keys=("schedule", "seed", "epoch"), columns={"lr": 1e-9},
                    reason="each arm's schedule (the LR of every epoch's last step) is pure arithmetic: any change "
                           "of η, λ, γ, milestones or the equivalent schedules differs; test accuracies come from "
                           "chaotic float32 training (two equivalent float32 runs separate by O(1) logits within "
                           "200 steps) and are left to the claims rows."),),
        TOY: (Table("summary", keys=("setting", "step"),
                    columns={"loss_median": 1e-6, "loss_max": 1e-6, "norm_median": 1e-6, "grad_norm_median": 1e-6},
                    reason="float64 elementwise GD on two coordinates: the trajectories are bit-identical under "
                           "another float path (checked with ATEN_CPU_CAPABILITY=default; only the norm's last bit "
                           "moved), so 10⁻⁶ catches a 1 % change of η or λ by far."),),
    },
    history="2026-11-30, after the first cpu run, tolerances unchanged: the reason of "
            "li-arora.thm1.logit-gap-float32 assumed a float64 gap grown from 10⁻¹⁶; the float64 run starts at "
            "4·10⁻¹³ after one step. The claim stayed as declared and read not reproduced. Same day, display only: "
            "the resolutions of the float32 gap (a chaotic float32 quantity) and of the accuracy gaps were "
            "coarsened to 1 so that the printed value survives another CPU; and the accuracy notebook's cpu seeds "
            "were raised from 6 to 10 per arm, as the exact-equivalent arm's interval ended at −1.49 pp, on the "
            "tolerance's edge (under-powered). "
            "2026-12-02 (calibration, issues 26 and 28): every row declares its controls (expect, rival). "
            "li-arora.thm1.logit-gap-float32 is dropped as a claim — the paper does not claim float32 exactness and "
            "BN's ε = 10⁻⁵ breaks the scale invariance Thm. 1 assumes; the notebook prints the four cells float64/"
            "float32 × ε = 10⁻¹²/10⁻⁵ instead, with the float64 ε = 10⁻⁵ cell as the diagnostic "
            "li-arora.thm1.bn-eps-float64 (two 200-step runs added). li-arora.thm1.horizon now counts the float64 "
            "steps only (the float32 run is judged by nothing). li-arora.growth.per-epoch's band was centred on our "
            "computed 1.48123 while labelled 'paper'; it is now the paper's 1.481 ± 0.0005. "
            "li-arora.thm1.logit-gap-float64's 10⁻⁶ is ours, not the paper's: source corrected. The float64 rows "
            "of one trajectory (identity, both logit gaps, the ε = 10⁻⁵ diagnostic) carry the interval value ×/÷ 10 "
            "instead of a point, as another CPU changes accumulated rounding, and chaotically grown gaps, by an O(1) "
            "factor (a one-off check under ATEN_CPU_CAPABILITY=default moved them by < ×2); the verdicts cannot "
            "change by it. The accuracy notebook gains a fourth arm, "
            "step decay without WD (10 seeds at cpu), the measured negative control li-arora.accuracy.no-wd-gap; "
            "the two gap rows' rival (the exponential schedule removed) predicts the same gap at cpu scale, so they "
            "read underpowered there.",
)
