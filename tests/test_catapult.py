import numpy as np
import pytest
import torch

from replicate import scales
from replicate.papers import catapult


class UV(torch.nn.Module):
    def __init__(self, u, v):
        super().__init__()
        self.u, self.v = torch.nn.Parameter(u.clone()), torch.nn.Parameter(v.clone())

    def forward(self, x):
        return self.v @ self.u * x / self.u.numel() ** 0.5


@pytest.mark.parametrize("eta_lam0, y, x", [(0.5, 1.0, 1.0), (2.7, 1.0, 1.0), (3.5, 0.0, 1.0), (1.5, -0.3, 0.7)])
def test_closed_form_equals_autograd_gradient_descent(eta_lam0, y, x):
    n, steps = 50, 25
    u, v = catapult.uv_init(n, 1, seed=3)
    f0, lam0 = catapult.uv_f_lambda(u, v, x)
    eta = eta_lam0 / lam0
    f, lam = catapult.uv_trajectories(f0, lam0, eta, n, steps, y=y, x=x)
    model = UV(u[0], v[0])
    opt = torch.optim.SGD(model.parameters(), lr=float(eta))
    for t in range(steps):
        with torch.no_grad():
            assert float(model(x)) == pytest.approx(float(f[t, 0]), rel=1e-9, abs=1e-9)
            ntk = (model.u.pow(2).sum() + model.v.pow(2).sum()) * x**2 / n
            assert float(ntk) == pytest.approx(float(lam[t, 0]), rel=1e-9)
        opt.zero_grad()
        (0.5 * (model(x) - y) ** 2).backward()
        opt.step()


def test_phases_are_classified_from_trajectories():
    n = 1000
    u, v = catapult.uv_init(n, 1, seed=0)
    f0, lam0 = catapult.uv_f_lambda(u, v)
    c = torch.tensor([0.5, 3.0, 4.5], dtype=torch.float64)
    f, lam = catapult.uv_trajectories(f0.expand(3), lam0.expand(3), c / lam0, n, 2000)
    assert catapult.classify_phases(0.5 * (f - 1) ** 2) == ["lazy", "catapult", "divergent"]
    assert float(c[1] * lam[-1, 1] / lam0) < 2  # the catapult ends below the stability edge


def test_brackets_are_last_and_first_points_of_each_phase():
    import pandas as pd

    df = pd.DataFrame({"n": 1, "seed": 0, "eta_lam0": [1.8, 1.9, 2.0, 2.1, 3.9, 4.0, 4.1],
                       "phase": ["lazy", "lazy", "unconverged", "catapult", "catapult", "divergent", "divergent"]})
    b = catapult.brackets(df).iloc[0]
    assert (b.last_lazy, b.first_catapult, b.last_converged, b.first_divergent) == (1.9, 2.1, 3.9, 4.0)
    assert b.lazy_catapult == pytest.approx(2.0) and b.catapult_divergent == pytest.approx(3.95)


def test_simulated_boundaries_near_two_and_four():
    cfg = scales.resolve(catapult.UV_PRESETS, "smoke", {"widths": [1000], "seeds": 1, "steps": 1500})
    b = catapult.brackets(catapult.simulate_uv(cfg)).iloc[0]
    assert abs(b.lazy_catapult - 2) <= 0.1 and abs(b.catapult_divergent - 4) <= 0.1


def test_ntk_sharpness_is_the_top_eigenvalue_of_the_exact_ntk():
    from replicate.sharpness import ntk_matrix

    torch.manual_seed(0)
    X = torch.randn(12, 20, dtype=torch.float64)
    Y = torch.nn.functional.one_hot(torch.arange(12) % 3, 3).to(torch.float64)
    model = catapult.relu_model_factory(32, 2, 20, 3)().to(torch.float64)
    exact = torch.linalg.eigvalsh(ntk_matrix(model, X))[-1]
    assert float(catapult.ntk_sharpness(model, X, Y).eigenvalues[0]) == pytest.approx(float(exact), rel=1e-6)


def test_relu_phases_from_synthetic_histories():
    import pandas as pd

    def hist(factor, losses, diverged=False):
        return pd.DataFrame({"width": 8, "seed": 0, "factor": factor, "step": range(len(losses)), "loss": losses,
                             "diverged": [False] * (len(losses) - 1) + [diverged], "lam0": 2.0,
                             "lam_final": [np.nan] * (len(losses) - 1) + [0.5],
                             "acc_tau": [np.nan, 0.7] + [np.nan] * (len(losses) - 2)})

    h = pd.concat([hist(0.5, [4, 3, 2, 1]), hist(1.5, [4, 2, 3, 1]), hist(3.0, [4, 2, 3, 5]),
                   hist(8.0, [4, 1e9], diverged=True)])
    p = catapult.relu_phases(h, steps=3)
    assert list(p.phase) == ["lazy", "catapult", "divergent", "divergent"]
    assert p.rebound.iloc[1] == pytest.approx(1.5)
    assert p.eta_lam_final.iloc[1] == pytest.approx(2 * 1.5 * 0.5 / 2.0)
    assert p.acc_tau.iloc[0] == pytest.approx(0.7)
    b = catapult.brackets(p, x="factor", by=("width", "seed")).iloc[0]
    assert b.lazy_catapult == pytest.approx(1.0) and b.catapult_divergent == pytest.approx(2.25)


def test_physical_step_keeps_eta_times_t_fixed():
    cfg = catapult.RELU_PRESETS["cpu"]
    for c in (0.5, 1.0, 2.0, 5.0):
        assert c * cfg.physical_step(c) == pytest.approx(min(cfg.lr_factors) * cfg.steps, rel=0.02)


def test_presets_resolve_at_every_scale(monkeypatch):
    monkeypatch.setenv("REPLICATE_FORCE", "1")  # the full presets, also where this machine is too small for them
    for scale in ("smoke", "cpu", "gpu", "paper"):
        scales.resolve(catapult.UV_PRESETS, scale)
        scales.resolve(catapult.RELU_PRESETS, scale)
        scales.resolve(catapult.RELU_PRESETS, scale, dry_run=True, dry_overrides=catapult.RELU_DRY_RUN)


# ---- every claim can fail: synthetic phase tables the paper forbids, that straddle an edge, or fail a check ----
from replicate import claims  # noqa: E402
from replicate.registry.lewkowycz2020 import REGISTRY  # noqa: E402


def uv_table(lazy_to=1.99, cat_to=3.99, lam_cat=lambda x: 1 / x, peak=lambda n: n / 5, seeds=4,
             widths=(100, 1000, 10000), step=0.02, jitter=0.0):
    """A synthetic simulate_uv table: lazy up to `lazy_to`, catapult up to `cat_to`, divergent above; λ_final/λ0
    = 1 in lazy runs and lam_cat(ηλ0) in catapult runs; peak loss at ηλ0 = 3 = peak(n)."""
    import pandas as pd

    rows = []
    for n in widths:
        for s in range(seeds):
            for x in np.round(np.arange(1.5, 4.5, step), 4):
                lo, hi = lazy_to + jitter * (s % 2), cat_to + jitter * (s % 2)
                phase = "lazy" if x <= lo else "catapult" if x <= hi else "divergent"
                ratio = 1.0 if phase == "lazy" else lam_cat(x) if phase == "catapult" else np.nan
                rows.append({"n": n, "seed": s, "eta_lam0": x, "phase": phase, "lam_final_ratio": ratio,
                             "eta_lam_final": x * ratio, "peak_loss_ratio": peak(n) * (1 + 0.01 * s)})
    return pd.DataFrame(rows)


def verdicts(notebook, measured):
    return {r.claim.id: r.verdict for r in claims.judge(REGISTRY, notebook, measured)}


def test_uv_claims_reproduce_on_the_papers_picture():
    v = verdicts("uv-model", catapult.measure_uv_model(uv_table()))
    assert set(v.values()) <= {"met", "reproduced"}, v


@pytest.mark.parametrize("claim, table, expected", [
    ("lewkowycz.uv.lazy-catapult", dict(lazy_to=2.19), "not reproduced"),
    ("lewkowycz.uv.lazy-catapult", dict(lazy_to=1.99, jitter=0.06), "inconclusive"),
    ("lewkowycz.uv.catapult-divergent", dict(cat_to=3.49), "not reproduced"),
    ("lewkowycz.uv.catapult-divergent", dict(cat_to=3.99, jitter=0.12), "inconclusive"),
    ("lewkowycz.uv.lambda-below-lazy", dict(lam_cat=lambda x: 1.2), "not reproduced"),
    ("lewkowycz.uv.lambda-falls-with-eta", dict(lam_cat=lambda x: x), "not reproduced"),
    ("lewkowycz.uv.peak-loss", dict(peak=lambda n: 5.0), "not reproduced"),
    ("lewkowycz.uv.peak-loss-exponent", dict(peak=lambda n: 50.0), "not reproduced"),
    ("lewkowycz.uv.peak-loss-exponent", dict(peak=lambda n: n ** 2 / 100), "not reproduced"),
])
def test_uv_claims_can_fail(claim, table, expected):
    assert verdicts("uv-model", catapult.measure_uv_model(uv_table(**table)))[claim] == expected


def test_uv_claims_straddling_and_not_testable():
    m = catapult.measure_uv_model(uv_table())
    straddle = {"lewkowycz.uv.lambda-below-lazy": claims.Measurement(0.95, 0.9, 1.05, 8, "test"),
                "lewkowycz.uv.lambda-falls-with-eta": claims.Measurement(-0.6, -0.8, -0.3, 8, "test"),
                "lewkowycz.uv.peak-loss": claims.Measurement(120, 80, 150, 8, "test"),
                "lewkowycz.uv.peak-loss-exponent": claims.Measurement(1.4, 1.2, 1.7, 8, "test")}
    assert set(verdicts("uv-model", {**m, **straddle}).values()) - {"met", "reproduced"} == {"inconclusive"}
    no_bracket = uv_table(lazy_to=5.0)  # the grid never leaves the lazy phase
    v = verdicts("uv-model", catapult.measure_uv_model(no_bracket))
    assert v["lewkowycz.uv.brackets-found"] == "not met"
    assert v["lewkowycz.uv.lazy-catapult"] == v["lewkowycz.uv.catapult-divergent"] == "not testable at this scale"
    v = verdicts("uv-model", {**m, **{k: claims.missing("test") for k in straddle}})
    assert all(v[k] == "not testable at this scale" for k in straddle)


def relu_table(onset=1.15, eta_max=5.9, lam_cat=lambda c: 0.9 / c, acc_gain=0.03, seeds=2, widths=(512, 1024),
               jitter=0.0):
    """A synthetic relu_phases table (x = η/η_crit): lazy below `onset`, catapult up to `eta_max`."""
    import pandas as pd

    rows = []
    for w in widths:
        for s in range(seeds):
            for c in catapult.FACTORS:
                lo, hi = onset + jitter * s, eta_max + jitter * s
                phase = "lazy" if c < lo else "catapult" if c <= hi else "divergent"
                ratio = 0.95 if phase == "lazy" else lam_cat(c) if phase == "catapult" else np.nan
                acc = 0.6 + 0.01 * s + (acc_gain if phase == "catapult" else 0.0)
                rows.append({"width": w, "seed": s, "factor": c, "phase": phase, "lam_final_ratio": ratio,
                             "eta_lam_final": 2 * c * ratio, "acc_tau": acc if phase != "divergent" else np.nan})
    return pd.DataFrame(rows)


def test_relu_claims_reproduce_on_the_papers_picture():
    v = verdicts("relu-networks", catapult.measure_relu_networks(relu_table()))
    assert set(v.values()) <= {"met", "reproduced"}, v


@pytest.mark.parametrize("claim, table, expected", [
    ("lewkowycz.relu.onset", dict(onset=1.45), "not reproduced"),
    ("lewkowycz.relu.onset", dict(onset=1.27, jitter=0.1), "inconclusive"),
    ("lewkowycz.relu.eta-max", dict(eta_max=1.35), "not reproduced"),
    ("lewkowycz.relu.eta-max", dict(eta_max=2.5), "inconclusive"),
    ("lewkowycz.relu.lambda-below-lazy", dict(lam_cat=lambda c: 1.1), "not reproduced"),
    ("lewkowycz.relu.lambda-falls-with-eta", dict(lam_cat=lambda c: 0.5 * c), "not reproduced"),
    ("lewkowycz.relu.accuracy-physical-time", dict(acc_gain=-0.05), "not reproduced"),
])
def test_relu_claims_can_fail(claim, table, expected):
    assert verdicts("relu-networks", catapult.measure_relu_networks(relu_table(**table)))[claim] == expected


def test_relu_claims_straddling_and_not_testable():
    m = catapult.measure_relu_networks(relu_table())
    straddle = {"lewkowycz.relu.lambda-below-lazy": claims.Measurement(0.95, 0.9, 1.05, 4, "test"),
                "lewkowycz.relu.lambda-falls-with-eta": claims.Measurement(-0.6, -0.8, -0.3, 4, "test"),
                "lewkowycz.relu.accuracy-physical-time": claims.Measurement(0.5, -1.0, 2.0, 4, "test")}
    assert set(verdicts("relu-networks", {**m, **straddle}).values()) - {"met", "reproduced"} == {"inconclusive"}
    v = verdicts("relu-networks", catapult.measure_relu_networks(relu_table(eta_max=100.0)))  # nothing diverges
    assert v["lewkowycz.relu.brackets-found"] == "not met"
    assert v["lewkowycz.relu.onset"] == v["lewkowycz.relu.eta-max"] == "not testable at this scale"
    v = verdicts("relu-networks", catapult.measure_relu_networks(relu_table(onset=100.0)))  # no catapult at all
    assert {v[k] for k in straddle} == {"not testable at this scale"}


def test_eta_lam_final_below_two_is_a_fraction_with_an_interval():
    m = catapult.eta_lam_final_below_two(relu_table())
    assert m.value == 1.0 and m.ci_low < 1.0
