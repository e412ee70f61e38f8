import dataclasses
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from replicate import claims, scales
from replicate.papers import large_lr as L
from replicate.registry.li_wei_ma2019 import REGISTRY as REG


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
    xp, yp, _ = L.patch_only_set(50, pc, z1, zeta1, seed=0)
    xq, yq, _ = L.patch_only_set(50, pc, z1, zeta1, seed=0)
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


def test_synthetic_generator_as_specified_and_in_order():
    """Issue 29's generator, one seeded stream in this order: w* = randn normalised, z = 2·randn, ζ = (2·rand − 1)·0.6,
    then per example component, label, ξ, sign; x₁ = 2(1.5(2y − 1)w* + ξ)/√d, x₂ = z + sζ_y."""
    cfg = L.SYNTH_PRESETS["cpu"]
    assert (cfg.d_linear, cfg.d_cluster, cfg.z_scale, cfg.sep, cfg.margin, cfg.mix) == (1000, 50, 2.0, 0.6, 1.5,
                                                                                      (0.1, 0.1, 0.8))
    assert (cfg.width, cfg.batch_size, cfg.weight_decay, cfg.lr_small, cfg.lr_large) == (512, 32, 5e-4, 0.05, 1.5)
    assert (cfg.steps, cfg.anneal_step, cfg.n_train, cfg.n_test, cfg.n_test_linear, cfg.n_test_clustered) == (
        4000, 2000, 2000, 2000, 2000, 400)
    spec, n = cfg.spec, 300
    sd = L.synth_data(spec, n, 50, seed=7, n_test_linear=40, n_test_clustered=30)
    g = torch.Generator().manual_seed(7)
    w = torch.randn(1000, generator=g)
    w = w / w.norm()
    z = 2.0 * torch.randn(50, generator=g)
    zeta = (torch.rand(2, 50, generator=g) * 2 - 1) * 0.6
    comp = torch.multinomial(torch.tensor(spec.mix), n, replacement=True, generator=g)
    y = torch.randint(2, (n,), generator=g)
    xi = torch.randn(n, 1000, generator=g)
    sign = torch.where(torch.rand(n, generator=g) < 0.5, -1.0, 1.0).view(-1, 1)
    x1 = 2 * (1.5 * (2 * y - 1).view(-1, 1).float() * w + xi) / math.sqrt(1000)
    x2 = z + sign * zeta[y]
    assert torch.equal(sd.comp_train, comp) and torch.equal(sd.y_train, y)
    assert torch.allclose(sd.X_train[:, :1000], x1 * (comp != 1).view(-1, 1), atol=1e-6)
    assert torch.allclose(sd.X_train[:, 1000:], x2 * (comp != 0).view(-1, 1), atol=1e-6)
    lin, clu = sd.X_only["linear"], sd.X_only["clustered"]
    assert (len(lin), len(clu), len(sd.y_test)) == (40, 30, 50)
    assert float(lin[:, 1000:].abs().max()) == 0 and float(clu[:, :1000].abs().max()) == 0
    assert len(torch.unique(clu, dim=0)) <= 4  # Q: 2 classes × 2 signs


def test_no_q_control_data_drops_the_clustered_pattern():
    cfg = L.SYNTH_PRESETS["smoke"]
    sd = L.synth_data(cfg.spec, cfg.n_train, cfg.n_test, seed=0)
    nq = L.without_clustered(sd, cfg.d_linear)
    keep = sd.comp_train != 1
    assert len(nq.y_train) == int(keep.sum()) and float(nq.X_train[:, cfg.d_linear:].abs().max()) == 0
    assert torch.equal(nq.X_train[:, :cfg.d_linear], sd.X_train[keep, :cfg.d_linear])
    assert torch.equal(nq.X_only["linear"], sd.X_only["linear"])  # the same test sets


def test_presets_validate_and_dry_run_keeps_the_model():
    for presets, dry in ((L.PATCH_PRESETS, L.PATCH_DRY_RUN), (L.SYNTH_PRESETS, L.SYNTH_DRY_RUN)):
        for scale in presets:
            cfg = scales.resolve(presets, scale, {}, dry_run=True, dry_overrides=dry)
            assert getattr(cfg, "widen_factor", 10) == getattr(presets[scale], "widen_factor", 10)
    with pytest.raises(scales.ParameterError):
        scales.resolve(L.PATCH_PRESETS, "cpu", {"dataset": "svhn"})


def test_patch_run_smoke_logs_every_epoch():
    cfg = dataclasses.replace(L.PATCH_PRESETS["smoke"], n_train=64, n_test=32, n_patch_only=16, batch_size=32,
                              epochs=2, anneal_epoch=2, widths=(4,), seeds=1)
    pdata = L.patch_data(cfg, seed=0)
    assert pdata.X_train.shape[1:] == (3, 28, 28)  # MNIST copied into 3 channels: the official 7×7×3 patch
    df = L.run_patch(cfg, pdata, "large_lr")
    assert list(df.epoch) == [0, 1, 2]
    assert df.lr.tolist()[1:] == pytest.approx([0.1, 0.004])
    cols = ["train_acc", "train_patch_only_acc", "train_loss", "clean_acc", "mixed_acc", "patch_acc",
            "conflict_patch_wins", "conflict_image_wins"]
    assert df[cols].notna().all().all()
    assert df.clean_acc_final.notna().tolist() == [False, False, True]  # the larger clean set, after the last epoch


def test_final_clean_set_starts_with_the_curves_test_set_and_patch_sep_scales_zeta():
    cfg = dataclasses.replace(L.PATCH_PRESETS["smoke"], n_train=64, n_test=16, n_final_test=48, n_patch_only=16)
    a = L.patch_data(cfg, seed=0)
    assert len(a.y_clean) == 16 and len(a.y_final) == 48 and torch.equal(a.X_final[:16], a.X_clean)
    b = L.patch_data(dataclasses.replace(cfg, patch_sep=0.5), seed=0)
    assert b.patch.patch_sep == 0.5
    rows, cols = a.patch.region
    only = a.kind_patch == L.PATCHED  # exact patches: z ± ζ_y, so the deviation from z scales with patch_sep
    z, _ = L.make_patterns(a.patch, 0)
    da, db = (d.X_patch[only][:, :, rows, cols] - z for d in (a, b))
    assert torch.allclose(db, 5 * da, atol=1e-5)


def test_act_noise_on_mlp_features_is_one_scalar_as_the_official_map():
    torch.manual_seed(0)
    a = L.ActNoise(0.4, steps_on=5)(torch.zeros(6, 8))
    assert torch.equal(a, a[0, 0].expand_as(a))  # (1, 1): a 1×1 map per unit, shared over batch and units
    assert float(a[0, 0]) != 0.0


# ---------------------------------------------------------------------------------------------------------------
# The official patch metric and the conflict set
# ---------------------------------------------------------------------------------------------------------------


def test_official_patch_metric_is_80_percent_exact_20_percent_rescaled():
    pc = L.PatchConfig()
    z, zeta = L.make_patterns(pc, seed=1)
    n = 20000
    x, y, kind = L.patch_only_set(n, pc, z, zeta, seed=2)
    exact = kind == L.PATCHED
    sd = (0.16 / n) ** 0.5
    assert abs(float(exact.double().mean()) - 0.8) < 5 * sd  # 1 − patch_only_prob, as TransformOnlyDataset
    assert set(kind.tolist()) == {L.PATCHED, L.PATCH_ONLY}
    rows, cols = pc.region
    d = x[:, :, rows, cols] - z
    t = zeta[y, 0]
    # exact: z ± ζ_y; rescaled: z ± 1.75·u·ζ_y; the rest of every image is 0 (the normalised mean colour)
    assert torch.allclose(d[exact].abs(), t[exact].abs(), atol=1e-6)
    coef = (d[~exact] * t[~exact]).flatten(1).sum(1) / (t[~exact] ** 2).flatten(1).sum(1)
    assert float(coef.abs().max()) <= 1.75 and float(coef.abs().std()) > 0.2
    rest = x.clone()
    rest[:, :, rows, cols] = 0
    assert float(rest.abs().max()) == 0.0


def test_conflict_set_carries_another_class_patch_on_every_image():
    pc = L.PatchConfig()
    z, zeta = L.make_patterns(pc, seed=1)
    x, y = _images(n=1000)
    out, other = L.conflict_set(x, y, pc, z, zeta, seed=3)
    assert bool((other != y).all()) and len(set(other.tolist())) == 10
    rows, cols = pc.region
    d = out[:, :, rows, cols] - z
    assert torch.allclose(d.abs(), zeta[other, 0].abs(), atol=1e-6)
    keep = torch.ones(32, 32, dtype=torch.bool)
    keep[rows, cols] = False
    assert torch.equal(out[:, :, keep], x[:, :, keep])  # the image is kept outside the patch


# ---------------------------------------------------------------------------------------------------------------
# The toy's runs
# ---------------------------------------------------------------------------------------------------------------


def test_run_synth_units_runs_and_controls():
    cfg = scales.resolve(L.SYNTH_PRESETS, "smoke", {"steps": 40, "anneal_step": 20, "log_every": 10,
                                                    "data_seeds": 2, "init_seeds": 2, "control_inits": 1})
    runs = L.run_synth(cfg, seed=3)
    assert set(runs.run) == set(L.RUNS) and sorted(runs.seed_idx.unique()) == [0, 1, 2, 3]
    per = runs.groupby("run").seed_idx.unique().map(sorted)
    assert per["large_lr"] == per["small_lr"] == [0, 1, 2, 3] and per["no_q"] == per["large_b256"] == [0, 2]
    assert runs[runs.run == "large_b256"].step.max() == 20 and runs[runs.run == "small_lr"].step.max() == 40
    assert set(runs.data_seed) == {3, 4}
    # at step 0 large and small share the init: identical metrics
    at0 = runs[runs.step == 0].set_index(["run", "seed_idx"])
    assert at0.loc["large_lr"].train_loss.equals(at0.loc["small_lr"].train_loss)
    main = runs[runs.run != "large_b256"]  # the mixed test set is read at each run's last step only
    assert main[main.step < 40].test_mixed.isna().all() and main[main.step == 40].test_mixed.notna().all()
    fits = L.fit_times(runs)
    assert len(fits) == 4 + 4 + 2 + 2 and {"t_linear", "t_clustered"} <= set(fits.columns)


# ---------------------------------------------------------------------------------------------------------------
# Every claim can fail: synthetic tables the paper forbids, that straddle an edge, or that break a precondition
# ---------------------------------------------------------------------------------------------------------------


SEEDS = 16  # units of the synthetic tables


def _synth_runs(small=None, large=None, no_q=None, b256=None, seeds=SEEDS, anneal=200, end=400, every=50):
    """A run table logged every `every` steps: per run, the step from which P and Q stay fitted (`tp`, `tq`;
    accuracy 1 from there, 0.5 before; None = never) and the final test accuracies. Override dicts hold a value or a
    list of per-unit values (cycled). The paper's picture: the small LR fits Q (step 50) before P (150), the large LR
    P first and Q after the anneal (250), batch 256 fits Q at the large LR (100), the no-Q control generalises best."""
    base = {"small_lr": dict(tp=150, tq=50, test_linear=0.75, test_mixed=0.95, stop=end),
            "large_lr": dict(tp=50, tq=250, test_linear=0.85, test_mixed=0.96, stop=end),
            "no_q": dict(tp=100, tq=None, test_linear=0.90, test_mixed=0.90, stop=end),
            "large_b256": dict(tp=50, tq=100, test_linear=0.80, test_mixed=0.90, stop=anneal)}
    overs = {"small_lr": small, "large_lr": large, "no_q": no_q, "large_b256": b256}
    rows = []
    for run, vals in base.items():
        v = {**vals, **(overs[run] or {})}
        pick = lambda k, u: v[k][u % len(v[k])] if isinstance(v[k], (list, tuple)) else v[k]
        for u in range(seeds):
            tp, tq = pick("tp", u), pick("tq", u)
            for step in range(0, pick("stop", u) + 1, every):
                p = 1.0 if tp is not None and step >= tp else 0.5
                q = 1.0 if tq is not None and step >= tq else 0.5
                final = step == end
                rows.append({"run": run, "seed_idx": u, "step": step, "train_linear": p, "train_clustered": q,
                             "train_all": 0.6 + 0.2 * p + 0.2 * q, "test_clustered": q,
                             "test_linear": pick("test_linear", u) if final else 0.6,
                             "test_mixed": pick("test_mixed", u) if final else math.nan})
    return pd.DataFrame(rows)


def _judge_synth(runs, anneal=200):
    return {r.claim.id: r.verdict for r in claims.judge(REG, "synthetic", L.measure_synthetic(runs, anneal))}


def test_synthetic_claims_reproduced_on_the_paper_picture():
    got = _judge_synth(_synth_runs())
    assert all(v in ("met", "reproduced", "diagnostic") for v in got.values()), got


@pytest.mark.parametrize("claim, run", [("gap-linear", "large"), ("no-q-linear", "no_q")])
def test_synthetic_claims_can_fail(claim, run):
    cid = f"li2019.synthetic.{claim}"
    worse = _judge_synth(_synth_runs(**{run: {"test_linear": 0.70}}))  # below the small LR's 0.75
    assert worse[cid] == "not reproduced"
    straddle = _judge_synth(_synth_runs(**{run: {"test_linear": [0.70, 0.80]}}))
    assert straddle[cid] == "inconclusive"
    m = L.measure_synthetic(_synth_runs(**{run: {"test_linear": [0.70, 0.90, 0.76]}}, seeds=3), 200)[cid]
    assert claims.verdict(REG[cid], m, calibration=claims.calibrate(REG[cid], m)) == "underpowered"
    no_regime = _judge_synth(_synth_runs(small={"tq": 300}))  # the small LR fits Q after P
    assert no_regime["li2019.synthetic.small-fits-clustered-first"] == "not met"
    assert no_regime[cid] == "not testable at this scale"


def test_synthetic_gap_needs_the_order_rows():
    runs = _synth_runs(large={"tq": 50})  # the large LR fits Q as early as the small LR (batch 32 not blocked)
    got = _judge_synth(runs)
    assert got["li2019.synthetic.large-noise-limited"] == "not met"
    assert got["li2019.synthetic.gap-linear"] == "not testable at this scale"
    assert got["li2019.synthetic.no-q-linear"] == "reproduced"  # a small-LR row: needs the small LR's regime only
    cid = "li2019.synthetic.large-learns-clustered-later"
    m = L.measure_synthetic(runs, 200)[cid]
    assert m.value == 0 and claims.verdict(REG[cid], m, calibration=claims.calibrate(REG[cid], m)) == "not met"


@pytest.mark.parametrize("check, over, verdict", [
    ("small-fits-train", dict(small={"tp": None}), "not met"),  # P never fitted: 0.6 + 0.1 + 0.2
    ("small-fits-clustered-first", dict(small={"tq": 150}), "not met"),  # the same step: no order
    ("small-fits-clustered-first", dict(small={"tq": [0, 300]}), "unclear"),
    ("large-noise-limited", dict(b256={"tq": None}), "not met"),  # batch 256 blocked too: step size, not noise
    ("large-noise-limited", dict(large={"tq": 100}), "not met"),  # batch 32 fits Q before the anneal too
    ("large-noise-limited", dict(b256={"tq": [100] + [None] * 7}), "unclear"),
    ("large-learns-clustered-later", dict(large={"tq": [0, 0, 300]}), "unclear"),
    ("large-learns-clustered-after", dict(large={"tq": None}), "not met"),
    ("large-learns-clustered-after", dict(small={"tq": 300}), "not testable at this scale"),  # blocked by the regime
])
def test_synthetic_preconditions_can_fail(check, over, verdict):
    assert _judge_synth(_synth_runs(**over))[f"li2019.synthetic.{check}"] == verdict


def test_fit_steps_read_never_as_censored_after_the_run():
    m = L.measure_synthetic(_synth_runs(small={"tp": None}), 200)["li2019.synthetic.small-fits-clustered-first"]
    assert m.value == 450 - 50  # P never fitted: the run's end (400) + one log interval, minus Q's 50


def _patch_runs(over=None, seeds=32, anneal_epoch=3, epochs=4, schedules=L.SCHEDULES):
    """A patch run table (epochs 0..epochs); over: schedule → column → value or per-seed list (cycled; pre-anneal
    epochs), or column + '@end' for the final epoch."""
    base = {
        "small_lr": dict(train_acc=0.99, train_patch_only_acc=0.98, train_loss=0.05, patch_acc=0.98,
                         conflict_patch_wins=0.9, clean_acc=0.80),
        "large_lr": dict(train_acc=0.80, train_patch_only_acc=0.1, train_loss=0.6, patch_acc=0.1,
                         conflict_patch_wins=0.05, clean_acc=0.75, **{"patch_acc@end": 0.99, "clean_acc@end": 0.86}),
        "act_noise": dict(train_acc=0.80, train_patch_only_acc=0.1, train_loss=0.5, patch_acc=0.1,
                          conflict_patch_wins=0.05, clean_acc=0.75, **{"clean_acc@end": 0.84}),
    }
    rows = []
    for sched, vals in base.items():
        if sched not in schedules:
            continue
        v = {**vals, **(over or {}).get(sched, {})}
        pick = lambda k, s: v[k][s % len(v[k])] if isinstance(v[k], (list, tuple)) else v[k]
        for s in range(seeds):
            for e in range(epochs + 1):
                row = {k: pick(k, s) for k in v if "@" not in k}
                if e == epochs:
                    row.update({k.split("@")[0]: pick(k, s) for k in v if k.endswith("@end")})
                rows.append({"schedule": sched, "seed_idx": s, "epoch": e, **row})
    df = pd.DataFrame(rows)
    return df.assign(clean_acc_final=df.clean_acc)  # the gaps read the final clean set


def _judge_patch(runs, anneal_epoch=3, strong=None):
    """Verdicts of the patch notebook's rows: the official arm `runs`, the stronger-patch arm `strong` (default:
    the paper's picture)."""
    strong = _patch_runs(schedules=("small_lr", "large_lr")) if strong is None else strong
    measured = L.measure_patch(runs, anneal_epoch) | L.measure_strong(strong, anneal_epoch)
    return {r.claim.id: r.verdict for r in claims.judge(REG, "patch", measured)}


def test_patch_claims_reproduced_on_the_paper_picture():
    got = _judge_patch(_patch_runs())
    assert all(v in ("met", "reproduced") for v in got.values()), got


@pytest.mark.parametrize("claim, col, sched", [("gap-clean", "clean_acc@end", "large_lr"),
                                               ("act-noise-helps", "clean_acc@end", "act_noise")])
def test_patch_gap_claims_can_fail(claim, col, sched):
    cid = f"li2019.patch.{claim}"
    assert _judge_patch(_patch_runs({sched: {col: 0.70}}))[cid] == "not reproduced"
    straddle = _judge_patch(_patch_runs({sched: {col: [0.799, 0.801, 0.800]}, "small_lr": {"clean_acc": 0.80}}))
    assert straddle[cid] == "inconclusive"
    no_fit = _judge_patch(_patch_runs({"small_lr": {"train_patch_only_acc": 0.2}}))  # nothing memorised
    assert no_fit[cid] == "not testable at this scale"


def test_patch_gap_needs_the_order_rows():
    # the large LR decodes the patch before the anneal: the gap cannot be attributed to the mechanism
    got = _judge_patch(_patch_runs({"large_lr": {"patch_acc": 0.9}}))
    assert got["li2019.patch.large-ignores-patch"] == "not met"
    assert got["li2019.patch.gap-clean"] == "not testable at this scale"


@pytest.mark.parametrize("check, over, verdict", [
    ("small-fits-train", {"small_lr": {"train_acc": 0.7}}, "not met"),
    ("small-fits-patch-only", {"small_lr": {"train_patch_only_acc": [0.80, 0.90, 0.95]}}, "unclear"),
    ("large-noise-limited", {"large_lr": {"train_loss": 0.01}}, "not met"),
    ("small-memorises-patch", {"small_lr": {"patch_acc": 0.3}}, "not met"),
    ("small-conflict-patch-wins", {"small_lr": {"conflict_patch_wins": 0.1}}, "not met"),
    ("large-ignores-patch", {"large_lr": {"patch_acc": [0.1, 0.3, 0.5]}}, "unclear"),
    ("large-learns-patch-after", {"large_lr": {"patch_acc@end": 0.2}}, "not met"),
    ("large-learns-patch-after", {"small_lr": {"train_acc": 0.2}}, "not testable at this scale"),
])
def test_patch_preconditions_can_fail(check, over, verdict):
    assert _judge_patch(_patch_runs(over))[f"li2019.patch.{check}"] == verdict


def test_registry_ids_match_the_measure_functions():
    assert set(L.measure_synthetic(_synth_runs(), 100)) == {c.id for c in REG.for_notebook("synthetic")}
    strong = L.measure_strong(_patch_runs(schedules=("small_lr", "large_lr")), 3)
    assert set(L.measure_patch(_patch_runs(), 3)) | set(strong) == {c.id for c in REG.for_notebook("patch")}
    assert set(L.measure_patch(_patch_runs(), 3)) == set(L.PATCH_IDS) and set(strong) == set(L.STRONG_IDS)


# ---------------------------------------------------------------------------------------------------------------
# The stronger patch (issue 29): its calibration rule and its rows
# ---------------------------------------------------------------------------------------------------------------


def test_first_memorised_is_the_smallest_sep_with_every_init_at_the_level():
    assert L.first_memorised({0.5: [0.97, 0.80], 0.6: [0.96, 0.95], 0.8: [1.0, 1.0]}, 0.95) == 0.6
    assert L.first_memorised({0.8: [1.0], 0.5: [0.95]}, 0.95) == 0.5  # the smallest, whatever the order
    assert L.first_memorised({0.5: [0.5], 0.6: []}, 0.95) is None


def test_calibrate_sep_stops_at_the_first_qualifying_sep_on_its_own_inits(monkeypatch):
    cfg = dataclasses.replace(L.PATCH_PRESETS["smoke"], n_train=64, n_test=16, n_final_test=16, n_patch_only=16,
                              batch_size=32, epochs=3, anneal_epoch=3, widths=(4,), strong_seps=(1.0, 0.5, 0.7),
                              calib_seeds=2, strong_level=0.0)
    seen = []
    real = L.protocol.run_patch
    monkeypatch.setattr(L.protocol, "run_patch",
                        lambda c, d, s, seed=0: seen.append((c, s, seed)) or real(c, d, s, seed))
    sep, table = L.calibrate_sep(cfg, seed=4)
    assert sep == 0.5 and len(seen) == 1  # level 0: the smallest ζ qualifies, the sweep stops there
    c, sched, seed = seen[0]
    assert (sched, seed, c.seeds, c.epochs, c.patch_sep) == ("small_lr", 5, 2, 2, 0.5)  # own inits, pre-anneal
    assert list(table.seed_idx) == [0, 1] and (table.epoch == 2).all() and (table.chosen_by == "the rule").all()
    sep, table = L.calibrate_sep(dataclasses.replace(cfg, strong_level=1.1), seed=4)
    assert sep == 1.0 and sorted(table.sep.unique()) == [0.5, 0.7, 1.0] and table.chosen_by.iloc[0].startswith("no")


def test_strong_rows_reproduced_on_the_paper_picture_and_the_lag_gates_the_gap():
    two = ("small_lr", "large_lr")
    got = _judge_patch(_patch_runs(), strong=_patch_runs(schedules=two))
    assert all(v in ("met", "reproduced") for k, v in got.items() if ".strong." in k), got
    # mechanism removed: the large LR decodes the patch as early as the small LR
    same = _judge_patch(_patch_runs(), strong=_patch_runs({"large_lr": {"patch_acc": 0.98}}, schedules=two))
    assert same["li2019.patch.strong.large-lags-patch"] == "not met"
    assert same["li2019.patch.strong.gap-clean"] == "not testable at this scale"
    worse = _judge_patch(_patch_runs(), strong=_patch_runs({"large_lr": {"clean_acc@end": 0.70}}, schedules=two))
    assert worse["li2019.patch.strong.gap-clean"] == "not reproduced"
    # the gap does not need the post-anneal row (it is a claim of its own)
    late = _judge_patch(_patch_runs(), strong=_patch_runs({"large_lr": {"patch_acc@end": 0.3}}, schedules=two))
    assert late["li2019.patch.strong.large-learns-patch-after"] == "not reproduced"
    assert late["li2019.patch.strong.gap-clean"] == "reproduced"


def test_official_arm_stopped_at_the_anneal_leaves_its_later_rows_missing():
    pre = _patch_runs(epochs=2, schedules=("small_lr", "large_lr"))  # epochs 0..2, the anneal at 3
    m = L.measure_patch(pre, 3)
    for k in ("large-learns-patch-after", "gap-clean", "act-noise-helps"):
        assert not m[f"li2019.patch.{k}"].measured, k
    assert m["li2019.patch.small-memorises-patch"].measured
    assert _judge_patch(pre)["li2019.patch.gap-clean"] == "not testable at this scale"


def test_injected_fault_strong_large_arm_at_the_small_lr_gives_no_gap_and_no_lag():
    """The named rival through the real code: the large arm run at the small LR (same inits, same batches)."""
    cfg = dataclasses.replace(L.PATCH_PRESETS["smoke"], n_train=64, n_test=16, n_final_test=16, n_patch_only=16,
                              batch_size=32, epochs=3, anneal_epoch=2, widths=(8,), seeds=3, patch_sep=0.6)
    pdata = L.patch_data(cfg, seed=0)
    same = dataclasses.replace(cfg, lr_large=cfg.lr_small, anneal_factor=1.0)
    runs = pd.concat([L.run_patch(same, pdata, s) for s in ("small_lr", "large_lr")], ignore_index=True)
    m = L.measure_strong(runs, cfg.anneal_epoch)
    for k in ("gap-clean", "large-lags-patch", "large-noise-limited"):
        cid = f"li2019.patch.strong.{k}"
        assert m[cid].value == 0.0, cid
        assert claims.interval_verdict(REG[cid], m[cid]) in ("not reproduced", "not met"), cid


def test_first_fit_needs_the_level_to_hold_to_the_end():
    df = pd.DataFrame({"step": [0, 10, 20, 30, 40], "acc": [0.5, 1.0, 0.5, 1.0, 1.0]})
    assert L.first_fit(df, "acc", 0.9) == 30  # the crossing at step 10 was undone at step 20
    assert L.first_fit(df.assign(acc=[1.0] * 5), "acc", 0.9) == 0
    assert L.first_fit(df.assign(acc=[1.0, 1.0, 1.0, 1.0, 0.5]), "acc", 0.9) == math.inf


# ---------------------------------------------------------------------------------------------------------------
# Calibration (issue 26) and reruns on another CPU (issue 30)
# ---------------------------------------------------------------------------------------------------------------

PUBLISHED = Path(__file__).resolve().parents[1] / "book" / "li-wei-ma2019-large-lr" / "results"


def test_every_row_declares_its_controls():
    for c in REG.claims:
        assert c.kind == "diagnostic" or (c.rival_name and c.controls and c.expect != c.rival), c.id
        # the paper's regime passes the tolerance, the rival does not
        assert c.kind == "diagnostic" or (c.tol[0] <= c.expect <= c.tol[1] and not c.tol[0] <= c.rival <= c.tol[1])


def test_seed_mean_is_a_t_interval_not_the_seeds_range():
    m = L.seed_mean([0.1, 0.2, 0.3])
    assert m.ci_low < 0.1 and m.ci_high > 0.3  # t(2) = 4.30: wider than the min–max range a 3-seed bootstrap gives
    assert m.ci_high - 0.2 == pytest.approx(4.303 * 0.1 / math.sqrt(3), rel=1e-3)
    # a 4-point statistic on which three seeds agree is not exact: at least the binomial interval of 12 points
    q = L.seed_mean([0.5, 0.5, 0.5], points=4, bounds=(0, 1))
    assert q.ci_high - 0.5 == pytest.approx(1.96 * math.sqrt(0.25 / 12), rel=1e-2)
    # the simulator redraws the seeds around a truth with the same rule
    rng = np.random.default_rng(0)
    r = q.simulator(1.0, rng, 2)
    assert r.n == 6 and r.value == 1.0 and r.ci_low == 1.0


FLOAT_PATH = {"synthetic": 1e-3, "patch": 1e-2}  # ≥ the relative change measured under torch's default kernels
# and MKL's compatible GEMM (each Table's reason: ≤ 0.07 % synthetic, ≤ 0.7 % patch); another seed moves early
# epochs/steps by 30-60 %, so a rerun on another CPU is not another seed in these two notebooks


def _another_float_path(nb: str, pub: pd.DataFrame, columns) -> pd.DataFrame:
    """The published table as another CPU would print it: every checked value moved by ±FLOAT_PATH[nb]."""
    sign = np.where(np.arange(len(pub)) % 2, 1.0, -1.0)
    return pub.assign(**{c: pub[c] * (1 + FLOAT_PATH[nb] * sign) for c in columns})


def test_key_tables_survive_another_float_path_and_catch_a_broken_run():
    from replicate import rerun

    for nb in ("synthetic", "patch"):
        (spec,) = REG.tables[nb]
        pub = pd.read_csv(PUBLISHED / f"{nb}.{spec.name}.csv")
        if "arm" in spec.keys and "arm" not in pub:  # a patch table published before issue 29: one arm
            pub = pub.assign(arm="official")
        assert rerun.compare_table(_another_float_path(nb, pub, spec.columns), pub, spec).startswith("agrees"), nb
        col = next(iter(spec.columns))
        broken = pub.assign(**{col: pub[col] * 0.7})
        assert rerun.compare_table(broken, pub, spec).startswith("differs"), nb


def test_injected_fault_large_arm_at_the_small_lr_is_not_reproduced(monkeypatch):
    """The named rival through the real code and the regression fault `synthetic-large-lr-removed`: η_large set to
    η_small in the config `run_synth` receives. Same inits and batch stream as the small arm, so the two arms are
    identical; neither the gap nor the order row may pass, with or without their preconditions."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("faults", Path(__file__).parent / "regressions" / "faults.py")
    faults = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "faults", faults)  # its dataclasses look their module up
    spec.loader.exec_module(faults)
    run = faults.large_lr_removed(L.run_synth)
    cfg = scales.resolve(L.SYNTH_PRESETS, "smoke", {"steps": 60, "anneal_step": 30, "log_every": 10, "init_seeds": 1,
                                                    "data_seeds": 3})
    runs = run(cfg, seed=0, runs=("large_lr", "small_lr"))
    measured = L.measure_synthetic(runs, cfg.anneal_step)
    rows = {r.claim.id: r for r in claims.judge(REG, "synthetic", measured)}
    for cid in ("li2019.synthetic.gap-linear", "li2019.synthetic.large-learns-clustered-later"):
        m = measured[cid]
        assert m.value == 0.0, cid  # identical arms
        assert rows[cid].verdict not in ("reproduced", "met"), cid
        unblocked = claims.verdict(REG[cid], m, calibration=claims.calibrate(REG[cid], m))
        assert unblocked in ("not reproduced", "not met"), (cid, unblocked)

