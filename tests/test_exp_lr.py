"""replicate.papers.exp_lr: scale invariance of the net, the exact WD ⇔ ExpLR equivalence, and the toy."""

import pytest
import torch

from replicate import scales
from replicate.papers import exp_lr


def _blobs(n=256, classes=4, seed=0):
    """Learnable synthetic images: a random template per class plus unit noise (7×7, one channel)."""
    g = torch.Generator().manual_seed(seed)
    templates = torch.randn(classes, 1, 7, 7, generator=g)
    y = torch.randint(0, classes, (n,), generator=g)
    return templates[y] + torch.randn(n, 1, 7, 7, generator=g), y


def test_net_is_scale_invariant_in_each_layer():
    net = exp_lr.make_net(1, 4, (8, 8), seed=0, eps=1e-12, dtype=torch.float64)
    x, _ = _blobs()
    ref = net(x.double())
    with torch.no_grad():
        net.convs[0].weight.mul_(7.0)
        net.convs[1].weight.mul_(0.01)
    assert torch.allclose(net(x.double()), ref, atol=1e-10)
    assert [n for n, _ in net.named_parameters()] == ["convs.0.weight", "convs.1.weight"]  # head is frozen


def _gaps(variants, steps=120):
    X, y = _blobs()
    df = exp_lr.run_equivalence(X, y, X[:64], widths=(8, 8), num_classes=4, steps=steps, batch_size=32, lr=0.1,
                                weight_decay=5e-4, momentum=0.9, eps=1e-12, variants=variants)
    return df.groupby("variant").logit_gap.max()


def test_equivalence_is_exact_with_the_matched_buffer_and_not_with_a_zero_buffer():
    """Li & Arora Thm. 1 in float64: max |logit gap| < 1e-6 over 120 steps; a zeroed v₋₁ misses by far more."""
    gaps = _gaps(("matched buffer", "zero buffer"))
    assert gaps["matched buffer"] < 1e-6
    assert gaps["zero buffer"] > 1e-3


def test_weight_gap_and_norm_ratio_follow_the_scale():
    X, y = _blobs()
    df = exp_lr.run_equivalence(X, y, X[:64], widths=(8, 8), num_classes=4, steps=20, batch_size=32, lr=0.1,
                                weight_decay=5e-4, momentum=0.9, eps=1e-12, variants=("matched buffer",))
    assert df.weight_gap.max() < 1e-10
    from replicate import schedules
    a = schedules.exp_lr_alpha(0.1, 5e-4, 0.9)
    # θ_t = α^t φ_t: the twin's squared norm is α^(−2t) times the WD run's
    ratio = df.norm2_0 / df.norm2_wd_0 * a ** (2 * df.step)
    assert torch.allclose(torch.tensor(ratio.to_numpy()), torch.ones(len(ratio), dtype=torch.float64), atol=1e-10)


def test_toy_gradients_match_autograd():
    theta = exp_lr.toy_starts(5, seed=1).requires_grad_(True)
    for normalised in (True, False):
        loss, grad = exp_lr.toy_loss_grad(theta, normalised)
        (auto,) = torch.autograd.grad(loss.sum(), theta)
        assert torch.allclose(grad, auto)


def test_toy_wd_and_normalisation_do_not_converge_but_either_alone_does():
    cfg = exp_lr.ToyConfig(starts=4, steps=3000)
    both = exp_lr.run_toy(cfg, "normalised + WD")
    assert both["grad_norm"][-500:].min() > 1e-3
    for setting in ("normalised, no WD", "WD, no normalisation"):
        assert exp_lr.run_toy(cfg, setting)["grad_norm"][-1].max() < 1e-6


def test_configs_validate():
    for presets in (exp_lr.EQUIVALENCE_PRESETS, exp_lr.ACCURACY_PRESETS, exp_lr.TOY_PRESETS):
        for scale in scales.SCALES:
            scales.resolve(presets, scale)
    with pytest.raises(scales.ParameterError):
        scales.resolve(exp_lr.EQUIVALENCE_PRESETS, "cpu", {"dataset": "cifar-100"})
    with pytest.raises(scales.ParameterError):
        scales.resolve(exp_lr.ACCURACY_PRESETS, "cpu", {"milestones": (0.5, 1.5)})


def test_texp_accuracy_config_milestones():
    cfg = exp_lr.ACCURACY_PRESETS["cpu"]
    assert cfg.milestone_steps == [4 * 48, 6 * 48]
