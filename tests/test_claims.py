"""The verdict machinery: intervals against tolerances, preconditions, portable printing, results files."""

import json
import math

import numpy as np
import pytest

from replicate import claims, registry

PRE = claims.Claim("t.fits", "nb", "the net fits (ours)", "training accuracy", (0.95, 1.0), "ours",
                   "a net that does not fit cannot memorise", 0.01, kind="precondition")
SLOPE = claims.Claim("t.slope", "nb", "η* ∝ L^-1.5 (eq. 3)", "depth exponent", (-2.0, -1.0), "paper",
                     "the paper's exponent ± its quoted spread", 0.1, requires=("t.fits",))
REG = claims.Registry("ch", "Test chapter", (PRE, SLOPE))


def m(value, lo, hi, n=6):
    return claims.Measurement(value, lo, hi, n, "test")


@pytest.mark.parametrize("interval, expected", [
    ((-1.5, -1.6, -1.4), "reproduced"),
    ((-3.0, -3.2, -2.8), "not reproduced"),
    ((-0.5, -0.7, -0.3), "not reproduced"),
    ((-1.0, -1.2, -0.8), "inconclusive"),   # straddles the upper edge: more seeds would decide
    ((-2.0, -2.6, -0.6), "inconclusive"),   # wider than the whole tolerance
])
def test_verdict_comes_from_the_interval(interval, expected):
    rows = claims.judge(REG, "nb", {"t.fits": m(1.0, 0.99, 1.0), "t.slope": m(*interval)})
    assert rows[1].verdict == expected


def test_failed_or_unclear_precondition_makes_dependents_not_testable():
    for fit, check in [((0.6, 0.5, 0.7), "not met"), ((0.95, 0.9, 0.99), "unclear")]:
        rows = claims.judge(REG, "nb", {"t.fits": m(*fit), "t.slope": m(-1.5, -1.6, -1.4)})
        assert [r.verdict for r in rows] == [check, "not testable at this scale"]
        assert rows[1].blocked_by == ("t.fits",)
        assert "needs t.fits" in claims.html(rows)


def test_nothing_measured_is_not_testable():
    rows = claims.judge(REG, "nb", {"t.fits": m(1.0, 1.0, 1.0), "t.slope": claims.missing("no depth trained")})
    assert rows[1].verdict == "not testable at this scale" and "no depth trained" in rows[1].ours


def test_every_declared_claim_must_be_measured_and_nothing_else():
    with pytest.raises(KeyError, match="not measured"):
        claims.judge(REG, "nb", {"t.fits": m(1.0, 1.0, 1.0)})
    with pytest.raises(KeyError, match="undeclared"):
        claims.judge(REG, "nb", {"t.fits": m(1, 1, 1), "t.slope": m(-1.5, -1.6, -1.4), "t.other": m(1, 1, 1)})


def test_partly_needs_a_containing_band_and_a_reason():
    with pytest.raises(ValueError, match="partly"):
        claims.Claim("x", "nb", "p", "q", (0, 1), "ours", "r", 0.1, partly=(0.5, 2))
    c = claims.Claim("x", "nb", "p", "q", (0, 1), "ours", "r", 0.1, partly=(-1, 2), partly_reason="coarse grid")
    assert claims.verdict(c, m(1.5, 1.2, 1.8)) == "partly"
    assert claims.verdict(c, m(3.0, 2.5, 3.5)) == "not reproduced"


def test_declarations_are_checked():
    with pytest.raises(ValueError, match="reason"):
        claims.Claim("x", "nb", "p", "q", (0, 1), "ours", " ", 0.1)
    with pytest.raises(ValueError, match="source"):
        claims.Claim("x", "nb", "p", "q", (0, 1), "mine", "r", 0.1)
    with pytest.raises(ValueError, match="declared before"):
        claims.Registry("ch", "t", (SLOPE, PRE))
    with pytest.raises(ValueError, match="interval"):
        claims.Measurement(2.0, 0.0, 1.0, 3, "t")


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


def test_printed_text_is_coarse_and_written_file_has_numbers_and_provenance(tmp_path):
    rows = claims.judge(REG, "nb", {"t.fits": m(0.991, 0.98, 1.0), "t.slope": m(-1.4987, -1.61, -1.38)})
    text = claims.show(rows)
    assert "t.slope" in text and "reproduced" in text and "-1.5" in text and "-1.49" not in text
    (tmp_path / "nb.runs.csv").write_text("a\n1\n")
    path = claims.write(rows, "ch", "nb", "cpu", tmp_path, overrides={"seeds": 3, "width": None})
    import pandas as pd
    df = pd.read_csv(path)
    assert {"value", "ci_low", "ci_high", "tol_low", "tol_high", "n", "method", "verdict"} <= set(df.columns)
    prov = json.loads((tmp_path / "nb.provenance.json").read_text())
    assert prov["overrides"] == {"seeds": 3} and "nb.runs.csv" in prov["files"]
    assert {"commit", "dirty", "torch", "python", "torch_threads", "device", "wall_time_s", "scale"} <= set(prov)


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
            bad = claims.verdict(c, claims.Measurement(outside, outside, outside, 3, "t"))
            assert bad in ("not reproduced", "not met"), c.id


def test_page_table_shows_published_scales_beside_ours(tmp_path, monkeypatch):
    rows = claims.judge(REG, "nb", {"t.fits": m(1.0, 0.99, 1.0), "t.slope": m(-1.5, -1.6, -1.4)})
    (tmp_path / "_toc.yml").write_text("root: x\n")
    claims.write(rows, "ch", "nb", "gpu", tmp_path / "book" / "ch" / "results" / "gpu")
    monkeypatch.chdir(tmp_path)
    scales = claims.published_scales("ch", "nb")
    assert list(scales) == ["gpu"]
    page = claims.html(rows, other_scales=scales)
    assert "at gpu scale (published)" in page and page.count("reproduced") >= 2
