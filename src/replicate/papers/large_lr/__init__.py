"""Li, Wei & Ma (2019), the regularisation effect of an initial large learning rate.

Two settings, each with two kinds of pattern defined *by construction* (never by the paper's letters):

* the **clustered** pattern x₂ = z + s·ζ_y (eq. 3.1 of the derivation page): a shared large vector z, a tiny
  class-specific perturbation ζ_y and a random sign s = ±1 — low noise, few distinct points (*easy to
  generalise*), not linearly separable (*hard to fit* under SGD noise);
* the **linear** pattern x₁ = c(μ(2y − 1)w* + ξ)/√d (eq. 3.2): two Gaussians along w*, learned by a linear
  read-out (*easy to fit*), noisy in d dimensions (*hard to generalise*).

`data` builds both (and the official patch, its patch-only metric and the conflict set), `models` the nets,
`protocol` the patch experiment's presets and runs, `toy` the synthetic toy's (its units, runs and controls),
`measure` the claims' measurements.
"""

from .data import (CLEAN, COMPONENTS, KINDS, PATCH_ONLY, PATCHED, PatchConfig, SynthData, SynthSpec, apply_patches,
                   conflict_set, make_patterns, patch_only_set, synth_data, synth_sample, without_clustered)
from .measure import (PATCH_IDS, POINTS, STRONG_IDS, crossing_steps, glue_patch_numbers, measure_patch,
                      measure_strong, measure_synthetic, seed_mean)
from .measure import glue_synthetic
from .models import ActNoise, TwoLayerNet, WideBasic, WideResNet, add_act_noise
from .protocol import (MODELS, PATCH_DRY_RUN, PATCH_PRESETS, SCHEDULES, BNMLP, PatchData, PatchRunConfig,
                       calibrate_sep, first_memorised, make_patch_model, patch_data, patch_metrics, run_patch)
from .toy import FIT, RUNS, SYNTH_DRY_RUN, SYNTH_PRESETS, SynthConfig, first_fit, fit_times, run_synth, train_one

__all__ = [name for name in dir() if not name.startswith("_")]
