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


def uv_table(lazy_to=1.99, cat_to=3.99, lam_cat=lambda x: 1.9 / x, peak=lambda n: n / 5, seeds=4,
             widths=(100, 1000, 10000), step=0.02, jitter=0.0):
    """A synthetic simulate_uv table: lazy up to `lazy_to`, catapult up to `cat_to`, divergent above; λ_final/λ0
    = 1 in lazy runs and lam_cat(ηλ0) in catapult runs (the paper's picture: η·λ_final = 1.9, just below the edge);
    peak loss at ηλ0 = 3 = peak(n)."""
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
    assert set(v.values()) <= {"met", "reproduced", "diagnostic"}, v


@pytest.mark.parametrize("claim, table, expected", [
    ("lewkowycz.uv.lazy-catapult", dict(lazy_to=2.19), "not reproduced"),
    ("lewkowycz.uv.lazy-catapult", dict(lazy_to=1.99, jitter=0.06), "inconclusive"),
    ("lewkowycz.uv.catapult-divergent", dict(cat_to=3.49), "not reproduced"),
    ("lewkowycz.uv.catapult-divergent", dict(cat_to=3.99, jitter=0.12), "inconclusive"),
    ("lewkowycz.uv.eta-lam-final-edge", dict(lam_cat=lambda x: 0.9 / x), "not reproduced"),
    ("lewkowycz.uv.peak-loss", dict(peak=lambda n: 5.0), "not reproduced"),
    ("lewkowycz.uv.peak-loss-exponent", dict(peak=lambda n: 50.0), "not reproduced"),
    ("lewkowycz.uv.peak-loss-exponent", dict(peak=lambda n: n ** 2 / 100), "not reproduced"),
])
def test_uv_claims_can_fail(claim, table, expected):
    assert verdicts("uv-model", catapult.measure_uv_model(uv_table(**table)))[claim] == expected


def test_uv_claims_straddling_and_not_testable():
    m = catapult.measure_uv_model(uv_table())
    straddle = {"lewkowycz.uv.eta-lam-final-edge": claims.Measurement(1.55, 1.4, 1.7, 8, "test"),
                "lewkowycz.uv.peak-loss": claims.Measurement(120, 80, 150, 8, "test"),
                "lewkowycz.uv.peak-loss-exponent": claims.Measurement(1.4, 1.2, 1.7, 8, "test")}
    assert set(verdicts("uv-model", {**m, **straddle}).values()) - {"met", "reproduced", "diagnostic"} == {
        "inconclusive"}
    no_bracket = uv_table(lazy_to=5.0)  # the grid never leaves the lazy phase
    v = verdicts("uv-model", catapult.measure_uv_model(no_bracket))
    assert v["lewkowycz.uv.brackets-found"] == "not met"
    assert v["lewkowycz.uv.lazy-catapult"] == v["lewkowycz.uv.catapult-divergent"] == "not testable at this scale"
    v = verdicts("uv-model", {**m, **{k: claims.missing("test") for k in straddle}})
    assert all(v[k] == "not testable at this scale" for k in straddle)


def relu_table(onset=1.15, eta_max=5.9, lam_cat=lambda c: 0.9 / c, acc_gain=0.03, seeds=2, widths=(512, 1024),
               jitter=0.0):
    """A synthetic relu_phases table (x = η/η_crit): lazy below `onset`, catapult up to `eta_max`; the accuracy
    gain of the catapult varies by ±1 pp between groups (a noiseless gain is judged with a zero-width interval)."""
    import pandas as pd

    rows = []
    for w in widths:
        for s in range(seeds):
            for c in catapult.FACTORS:
                lo, hi = onset + jitter * (s % 2), eta_max + jitter * (s % 2)
                phase = "lazy" if c < lo else "catapult" if c <= hi else "divergent"
                ratio = 0.95 if phase == "lazy" else lam_cat(c) if phase == "catapult" else np.nan
                acc = 0.6 + 0.01 * s + (acc_gain + 0.01 * ((s + w // 512) % 3 - 1) if phase == "catapult" else 0.0)
                rows.append({"width": w, "seed": s, "factor": c, "phase": phase, "lam_final_ratio": ratio,
                             "eta_lam_final": 2 * c * ratio, "acc_tau": acc if phase != "divergent" else np.nan})
    return pd.DataFrame(rows)


def test_relu_claims_reproduce_on_the_papers_picture():
    v = verdicts("relu-networks", catapult.measure_relu_networks(relu_table()))
    assert set(v.values()) <= {"met", "reproduced", "diagnostic"}, v


@pytest.mark.parametrize("claim, table, expected", [
    ("lewkowycz.relu.onset", dict(onset=1.45), "not reproduced"),
    ("lewkowycz.relu.onset", dict(onset=1.27, jitter=0.1, seeds=16), "inconclusive"),
    ("lewkowycz.relu.onset", dict(onset=1.27, jitter=0.1), "underpowered"),  # 2 seeds: Student-t with 1 df
    ("lewkowycz.relu.eta-max", dict(eta_max=1.35), "not reproduced"),
    ("lewkowycz.relu.eta-max", dict(eta_max=2.5), "inconclusive"),
    ("lewkowycz.relu.eta-lam-final-edge", dict(lam_cat=lambda c: 0.45 / c), "not reproduced"),
    ("lewkowycz.relu.accuracy-physical-time", dict(acc_gain=-0.05), "not reproduced"),
])
def test_relu_claims_can_fail(claim, table, expected):
    assert verdicts("relu-networks", catapult.measure_relu_networks(relu_table(**table)))[claim] == expected


def test_relu_claims_straddling_and_not_testable():
    m = catapult.measure_relu_networks(relu_table())
    straddle = {"lewkowycz.relu.eta-lam-final-edge": claims.Measurement(1.55, 1.4, 1.7, 4, "test"),
                "lewkowycz.relu.accuracy-physical-time": claims.Measurement(0.5, -1.0, 2.0, 4, "test")}
    assert set(verdicts("relu-networks", {**m, **straddle}).values()) - {"met", "reproduced", "diagnostic"} == {
        "inconclusive"}
    v = verdicts("relu-networks", catapult.measure_relu_networks(relu_table(eta_max=100.0)))  # nothing diverges
    assert v["lewkowycz.relu.brackets-found"] == "not met"
    assert v["lewkowycz.relu.onset"] == v["lewkowycz.relu.eta-max"] == "not testable at this scale"
    v = verdicts("relu-networks", catapult.measure_relu_networks(relu_table(onset=100.0)))  # no catapult at all
    assert {v[k] for k in straddle} == {"not testable at this scale"}


def test_eta_lam_final_below_two_is_a_fraction_with_an_interval():
    m = catapult.eta_lam_final_below_two(relu_table())
    assert m.value == 1.0 and m.ci_low < 1.0


def test_curvature_rows_implied_by_convergence_are_diagnostics():
    for claim_id in ("lambda-below-lazy", "lambda-falls-with-eta"):
        for nb in ("uv", "relu"):
            c = REGISTRY[f"lewkowycz.{nb}.{claim_id}"]
            assert c.kind == "diagnostic" and not c.requires
    v = verdicts("uv-model", catapult.measure_uv_model(uv_table(lam_cat=lambda x: 1.2)))
    assert v["lewkowycz.uv.lambda-below-lazy"] == "diagnostic"


def test_boundary_is_a_confidence_interval_that_narrows_with_seeds():
    """A min–max range over seeds only widens with more seeds; the boundary's interval narrows to the grid's
    resolution (the mean bracket half-width) around the mean."""
    import pandas as pd

    rng = np.random.default_rng(0)

    def table(seeds):
        true = 2.0 + rng.normal(0, 0.02, seeds)
        lo = np.floor(true / 0.02) * 0.02
        return pd.DataFrame({"n": 100, "seed": range(seeds), "last_lazy": lo, "first_catapult": lo + 0.02})

    few, many = (catapult.boundary(table(k), "last_lazy", "first_catapult") for k in (8, 512))
    assert many.ci_high - many.ci_low < few.ci_high - few.ci_low
    assert 0.02 <= many.ci_high - many.ci_low < 0.03  # ≈ 2 × the half-width 0.01, plus a small t-interval
    assert many.ci_low < 2.0 < many.ci_high


def _uv_small(monkeypatch=None, eta_factor=1.0):
    """The real uv pipeline at a small size (seconds): simulate_uv → measure_uv_model → judge; with `eta_factor`
    ≠ 1 every trajectory is run at eta_factor × the reported η (a plausible bug, injected into the real code)."""
    from replicate.papers.catapult import uv as uv_module

    if eta_factor != 1.0:
        real = uv_module.uv_trajectories
        monkeypatch.setattr(uv_module, "uv_trajectories",
                            lambda f0, lam0, eta, *a, **k: real(f0, lam0, eta_factor * eta, *a, **k))
    cfg = scales.resolve(catapult.UV_PRESETS, "smoke", {"widths": (1000, 10000), "seeds": 6, "steps": 1000,
                                                         "lr_min": 0.02, "lr_step": 0.02})
    return verdicts("uv-model", catapult.measure_uv_model(catapult.simulate_uv(cfg)))


def test_injected_double_eta_fails_the_uv_rows(monkeypatch):
    """Negative control through the real code: η doubled by a bug. The curvature diagnostics cannot see it (a
    converged catapult still ends flatter, with λ_final falling in η); the edge claim and the boundaries must not
    read reproduced. The same pipeline without the bug reproduces them (positive control)."""
    right = _uv_small()
    edge = ("lewkowycz.uv.eta-lam-final-edge", "lewkowycz.uv.lazy-catapult", "lewkowycz.uv.catapult-divergent")
    assert all(right[k] == "reproduced" for k in edge), right
    bug = _uv_small(monkeypatch, eta_factor=2.0)
    assert all(bug[k] not in ("reproduced", "underpowered") for k in edge), bug
    assert bug["lewkowycz.uv.eta-lam-final-edge"] == "not reproduced"


def test_injected_double_eta_fails_the_relu_edge(monkeypatch):
    """The same fault in the ReLU pipeline (run_relu_seed trains every member at 2× the η it reports), tiny
    networks: η·λ_final of the catapult runs, in the reported η, falls to about 1."""
    import replicate.ensemble as ensemble

    cfg = catapult.ReLUConfig("mnist", 64, 64, 4, (256,), 2, 60, 2, (0.5, 0.9, 1.1, 1.3, 1.6, 2.0, 3.0, 16.0), (),
                              10)
    g = torch.Generator().manual_seed(0)  # stand-in data (no download in the unit suite): 64 inputs in 49 dims
    X, X_test = torch.randn(64, 49, generator=g), torch.randn(64, 49, generator=g)
    Y, Y_test = (torch.nn.functional.one_hot(torch.randint(0, 10, (64,), generator=g), 10).float() for _ in "ab")
    data = (X, Y, X_test, Y_test)

    def edge():
        h = pd.concat([catapult.run_relu_seed(cfg, 256, s, *data, track=False).assign(width=256, seed=s)
                       for s in range(cfg.seeds)])
        return catapult.measure_relu_networks(catapult.relu_phases(h, cfg.steps))["lewkowycz.relu.eta-lam-final-edge"]

    import pandas as pd

    right = edge()
    real = ensemble.Member
    monkeypatch.setattr(ensemble, "Member", lambda seed, lr, *a, **k: real(seed, 2 * lr, *a, **k))
    bug = edge()
    assert right.value > 1.5 and bug.value < 1.2, (right, bug)
    assert claims.interval_verdict(REGISTRY["lewkowycz.relu.eta-lam-final-edge"], bug) != "reproduced"
