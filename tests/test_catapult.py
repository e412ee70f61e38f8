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


def test_boundaries_are_midpoints_between_phases():
    import pandas as pd

    df = pd.DataFrame({"n": 1, "seed": 0, "eta_lam0": [1.8, 1.9, 2.0, 2.1, 3.9, 4.0, 4.1],
                       "phase": ["lazy", "lazy", "unconverged", "catapult", "catapult", "divergent", "divergent"]})
    b = catapult.boundaries(df).iloc[0]
    assert b.lazy_catapult == pytest.approx(2.0) and b.catapult_divergent == pytest.approx(3.95)


def test_simulated_boundaries_near_two_and_four():
    cfg = scales.resolve(catapult.UV_PRESETS, "smoke", {"widths": [1000], "seeds": 1, "steps": 1500})
    b = catapult.boundaries(catapult.simulate_uv(cfg)).iloc[0]
    assert abs(b.lazy_catapult - 2) <= 0.1 and abs(b.catapult_divergent - 4) <= 0.1


def test_ntk_sharpness_is_the_top_eigenvalue_of_the_exact_ntk():
    from replicate.sharpness import ntk_matrix

    cfg = scales.resolve(catapult.RELU_PRESETS, "smoke", {"width": 32})
    torch.manual_seed(0)
    X = torch.randn(12, 20, dtype=torch.float64)
    Y = torch.nn.functional.one_hot(torch.arange(12) % 3, 3).to(torch.float64)
    model = catapult.relu_model_factory(cfg, 20, 3)().to(torch.float64)
    exact = torch.linalg.eigvalsh(ntk_matrix(model, X))[-1]
    assert float(catapult.ntk_sharpness(model, X, Y).eigenvalues[0]) == pytest.approx(float(exact), rel=1e-6)


def test_relu_phases_from_synthetic_histories():
    import pandas as pd

    def hist(factor, losses, diverged=False):
        return pd.DataFrame({"seed": 0, "factor": factor, "step": range(len(losses)), "loss": losses,
                             "diverged": [False] * (len(losses) - 1) + [diverged], "lam0": 2.0,
                             "lam_final": [np.nan] * (len(losses) - 1) + [0.5], "eval_acc": np.nan})

    h = pd.concat([hist(0.5, [4, 3, 2, 1]), hist(1.5, [4, 2, 3, 1]), hist(3.0, [4, 2, 3, 5]),
                   hist(8.0, [4, 1e9], diverged=True)])
    p = catapult.relu_phases(h, steps=3)
    assert list(p.phase) == ["lazy", "catapult", "divergent", "divergent"]
    assert p.rebound.iloc[1] == pytest.approx(1.5)
    assert p.eta_lam_final.iloc[1] == pytest.approx(2 * 1.5 * 0.5 / 2.0)
    t = catapult.relu_thresholds(p).iloc[0]
    assert t.onset == pytest.approx(1.0) and t.eta_max == pytest.approx(2.25)
