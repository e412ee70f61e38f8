"""The verdict machinery: intervals against tolerances, preconditions, calibration (power, false-pass,
underpowered), results files."""

import json
import math

import numpy as np
import pytest

from replicate import claims, claims_html, registry

CONTROLS = dict(expect=0.0, rival=1.0, rival_name="a rival")
PRE = claims.Claim("t.fits", "nb", "the net fits (ours)", "training accuracy", (0.95, 1.0), "ours",
                   "a net that does not fit cannot memorise", 0.01, kind="precondition", expect=1.0, rival=0.8,
                   rival_name="a net that fits 80 %")
SLOPE = claims.Claim("t.slope", "nb", "η* ∝ L^-1.5 (eq. 3)", "depth exponent", (-2.0, -1.0), "paper",
                     "the paper's exponent ± its quoted spread", 0.1, requires=("t.fits",), expect=-1.5, rival=0.0,
                     rival_name="no depth dependence")
REG = claims.Registry("ch", "Test chapter", (PRE, SLOPE))


def m(value, lo, hi, n=6):
    return claims.Measurement(value, lo, hi, n, "test")


@pytest.mark.parametrize("interval, expected", [
    ((-1.5, -1.6, -1.4), "reproduced"),
    ((-3.0, -3.2, -2.8), "not reproduced"),
    ((-0.5, -0.7, -0.3), "not reproduced"),
    ((-1.0, -1.2, -0.8), "inconclusive"),   # straddles the upper edge: more seeds would decide
    ((-2.0, -2.6, -0.6), "underpowered"),   # wider than the whole tolerance: this noise cannot decide
])
def test_verdict_comes_from_the_interval(interval, expected):
    rows = claims.judge(REG, "nb", {"t.fits": claims.exact(1.0), "t.slope": m(*interval)})
    assert rows[1].verdict == expected


def test_failed_or_unclear_precondition_makes_dependents_not_testable():
    for fit, check in [(claims.exact(0.6), "not met"), (claims.fraction(19, 20), "underpowered"),
                       (claims.fraction(95, 100), "unclear")]:
        rows = claims.judge(REG, "nb", {"t.fits": fit, "t.slope": m(-1.5, -1.6, -1.4)})
        assert [r.verdict for r in rows] == [check, "not testable at this scale"]
        assert rows[1].blocked_by == ("t.fits",)
        assert "needs t.fits" in claims_html.html(rows)


def test_nothing_measured_is_not_testable():
    rows = claims.judge(REG, "nb", {"t.fits": claims.exact(1.0), "t.slope": claims.missing("no depth trained")})
    assert rows[1].verdict == "not testable at this scale" and "no depth trained" in rows[1].ours


def test_every_declared_claim_must_be_measured_and_nothing_else():
    with pytest.raises(KeyError, match="not measured"):
        claims.judge(REG, "nb", {"t.fits": m(1.0, 1.0, 1.0)})
    with pytest.raises(KeyError, match="undeclared"):
        claims.judge(REG, "nb", {"t.fits": m(1, 1, 1), "t.slope": m(-1.5, -1.6, -1.4), "t.other": m(1, 1, 1)})


def test_partly_needs_a_containing_band_and_a_reason():
    with pytest.raises(ValueError, match="partly"):
        claims.Claim("x", "nb", "p", "q", (0, 1), "ours", "r", 0.1, partly=(0.5, 2), **CONTROLS)
    c = claims.Claim("x", "nb", "p", "q", (0, 1), "ours", "r", 0.1, partly=(-1, 2), partly_reason="coarse grid",
                     **CONTROLS)
    assert claims.verdict(c, m(1.5, 1.2, 1.8)) == "partly"
    assert claims.verdict(c, m(3.0, 2.5, 3.5)) == "not reproduced"


def test_declarations_are_checked():
    with pytest.raises(ValueError, match="reason"):
        claims.Claim("x", "nb", "p", "q", (0, 1), "ours", " ", 0.1, **CONTROLS)
    with pytest.raises(ValueError, match="source"):
        claims.Claim("x", "nb", "p", "q", (0, 1), "mine", "r", 0.1, **CONTROLS)
    with pytest.raises(ValueError, match="declared before"):
        claims.Registry("ch", "t", (SLOPE, PRE))
    with pytest.raises(ValueError, match="interval"):
        claims.Measurement(2.0, 0.0, 1.0, 3, "t")
    with pytest.raises(ValueError, match="controls"):  # a claim that cannot be calibrated is not a claim
        claims.Claim("x", "nb", "p", "q", (0, 1), "ours", "r", 0.1)
    with pytest.raises(ValueError, match="diagnostic"):
        claims.Claim("x", "nb", "p", "q", (0, 1), "ours", "r", 0.1, kind="diagnostic", requires=("t.fits",))


def test_intervals_from_samples_counts_and_fits():
    b = claims.bootstrap(np.arange(10.0), seed=1)
    assert b.ci_low < 4.5 < b.ci_high and b.n == 10 and "bootstrap" in b.method
    f = claims.fraction(11, 11)
    assert f.value == 1.0 and 0.7 < f.ci_low < 0.8 and f.ci_high == pytest.approx(1.0)   # Wilson, not 11/11 = certain
    assert not claims.fraction(0, 0).measured
    assert not claims.from_fit({"p": math.nan}, 3).measured
    assert claims.from_fit({"p": -1.5, "p_lo": -1.7, "p_hi": -1.3}, 6).ci_low == -1.7
    assert not claims.bootstrap([1.0]).measured


@pytest.mark.parametrize("x, res, text", [(0.4999, 0.05, "0.50"), (-1.49, 0.1, "-1.5"), (0.26, 0.25, "0.25"),
                                          (1234.0, 10, "1230"), (-0.01, 0.1, "0"), (2.0, 0.5, "2.0")])
def test_display_at_resolution(x, res, text):
    assert claims.fmt(x, res) == text


def test_written_file_has_numbers_calibration_and_provenance(tmp_path):
    rows = claims.judge(REG, "nb", {"t.fits": claims.exact(0.991), "t.slope": m(-1.4987, -1.61, -1.38)})
    (tmp_path / "nb.runs.csv").write_text("a\n1\n")
    path = claims.write(rows, "ch", "nb", "cpu", tmp_path, overrides={"seeds": 3, "width": None})
    import pandas as pd
    df = pd.read_csv(path)
    assert {"value", "ci_low", "ci_high", "tol_low", "tol_high", "n", "method", "verdict", "power", "false_pass",
            "design", "expect", "rival", "rival_name"} <= set(df.columns)
    prov = json.loads((tmp_path / "nb.provenance.json").read_text())
    assert prov["overrides"] == {"seeds": 3} and "nb.runs.csv" in prov["files"]
    assert {"commit", "dirty", "torch", "python", "torch_threads", "device", "wall_time_s", "scale"} <= set(prov)


def test_exact_law_with_the_runs_noise_reads_reproduced_with_the_declared_power():
    """Positive control end to end: runs drawn from the paper's law (exponent −1.5) with seed noise sd 0.1 over
    8 seeds are judged by the real estimator; the reproduced rate over many such runs matches `power`."""
    rng = np.random.default_rng(3)
    runs = [claims.bootstrap(rng.normal(-1.5, 0.1, 8), n_boot=400, seed=i) for i in range(200)]
    fits = {"t.fits": claims.exact(1.0)}
    rows = [claims.judge(REG, "nb", {**fits, "t.slope": r})[1] for r in runs]
    power = np.mean([r.calibration.power for r in rows])
    observed = np.mean([claims.interval_verdict(SLOPE, r) == "reproduced" for r in runs])
    assert power >= claims.POWER and abs(power - observed) < 0.1
    assert np.mean([r.verdict == "reproduced" for r in rows]) >= 0.8
    assert all(r.calibration.false_pass == 0 for r in rows)  # the rival 0 sits 15 sd from the band


def test_a_test_that_cannot_tell_the_rival_apart_reads_underpowered_with_a_design():
    wide = claims.Claim("t.wide", "nb", "p", "exponent", (-2.0, 0.5), "ours", "a band that holds the rival", 0.1,
                        expect=-1.5, rival=0.0, rival_name="no dependence")
    got = claims.calibrate(wide, claims.bootstrap(np.random.default_rng(0).normal(-1.5, 0.1, 8)))
    assert got.false_pass > claims.FALSE_PASS and not got.decides and "not decidable" in got.design
    noisy = claims.bootstrap(np.random.default_rng(0).normal(-1.5, 1.5, 4), n_boot=400)
    cal = claims.calibrate(SLOPE, noisy)
    assert cal.power < claims.POWER and "× the independent units" in cal.design
    rows = claims.judge(REG, "nb", {"t.fits": claims.exact(1.0), "t.slope": noisy})
    assert rows[1].verdict == "underpowered"
    assert "power" in claims_html.html(rows) and "decides with" in claims_html.html(rows)


def test_fractions_are_redrawn_as_binomial_counts():
    f = claims.fraction(11, 11)
    assert claims.pass_rate(PRE, f, 1.0) == 0.0  # 11/11 → Wilson low 0.74 < 0.95: 11 runs can never meet it
    assert claims.calibrate(PRE, f).design.startswith("8× the independent units (n = 11 → 88)")  # 88/88: low 0.958


def test_a_diagnostic_is_shown_never_judged_or_counted():
    diag = claims.Claim("t.diag", "nb", "implied by convergence", "λ·η at the end", (0, 2), "ours", "r", 0.1,
                        kind="diagnostic")
    reg = claims.Registry("ch", "t", (PRE, SLOPE, diag))
    rows = claims.judge(reg, "nb", {"t.fits": claims.exact(1.0), "t.slope": m(-1.5, -1.6, -1.4),
                                    "t.diag": m(1.0, 0.9, 1.1)})
    assert rows[2].verdict == "diagnostic" and rows[2].calibration is None
    assert "diagnostic" not in claims.counts(rows)


def test_every_registry_is_well_formed_and_ids_are_unique():
    regs = registry.every()
    ids = [c.id for r in regs for c in r.claims]
    assert len(ids) == len(set(ids))
    for r in regs:
        for c in r.claims:
            assert c.paper and c.quantity and c.reason
            # every claim can fail: a measurement far outside its tolerance is judged against it
            lo, hi = c.tol
            outside = (hi + 10 * (abs(hi) + 1)) if math.isfinite(hi) else (lo - 10 * (abs(lo) + 1))
            if c.kind == "diagnostic":
                assert not c.requires
                continue
            bad = claims.interval_verdict(c, claims.Measurement(outside, outside, outside, 3, "t"))
            assert bad in ("not reproduced", "not met"), c.id
            # the positive control passes where the test can decide (a rival equal to it, as exp-LR's gap rows at
            # cpu, makes the row underpowered by construction: allowed, and said in the row's controls)
            assert math.isfinite(c.expect) and math.isfinite(c.rival) and (c.expect != c.rival or c.controls), c.id
            inside = claims.interval_verdict(c, claims.Measurement(c.expect, c.expect, c.expect, 3, "t"))
            assert inside in ("reproduced", "met"), f"{c.id}: expect {c.expect} outside its own tolerance"


def test_page_table_shows_published_scales_beside_ours(tmp_path, monkeypatch):
    rows = claims.judge(REG, "nb", {"t.fits": claims.exact(1.0), "t.slope": m(-1.5, -1.6, -1.4)})
    (tmp_path / "_toc.yml").write_text("root: x\n")
    claims.write(rows, "ch", "nb", "gpu", tmp_path / "book" / "ch" / "results" / "gpu")
    monkeypatch.chdir(tmp_path)
    scales = claims_html.published_scales("ch", "nb")
    assert list(scales) == ["gpu"]
    page = claims_html.html(rows, other_scales=scales)
    assert "at gpu scale (published)" in page and page.count("reproduced") >= 2


@pytest.mark.parametrize("level", [0.9, 0.95, 0.99])
def test_wilson_is_scipys_wilson_bit_for_bit(level):
    from scipy.stats import binomtest

    for n in [*range(1, 60), 400, 4096]:
        for k in range(0, n + 1, max(1, n // 40)):
            ci = binomtest(k, n).proportion_ci(confidence_level=level, method="wilson")
            assert claims.wilson(k, n, level) == (float(ci.low), float(ci.high))
