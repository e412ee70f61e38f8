import math

import pytest
import torch

from replicate import scales
from replicate.papers import thresholds as th


@pytest.fixture(scope="module")
def tiny():
    cfg = scales.resolve(th.PRESETS, "smoke", {"depths": [1], "widths": [16], "steps": 30, "threshold": 0.3,
                                                "rel_tol": 0.2})
    g = torch.Generator().manual_seed(0)
    X = torch.randn(48, 12, generator=g)
    labels = (X[:, :3].argmax(1))  # a learnable 3-class rule, one-hot over 10 outputs
    Y = torch.nn.functional.one_hot(labels, 10).float()
    return cfg, (X[:32], Y[:32], X[32:], Y[32:])


def test_brackets_are_real_successes_and_failures(tiny):
    cfg, data = tiny
    out = th.measure(1, 16, 0, data, cfg)
    assert out["eta_crit"] == pytest.approx(2 / out["lam0"])
    assert math.isfinite(out["eta_max"]), out
    ok = th._runs(torch.tensor([out["eta_max"], out["eta_max_upper"]]), 1, 16, 0, data, cfg)
    assert list(ok.converged) == [True, False]
    assert out["eta_max"] <= out["eta_max_upper"] <= out["eta_max"] * (1 + cfg.rel_tol) * 1.0001


def test_dead_or_overflowing_runs_do_not_train(tiny):
    cfg, data = tiny
    ok = th._runs(torch.tensor([1e-3, 1e3]), 1, 16, 0, data, cfg)
    assert not bool(ok.converged.iloc[1])  # a huge LR overflows or dies
