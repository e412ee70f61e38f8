import numpy as np
import pandas as pd
import pytest

from replicate import fits


def test_exact_power_law_recovered_with_zero_width_interval():
    x = np.array([4, 8, 16, 32])
    df = pd.DataFrame({"x": np.repeat(x, 3), "seed": np.tile([0, 1, 2], 4), "y": np.repeat(2.0 * x**-1.5, 3)})
    f = fits.power_law(df, "x", "y", n_boot=50)
    assert f["p"] == pytest.approx(-1.5) and f["a"] == pytest.approx(np.log(2.0))
    assert f["r2"] == pytest.approx(1.0) and f["p_lo"] == pytest.approx(-1.5) and f["p_hi"] == pytest.approx(-1.5)


def test_noise_gives_an_interval_around_the_slope_and_groups_by_configuration():
    rng = np.random.default_rng(0)
    rows = [{"d": d, "w": w, "dw": d * w, "seed": s, "y": (d * w) ** 0.8 * np.exp(0.1 * rng.standard_normal())}
            for d in (1, 2, 4) for w in (16, 32, 64) for s in range(4)]
    f = fits.power_law(pd.DataFrame(rows), "dw", "y", by=["d", "w"], n_boot=300, seed=1)
    assert f["points"] == 9
    assert f["p_lo"] < 0.8 < f["p_hi"] and f["p_hi"] - f["p_lo"] < 0.2


def test_too_few_points_and_nonpositive_values():
    df = pd.DataFrame({"x": [1, 2, 2, 3], "y": [1.0, 2.0, np.nan, -1.0]})
    assert np.isnan(fits.power_law(df, "x", "y")["p"])


def test_arithmetic_average_fits_the_log_of_the_mean():
    x = np.array([2, 4, 8])
    # per x two seeds whose arithmetic mean is x**3 but whose geometric mean is not a power of x
    rows = [{"x": v, "seed": s, "y": v**3 * (1 + (0.5 if s else -0.5) * v / 8)} for v in x for s in (0, 1)]
    df = pd.DataFrame(rows)
    assert fits.power_law(df, "x", "y", average="arithmetic", n_boot=20)["p"] == pytest.approx(3.0)
    assert fits.power_law(df, "x", "y", n_boot=20)["p"] != pytest.approx(3.0)
    with pytest.raises(ValueError, match="average must be one of"):
        fits.power_law(df, "x", "y", average="median")
