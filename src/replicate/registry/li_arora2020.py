"""Li & Arora (2020), an exponential learning rate schedule: declared claims of the equivalence, accuracy and toy
notebooks.

Not a claim: "‖w‖²/η̃ is constant after a transient". By Thm. 1 it equals ‖θ_t‖²/(αη) exactly, so it asks
whether the weight-decay run's norm has reached its equilibrium, not whether the runs are equivalent; the
equivalence notebook shows it as a diagnostic on a log scale, and tests the identity itself.
"""

import math

from replicate.claims import Claim, Registry

EQ = "equivalence"
ACC = "accuracy"
TOY = "toy"

REGISTRY = Registry(
    chapter="li-arora2020-exp-lr",
    title="An exponential learning rate schedule (Li & Arora 2020)",
    claims=(
        # ---- the equivalence (Thm. 1) ----
        Claim("li-arora.growth.per-epoch", EQ, "η̃ grows 1.481× per epoch for (η, λ, γ) = (0.1, 5·10⁻⁴, 0.9), "
              "391 steps per epoch (authors' blog, Fig. 2)", "α^(−2·391) from the roots of eq. 4",
              (1.48115, 1.48125), "paper", "the paper's 1.481, to the 4 digits it gives", 1e-5),
        Claim("li-arora.thm1.horizon", EQ, "—", "steps run in float64 and in float32 (the shorter)",
              (200.0, math.inf), "ours", "exactness is tested over ≥ 200 steps, long enough for a broken "
              "initial buffer or α to show (the zero-buffer twin misses by O(1) within it)", 1.0,
              kind="precondition"),
        Claim("li-arora.thm1.norm-identity", EQ, "θ_t = α^t φ_t: SGD + WD is SGD with η̃_t = ηα^(−2t−1) and no WD, "
              "up to scale (Thm. 1)", "float64: max over steps and layers of |(‖φ_t‖²/η̃_{t−1}) / "
              "(‖θ_t‖²/(αη)) − 1|", (-math.inf, 1e-9), "ours", "an identity: float64 rounding (10⁻¹⁶ per "
              "operation) grown over 200 steps stays many orders below 10⁻⁹; a wrong α or buffer gives ≥ 10⁻³",
              1e-9, requires=("li-arora.thm1.horizon",)),
        Claim("li-arora.thm1.logit-gap-float64", EQ, "the two runs compute the same network function at every "
              "step (Thm. 1)", "float64, BN ε = 10⁻¹²: max |logit_WD − logit_ExpLR| on a probe batch over the "
              "horizon, matched v₋₁", (-math.inf, 1e-6), "paper", "exact in exact arithmetic; 10⁻⁶ logit "
              "units is far above float64 rounding and far below any change in a prediction", 1e-6,
              requires=("li-arora.thm1.horizon",)),
        Claim("li-arora.thm1.zero-buffer", EQ, "the equivalence needs the run's initial state: with PyTorch's "
              "momentum, v₋₁ = −(1 − α)θ₀/(αη) (Thm. 1 read in PyTorch's convention)", "float64: max |logit "
              "gap| over the horizon with a zero v₋₁", (1e-6, math.inf), "ours", "a zero buffer is only "
              "approximately equivalent: its gap must exceed the exact twin's tolerance", 0.5,
              requires=("li-arora.thm1.horizon",)),
        Claim("li-arora.thm1.logit-gap-float32", EQ, "the equivalence holds in float32 training as well, up to "
              "rounding (Thm. 1)", "float32, BN ε = 10⁻⁵: max |logit gap| over the first 200 steps, matched v₋₁",
              (-math.inf, 0.1), "ours", "float32's 10⁻⁷ grown by the ×10⁵ amplification the float64 run shows "
              "over 200 steps gives ~10⁻²; 0.1 logit leaves ×10 for float32's BN; a broken equivalence (zero "
              "buffer) misses by O(1)", 1.0, requires=("li-arora.thm1.horizon",)),
        # ---- accuracy (Thm. 2; Fig. 5) ----
        Claim("li-arora.accuracy.baseline-trains", ACC, "—", "final test accuracy of step decay + WD, mean over "
              "seeds", (0.7, 1.0), "ours", "a comparison of schedules means something only if the baseline "
              "learns; small conv nets reach ~85 % on 14×14 Fashion-MNIST, 70 % rules out a broken run", 0.01,
              kind="precondition"),
        Claim("li-arora.accuracy.texp-gap", ACC, "TEXP without WD trains as well as step decay with WD (Thm. 2; "
              "Fig. 5)", "final test accuracy, TEXP − step decay + WD, means over independent seeds (inits and "
              "batch orders)", (-1.5, 1.5), "ours", "'similar accuracy': ±1.5 pp, about twice the binomial "
              "s.d. of one run's accuracy on 2000 test images (0.8 pp at 85 %), proposed before any run", 1.0,
              requires=("li-arora.accuracy.baseline-trains",), unit="pp"),
        Claim("li-arora.accuracy.exact-gap", ACC, "step decay + WD has an exact no-WD exponential equivalent "
              "(Thm. 2)", "final test accuracy, exact equivalent (schedules.equivalent_lrs) − step decay + WD, "
              "means over independent seeds", (-1.5, 1.5), "ours", "as for TEXP: equal training up to the "
              "seed-to-seed spread; ±1.5 pp as above", 1.0, requires=("li-arora.accuracy.baseline-trains",),
              unit="pp"),
        # ---- the toy (abstract) ----
        Claim("li-arora.toy.horizon", TOY, "—", "gradient-descent steps run", (1000.0, math.inf), "ours",
              "the norm of the WD run shrinks as (1 − ηλ)^t: by 1000 steps (×4·10⁻⁵) the cycle has started, and "
              "a converging run has reached ‖∇F‖ < 10⁻⁶", 1.0, kind="precondition"),
        Claim("li-arora.toy.wd-and-norm-keep-spiking", TOY, "with both WD and normalisation GD does not converge "
              "(abstract)", "fraction of starting points whose loss still spikes above 0.1 in the last 20 % of "
              "steps", (0.9, 1.0), "ours", "'does not converge' for (nearly) every start; a converging run's loss "
              "would settle near 0 (L ≤ 1 everywhere)", 0.01, requires=("li-arora.toy.horizon",)),
        Claim("li-arora.toy.norm-alone-converges", TOY, "with normalisation alone GD converges (abstract)",
              "fraction of starting points with final ‖∇F‖ < 10⁻⁶, no WD", (0.9, 1.0), "ours",
              "'converges' for (nearly) every start", 0.01, requires=("li-arora.toy.horizon",)),
        Claim("li-arora.toy.wd-alone-converges", TOY, "with WD alone (no normalisation) GD converges (abstract)",
              "fraction of starting points with final ‖∇F‖ < 10⁻⁶, L = x²", (0.9, 1.0), "ours",
              "'converges' for (nearly) every start", 0.01, requires=("li-arora.toy.horizon",)),
    ),
    history="2026-11-30, after the first cpu run, tolerances unchanged: the reason of "
            "li-arora.thm1.logit-gap-float32 assumed a float64 gap grown from 10⁻¹⁶; the float64 run starts at "
            "4·10⁻¹³ after one step, so its ε-scaled prediction for float32 is O(1), not 10⁻². The claim stays "
            "as declared and reads not reproduced. Same day, display only: the resolutions of the float32 gap (a "
            "chaotic float32 quantity) and of the accuracy gaps were coarsened to 1 so that the printed value "
            "survives another CPU; and the accuracy notebook's cpu seeds were raised from 6 to 10 per arm, as the "
            "exact-equivalent arm's interval ended at −1.49 pp, on the tolerance's edge (under-powered).",
)
