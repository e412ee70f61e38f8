"""replicate.papers.exp_lr: scale invariance of the nets, the exact WD ⇔ ExpLR equivalence, and the toy."""

import pytest
import torch

from replicate import data, scales
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


def test_preresnet32_shape_and_parameter_count():
    net = exp_lr.make_preresnet32(3, 10, seed=0)
    assert net(torch.randn(4, 3, 32, 32)).shape == (4, 10)
    conv = lambda cin, cout, k=3: cin * cout * k * k  # noqa: E731
    stage1 = 10 * conv(16, 16)
    stage2 = conv(16, 32) + conv(16, 32, 1) + 9 * conv(32, 32)
    stage3 = conv(32, 64) + conv(32, 64, 1) + 9 * conv(64, 64)
    count = sum(p.numel() for p in net.parameters())
    assert count == conv(3, 16) + stage1 + stage2 + stage3 == 463_792  # ≈ 0.46M, the usual PreResNet32
    assert all(n.endswith("weight") and p.dim() == 4 for n, p in net.named_parameters())  # convs only; head frozen


def test_preresnet32_is_scale_invariant_per_conv1_per_stage_and_as_a_whole():
    """float64, batch-statistics BN with ε = 1e-12: scaling by 3 leaves the logits unchanged to 1e-10; scaling one
    conv2 alone (the stated exception) does not."""
    x = torch.randn(16, 3, 32, 32, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    ref = exp_lr.make_preresnet32(3, 10, seed=0, eps=1e-12, dtype=torch.float64)(x)
    blocks = lambda net, stage: net.blocks[5 * stage:5 * stage + 5]  # noqa: E731
    groups = {
        "all": lambda net: list(net.parameters()),
        "every conv1": lambda net: [b.conv1.weight for b in net.blocks],
        "stage 1 writers": lambda net: [net.stem.weight] + [b.conv2.weight for b in blocks(net, 0)],
        "stage 2 writers": lambda net: [blocks(net, 1)[0].shortcut.weight] + [b.conv2.weight for b in blocks(net, 1)],
        "stage 3 writers": lambda net: [blocks(net, 2)[0].shortcut.weight] + [b.conv2.weight for b in blocks(net, 2)],
        "one conv2": lambda net: [net.blocks[3].conv2.weight],
    }
    gaps = {}
    for name, params in groups.items():
        net = exp_lr.make_preresnet32(3, 10, seed=0, eps=1e-12, dtype=torch.float64)
        with torch.no_grad():
            for p in params(net):
                p.mul_(3.0)
            gaps[name] = float((net(x) - ref).abs().max())
    assert gaps.pop("one conv2") > 1e-3
    assert max(gaps.values()) < 1e-10, gaps


def test_augment_crops_and_flips_reproducibly():
    X = torch.randn(64, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    out = exp_lr.augment(X, torch.Generator().manual_seed(5))
    assert out.shape == X.shape
    assert torch.equal(out, exp_lr.augment(X, torch.Generator().manual_seed(5)))
    flips = exp_lr.augment(X, torch.Generator().manual_seed(5), pad=0)  # no crop: each image kept or mirrored
    kept = (flips == X).flatten(1).all(1)
    assert torch.all(kept | (flips == X.flip(-1)).flatten(1).all(1)) and 0 < kept.sum() < 64
    padded = torch.nn.functional.pad(X, (4, 4, 4, 4))
    windows = padded.unfold(2, 8, 1).unfold(3, 8, 1)  # (n, c, 9, 9, 8, 8): every crop of the padded image
    for i in range(8):
        hits = [(windows[i, :, a, b] == img).all() for a in range(9) for b in range(9)
                for img in (out[i], out[i].flip(-1))]
        assert any(hits)


def test_paper_accuracy_data_stand_in_only_in_a_dry_run(tmp_path, monkeypatch):
    monkeypatch.setenv("REPLICATE_DATA", str(tmp_path))
    monkeypatch.delenv("REPLICATE_DOWNLOAD", raising=False)
    cfg = scales.resolve(exp_lr.ACCURACY_PRESETS, "paper", dry_run=True, dry_overrides=exp_lr.ACCURACY_DRY_RUN)
    ds, note = exp_lr.load_accuracy_data(cfg, dry_run=True)
    assert ds.X_train.shape == (cfg.n_train, 3, 32, 32) and ds.num_classes == 10 and "cifar-10 file missing" in note
    with pytest.raises(data.DataError):
        exp_lr.load_accuracy_data(cfg, dry_run=False)


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
    with pytest.raises(scales.ParameterError):
        scales.resolve(exp_lr.ACCURACY_PRESETS, "paper", {"model": "resnet50"})
    with pytest.raises(scales.ParameterError):
        scales.resolve(exp_lr.ACCURACY_PRESETS, "paper", {"widths": (16, 32)})


def test_paper_accuracy_preset_follows_the_paper():
    cfg = scales.resolve(exp_lr.ACCURACY_PRESETS, "paper")
    assert (cfg.dataset, cfg.model, cfg.widths, cfg.augment) == ("cifar-10", "preresnet32", (16, 32, 64), True)
    assert (cfg.lr, cfg.weight_decay, cfg.momentum, cfg.batch_size) == (0.1, 5e-4, 0.9, 128)
    assert cfg.steps_per_epoch == 390 and cfg.milestone_steps == [80 * 390, 120 * 390]


def test_texp_accuracy_config_milestones():
    cfg = exp_lr.ACCURACY_PRESETS["cpu"]
    assert cfg.milestone_steps == [4 * 48, 6 * 48]
