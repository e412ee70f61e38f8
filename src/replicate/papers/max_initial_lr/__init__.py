"""Iyer, Hanin & Rolnick (2023): the maximal initial learning rate η* of ReLU MLPs and the sharpness at init.

η* (Definition, Sec. 2) is the largest constant LR at which a randomly initialised network reaches a threshold
validation accuracy t within a training budget; Algorithm 1 brackets it by bisection on the LR. The paper's
observation (Sec. 4) is the power law

    log η* = a + p · log(d · w)            (d = hidden layers, w = width; w ≫ d, input layer at a small LR)

and its theory (Sec. 5) bounds the sharpness λ1 at init by functions of d · w; η* and λ1 are "closely though not
inversely" related.

    data      the two-Gaussian task (and its Bayes accuracy, the ceiling of its threshold) and MNIST inputs
    protocol  presets, the η* search of a network from several seeds (majority rule), dead ReLUs along the search
    eta       η* of a network: the one definition (largest tested LR with a majority success; islands flagged),
              the statistics of the law and their bootstrap over seeds
    curvature λ1 of the plain Hessian and of the Hessian in the coordinates SGD uses (per-layer LRs folded in)
    analysis  fits of per-seed λ1 over (d, w); dead ReLUs at η*
    measure   the claims' measurements from the notebooks' tables
"""

from replicate.papers.max_initial_lr.analysis import geometric_means, loglog_slope
from replicate.papers.max_initial_lr.curvature import SHARP_DRY_RUN, SHARP_PRESETS, SharpnessConfig, sharpness_at_init
from replicate.papers.max_initial_lr.data import bayes_accuracy, load_task, two_gaussians
from replicate.papers.max_initial_lr.eta import majority_eta_star, networks
from replicate.papers.max_initial_lr.measure import measure_eta_star, measure_sharpness_at_init
from replicate.papers.max_initial_lr.protocol import (ETA_DRY_RUN, ETA_PRESETS, Condition, EtaStarConfig, Task,
                                                      eta_points, gaussian_task, grid, make_model, search,
                                                      with_gaussian)

__all__ = ["Condition", "ETA_DRY_RUN", "ETA_PRESETS", "EtaStarConfig", "SHARP_DRY_RUN", "SHARP_PRESETS",
           "SharpnessConfig", "Task", "bayes_accuracy", "eta_points", "gaussian_task", "geometric_means", "grid",
           "load_task", "loglog_slope", "majority_eta_star", "make_model", "measure_eta_star",
           "measure_sharpness_at_init", "networks", "search", "sharpness_at_init", "two_gaussians", "with_gaussian"]
