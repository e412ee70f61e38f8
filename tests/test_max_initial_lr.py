"""Tests for replicate.papers.max_initial_lr: grid, fits, the η* bracketing and λ1 at init."""

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
import torch

from replicate import scales
from replicate.ensemble import Member, TrainConfig, train_ensemble
from replicate.papers import max_initial_lr as mil


def test_grid_keeps_wide_networks_within_budget():
    assert mil.grid((2, 4), (32, 64, 128), 16, 512) == [(2, 32), (2, 64), (2, 128), (4, 64), (4, 128)]
    assert mil.grid((2, 4), (32, 64, 128), 16, 256) == [(2, 32), (2, 64), (2, 128), (4, 64)]


@pytest.mark.parametrize("presets, dry", [(mil.ETA_PRESETS, mil.ETA_DRY_RUN), (mil.SHARP_PRESETS, mil.SHARP_DRY_RUN)])
def test_presets_and_dry_runs_validate(presets, dry):
    for scale in scales.SCALES:
        scales.resolve(presets, scale)
    cfg = scales.resolve(presets, "paper", dry_run=True, dry_overrides=dry)
    assert max(cfg.widths) == max(presets["paper"].widths)  # the dry run keeps the paper's widest layer


def test_bad_parameters_fail_with_one_line():
    with pytest.raises(scales.ParameterError, match="threshold"):
        scales.resolve(mil.ETA_PRESETS, "cpu", {"threshold": 1.5})
    with pytest.raises(scales.ParameterError, match="no \\(depth, width\\)"):
        scales.resolve(mil.ETA_PRESETS, "cpu", {"depths": (64,)})
    with pytest.raises(scales.ParameterError, match="dataset"):
        scales.resolve(mil.SHARP_PRESETS, "cpu", {"dataset": "digits"})


def _table(p: float, noise: float, seeds: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    rows = [{"depth": d, "width": w, "seed": s, "y": 3.0 * (d * w) ** p * math.exp(noise * rng.standard_normal())}
            for d, w in [(2, 64), (2, 128), (4, 64), (4, 128), (8, 128), (2, 512)] for s in range(seeds)]
    return pd.DataFrame(rows)


def test_fit_recovers_an_exact_power_law():
    fit = mil.fit_power_law(_table(-0.7, 0.0), "y", n_boot=50)
    assert fit["p"] == pytest.approx(-0.7, abs=1e-9)
    assert fit["a"] == pytest.approx(math.log(3.0), abs=1e-9)
    assert fit["r2"] == pytest.approx(1.0, abs=1e-12)
    assert fit["p_lo"] == pytest.approx(-0.7, abs=1e-9) and fit["p_hi"] == pytest.approx(-0.7, abs=1e-9)
    assert fit["points"] == 6


def test_fit_interval_covers_the_truth_and_widens_with_noise():
    narrow = mil.fit_power_law(_table(-0.7, 0.05), "y", n_boot=400)
    wide = mil.fit_power_law(_table(-0.7, 0.3), "y", n_boot=400)
    assert narrow["p_lo"] < -0.7 < narrow["p_hi"]
    assert wide["p_hi"] - wide["p_lo"] > narrow["p_hi"] - narrow["p_lo"]
    assert wide["r2"] < 1.0


def test_fit_needs_three_products_and_drops_failures():
    df = _table(-0.5, 0.0)
    df.loc[~(df.depth * df.width).isin([128, 256]), "y"] = np.nan  # 3 configurations, 2 products
    fit = mil.fit_power_law(df, "y")
    assert math.isnan(fit["p"]) and fit["points"] == 3


def test_equal_product_pairs_and_spread():
    means = pd.DataFrame({"depth": [2, 4, 2, 4], "width": [128, 64, 256, 128], "y": [1.0, 1.5, 0.5, 0.25]})
    pairs = mil.equal_product_ratios(means, "y")
    assert list(pairs.pair) == ["(2, 128) vs (4, 64)", "(2, 256) vs (4, 128)"]
    assert list(pairs.ratio) == pytest.approx([1.5, 2.0])
    assert mil.spread(pd.Series([0.5, 2.0, np.nan])) == pytest.approx(4.0)
    assert math.isnan(mil.spread(pd.Series([1.0, np.nan])))


def test_geometric_means_over_seeds():
    df = pd.DataFrame({"depth": [2, 2], "width": [64, 64], "y": [1.0, 4.0]})
    g = mil.geometric_means(df, "y")
    assert g.y.iloc[0] == pytest.approx(2.0) and g.dw.iloc[0] == 128


def _toy(n=256, dim=8, seed=0):
    """Two well-separated Gaussian blobs (labels 0/1 of 10 classes): easy to fit at a moderate LR."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    X = torch.randn(n, dim, generator=g) * 0.3 + (2 * y[:, None] - 1) * 1.5
    return X, y, X[: n // 4], y[: n // 4]


def _cfg(**kw):
    base = mil.ETA_PRESETS["smoke"]
    return dataclasses.replace(base, **{"steps": 30, "batch_size": 32, "eval_every": 10, "threshold": 0.9,
                                        "lr_lo": 0.01, "lr_hi": 1e4, "rel_tol": 0.3, "points_per_round": 3, **kw})


def test_eta_star_brackets_a_success_below_a_failure():
    data = _toy()
    cfg = _cfg()
    r = mil.eta_star(2, 16, 0, 1.0, data, cfg)
    assert r["status"] == "ok"
    assert cfg.lr_lo <= r["eta_star"] == r["lower"] < r["upper"] <= r["lower"] * (1 + cfg.rel_tol)
    ok = mil.reaches_threshold(torch.tensor([r["lower"], r["upper"]]), 2, 16, 0, 1.0, data, cfg)
    assert ok[0] and not ok[1]


def test_eta_star_reports_an_unreachable_threshold():
    r = mil.eta_star(2, 16, 0, 1.0, _toy(), _cfg(threshold=0.999999, steps=1, eval_every=1))
    assert r["status"] == "lo fails" and math.isnan(r["eta_star"])


def test_init_model_is_the_ensemble_members_init():
    X, y, _, _ = _toy()
    res = train_ensemble(lambda: mil.make_model(8, 3, 16), [Member(7, 0.1)], X, y,
                         TrainConfig(steps=0, loss="ce", progress=False))
    model = mil.init_model(8, 3, 16, seed=7)
    for name, p in model.named_parameters():
        assert torch.equal(res.params[name][0], p.detach())


def test_sharpness_matches_the_exact_hessian():
    X, y, _, _ = _toy(n=32, dim=3)
    cfg = dataclasses.replace(mil.SHARP_PRESETS["smoke"], max_iter=200, tol=1e-6)
    lam = mil.sharpness_at_init(2, 4, 3, X.double(), y, cfg)["lam1"]
    model = mil.init_model(3, 2, 4, seed=3).double()
    names = [n for n, _ in model.named_parameters()]
    flat = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    shapes = [p.shape for p in model.parameters()]

    def loss(v):
        params, i = {}, 0
        for n, s in zip(names, shapes):
            params[n] = v[i:i + s.numel()].view(s)
            i += s.numel()
        out = torch.func.functional_call(model, params, (X.double(),))
        return torch.nn.functional.cross_entropy(out, y)

    exact = torch.linalg.eigvalsh(torch.autograd.functional.hessian(loss, flat)).max().item()
    assert lam == pytest.approx(exact, rel=1e-6)
