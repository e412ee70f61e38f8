"""`replicate.memory`'s building blocks against exact counts, and every run config's `memory_bytes()` against the
parameters of its real models (a lower bound) and under larger sizes (monotone)."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from replicate import data, memory
from replicate.models import MLP, SmallConvNet
from replicate.papers import catapult, exp_lr, large_lr, mup_depth, thresholds
from replicate.papers import max_initial_lr as mil

PRESETS = {"UVConfig": catapult.UV_PRESETS, "ReLUConfig": catapult.RELU_PRESETS,
           "EquivalenceConfig": exp_lr.EQUIVALENCE_PRESETS, "AccuracyConfig": exp_lr.ACCURACY_PRESETS,
           "ToyConfig": exp_lr.TOY_PRESETS, "ThresholdsConfig": thresholds.PRESETS,
           "LRSweepConfig": mup_depth.LR_SWEEP_PRESETS, "UpdateSizeConfig": mup_depth.UPDATE_PRESETS,
           "PatchRunConfig": large_lr.PATCH_PRESETS, "SynthConfig": large_lr.SYNTH_PRESETS,
           "EtaStarConfig": mil.ETA_PRESETS, "SharpnessConfig": mil.SHARP_PRESETS}


def nbytes(*tensors) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


def params_bytes(model: torch.nn.Module) -> int:
    return nbytes(*model.parameters())


def pixels(dataset: str, pool: int = 1) -> int:
    """Inputs of an MLP on the dataset's images, through the real preprocessing."""
    return data.mlp_inputs(torch.zeros(1, *data.STAND_IN_SHAPES[dataset]), pool).shape[1]


@pytest.mark.parametrize("dims", [(10, 32, 1, 2), (784, 100, 3, 10), (40, 7, 5, 1)])
@pytest.mark.parametrize("bias", [True, False])
def test_mlp_params_are_the_models(dims, bias):
    count = sum(p.numel() for p in MLP(*dims, bias=bias).parameters())
    assert memory.mlp_params(*dims, bias=bias) == count == memory.n_params(lambda: MLP(*dims, bias=bias))


@pytest.mark.parametrize("make", [lambda: SmallConvNet(3, 10, (16, 32)), lambda: exp_lr.make_preresnet32(3, 10, seed=0),
                                  lambda: large_lr.WideResNet(10, 2, 10, 3), lambda: large_lr.TwoLayerNet(20, 8)])
def test_n_params_on_meta_are_the_real_models(make):
    assert memory.n_params(make) == sum(p.numel() for p in make().parameters())


def test_dtype_bytes_and_activations():
    assert [memory.dtype_bytes(d) for d in ("float16", "float32", "float64", "int64")] == [2, 4, 8, 8]
    # an MLP's forward creates each hidden layer's pre-activation and ReLU output, and the output; it keeps the
    # pre-activations (for return_preactivations) and at most two ReLU outputs at once
    make = lambda: MLP(784, 100, 3, 10)  # noqa: E731
    assert memory.activations(make, (784,)) == 3 * (100 + 100) + 10
    assert memory.activations(make, (784,), train=False) == 3 * 100 + 2 * 100


def smoke_lower_bound(name: str, c) -> int:
    """Bytes of the parameters of the config's largest model × its members trained at once, from real models (for
    the closed-form uv model and the toy: their real trajectories)."""
    if name == "UVConfig":
        u, v = catapult.uv_init(max(c.widths), 1, seed=0)
        f0, lam0 = (t.expand(len(c.lr_grid)) for t in catapult.uv_f_lambda(u, v))
        return nbytes(u, v, *catapult.uv_trajectories(f0, lam0, torch.ones(len(c.lr_grid)), max(c.widths), c.steps))
    if name == "ToyConfig":
        return sum(nbytes(*exp_lr.run_toy(c, s).values()) for s in exp_lr.TOY_SETTINGS)
    if name == "ReLUConfig":
        d = pixels(c.dataset, c.pool)
        return params_bytes(catapult.relu_model_factory(max(c.widths), c.depth, d, 10)()) * len(c.lr_factors)
    if name == "EquivalenceConfig":
        return 3 * params_bytes(exp_lr.make_net(1, 10, c.widths, seed=0, dtype=torch.float64))
    if name == "AccuracyConfig":
        return params_bytes(exp_lr.make_accuracy_net(c, data.STAND_IN_SHAPES[c.dataset][0], 10, seed=0))
    if name == "ThresholdsConfig":
        d = pixels(c.dataset, c.pool)
        return c.coarse_points * max(params_bytes(MLP(d, w, depth, 10, bias=False)) for depth, w in thresholds.grid(c))
    if name == "LRSweepConfig":
        d = mup_depth.sweep_data(c)[0].shape[1]
        members = max(len(c.lrs(p)) for p in c.parametrizations) * c.seeds
        return members * params_bytes(MLP(d, c.width, max(c.depths), 10, bias=False).to(getattr(torch, c.dtype)))
    if name == "UpdateSizeConfig":
        return max(params_bytes(mup_depth.make_model(c.in_features, n, depth, 0, getattr(torch, c.dtype)))
                   for n, depth in c.pairs())
    if name == "PatchRunConfig":
        shape = (c.channels, *data.STAND_IN_SHAPES[c.dataset][1:])
        return c.seeds * params_bytes(large_lr.make_patch_model(c, shape, "large_lr", 1))
    if name == "SynthConfig":
        net = large_lr.TwoLayerNet(c.d_linear + c.d_cluster, c.width)
        return params_bytes(net)  # run_synth trains one network at a time
    tasks = [c.task] if name == "SharpnessConfig" else [c.task(cond.task) for cond in c.conditions]
    largest = max(params_bytes(mil.make_model(t.dim if t.dataset == "gaussian" else pixels(t.dataset, t.pool), depth,
                                              w, 2 if t.dataset == "gaussian" else 10))
                  for t in tasks for depth, w in mil.grid(c.depths, c.widths, c.min_ratio, c.max_dw))
    if name == "SharpnessConfig":
        return (c.max_iter + 1) * largest  # the Lanczos basis and the model
    return (c.points_per_round + 2) * c.seeds * largest


@pytest.mark.parametrize("name", PRESETS)
def test_smoke_estimate_holds_the_real_models(name):
    config = PRESETS[name]["smoke"]
    assert config.memory_bytes() >= memory.BASE + smoke_lower_bound(name, config)


DOUBLED = ("width", "widths", "coord_widths", "seeds", "calib_seeds", "n_train", "n_sharp", "starts", "steps")


@pytest.mark.parametrize("name", PRESETS)
def test_doubling_a_size_never_lowers_the_estimate(name):
    config = PRESETS[name]["smoke"]
    fields = [f.name for f in dataclasses.fields(config) if f.name in DOUBLED]
    assert fields
    for field in fields:
        value = getattr(config, field)
        doubled = tuple(2 * v for v in value) if isinstance(value, tuple) else 2 * value
        assert dataclasses.replace(config, **{field: doubled}).memory_bytes() >= config.memory_bytes(), field
