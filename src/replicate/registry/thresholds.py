"""Cross-paper claims: the catapult paper's thresholds (Lewkowycz et al. 2020) and Iyer et al.'s (2023) η* on the
same networks. Declared before this version's runs; the tolerances of the first version kept, the row that could
not fail (η*·λ0 spreads by ≥ 2×) replaced by one that can."""

from __future__ import annotations

import math

from replicate.claims import Claim, Registry

FRACTION = 0.5  # display step of the fractions of 9 networks: their Wilson interval is 0.3 wide at cpu (history)
BRACKET_REASON = ("ours: a claim over the grid needs the threshold of (nearly) every network; with 9 networks, 9 "
                  "of 9 gives a Wilson interval inside [0.6, 1]")

REGISTRY = Registry(
    chapter="cross-paper-thresholds",
    title="One network, three thresholds",
    claims=(
        Claim("thresholds.eta-max.brackets", "thresholds", "η_max exists (Lewkowycz et al., Sec. 2)",
              "fraction of networks whose η_max search brackets (trains at lo, fails at 128·η_crit)", (0.6, 1.0),
              "ours", BRACKET_REASON, FRACTION, kind="precondition"),
        Claim("thresholds.eta-star.brackets", "thresholds", "η* exists (Iyer et al., Algorithm 1)",
              "fraction of networks whose η* search brackets (reaches t at lo, not at 128·η_crit)", (0.6, 1.0),
              "ours", BRACKET_REASON, FRACTION, kind="precondition"),
        Claim("thresholds.eta-max-lam0", "thresholds",
              "ReLU nets diverge near η_max ≈ 12/λ0 (Lewkowycz et al., Sec. 3, as reported secondarily)",
              "η_max·λ0, geometric mean over networks", (6.0, 16.0), "paper",
              "the paper's ≈ 12, ± a factor 4/3 up and 2 down for the budget and the criterion of 'trains'", 1.0,
              requires=("thresholds.eta-max.brackets",)),
        Claim("thresholds.eta-star-window", "thresholds",
              "cross-paper hypothesis: η* lies in the catapult window (η_crit, η_max]",
              "fraction of networks with η_crit < η* ≤ η_max", (0.8, 1.0), "ours",
              "ours: 'η* lives in the catapult window' read as (nearly) every network; 0.8 allows one in nine", FRACTION,
              requires=("thresholds.eta-max.brackets", "thresholds.eta-star.brackets")),
        Claim("thresholds.lam0-exponent", "thresholds", "NTK scale ∝ d·w at He init (Iyer et al., Sec. 5)",
              "exponent q of λ0 ∝ (d·w)^q", (0.8, 1.2), "ours",
              "ours, declared in the first version: q = 1 ± 0.2 for finite-width corrections", 0.05),
        Claim("thresholds.eta-lambda.not-inverse", "thresholds",
              "η* and the sharpness are not inversely related (Iyer et al., abstract)",
              "|s + 1|, s the slope of log η* on log λ0 over the networks", (0.2, math.inf), "ours",
              "ours: η* = c/λ0 gives s = -1; 0.2 away from it changes η*·λ0 by ≥ 1.3× per doubling of λ0", 0.1,
              requires=("thresholds.eta-star.brackets",)),
    ),
    history=("2026-11-30, display resolutions only (no tolerance, no verdict): under `make nbval-portable` the "
             "eta-star-window fraction printed 0.90 instead of 1.00 (one of 9 networks moved; inconclusive both "
             "times). A fraction of 9 networks moves in steps of 0.11 and its Wilson interval at cpu is 0.3 wide, so "
             "the three fractions of 9 now show at the 1-2-5 step at or above that width, 0.5, as the eta-star fits "
             "do; the page shows one digit finer, with the interval."),
)
