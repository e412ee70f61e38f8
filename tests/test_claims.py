import math

import pytest

from replicate import claims, scorecard


def test_interval_verdicts():
    assert claims.interval_claim("c", "2", 2.01, 1.95, 2.05).verdict == "reproduced"
    assert claims.interval_claim("c", "2", 2.2, 1.95, 2.05, partly=(1.8, 2.3)).verdict == "partly"
    assert claims.interval_claim("c", "2", 3.0, 1.95, 2.05, partly=(1.8, 2.3)).verdict == "not reproduced"
    assert claims.interval_claim("c", "2", math.nan, 1.95, 2.05).verdict == "not testable at this scale"
    assert claims.interval_claim("c", "2", None, 1.95, 2.05).ours == "n/a"


def test_fraction_verdicts():
    assert claims.fraction_claim("c", "all", 10, 10).verdict == "reproduced"
    assert claims.fraction_claim("c", "all", 9, 10, partly=0.8).verdict == "partly"
    assert claims.fraction_claim("c", "all", 5, 10, partly=0.8).verdict == "not reproduced"
    assert claims.fraction_claim("c", "all", 0, 0).verdict == "not testable at this scale"


def test_unknown_verdict_rejected():
    with pytest.raises(ValueError, match="verdict must be one of"):
        claims.Claim("c", "p", "o", "t", "sort of")


def test_written_table_feeds_the_scorecard(tmp_path):
    table = [claims.interval_claim("boundary", "2", 2.0, 1.9, 2.1),
             claims.interval_claim("slope", "-1", -3.0, -1.2, -0.8)]
    claims.write(table, "ch-a", "nb1", "cpu", tmp_path / "ch-a" / "results")
    (tmp_path / "ch-a" / "index.md").write_text("# a")
    (tmp_path / "ch-b").mkdir()
    (tmp_path / "ch-b" / "index.md").write_text("# b")
    read = scorecard.collect(tmp_path)
    assert list(read["ours"]) == ["2", "-3"] and set(read["scale"]) == {"cpu"}
    summary = scorecard.summary(read)
    assert summary.loc["ch-a", "reproduced"] == 1 and summary.loc["ch-a", "not reproduced"] == 1
    assert scorecard.chapters_without_results(tmp_path) == ["ch-b"]
    assert "boundary" in claims.show(table)


def test_ours_at_each_scale_side_by_side(tmp_path):
    claims.write([claims.interval_claim("boundary", "2", 2.0, 1.9, 2.1)], "ch-a", "nb1", "cpu",
                 tmp_path / "book" / "ch-a" / "results")
    claims.write([claims.interval_claim("boundary", "2", 2.3, 1.9, 2.1)], "ch-a", "nb1", "smoke",
                 tmp_path / "runs" / "smoke" / "ch-a")
    wide = scorecard.at_each_scale(scorecard.collect(tmp_path / "book"),
                                   scorecard.collect(tmp_path / "runs", "*/*/*.claims.csv"))
    assert len(wide) == 1
    row = wide.iloc[0]
    assert (row["ours (cpu)"], row["verdict (cpu)"]) == ("2", "reproduced")
    assert (row["ours (smoke)"], row["verdict (smoke)"]) == ("2.3", "not reproduced")
