"""Li & Arora (2020), an exponential learning rate schedule: the WD ⇔ ExpLR equivalence, accuracy, and the toy.

A loss is scale-invariant when L(cθ) = L(θ) for all c > 0 (paper, Sec. 2); then ⟨∇L(θ), θ⟩ = 0 and
∇L(cθ) = ∇L(θ)/c (Lemma 1). SGD with LR η, weight decay λ and momentum γ (PyTorch convention) then equals, up to
the scale θ_t = α^t φ_t, SGD with momentum γ, no WD and η̃_t = η α^(−2t−1) (Thm. 1), α the larger root of
x² − (1 + γ − λη)x + γ = 0, when the no-WD run starts with the buffer v₋₁ = −(1 − α)θ₀/(αη)
(see `replicate.schedules`). Modules: `nets` (scale-invariant networks, data), `equivalence` (notebook 1),
`accuracy` (notebook 2), `toy` (notebook 3); `from replicate.papers import exp_lr` keeps the flat names.
"""

from replicate.papers.exp_lr.accuracy import (ACCURACY_DRY_RUN, ACCURACY_PRESETS, SCHEDULES, AccuracyConfig,
                                              accuracy, arm_seed, gap, load_accuracy_data, make_accuracy_net,
                                              measure_accuracy, train_schedule)
from replicate.papers.exp_lr.equivalence import (EQUIVALENCE_DRY_RUN, EQUIVALENCE_PRESETS, FLOAT_PATH_FACTOR,
                                                 PRECISION_CELLS, VARIANTS, EquivalenceConfig, float_path_band,
                                                 glue_numbers, measure_equivalence, norm_identity_errors,
                                                 precision_cells, run_equivalence)
from replicate.papers.exp_lr.nets import (ACCURACY_DATASETS, DATASETS, MODELS, PreActBlock, PreResNet32,
                                          ScaleInvariantConvNet, augment, batch_order, load_images, make_net,
                                          make_preresnet32, normalised_weights_gap)
from replicate.papers.exp_lr.toy import (TOY_DRY_RUN, TOY_PRESETS, TOY_SETTINGS, ToyConfig, measure_toy, run_toy,
                                         toy_loss_grad, toy_starts)

__all__ = ["ACCURACY_DATASETS", "ACCURACY_DRY_RUN", "ACCURACY_PRESETS", "DATASETS", "EQUIVALENCE_DRY_RUN",
           "EQUIVALENCE_PRESETS", "FLOAT_PATH_FACTOR", "MODELS", "PRECISION_CELLS", "SCHEDULES", "TOY_DRY_RUN",
           "TOY_PRESETS", "TOY_SETTINGS", "VARIANTS", "AccuracyConfig", "EquivalenceConfig", "PreActBlock",
           "PreResNet32", "ScaleInvariantConvNet", "ToyConfig", "accuracy", "arm_seed", "augment", "batch_order",
           "float_path_band", "gap", "glue_numbers", "load_accuracy_data", "load_images", "make_accuracy_net", "make_net", "make_preresnet32",
           "measure_accuracy", "measure_equivalence", "measure_toy", "norm_identity_errors", "normalised_weights_gap",
           "precision_cells", "run_equivalence", "run_toy", "toy_loss_grad", "toy_starts",
           "train_schedule"]
