"""Lewkowycz et al. (2020), the catapult mechanism: the solvable uv model (`uv`), wide ReLU networks (`relu`), and
the measurements behind the chapter's claims (`measure`). `from replicate.papers import catapult` keeps the flat
names (`catapult.simulate_uv`, `catapult.ntk_sharpness`, `catapult.measure_relu_networks`, ...)."""

from replicate.papers.catapult.measure import (accuracy_gap, boundary, bracket_found, brackets,
                                               eta_lam_final_below_two, eta_lam_final_edge, lambda_below_lazy,
                                               lambda_rank_correlation, measure_relu_networks, measure_uv_model)
from replicate.papers.catapult.relu import (FACTORS, RELU_DRY_RUN, RELU_PRESETS, ReLUConfig, ntk_sharpness,
                                            relu_data, relu_model_factory, relu_phases, run_relu_seed)
from replicate.papers.catapult.uv import (PHASES, UV_DRY_RUN, UV_PRESETS, UVConfig, classify_phases, simulate_uv,
                                          uv_f_lambda, uv_init, uv_trajectories)

__all__ = ["FACTORS", "PHASES", "RELU_DRY_RUN", "RELU_PRESETS", "UV_DRY_RUN", "UV_PRESETS", "ReLUConfig", "UVConfig",
           "accuracy_gap", "boundary", "bracket_found", "brackets", "classify_phases", "eta_lam_final_below_two",
           "eta_lam_final_edge",
           "lambda_below_lazy", "lambda_rank_correlation", "measure_relu_networks", "measure_uv_model",
           "ntk_sharpness", "relu_data", "relu_model_factory", "relu_phases", "run_relu_seed", "simulate_uv",
           "uv_f_lambda", "uv_init", "uv_trajectories"]
