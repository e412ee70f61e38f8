import dataclasses
import math
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


def test_synthetic_components_by_construction():
    cfg = L.SYNTH_PRESETS["smoke"]
    sd = L.synth_data(cfg.spec, cfg.n_train, cfg.n_test, seed=0)
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
                              epochs=2, anneal_epoch=2, widths=(4,), seeds=1)
    pdata = L.patch_data(cfg, seed=0)
    assert pdata.X_train.shape[1:] == (3, 28, 28)  # MNIST copied into 3 channels: the official 7×7×3 patch
    df = L.run_patch(cfg, pdata, "large_lr")
    assert list(df.epoch) == [0, 1, 2]
    assert df.lr.tolist()[1:] == pytest.approx([0.1, 0.004])
    cols = ["train_acc", "train_patch_only_acc", "train_loss", "clean_acc", "mixed_acc", "patch_acc",
            "conflict_patch_wins", "conflict_image_wins"]
    assert df[cols].notna().all().all()


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
# The calibration rule of the toy
# ---------------------------------------------------------------------------------------------------------------


def _times(rows):
    return pd.DataFrame(rows, columns=["lr", "t_linear", "t_clustered", "t_all", "final_loss", "diverged"])


def test_choose_rates_follows_the_rule():
    inf = math.inf
    t = _times([(0.1, inf, inf, inf, 0.6, False),  # too slow: fits nothing
                (0.5, 100, 300, 400, 0.1, False),  # smallest that memorises → η_small
                (1.0, 50, 200, 300, 0.1, False),  # also memorises
                (4.0, 40, inf, inf, 0.4, False),  # blocked on the clustered pattern, fits the linear → η_large
                (8.0, 30, inf, inf, 0.5, False),
                (16.0, inf, inf, inf, inf, True)])
    got = L.choose_rates(t, budget=500)
    assert got == {"lr_small": 0.5, "lr_large": 4.0, "found": True, "why": "by the rule"}
    # no η is blocked on the clustered pattern: the mechanism is absent, the fallback is stated
    none = L.choose_rates(t[t.lr <= 1.0], budget=500)
    assert not none["found"] and none["lr_small"] == 0.1 and none["lr_large"] == 1.0
    assert "no η above η_small" in none["why"]
    assert not L.choose_rates(t[t.lr == 0.1], budget=500)["found"]


def test_fit_times_and_calibration_smoke():
    cfg = scales.resolve(L.SYNTH_PRESETS, "smoke", {"steps": 40, "log_points": 4})
    sd = L.synth_data(cfg.spec, cfg.n_train, cfg.n_test, seed=0)
    cal = L.calibrate(cfg, sd)
    assert set(cal.lr) == set(cfg.lr_grid) and cal.step.max() == cfg.anneal_step
    times = L.fit_times(cal)
    assert list(times.lr) == sorted(cfg.lr_grid) and {"t_linear", "t_clustered", "t_all"} <= set(times.columns)


# ---------------------------------------------------------------------------------------------------------------
# Every claim can fail: synthetic tables the paper forbids, that straddle an edge, or that break a precondition
# ---------------------------------------------------------------------------------------------------------------


SEEDS = 64  # enough seeds for every synthetic row to decide (the 4-point rows need ~20× the 3 seeds of cpu)


def _synth_runs(small=None, large=None, seeds=SEEDS, anneal=100, end=200):
    """A run table: per run, per seed, the values before the anneal (step anneal) and at the end.
    small / large override dicts of column → value or a list of per-seed values (cycled over the seeds)."""
    good_small = dict(train_all=0.99, train_clustered=1.0, train_loss=0.05, test_clustered=1.0,
                      test_linear=0.80, test_mixed=0.90)
    good_large = dict(train_all=0.85, train_clustered=0.5, train_loss=0.40, test_clustered=0.5,
                      test_linear=0.90, test_mixed=0.95, end_clustered=1.0)
    rows = []
    for run, base, over in (("small_lr", good_small, small or {}), ("large_lr", good_large, large or {})):
        v = {**base, **over}
        pick = lambda k, s: v[k][s % len(v[k])] if isinstance(v[k], (list, tuple)) else v[k]
        for s in range(seeds):
            for step in (anneal, end):
                row = {k: pick(k, s) for k in base if k != "end_clustered"}
                if run == "large_lr" and step == end:
                    row["test_clustered"] = pick("end_clustered", s)
                rows.append({"run": run, "seed_idx": s, "step": step, **row})
    return pd.DataFrame(rows)


def _judge_synth(runs):
    return {r.claim.id: r.verdict for r in claims.judge(REG, "synthetic", L.measure_synthetic(runs, 100))}


def test_synthetic_claims_reproduced_on_the_paper_picture():
    got = _judge_synth(_synth_runs())
    assert all(v in ("met", "reproduced") for v in got.values()), got


@pytest.mark.parametrize("claim", ["gap-mixed", "gap-linear"])
def test_synthetic_gap_claims_can_fail(claim):
    col = {"gap-mixed": "test_mixed", "gap-linear": "test_linear"}[claim]
    cid = f"li2019.synthetic.{claim}"
    forbidden = _judge_synth(_synth_runs(small={col: 0.99}))  # the small LR generalises better
    assert forbidden[cid] == "not reproduced"
    straddle = _judge_synth(_synth_runs(small={col: [0.899, 0.901, 0.900]}, large={col: 0.90}))
    assert straddle[cid] == "inconclusive"
    wide = _judge_synth(_synth_runs(small={col: [0.80, 0.99, 0.90]}, large={col: 0.92}, seeds=3))
    assert wide[cid] == "not testable at this scale"  # 3 seeds: the 4-point order row cannot decide
    m = L.measure_synthetic(_synth_runs(small={col: [0.80, 0.99, 0.90]}, large={col: 0.92}, seeds=3), 100)[cid]
    assert claims.verdict(REG[cid], m, calibration=claims.calibrate(REG[cid], m)) == "underpowered"
    no_regime = _judge_synth(_synth_runs(small={"train_clustered": 0.6}))  # the small LR did not memorise
    assert no_regime[cid] == "not testable at this scale"
    no_order = _judge_synth(_synth_runs(large={"test_clustered": 0.9}))  # the large LR fitted it early
    assert no_order[cid] == "not testable at this scale"


@pytest.mark.parametrize("check, over, verdict", [
    ("small-fits-train", dict(small={"train_all": 0.8}), "not met"),
    ("small-fits-train", dict(small={"train_all": [0.92, 0.96, 0.98]}), "unclear"),
    ("small-fits-clustered", dict(small={"train_clustered": 0.5}), "not met"),
    ("large-noise-limited", dict(large={"train_loss": 0.01}), "not met"),
    ("large-noise-limited", dict(large={"train_loss": [0.0, 0.06, 0.12]}), "unclear"),
    ("large-noise-limited", dict(large={"train_loss": 0.05}), "not met"),  # identical arms: [0, 0] does not exclude 0
    ("large-ignores-clustered", dict(large={"test_clustered": 0.95}), "not met"),
    ("large-ignores-clustered", dict(small={"train_all": 0.5}), "not testable at this scale"),  # blocked by the regime
    ("large-learns-clustered-after", dict(large={"end_clustered": 0.6}), "not met"),
])
def test_synthetic_preconditions_can_fail(check, over, verdict):
    assert _judge_synth(_synth_runs(**over))[f"li2019.synthetic.{check}"] == verdict


def _patch_runs(over=None, seeds=32, anneal_epoch=3, epochs=4):
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
        v = {**vals, **(over or {}).get(sched, {})}
        pick = lambda k, s: v[k][s % len(v[k])] if isinstance(v[k], (list, tuple)) else v[k]
        for s in range(seeds):
            for e in range(epochs + 1):
                row = {k: pick(k, s) for k in v if "@" not in k}
                if e == epochs:
                    row.update({k.split("@")[0]: pick(k, s) for k in v if k.endswith("@end")})
                rows.append({"schedule": sched, "seed_idx": s, "epoch": e, **row})
    return pd.DataFrame(rows)


def _judge_patch(runs, anneal_epoch=3):
    return {r.claim.id: r.verdict for r in claims.judge(REG, "patch", L.measure_patch(runs, anneal_epoch))}


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
    assert set(L.measure_patch(_patch_runs(), 3)) == {c.id for c in REG.for_notebook("patch")} == set(L.PATCH_IDS)


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


def test_published_clustered_max_reads_underpowered_and_covers_the_other_cpu():
    # issue 30: on another CPU the large LR's max clustered-only accuracy printed 0.50 where ours has 0.75 (4
    # distinct points). Its interval now covers both, and at 3 seeds its test cannot decide (underpowered).
    runs = pd.read_csv(PUBLISHED / "synthetic.runs.csv")
    cid = "li2019.synthetic.large-ignores-clustered"
    m = L.measure_synthetic(runs, 1500)[cid]
    assert m.n == 3 and m.ci_low < 0.5 and m.ci_high > 0.75
    cal = claims.calibrate(REG[cid], m)
    assert claims.verdict(REG[cid], m, calibration=cal) == "underpowered" and "×" in cal.design


def test_key_tables_survive_a_new_seed_and_catch_a_broken_run():
    from replicate import rerun

    for nb in ("synthetic", "patch"):
        (spec,) = REG.tables[nb]
        pub = pd.read_csv(PUBLISHED / f"{nb}.{spec.name}.csv")
        swapped = pub.assign(seed_idx=pub.seed_idx.map({0: 1, 1: 0, 2: 2}))  # a chaotic rerun ≈ another seed
        assert rerun.compare_table(swapped, pub, spec).startswith("agrees"), nb
        col = next(iter(spec.columns))
        broken = pub.assign(**{col: pub[col] * 0.7})
        assert rerun.compare_table(broken, pub, spec).startswith("differs"), nb


def test_injected_fault_large_arm_at_the_small_lr_is_not_reproduced():
    """The named rival through the real code: the large-LR arm run at the small LR (the mechanism removed). Same
    inits and batch stream as the small arm, so both arms are identical; neither the gaps nor the noise-limited
    check may pass, with or without their preconditions."""
    cfg = scales.resolve(L.SYNTH_PRESETS, "smoke", {"steps": 60, "log_points": 6, "seeds": 3})
    sd = L.synth_data(cfg.spec, cfg.n_train, cfg.n_test, seed=0)
    eta = cfg.lr_grid[0]
    runs = pd.concat([L.run_synth(cfg, sd, {"large_lr": (eta, eta)}, cfg.steps, cfg.seeds),
                      L.run_synth(cfg, sd, {"small_lr": (eta, eta)}, cfg.steps, cfg.seeds)], ignore_index=True)
    measured = L.measure_synthetic(runs, cfg.anneal_step)
    rows = {r.claim.id: r for r in claims.judge(REG, "synthetic", measured)}
    for cid in ("li2019.synthetic.gap-mixed", "li2019.synthetic.gap-linear", "li2019.synthetic.large-noise-limited"):
        m = measured[cid]
        assert m.value == 0.0, cid  # identical arms
        assert rows[cid].verdict not in ("reproduced", "met"), cid
        unblocked = claims.verdict(REG[cid], m, calibration=claims.calibrate(REG[cid], m))
        assert unblocked in ("not reproduced", "not met"), (cid, unblocked)
