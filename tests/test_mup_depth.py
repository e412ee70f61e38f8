import numpy as np
import pandas as pd
import pytest
import torch

from replicate import fits, scales
from replicate.papers import mup_depth as md


def _setup(n=64, depth=3, n0=8, batch=2, seed=0, lr_table="mean_field"):
    model = md.make_model(n0, n, depth, seed)
    x, y = md.gaussian_batch(batch, n0, seed + 100)
    return model, x, y, md.mean_field_table(n0, n, depth, lr_table)


def test_table_matches_mean_field_init_and_mup_lrs():
    n, depth, n0 = 128, 3, 16
    table = md.mean_field_table(n0, n, depth)
    assert list(table.kind) == ["input", "hidden", "hidden", "output"]
    assert table.lr_scale.tolist() == pytest.approx([n / n0, 1.0, 1.0, 1 / n])
    model = md.make_model(n0, n, depth, seed=0)
    for row, layer in zip(table.itertuples(), model.layers):
        assert layer.bias is None
        assert layer.weight.var().item() == pytest.approx(row.init_var, rel=0.1)
    assert (md.mean_field_table(n0, n, depth, "unit").lr_scale == 1.0).all()


def test_make_model_is_seeded_and_leaves_global_rng_alone():
    state = torch.random.get_rng_state()
    a, b = md.make_model(4, 16, 2, seed=5), md.make_model(4, 16, 2, seed=5)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def test_linear_response_is_the_small_step_limit_of_the_full_step():
    model, x, y, table = _setup()
    c, _ = md.linear_response(model, x, y, table)
    etas = np.array([1e-6, 1e-5])
    m = md.full_step(model, x, y, table, etas)
    assert (m / (float(c[-1]) * etas**2)).numpy() == pytest.approx([1.0, 1.0], rel=1e-3)


def test_linear_response_of_one_hidden_layer_equals_hand_gradient():
    """L = 1: Δz¹ = −η (n/n₀) Σ_b δ¹_b (x_b·x), δ¹_b = (f_b − y_b)/B · W² ⊙ 1[z¹_b > 0]."""
    n, n0, batch = 32, 8, 3
    model, x, y, table = _setup(n=n, depth=1, n0=n0, batch=batch)
    W1, W2 = model.layers[0].weight, model.layers[1].weight
    z = x @ W1.T
    f = torch.relu(z) @ W2.T
    delta = (f - y) / batch * W2 * (z > 0)
    dz = -(n / n0) * (x @ x.T) @ delta
    c, _ = md.linear_response(model, x, y, table, groups=("input",))
    assert float(c[0]) == pytest.approx(float(dz.pow(2).mean()), rel=1e-10)


def test_group_responses_add_up_to_the_whole_step():
    model, x, y, table = _setup()
    params = {k: v.detach() for k, v in model.named_parameters()}
    t = md.step_direction(model, x, y, table)
    whole = torch.func.jvp(lambda p: md._outputs(model, p, x), (params,), (t,))[1][-2]
    parts = 0
    for group in md.GROUPS:
        kinds = md._kinds(model)
        tg = {k: v if kinds[k] == group else torch.zeros_like(v) for k, v in t.items()}
        parts = parts + torch.func.jvp(lambda p: md._outputs(model, p, x), (params,), (tg,))[1][-2]
    assert torch.allclose(whole, parts, rtol=1e-10, atol=1e-14)


def test_full_step_eta_star_solves_m_equals_one():
    model, x, y, table = _setup()
    c, _ = md.linear_response(model, x, y, table)
    eta = md.full_step_eta_star(model, x, y, table, float(c[-1]) ** -0.5)
    assert float(md.full_step(model, x, y, table, np.array([eta]))[0]) == pytest.approx(1.0, rel=1e-6)


def test_depth_exponent_is_three_when_width_dominates_depth():
    """Claim 18 at a small size: C_L ∝ L^s with s ∈ [2.7, 3.3] over L = 2, 4, 8 at n = 512 ≥ 64L."""
    cfg = md.UpdateSizeConfig(widths=(512,), depths=(2, 4, 8), seeds=6, fit_depths=(2, 4, 8), fit_ratio=32,
                              eta_points=2, bootstrap=50)
    lin, _ = md.update_sizes(cfg)
    slope, _, _ = md.depth_fit(lin, cfg, 512)
    assert 2.7 <= slope <= 3.3


def test_hidden_rate_is_width_independent_and_edges_are_not():
    """Unit LRs: input C_L ∝ n⁻², output C_f ∝ n², hidden flat (width exponents over n = 64 … 1024)."""
    cfg = md.UpdateSizeConfig(widths=(64, 256, 1024), depths=(2,), seeds=4, group_depth=2, bootstrap=10)
    scan = md.group_width_scan(cfg)
    exp = {k: fits.power_law(g, "n", "C", average="arithmetic", n_boot=10)["p"] for k, g in scan.groupby(["lr_table", "group"])}
    assert exp[("unit", "input")] == pytest.approx(-2, abs=0.3)
    assert exp[("unit", "output")] == pytest.approx(2, abs=0.3)
    assert exp[("unit", "hidden")] == pytest.approx(0, abs=0.3)
    assert all(abs(exp[("mean_field", g)]) <= 0.3 for g in md.GROUPS)


def test_config_validation_and_presets():
    for scale in scales.SCALES:
        scales.resolve(md.UPDATE_PRESETS, scale, dry_run=True, dry_overrides=md.UPDATE_DRY_RUN)
    with pytest.raises(scales.ParameterError, match="eta_min must be < eta_max"):
        scales.resolve(md.UPDATE_PRESETS, "smoke", dict(eta_min=1.0, eta_max=0.1))
    with pytest.raises(scales.ParameterError, match="seeds must be > 0"):
        scales.resolve(md.UPDATE_PRESETS, "smoke", dict(seeds=0))
    cfg = md.UPDATE_PRESETS["cpu"]
    assert (2048, 32) not in cfg.pairs() and (1024, 32) in cfg.pairs()


def test_stepped_forward_equals_the_model_with_updated_weights():
    model, x, y, table = _setup(batch=1)
    t = md.step_direction(model, x, y, table)
    params = {k: v.detach() + 0.3 * t[k] for k, v in model.named_parameters()}
    expected = md._outputs(model, params, x)[-2]
    assert torch.allclose(md._stepped_preactivation(model, t, x, 0.3), expected, rtol=1e-12, atol=1e-12)


# ---- notebook lr-sweep -------------------------------------------------------------------------------------


def test_lr_sweep_presets_validate_and_grid_is_log2_spaced():
    for cfg in md.LR_SWEEP_PRESETS.values():
        cfg.validate()
    cfg = md.LR_SWEEP_PRESETS["cpu"]
    lrs = cfg.lrs("mup")
    assert lrs[0] == pytest.approx(2**-5) and lrs[-1] == pytest.approx(16.0)
    assert np.diff(np.log2(lrs)) == pytest.approx(np.full(len(lrs) - 1, 1 / cfg.lr_per_octave))
    with pytest.raises(scales.ParameterError):
        md.LRSweepConfig(width=8, depths=(2,), seeds=1, steps=1, coord_widths=(8,), coord_depths=(2,),
                         parametrizations=("ntk",)).validate()


def test_library_mup_table_gives_the_mean_field_rates():
    """The library's μP LR multipliers equal the chapter's `mean_field_table` (input η·n/n₀)."""
    from replicate.models import lr_multipliers

    n, n0 = 64, 8
    mult = lr_multipliers(md.MLP(n0, n, 3, 1, parametrization="mup", bias=False))
    table = md.mean_field_table(n0, n, 3)
    assert [mult[f"{layer}.weight"] for layer in table.layer] == pytest.approx(table.lr_scale.tolist())


def test_coordinate_check_is_linear_in_lr_at_small_lr_and_zero_without_steps():
    X, Y = md.gaussian_batch(4, 8, seed=1, dtype=torch.float32)
    a = md.coordinate_check("mup", 32, 2, X, Y, lr=1e-5, steps=1, seed=0)
    b = md.coordinate_check("mup", 32, 2, X, Y, lr=2e-5, steps=1, seed=0)
    assert b["rms_dz"] / a["rms_dz"] == pytest.approx(2.0, rel=1e-2)
    assert md.coordinate_check("sp", 32, 2, X, Y, lr=1e-3, steps=0, seed=0)["rms_dz"] == 0.0


def test_depth_mup_coordinate_change_is_mup_times_depth_factor_in_linear_regime():
    """depth-μP scales every LR by L^(−3/2), so at small η its Δz is μP's × L^(−3/2)."""
    X, Y = md.gaussian_batch(4, 8, seed=1, dtype=torch.float32)
    depth = 4
    m = md.coordinate_check("mup", 32, depth, X, Y, lr=1e-5, steps=1, seed=0)["rms_dz"]
    d = md.coordinate_check("depth_mup", 32, depth, X, Y, lr=1e-5, steps=1, seed=0)["rms_dz"]
    assert d / m == pytest.approx(depth**-1.5, rel=1e-2)


def test_optimal_lrs_skips_diverged_runs():
    runs = pd.DataFrame({"parametrization": "mup", "depth": 2, "seed": 0, "lr": [0.1, 0.2, 0.4],
                         "final_loss": [0.5, 0.3, np.nan], "diverged": [False, False, True]})
    opt = md.optimal_lrs(runs)
    assert opt.lr_opt.tolist() == [0.2] and opt.final_loss.tolist() == [0.3]


def test_lr_sweep_point_has_one_row_per_member_and_flags_divergence():
    cfg = md.LRSweepConfig(width=16, depths=(2,), seeds=2, steps=3, coord_widths=(16,), coord_depths=(2,),
                           n_train=32, batch_size=16, lr_ranges=(("sp", 2**-4, 2**12),), parametrizations=("sp",),
                           lr_per_octave=1)
    X, Y = md.gaussian_batch(32, 8, seed=2, dtype=torch.float32)
    Y = torch.nn.functional.one_hot(torch.arange(32) % 3, 3).float()
    out = md.lr_sweep_point(cfg, "sp", 2, X, Y)
    assert len(out) == len(cfg.lrs("sp")) * cfg.seeds
    assert not out.diverged.iloc[0] and out.diverged.iloc[-1]
    assert out.final_loss.isna().tolist() == out.diverged.tolist()
