"""Lewkowycz et al. (2020), the catapult mechanism: declared claims of the uv-model and relu-networks notebooks.

η·λ_final < 2 in converged catapult runs is not a claim here: a run converges only if ηλ_final < 2, so it follows
from how a converged run is defined; the notebooks print it as a diagnostic.
"""

import math

from replicate.claims import Claim, Registry

UV = "uv-model"
RELU = "relu-networks"

REGISTRY = Registry(
    chapter="lewkowycz2020-catapult",
    title="The catapult mechanism (Lewkowycz et al. 2020)",
    claims=(
        # ---- the solvable uv model ----
        Claim("lewkowycz.uv.brackets-found", UV, "—", "fraction of (width, seed) whose grid brackets both "
              "boundaries (a lazy, a catapult and a divergent run, in that order)", (1.0, 1.0), "ours",
              "a boundary is measured only where the grid has a point on each side of it", 0.01,
              kind="precondition"),
        Claim("lewkowycz.uv.lazy-catapult", UV, "lazy → catapult at ηλ0 = 2 (warm-up model; exact as n → ∞)",
              "lazy→catapult boundary ηλ0, bracket [last lazy, first catapult] over widths n ≥ 100 and seeds",
              (1.95, 2.05), "ours", "the paper's 2, with ±0.05 for the O(1/n) corrections at n ≥ 100 "
              "(proposed before any run)", 0.05, requires=("lewkowycz.uv.brackets-found",)),
        Claim("lewkowycz.uv.catapult-divergent", UV, "catapult → divergent at ηλ0 = 4 (warm-up model; exact as n → ∞)",
              "catapult→divergent boundary ηλ0, bracket [last converged, first divergent] over widths and seeds",
              (3.9, 4.1), "ours", "the paper's 4, with ±0.1 for the O(1/n) corrections at n ≥ 100 "
              "(proposed before any run)", 0.05, requires=("lewkowycz.uv.brackets-found",)),
        Claim("lewkowycz.uv.lambda-below-lazy", UV,
              "the catapult ends at a flatter point, λ_final < λ0 (warm-up model)",
              "median λ_final of catapult runs ÷ λ_final of the largest lazy run (same width and seed)",
              (-math.inf, 1.0), "paper", "flatter than without a catapult: below 1; the lazy run is the "
              "reference so that the 1/n drift of λ in every run cannot pass the claim", 0.05),
        Claim("lewkowycz.uv.lambda-falls-with-eta", UV, "λ_final < 2/η: the final curvature falls with η across "
              "the catapult window (warm-up model)", "Spearman ρ(η, λ_final) over catapult runs, mean over "
              "(width, seed)", (-math.inf, -0.5), "ours", "a fall with η gives ρ near −1; −0.5 leaves room for "
              "noise and rejects no trend (ρ ≈ 0) or a rise", 0.1),
        Claim("lewkowycz.uv.peak-loss", UV, "the loss grows to O(n) before the curvature falls (warm-up model)",
              "peak loss / L0 at ηλ0 = 3, n = 1000, median over seeds", (100.0, math.inf), "ours",
              "O(n) growth at n = 1000 means far above L0; 100 (a tenth of n) was proposed before any run", 10.0),
        Claim("lewkowycz.uv.peak-loss-exponent", UV, "the catapult's loss spike grows with width, as n "
              "(warm-up model: it stops when χ²/n = O(1))", "exponent p of peak loss / L0 ∝ n^p at ηλ0 = 3",
              (0.5, 1.5), "ours", "the paper's mechanism gives p = 1; ±0.5 for the finite-n corrections at "
              "n = 100", 0.1),
        # ---- wide ReLU networks ----
        Claim("lewkowycz.relu.brackets-found", RELU, "—", "fraction of (width, seed) whose grid brackets both "
              "boundaries", (1.0, 1.0), "ours", "a boundary is measured only where the grid has a point on "
              "each side of it", 0.01, kind="precondition"),
        Claim("lewkowycz.relu.onset", RELU, "the catapult starts at η_crit = 2/λ0 (wide ReLU networks, phase diagram)",
              "onset η/η_crit at the widest width: bracket [last lazy, first catapult] over seeds",
              (0.9, 1.3), "ours", "η_crit = 2/λ0 holds as n → ∞; −10 % for the Lanczos error of λ0, +30 % for "
              "the finite-width drift of λ in the lazy phase (fixed before the first cpu run)", 0.1,
              requires=("lewkowycz.relu.brackets-found",)),
        Claim("lewkowycz.relu.eta-max", RELU, "divergence at η_max ≈ 12/λ0 for ReLU networks (wide ReLU networks)",
              "η_max·λ0 at the widest width: bracket 2×[last converged, first divergent] over seeds", (6.0, 16.0),
              "ours", "the paper's ≈ 12 has no error bar; between the uv model's 4 and 16 (proposed before any "
              "run)", 1.0, requires=("lewkowycz.relu.brackets-found",)),
        Claim("lewkowycz.relu.lambda-below-lazy", RELU, "the catapult ends at a flatter point, λ_final < λ0 "
              "(wide ReLU networks, phase diagram)",
              "median λ_final of catapult runs ÷ λ_final of the largest lazy run (same width and seed)", (-math.inf, 1.0), "paper", "flatter than without a catapult: below 1; the lazy "
              "run is the reference, as λ drifts down by O(1/n) in every finite-width run", 0.05),
        Claim("lewkowycz.relu.lambda-falls-with-eta", RELU, "λ_final < 2/η: the final curvature falls with η "
              "(wide ReLU networks, phase diagram)",
              "Spearman ρ(η, λ_final) over catapult runs, mean over (width, seed)",
              (-math.inf, -0.5), "ours", "a fall with η gives ρ near −1; −0.5 leaves room for Lanczos and seed "
              "noise and rejects no trend or a rise", 0.1),
        Claim("lewkowycz.relu.accuracy-physical-time", RELU, "the best performance is in the catapult phase, "
              "compared at fixed physical time η·t (performance vs learning rate, physical-time comparison)",
              "best test accuracy of catapult runs − best of lazy runs at τ = η·λ0·t fixed, mean over (width, seed)", (0.0, math.inf), "paper",
              "'best in the catapult phase' means a non-negative gap", 1.0, unit="pp"),
    ),
    history="2026-11-30, display only: after the first cpu run the resolutions of the ReLU onset (0.05 → 0.1) and "
            "η_max·λ0 (0.5 → 1) were coarsened: the runs are float32 and a run at a boundary can change phase on "
            "another CPU, moving a bracket by one grid step. Tolerances unchanged.",
)
