"""Jelassi, Hanin et al. 2023, "Depth dependence of μP learning rates in ReLU MLPs": declared claims."""

from __future__ import annotations

import math

from replicate.claims import Claim, Registry
from replicate.rerun import Table

INF = math.inf
# Float-path noise of the key tables: every network is drawn in float32 on the CPU (last bit differs between CPU
# kernels, ~4e-7) and computed in float64, so C_L, η* and RMS Δz move ~1e-6 relative on another CPU; 1e-4 survives
# that and still catches a 1 % regression. The optima come from 100 SGD steps at large LR in float64 (networks
# drawn in float64): 1e-3 leaves room for the amplified last bit and still catches a 1 % shift of η*.
DRAWN = "networks drawn in float32, computed in float64: ~1e-6 relative on another CPU; 1e-4 catches a 1 % change"
TABLES = {
    "update-size": (
        Table("linear", keys=("n", "L", "seed", "layer"), columns={"C": 1e-4, "C_f": 1e-4},
              reason="C_ℓ and C_f per network (jvp, exact): " + DRAWN, atol=0.0),
        Table("full-step", keys=("n", "L", "seed", "eta"), columns={"M": 5e-3, "M_linear": 5e-3},
              reason="M_L(η) of the actual step per network and η, down to η ~ 1e-6 where M ~ 1e-8 is a difference "
                     "of outputs far below their size: measured 8e-4 relative under torch's default kernels; 5e-3 "
                     "still catches a 1 % change", atol=0.0),
        Table("eta-star", keys=("n", "L", "seed"), columns={"eta_lin": 1e-4, "eta_full": 1e-4},
              reason="η* by both definitions per network (closed form; bisection to ~1e-8): " + DRAWN, atol=0.0),
    ),
    "lr-sweep": (
        Table("coordinate-check", keys=("parametrization", "width", "depth", "seed"), columns={"rms_dz": 1e-4},
              reason="RMS Δz^(L) per network after 3 tiny steps, networks drawn in float64 (a float32 draw's last "
                     "bit flipped ReLU gates: 5e-4 on another CPU); measured bit-identical under torch's default "
                     "kernels; 1e-4 catches a 1 % change", atol=0.0),
        Table("optima", keys=("parametrization", "depth", "seed"), columns={"lr_opt": 1e-3, "final_loss": 1e-3},
              reason="per-seed training optimum after 100 large-LR float64 steps: the last bit amplified by the "
                     "training stays far below 1e-3, which still catches a 1 % shift of η*", atol=0.0),
    ),
}

LAW = "η* ∝ L^(−3/2), n-independent for hidden layers (abstract; Thm 1.1: E(Δz)² = Θ(η²L³) for L ≪ n)"

REGISTRY = Registry(
    chapter="jelassi2023-mup-depth",
    title="Depth dependence of μP learning rates (Jelassi, Hanin et al. 2023)",
    claims=(
        # ---- update-size: the note's one-step quantity, exact linear response in float64 ----
        Claim("jelassi.update.linear-limit", "update-size", "C_ℓ = lim M_ℓ(η)/η² (eq. 2 of the derivation page)",
              "max over (n, L, seed) of |M_L(η_min) / (C_L·η_min²) − 1|, full step at η_min = 1e-6 vs the jvp",
              (-INF, 0.05), "ours",
              "the jvp coefficient is the small-step limit of the actual GD step; 5% catches a wrong C_L",
              0.01, kind="precondition", rerun_rtol=0.2,
              expect=0.0, rival=0.10,
              rival_name="the step outside its linear regime (the 0.10 the first cpu run measured at η_min = 1e-4, L = 32: "
                         "ReLU gates flip)",
              controls="expect 0: in float64 the full step at small η equals C_L·η² up to O(η) (eq. 2); rival: the "
                       "departure measured when η_min was 1e-4 (see history); the value is exact (a max over fixed "
                       "networks), so each control passes or fails with certainty"),
        Claim("jelassi.update.depth-slope", "update-size", LAW,
              "slope s of C_L ∝ L^s at the fit width, L ∈ {4 … 32} with n ≥ 32L (η*_lin ∝ L^(−s/2))",
              (2.7, 3.3), "ours", "s = 3 by the note; ±0.3 (±10%) is the digest's band for a fit over one octave "
              "of L per point, declared before any run", 0.1, requires=("jelassi.update.linear-limit",),
              expect=3.0, rival=2.0, rival_name="η* ∝ L^(−1): L coherent layer contributions without the growing "
                                              "Jacobian correlation (C_L ∝ L²)",
              controls="expect s = 3: eq. (3), C_L ∝ L³ (the note's L^(−3/2) for η* = C_L^(−1/2)); rival s = 2, the "
                       "naive count of eq. (3) with (1 + min(L−ℓ, L−ℓ')) replaced by 1, i.e. η* ∝ L^(−1)"),
        Claim("jelassi.update.width-ratio", "update-size", LAW,
              "C_L(n = 512)/C_L(n = 2048) at L = 16 (n ≥ 32L), mean over seeds",
              (0.7, 1.4), "ours", "n-independence up to the note's finite-width factor (1 + O(L/n)); "
              "the digest's band, declared before any run; 64 seeds at these two pairs (24 gave an interval "
              "wider than the band)",
              0.1, requires=("jelassi.update.linear-limit",),
              expect=1.0, rival=0.5, rival_name="a hidden rate that grows with √n (C_L ∝ n^(1/2), half of SP's n¹): "
                                              "ratio 0.5 over n ×4",
              controls="expect 1: the hidden-layer rate is n-independent (abstract; eq. 3 has no n); rival: the "
                       "smallest width dependence the band is meant to exclude, half the C_L ∝ n of an SP output "
                       "initialisation (ratio 1/2 between n = 512 and 2048)"),
        Claim("jelassi.update.input-unit-width", "update-size",
              "the first layer's rate must scale with n (abstract: n-independent 'for all but the first and last "
              "layer weights')", "width exponent of C_L of the input-layer-only step at unit LR, L = 4",
              (-2.3, -1.7), "ours", "−2 by the derivation (Δz¹ ∝ η n₀/n per coordinate); ±0.3 as for the slope",
              0.1, expect=-2.0, rival=0.0, rival_name="the first layer n-independent like the hidden layers (exponent 0)",
              controls="expect −2: the derivation page (Δz¹ ∝ η n₀/n per coordinate, so C ∝ n⁻² at unit LR); rival "
                       "0: the alternative the abstract rules out, a first layer whose unit rate is already "
                       "n-independent"),
        Claim("jelassi.update.output-unit-width", "update-size",
              "the last layer's rate must scale with n (abstract)",
              "width exponent of C_f of the output-layer-only step at unit LR, L = 4",
              (1.7, 2.3), "ours", "+2 by the derivation (Δf ∝ η‖x^(L)‖² ∝ η n); ±0.3 as for the slope", 0.1,
              expect=2.0, rival=0.0, rival_name="the last layer n-independent like the hidden layers (exponent 0)",
              controls="expect +2: the derivation page (Δf ∝ η‖x^(L)‖² ∝ η n, so C_f ∝ n² at unit LR); rival 0: "
                       "the alternative the abstract rules out, a last layer whose unit rate is n-independent"),
        Claim("jelassi.update.hidden-width", "update-size", LAW,
              "width exponent of C_L of the hidden-layers-only step (rate 1), L = 4, n ∈ {256 … 2048}",
              (-0.3, 0.3), "ours", "0 by the note; ±0.3 as for the slope", 0.1,
              expect=0.0, rival=1.0, rival_name="SP's output initialisation N(0, 2/n) (δ^(L) ∝ n^(−1/2): C_L ∝ n)",
              controls="expect 0: the hidden-layer rate is n-independent (abstract); rival 1: the width exponent "
                       "of C_L when the output layer is He-initialised as in SP instead of N(0, 1/n²) (the bug "
                       "the injected-fault test puts through the real code)"),
        # ---- lr-sweep: coordinate check (single input, float64) and training-optimal LR ----
        Claim("jelassi.coord.linear-regime", "lr-sweep", "the note's law is for the small-step (linear) regime",
              "max over (n, L, seed) of |RMS Δz(μP)/RMS Δz(depth-μP)/L^(3/2) − 1| (0 exactly when Δz is linear in η)",
              (-INF, 0.01), "ours", "depth-μP's rates are μP's × L^(−3/2), so the ratio is L^(3/2) to first order "
              "in η; a 1% departure means the check is outside the regime the note describes", 0.001,
              kind="precondition", expect=0.0, rival=0.05,
              rival_name="the check outside its linear regime (the 0.05 of the pilot at coordinate LR 1e-4, L = 8)",
              controls="expect 0: depth-μP's rates are exactly μP's × L^(−3/2), so the ratio is L^(3/2) to first "
                       "order in η; rival: the pilot's departure at LR 1e-4 (see history); the value is exact (a max "
                       "over fixed networks), so each control passes or fails with certainty"),
        Claim("jelassi.coord.mup-depth-exponent", "lr-sweep", LAW + "; RMS Δz^(L) ∝ L^(3/2) under μP",
              "μP: exponent of RMS Δz^(L) in L after 3 SGD steps on one mnist1d input (4 inputs per network, "
              "each from the initialisation), L ∈ {2, 4, 8}, pooled over the widths (all n ≥ 32L)", (1.35, 1.65), "ours",
              "3/2 by the note; ±0.15 on RMS = the chapter's ±0.3 on M = RMS², declared before any run", 0.05,
              requires=("jelassi.coord.linear-regime",), expect=1.5, rival=1.0,
              rival_name="η* ∝ L^(−1): RMS Δz^(L) ∝ L (coherent layer contributions without the growing correlation)",
              controls="expect 3/2: eq. (3), M_L ∝ L³ so RMS Δz ∝ L^(3/2) (the note's η* ∝ L^(−3/2)); rival 1, "
                       "the naive count η* ∝ L^(−1); the band [1.35, 1.65] excludes 1 by 0.35"),
        Claim("jelassi.coord.mup-width-exponent", "lr-sweep", LAW,
              "μP: exponent of RMS Δz^(L) in n at the deepest depth (L = 8 at cpu, n ∈ {256 … 1024})",
              (-0.15, 0.15), "ours", "0 by the note; ±0.15 on RMS = ±0.3 on M, declared before any run", 0.05,
              requires=("jelassi.coord.linear-regime",), expect=0.0, rival=0.5,
              rival_name="SP instead of μP: RMS Δz^(L) ∝ n^(1/2) (δ^(L) ∝ n^(−1/2) under an He-initialised output)",
              controls="expect 0: the hidden-layer rate is n-independent (abstract); rival 1/2: the width exponent "
                       "of the same check with SP's output initialisation (the bug the injected-fault test puts "
                       "through the real code)"),
        # ---- training-optimal LR: beyond the note (one step on one input), shown as diagnostics ----
        Claim("jelassi.sweep.optima-interior", "lr-sweep", "an optimum on the edge of its grid is only a bound",
              "fraction of per-seed μP optima strictly inside the LR grid", (1.0, 1.0), "ours",
              "every per-seed optimum must be bracketed for the exponent below to mean an optimum (a diagnostic "
              "since the exponent is one)", 0.01, kind="diagnostic"),
        Claim("jelassi.sweep.mup-optimum-exponent", "lr-sweep",
              "not the note's claim: the note's η* is the one-step maximal-update LR (tested on this data by "
              "coord.mup-depth-exponent); whether the optimum of 100 SGD steps follows it is our question",
              "μP: exponent p of the training-optimal base LR ∝ L^p (per-seed optima, parabolic refinement in log η "
              "on the grid), width 256, L ∈ {2, 4, 8}; −3/2 if the one-step law set the training optimum",
              (-1.75, -1.25), "ours",
              "shown, not judged (the note makes no statement about the optimum after training): a reference band, "
              "the one-step law's −3/2 ± 0.25, halfway to the naive −1; the earlier claim band [−2, −1] put that "
              "rival on its edge", 0.1, kind="diagnostic"),
    ),
    tables=TABLES,
    history="2026-12-03, lr-sweep's coordinate check redrawn (no tolerance or verdict moved): its networks were drawn "
            "in float32 and cast to float64, and on the CI machine under torch's default kernels the float32 draw's "
            "last bit flipped ReLU gates within the 3 steps: coord.linear-regime 0.00237 → 0.00242 and one network's "
            "RMS Δz 5e-4 relative, beyond the rerun tolerances of a float64 computation; the networks are now drawn "
            "in float64 (as the LR sweep's already were), which gives bit-identical RMS Δz under both kernels, so "
            "every lr-sweep coordinate number is of new draws of the same seeds. "
            "2026-12-02, rerun comparison only (no tolerance or verdict): under torch's default kernels the "
            "linear-limit check moved 0.00705 → 0.00684 (a ratio of differences of 1e-6 steps) and M of the full step "
            "8e-4 relative at η ~ 1e-6; the check's rerun tolerance is 20 % relative (rerun_rtol) and the full-step "
            "table's 5e-3. 2026-11-30: lr-sweep rows of the old format replaced. Dropped: the SP width exponent (not a claim of "
            "the note; now a diagnostic of the gpu and paper presets, measured at LR 1e-7, in its linear regime), the depth-μP depth exponents of "
            "the coordinate check and of the optimum (identical to μP's − 3/2 by definition of depth-μP: shown as "
            "diagnostics), the per-width slope count and the mean-field input/output exponents (= the unit-LR "
            "exponents ± 2 by construction), the η*_lin exponent (= −s/2) and the full-step η* exponent (not the "
            "note's definition; diagnostics). The coordinate check now runs on one input in float64 (the note's "
            "protocol). coord.linear-regime: a pilot at coordinate LR 1e-4 gave 0.05 at L = 8 (ReLU gates flipping "
            "within 3 steps); the coordinate LR was lowered to 1e-6, the tolerance kept at 0.01. "
            "coord.mup-width-exponent: 48 networks with one input each gave a 95% interval of ±0.2, wider than the "
            "band; each network now steps on 4 inputs separately (64 networks), the tolerance kept. "
            "update.linear-limit: declared at η_min = 1e-4, where the cpu run measured 0.10 (L = 32: ReLU gates "
            "flip, the step is 10% off linear already); the check moved to η = 1e-6, the tolerance kept at 5%. "
            "update.width-ratio: 24 seeds gave 0.98 [0.67, 1.43], an interval wider than the band; the two pairs "
            "now have 64 seeds, the tolerance kept. Display resolutions raised from 0.05 to 0.1 where the 95% "
            "interval is wider than ±0.1 (slope, ratio, unit-LR and hidden exponents, optimum exponent), as the "
            "printed value must be coarser than its seed-to-seed spread. "
            "2026-12-02 (calibration, issue 26/28): every claim and precondition declares its positive control "
            "(expect) and named rival; no tolerance moved. sweep.mup-optimum-exponent (published −0.98 [−1.10, −0.84], "
            "inconclusive against [−2, −1]) is now a diagnostic: the optimum after 100 SGD steps is not the note's "
            "one-step quantity, which this data tests through coord.mup-depth-exponent, and the band put the rival "
            "−1 on its edge; sweep.optima-interior, which only gated that row, is a diagnostic too. "
            "Earlier pilots behind the protocol (2026-11, before the first published lr-sweep run; recorded here "
            "2026-12-02 because the page quotes them): a coordinate check on a batch of 256 correlated inputs in "
            "float32 gave a μP depth exponent of RMS Δz of 1.85, and in float32 the μP/depth-μP ratio at L = 8 read "
            "28–30 instead of 22.6 (μP's Δz at float32 rounding), so the check moved to one input in float64; a "
            "float32 draw of the swept networks differed between CPU kernels in its last bit (4e-7), which 100 "
            "large-LR steps amplified to 5 % in final losses and 60 % in per-seed optima (1 thread against 2 threads "
            "under ATEN_CPU_CAPABILITY=default), so the swept networks are drawn in float64; the SP width exponent at "
            "LR 1e-4 moved the output by 0.76 RMS (outside the linear regime), so it is measured at 1e-7.",
)
