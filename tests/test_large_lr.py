import dataclasses

import pytest
import torch

from replicate import scales
from replicate.papers import large_lr as L


def _images(n=4000, c=3, s=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, c, s, s, generator=g) + 3.0, torch.randint(10, (n,), generator=g)


def test_official_patch_parameters():
    pc = L.PatchConfig()
    assert (pc.patch_size, pc.location, pc.z_scale, pc.patch_sep, pc.num_patterns) == (7, "center", 1.25, 0.1, 1)
    assert (pc.prop_augment, pc.patch_only_prob, pc.patch_only_scale) == (0.8, 0.2, 1.75)
    assert pc.start == 12 and pc.region == (slice(12, 19), slice(12, 19))  # int(16 - 7/2) = 12
    cpu = L.PATCH_PRESETS["paper"]
    assert (cpu.lr_large, cpu.lr_small, cpu.anneal_factor, cpu.anneal_epoch, cpu.epochs) == (0.1, 0.004, 0.04, 30, 60)
    assert (cpu.momentum, cpu.weight_decay, cpu.batch_size, cpu.noise_std) == (0.9, 5e-4, 128, 0.4)
    assert cpu.lr_large * cpu.anneal_factor == pytest.approx(cpu.lr_small)


def test_patch_location_and_values():
    pc = L.PatchConfig()
    x, y = _images()
    z, zeta = L.make_patterns(pc, seed=1)
    out, kind = L.apply_patches(x, y, pc, z, zeta, seed=2)
    rows, cols = pc.region
    inside = torch.zeros(32, 32, dtype=torch.bool)
    inside[rows, cols] = True
    patched = kind == L.PATCHED
    # outside the 7×7 centre, patched and clean images are untouched; clean images are untouched everywhere
    assert torch.equal(out[patched][:, :, ~inside], x[patched][:, :, ~inside])
    assert torch.equal(out[kind == L.CLEAN], x[kind == L.CLEAN])
    # inside, a patched image holds z ± ζ_y exactly
    d = out[patched][:, :, rows, cols] - z
    target = zeta[y[patched], 0]
    assert torch.allclose(d.abs(), target.abs(), atol=1e-6)
    sign = torch.sign((d * target).flatten(1).sum(1)).view(-1, 1, 1, 1)
    assert torch.allclose(d, sign * target, atol=1e-5) and set(sign.flatten().tolist()) == {-1.0, 1.0}


def test_patch_fractions_match_the_official_mix():
    pc = L.PatchConfig()
    x, y = _images(n=20000, c=1, s=16)
    pc = dataclasses.replace(pc, channels=1, image_size=16)
    z, zeta = L.make_patterns(pc, seed=0)
    _, kind = L.apply_patches(x, y, pc, z, zeta, seed=5)
    frac = torch.bincount(kind, minlength=3).double() / len(kind)
    sd = (0.25 / len(kind)) ** 0.5
    for k, expected in ((L.CLEAN, 0.2), (L.PATCHED, 0.64), (L.PATCH_ONLY, 0.16)):
        assert abs(float(frac[k]) - expected) < 5 * sd


def test_patch_only_examples_carry_no_image_signal():
    pc = L.PatchConfig()
    x1, y = _images(n=500, seed=0)
    x2, _ = _images(n=500, seed=1)
    z, zeta = L.make_patterns(pc, seed=3)
    o1, k1 = L.apply_patches(x1, y, pc, z, zeta, seed=4)
    o2, k2 = L.apply_patches(x2, y, pc, z, zeta, seed=4)
    only = k1 == L.PATCH_ONLY
    assert torch.equal(k1, k2) and only.sum() > 0
    assert torch.equal(o1[only], o2[only])  # independent of the image
    rows, cols = pc.region
    rest = o1[only].clone()
    rest[:, :, rows, cols] = 0
    assert float(rest.abs().max()) == 0.0
    # the patch is z + s·1.75·u·ζ_y with |s·1.75·u| ≤ 1.75
    d, t = (o1[only][:, :, rows, cols] - z).flatten(1), zeta[y[only], 0].flatten(1)
    coef = (d * t).sum(1) / (t * t).sum(1)
    assert torch.allclose(d, coef.view(-1, 1) * t, atol=1e-5) and float(coef.abs().max()) <= 1.75


def test_label_to_patch_map_is_deterministic_under_the_seed():
    pc = L.PatchConfig()
    z1, zeta1 = L.make_patterns(pc, seed=7)
    z2, zeta2 = L.make_patterns(pc, seed=7)
    z3, zeta3 = L.make_patterns(pc, seed=8)
    assert torch.equal(z1, z2) and torch.equal(zeta1, zeta2)
    assert not torch.equal(zeta1, zeta3)
    assert zeta1.shape == (10, 1, 3, 7, 7) and float(zeta1.abs().max()) <= 0.1
    x, y = _images(n=200)
    assert all(torch.equal(a, b) for a, b in zip(L.apply_patches(x, y, pc, z1, zeta1, 9),
                                                 L.apply_patches(x, y, pc, z2, zeta2, 9)))
    xp, yp = L.patch_only_set(50, pc, z1, zeta1, seed=0)
    xq, yq = L.patch_only_set(50, pc, z1, zeta1, seed=0)
    assert torch.equal(xp, xq) and torch.equal(yp, yq)


def test_wideresnet_16_10_shape_and_size():
    model = L.WideResNet(16, 10)
    # conv1 + 3 groups of 2 pre-activation blocks (+1×1 shortcuts) + BN + fc: the 17.1M of WRN-16-10
    n_params = sum(p.numel() for p in model.parameters())
    assert 17.0e6 < n_params < 17.3e6
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    conv = model.blocks[1].conv1
    assert float(conv.weight.detach().std()) == pytest.approx((2 / (9 * 160)) ** 0.5, rel=0.05)


def test_act_noise_shared_map_and_switch_off():
    torch.manual_seed(0)
    noise = L.ActNoise(0.4, steps_on=2)
    x = torch.zeros(3, 4, 5, 5)
    a = noise(x)
    assert torch.allclose(a, a[:1, :1].expand_as(a))  # one map over batch and channels
    assert 0.2 < float(a[0, 0].std()) < 0.7
    noise(x)
    assert float(noise(x).abs().max()) < 1e-4  # ×1e-5 after steps_on training forwards
    assert torch.equal(noise.eval()(x + 1), x + 1)
    net = L.add_act_noise(L.WideResNet(10, 1), 0.4, 5)
    assert sum(isinstance(m, L.ActNoise) for m in net.modules()) == sum(
        isinstance(m, torch.nn.ReLU) for m in net.modules())


def test_synthetic_components_by_construction():
    cfg = L.SYNTH_PRESETS["smoke"]
    sd = L.synth_data(cfg, seed=0)
    d1 = cfg.d_linear
    lin, clu = sd.X_only["linear"], sd.X_only["clustered"]
    assert float(lin[:, d1:].abs().max()) == 0 and float(clu[:, :d1].abs().max()) == 0
    # clustered: the two class means coincide (z), so no linear read-out separates them; each class is z ± ζ_y
    m0, m1 = (clu[sd.y_only["clustered"] == k, d1:].mean(0) for k in (0, 1))
    assert float((m0 - m1).norm()) < 0.2 * float(clu[:, d1:].norm(dim=1).mean()) / 10
    # linear: y is the side of a fixed hyperplane, so a least-squares linear read-out classifies it well
    X = torch.cat([lin[:, :d1], torch.ones(len(lin), 1)], 1)
    w = torch.linalg.lstsq(X, sd.y_only["linear"].double().unsqueeze(1).float() * 2 - 1).solution
    assert float(((X @ w).squeeze() > 0).eq(sd.y_only["linear"].bool()).float().mean()) > 0.9
    frac = torch.bincount(sd.comp_train, minlength=3).double() / len(sd.comp_train)
    assert torch.allclose(frac, torch.tensor(cfg.mix, dtype=torch.double), atol=0.06)


def test_presets_validate_and_dry_run_keeps_the_model():
    for presets, dry in ((L.PATCH_PRESETS, L.PATCH_DRY_RUN), (L.SYNTH_PRESETS, L.SYNTH_DRY_RUN)):
        for scale in presets:
            cfg = scales.resolve(presets, scale, {}, dry_run=True, dry_overrides=dry)
            assert getattr(cfg, "widen_factor", 10) == getattr(presets[scale], "widen_factor", 10)
    with pytest.raises(scales.ParameterError):
        scales.resolve(L.PATCH_PRESETS, "cpu", {"dataset": "svhn"})


def test_patch_run_smoke_logs_every_epoch():
    cfg = dataclasses.replace(L.PATCH_PRESETS["smoke"], n_train=64, n_test=32, n_patch_only=16, batch_size=32,
                              epochs=2, anneal_epoch=2, widths=(4,))
    pdata = L.patch_data(cfg, seed=0)
    df = L.run_patch(cfg, pdata, "large_lr")
    assert list(df.epoch) == [0, 1, 2]
    assert df.lr.tolist()[1:] == pytest.approx([0.1, 0.004])
    assert df[["clean_acc", "mixed_acc", "patch_acc"]].notna().all().all()
