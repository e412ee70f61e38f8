"""Jelassi, Hanin et al. (2023), depth dependence of μP learning rates.

network     the note's mean-field ReLU MLP, its one-step update and exact linear response (eqs. 1–3)
update_size notebook update-size: M_L(η) and C_L on a (width × depth × seed) grid
lr_sweep    notebook lr-sweep: single-input coordinate check, training-optimal LR against depth
measure     the claims' measurements from those tables (`measure_update_size`, `measure_lr_sweep`)
"""

from replicate.models import MLP
from replicate.papers.mup_depth.lr_sweep import (LR_SWEEP_DRY_RUN, LR_SWEEP_PRESETS, LRSweepConfig, coordinate_check,
                                                 coordinate_grid, lr_sweep_point, optimal_lrs, sweep_data)
from replicate.papers.mup_depth.measure import (coordinate_exponents, glue_numbers, linearity, measure_lr_sweep,
                                                measure_update_size, ratio_of_means, width_ratios)
from replicate.papers.mup_depth.network import (GROUPS, LR_TABLES, _kinds, _outputs, _stepped_preactivation, full_step,
                                                full_step_eta_star, gaussian_batch, linear_response, make_model,
                                                mean_field_table, seed_of, step_direction)
from replicate.papers.mup_depth.update_size import (UPDATE_DRY_RUN, UPDATE_PRESETS, UpdateSizeConfig, depth_fit,
                                                    depth_fits, group_exponents, group_width_scan,
                                                    update_sizes)
