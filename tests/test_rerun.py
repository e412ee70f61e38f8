"""A rerun against the published numbers: agrees within the declared tolerances, differs on a real regression."""

import numpy as np
import pandas as pd
import pytest

from replicate import claims, rerun

PRE = claims.Claim("t.fits", "nb", "the net fits (ours)", "training accuracy", (0.9, 1.0), "ours", "r", 0.01,
                   kind="precondition", expect=1.0, rival=0.5, rival_name="half fit")
SLOPE = claims.Claim("t.slope", "nb", "η* ∝ L^-1.5 (eq. 3)", "depth exponent", (-2.0, -1.0), "paper", "r", 0.1,
                     requires=("t.fits",), expect=-1.5, rival=0.0, rival_name="no depth dependence")
LAM = rerun.Table("runs", keys=("depth", "seed"), columns={"lam1": 1e-4}, reason="λ1 at init: deterministic")
REG = claims.Registry("ch", "Test chapter", (PRE, SLOPE), tables={"nb": (LAM,)})


def _rows(slope: claims.Measurement):
    return claims.judge(REG, "nb", {"t.fits": claims.fraction(40, 40), "t.slope": slope})


def _runs(factor: float = 1.0) -> pd.DataFrame:
    return pd.DataFrame({"depth": [2, 2, 4, 4], "seed": [0, 1, 0, 1], "lam1": factor * np.array([3.0, 3.1, 6.2, 6.0])})


@pytest.fixture
def book(tmp_path, monkeypatch):
    """A repository with published cpu results of `nb`; returns the fresh run's folder."""
    (tmp_path / "_toc.yml").write_text("root: x\n")
    published = tmp_path / "book" / "ch" / "results"
    claims.write(_rows(claims.Measurement(-1.5, -1.6, -1.4, 8, "t")), "ch", "nb", "cpu", published)
    _runs().to_csv(published / "nb.runs.csv", index=False)
    monkeypatch.chdir(tmp_path)
    fresh = tmp_path / "runs"
    fresh.mkdir()
    return fresh


def test_identical_rerun_agrees_on_every_row_and_table(book):
    _runs().to_csv(book / "nb.runs.csv", index=False)
    text = rerun.compare(_rows(claims.Measurement(-1.5, -1.6, -1.4, 8, "t")), REG, "cpu", book)
    assert text.count("agrees") == 3 and "differs" not in text and "nb.runs.csv" in text


def test_value_within_the_published_half_width_agrees_beyond_it_differs(book):
    _runs().to_csv(book / "nb.runs.csv", index=False)
    near = rerun.compare(_rows(claims.Measurement(-1.45, -1.55, -1.35, 8, "t")), REG, "cpu", book)
    assert "t.slope" in near and "differs" not in near
    far = rerun.compare(_rows(claims.Measurement(-1.3, -1.4, -1.2, 8, "t")), REG, "cpu", book)
    assert "differs: value -1.3" in far


@pytest.mark.parametrize("factor, agrees", [(1 + 1e-6, True), (1.01, False), (1.5, False)])
def test_a_one_percent_regression_of_a_key_number_differs(book, factor, agrees):
    _runs(factor).to_csv(book / "nb.runs.csv", index=False)
    text = rerun.compare(_rows(claims.Measurement(-1.5, -1.6, -1.4, 8, "t")), REG, "cpu", book)
    line = next(t for t in text.splitlines() if "nb.runs.csv" in t)
    assert ("agrees" in line) == agrees, line
    assert agrees or "lam1 at depth" in line


def test_a_row_on_an_edge_prints_the_same_line_whichever_verdict_the_rerun_gets():
    pub = pd.Series({"value": -1.05, "ci_low": -1.15, "ci_high": -0.95, "n": 8, "tol_low": -2.0, "tol_high": -1.0,
                     "verdict": "inconclusive", "ours": "", "power": 0.95, "false_pass": 0.0})
    assert rerun.on_edge(pub)
    for verdict in ("inconclusive", "reproduced"):
        fresh = pub.copy()
        fresh["value"], fresh["verdict"] = -1.08, verdict
        assert rerun.compare_row(fresh, pub) == "agrees (on an edge)"
    clear = pub.copy()
    clear["value"], clear["ci_low"], clear["ci_high"], clear["verdict"] = -1.5, -1.6, -1.4, "reproduced"
    moved = clear.copy()
    moved["verdict"] = "underpowered"
    assert not rerun.on_edge(clear) and rerun.compare_row(moved, clear).startswith("differs: verdict")


def test_nothing_published_at_this_scale_is_said_not_compared(book):
    assert rerun.compare(_rows(claims.Measurement(-1.5, -1.6, -1.4, 8, "t")), REG, "smoke", book).startswith(
        "nothing to compare")


def test_a_float_key_off_in_its_last_bits_still_matches():
    """A learning-rate grid computed on another CPU differs in its last bits (update-size, Intel vs AMD)."""
    spec = rerun.Table("t", keys=("eta",), columns={"m": 1e-6})
    pub = pd.DataFrame({"eta": [1e-6, 1e-3, 1.0], "m": [1.0, 2.0, 3.0]})
    fresh = pub.assign(eta=np.nextafter(pub.eta.to_numpy(), 2.0))
    assert rerun.compare_table(fresh, pub, spec) == "agrees (3 rows)"
    assert rerun.compare_table(pub.assign(eta=pub.eta * 1.01), pub, spec).startswith("differs")


def test_an_early_table_check_compares_the_rows_made_so_far(book):
    part = _runs()[lambda d: d.depth == 2].drop(columns="depth")
    assert rerun.compare_early(part, REG, "nb", "runs", "cpu", depth=2).endswith("agrees (2 rows)")
    part.loc[0, "lam1"] *= 1.01
    assert "differs: lam1 at depth 2, seed 0" in rerun.compare_early(part, REG, "nb", "runs", "cpu", depth=2)
    assert rerun.compare_early(part, REG, "nb", "runs", "cpu", dry_run=True).startswith("nothing to compare")


def test_a_spike_in_one_seed_moves_single_rows_but_not_the_median_over_seeds():
    runs = pd.DataFrame({"epoch": [1] * 4 + [2] * 4, "seed": [0, 1, 2, 3] * 2,
                         "acc": [0.88, 0.88, 0.87, 0.89, 0.79, 0.88, 0.87, 0.89]})
    rerun_ = runs.assign(acc=runs.acc.where(runs.index != 4, 0.874))  # the spike gone on another float path
    rows = rerun.Table("runs", keys=("epoch", "seed"), columns={"acc": 0.1})
    assert rerun.compare_table(rerun_, runs, rows).startswith("differs: acc at epoch 2, seed 0")
    medians = rerun.Table("runs", keys=("epoch", "seed"), columns={"acc": 0.1}, median_over="seed")
    assert rerun.compare_table(rerun_, runs, medians) == "agrees (2 rows, medians over seed)"
    assert rerun.compare_table(runs.assign(acc=runs.acc / 2), runs, medians).startswith("differs: acc at epoch")


@pytest.mark.parametrize("shift, plain, chaotic", [(1.14, False, True), (1.6, False, False), (0.5, True, True)])
def test_a_chaotic_row_is_compared_as_a_second_estimate(shift, plain, chaotic):
    """MNIST α − β under make nbval-portable moved 1.14 published half-widths (−0.83 → −1.59, a fresh draw of
    training noise): within √2 half-widths for a `chaotic` claim, beyond one for any other; 1.6 differs for both."""
    pub = pd.Series({"value": -0.8, "ci_low": -1.5, "ci_high": -0.1, "n": 27, "tol_low": 5.0, "tol_high": 6.0,
                     "verdict": "not testable", "ours": "", "power": 0.5, "false_pass": 0.5})
    fresh = pub.copy()
    fresh["value"] = -0.8 - shift * 0.7
    for flag, agrees in ((False, plain), (True, chaotic)):
        assert rerun.compare_row(fresh, pub, chaotic=flag).startswith("agrees") == agrees, (shift, flag)
