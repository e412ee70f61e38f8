"""Cross-paper claims: the catapult paper's thresholds (Lewkowycz et al. 2020) and Iyer et al.'s (2023) η* on the
same networks. Declared before this version's runs; the tolerances of the first version kept, the row that could
not fail (η*·λ0 spreads by ≥ 2×) replaced by one that can."""

from __future__ import annotations

import math

from replicate.claims import Claim, Registry
from replicate.rerun import Table

FRACTION = 0.5  # display step of the fractions of 9 networks: their Wilson interval is 0.3 wide at cpu (history)
BRACKET_REASON = ("ours: a claim over the grid needs the threshold of (nearly) every network; with 9 networks, 9 "
                  "of 9 gives a Wilson interval inside [0.6, 1]")

SEARCH_CONTROLS = ("expect 1: every search brackets (the regime the claims assume); rival 0.5: half of them miss; "
                   "Wilson interval redrawn binomially")
# Key result table compared on a rerun (issue 30): λ0 (NTK top eigenvalue at a fixed init, Lanczos) and η_crit = 2/λ0
# are deterministic up to float-path rounding (~1e-6); 1e-4 survives another CPU and catches a 1 % error. η_max and
# η* come from large-LR training, chaotic at the edge of a bracket: left to the claims rows.
TABLES = {
    "thresholds": (Table("runs", keys=("depth", "width", "seed"), columns={"lam0": 1e-4, "eta_crit": 1e-4},
                         reason="λ0 and 2/λ0 at init: deterministic up to float-path rounding"),),
}

REGISTRY = Registry(
    chapter="cross-paper-thresholds",
    title="One network, three thresholds",
    claims=(
        Claim("thresholds.eta-max.brackets", "thresholds", "η_max exists (Lewkowycz et al., Sec. 2)",
              "fraction of networks whose η_max search brackets (trains at lo, fails at 128·η_crit)", (0.6, 1.0),
              "ours", BRACKET_REASON, FRACTION, kind="precondition", expect=1.0, rival=0.5,
              rival_name="half the searches do not bracket", controls=SEARCH_CONTROLS),
        Claim("thresholds.eta-star.brackets", "thresholds", "η* exists (Iyer et al., Algorithm 1)",
              "fraction of networks whose η* search brackets (reaches t at lo, not at 128·η_crit)", (0.6, 1.0),
              "ours", BRACKET_REASON, FRACTION, kind="precondition", expect=1.0, rival=0.5,
              rival_name="half the searches do not bracket", controls=SEARCH_CONTROLS),
        Claim("thresholds.eta-max-lam0", "thresholds",
              "ReLU nets diverge near η_max ≈ 12/λ0 (Lewkowycz et al., Sec. 3, as reported secondarily)",
              "η_max·λ0, geometric mean over networks", (6.0, 16.0), "ours",
              "ours around the paper's ≈ 12 (not centred on it): a factor 4/3 up and 2 down for the budget and the "
              "criterion of 'trains'", 1.0,
              requires=("thresholds.eta-max.brackets",), expect=12.0, rival=4.0,
              rival_name="η_max = 4/λ0, the uv model's exact boundary",
              controls="expect 12: the catapult paper's η_max ≈ 12/λ0 for ReLU nets (Sec. 3, as reported "
                       "secondarily); rival 4: its uv-model value; the run's bootstrap deviations of log η_max·λ0 "
                       "rescaled multiplicatively around each"),
        Claim("thresholds.eta-star-window", "thresholds",
              "cross-paper hypothesis: η* lies in the catapult window (η_crit, η_max]",
              "fraction of networks with η_crit < η* ≤ η_max", (0.8, 1.0), "ours",
              "ours: 'η* lives in the catapult window' read as (nearly) every network; 0.8 allows one in nine", FRACTION,
              requires=("thresholds.eta-max.brackets", "thresholds.eta-star.brackets"), expect=1.0, rival=0.5,
              rival_name="η* outside the window in half the networks",
              controls="expect 1: every η* in the window (the hypothesis); rival 0.5; Wilson interval redrawn "
                       "binomially (9 of 9 gives [0.70, 1]: at least 17 networks are needed)"),
        Claim("thresholds.lam0-exponent", "thresholds",
              "NTK scale ∝ d·w at He init (Iyer et al., Sec. 5, with the input layer slow; not this protocol)",
              "exponent q of λ0 ∝ (d·w)^q, every layer at η", (0.8, 1.2), "ours",
              "diagnostic since issue 27: with every layer at η our eq. (1) predicts q well below 1 (the input "
              "layer's D_in term), so the first version's q = 1 ± 0.2 scored Iyer et al.'s Sec. 5 on a protocol it "
              "does not describe; their claim is tested in their chapter (input layer slow). Shown, not judged",
              0.05, kind="diagnostic"),
        Claim("thresholds.eta-lambda.not-inverse", "thresholds",
              "η* and the sharpness are not inversely related (Iyer et al., abstract; their SGD protocol)",
              "|s + 1|, s the slope of log η* on log λ0 over the networks", (0.2, math.inf), "ours",
              "diagnostic since issue 27: under this full-batch MSE protocol η* sits just below η_max, so its slope "
              "on λ0 is the catapult paper's η_max ∝ 1/λ0 (the eta-max-lam0 and window rows), not Iyer et al.'s "
              "claim, which is tested in their chapter. Shown, not judged", 0.1, kind="diagnostic"),
    ),
    history=("2026-11-30, display resolutions only (no tolerance, no verdict): under `make nbval-portable` the "
             "eta-star-window fraction printed 0.90 instead of 1.00 (one of 9 networks moved; inconclusive both "
             "times). A fraction of 9 networks moves in steps of 0.11 and its Wilson interval at cpu is 0.3 wide, so "
             "the three fractions of 9 now show at the 1-2-5 step at or above that width, 0.5, as the eta-star fits "
             "do; the page shows one digit finer, with the interval.\n"
             "2026-12-02, calibration (issue 26; no tolerance moved): every row declares expect and a named rival "
             "and reads underpowered where P(pass | expect) < 0.8 or P(pass | rival) > 0.1. eta-max-lam0's "
             "tolerance [6, 16] is relabelled 'ours' (it is not centred on the paper's 12); its interval is now "
             "redrawn multiplicatively (a geometric mean).\n"
             "2026-12-02, `lam0-exponent` and `eta-lambda.not-inverse` demoted to diagnostics (issue 27): the first "
             "scored Iyer et al.'s Sec. 5 (input layer slow) on a protocol with every layer at η, where eq. (1) "
             "predicts q well below 1; the second tests the catapult paper's η_max ∝ 1/λ0 here (η* sits just below "
             "η_max), not Iyer et al.\n"
             "2026-12-02, rerun comparison (issue 30): the runs table's lam0 and eta_crit are compared with the "
             "published ones at relative tolerance 1e-4."),
    tables=TABLES,
)
