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


def test_measure_records_the_lower_end_of_the_searches(tiny):
    cfg, data = tiny
    out = th.measure(1, 16, 0, data, cfg)
    assert out["lo"] == pytest.approx(cfg.lo_factor * out["eta_crit"])
    assert out["eta_max_status"] in ("ok", "nothing trains", "hi trains")
    assert math.isfinite(out["lo_loss_ratio"]) and 0 <= out["lo_best_acc"] <= 1


# ------------------------------------------------------------------------------------------------
# Every claim can fail
# ------------------------------------------------------------------------------------------------
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from replicate import claims  # noqa: E402
from replicate.registry.thresholds import REGISTRY  # noqa: E402


def _table(q=1.0, max_lam=12.0, star_over_crit=3.0, star_exponent=-0.6, status="ok"):
    rows = []
    for d in (1, 2, 4):
        for w in (64, 128, 256):
            lam0 = 0.5 * (d * w) ** q
            rows.append({"depth": d, "width": w, "seed": 0, "lam0": lam0, "eta_crit": 2 / lam0,
                         "eta_max": max_lam / lam0, "eta_star": star_over_crit * 2 / 0.5 * (d * w) ** star_exponent
                         if star_exponent is not None else star_over_crit * 2 / lam0,
                         "eta_max_status": status, "eta_star_status": status})
    t = pd.DataFrame(rows)
    return t.assign(eta_star=np.where(status == "ok", t.eta_star, np.nan))


def _verdicts(table):
    rows = claims.judge(REGISTRY, "thresholds", th.measure_thresholds(table, n_boot=200))
    return {r.claim.id: r.verdict for r in rows}


def test_claims_reproduce_on_the_papers_picture():
    v = _verdicts(_table(star_exponent=None, star_over_crit=3.0).assign(
        eta_star=lambda t: 3.0 * 2 / t.lam0 * (t.depth * t.width) ** 0.3))
    assert v["thresholds.eta-max.brackets"] == "met" and v["thresholds.eta-max-lam0"] == "reproduced"
    assert v["thresholds.lam0-exponent"] == "reproduced"
    assert v["thresholds.eta-lambda.not-inverse"] == "reproduced"


def test_claims_fail_where_the_papers_forbid():
    v = _verdicts(_table(q=0.5, max_lam=40.0, star_exponent=None, star_over_crit=0.5))
    assert v["thresholds.eta-max-lam0"] == "not reproduced"  # η_max·λ0 = 40
    assert v["thresholds.eta-star-window"] == "not reproduced"  # η* below η_crit everywhere
    assert v["thresholds.lam0-exponent"] == "not reproduced"  # q = 0.5
    assert v["thresholds.eta-lambda.not-inverse"] == "not reproduced"  # η* = c/λ0 exactly


def test_unbracketed_thresholds_make_their_claims_untestable():
    v = _verdicts(_table(status="lo fails"))
    assert v["thresholds.eta-max.brackets"] == "not met"
    for cid in ("thresholds.eta-max-lam0", "thresholds.eta-star-window", "thresholds.eta-lambda.not-inverse"):
        assert v[cid] == "not testable at this scale"


@pytest.mark.parametrize("claim", [c for c in REGISTRY.claims if c.kind == "claim"], ids=lambda c: c.id)
def test_every_claim_is_inconclusive_on_an_edge(claim):
    lo, hi = claim.tol
    edge = lo if math.isfinite(lo) else hi
    measured = {c.id: (claims.fraction(20, 20) if c.kind == "precondition" else claims.exact(0.0))
                for c in REGISTRY.claims}
    measured[claim.id] = claims.Measurement(edge, edge - 0.05, edge + 0.05, 9, "test")
    assert {r.claim.id: r.verdict for r in claims.judge(REGISTRY, "thresholds", measured)}[claim.id] == "inconclusive"
