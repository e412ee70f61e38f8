"""The scorecard and registry pages on synthetic published files written by `claims.write` (the real writer)."""

import html as html_lib
import math
import re

import pytest

from replicate import claims, claims_html, scorecard

ALPHA = claims.Registry(chapter="alpha2020-test", title="Alpha et al. (2020)", claims=(
    claims.Claim("alpha.fit.train", "sweep", "—", "training accuracy at the small LR", (0.95, math.inf), "ours",
                 "the regime the paper studies", 0.01, kind="precondition", expect=1.0, rival=0.5,
                 rival_name="half fit"),
    claims.Claim("alpha.law.exponent", "sweep", "η* ∝ w^−1 (Thm 1)", "width exponent of η*", (-1.2, -0.8), "ours",
                 "±0.2: the pilot's bootstrap half-width", 0.05, requires=("alpha.fit.train",), expect=-1.0,
                 rival=0.0, rival_name="no width dependence"),
    claims.Claim("alpha.law.ratio", "sweep", "ratio ≤ 2 (Fig. 3)", "largest / smallest η*", (-math.inf, 2.0), "paper",
                 "the paper's bound", 0.1, expect=1.5, rival=4.0, rival_name="a ratio of 4"),
    claims.Claim("alpha.law.missing", "sweep", "gap > 0 (§4)", "generalisation gap", (0.0, math.inf), "paper",
                 "a sign", 0.01, partly=(-0.01, math.inf), partly_reason="within one resolution step", expect=0.1,
                 rival=-0.1, rival_name="the opposite sign"),
), history="2026-11-30: ratio bound declared before the run.")
BETA = claims.Registry(chapter="beta2021-test", title="Beta & Gamma (2021)", claims=(
    claims.Claim("beta.catapult.peak", "toy", "loss spikes (Fig. 1)", "peak / initial loss", (1.0, math.inf), "paper",
                 "a spike is any rise", 0.1, expect=5.0, rival=0.5, rival_name="no spike"),
    claims.Claim("beta.catapult.sharpness", "toy", "λ drops below 2/η (Eq. 5)", "final ηλ", (0.0, 2.0), "paper",
                 "the stability edge", 0.05, expect=1.0, rival=4.0, rival_name="η off by ×2"),
))


def publish(book, scales=("cpu", "gpu")) -> None:
    """Published files of two chapters at `scales` (the first is the book's own, the others in results/<scale>/)."""
    (book / ALPHA.chapter).mkdir(parents=True, exist_ok=True)
    (book / BETA.chapter).mkdir(parents=True, exist_ok=True)
    (book / ALPHA.chapter / "index.md").write_text("# alpha\n")
    (book / BETA.chapter / "index.md").write_text("# beta\n")
    (book / "gamma-empty").mkdir(exist_ok=True)
    (book / "gamma-empty" / "index.md").write_text("# gamma\n")
    for k, scale in enumerate(scales):
        shift = 0.3 * k
        alpha = claims.judge(ALPHA, "sweep", {
            "alpha.fit.train": claims.exact(1.0),
            "alpha.law.exponent": claims.Measurement(-1.0 + shift, -1.1 + shift, -0.9 + shift, 5, "bootstrap"),
            "alpha.law.ratio": claims.exact(3.0),
            "alpha.law.missing": claims.missing("point failed")})
        beta = claims.judge(BETA, "toy", {
            "beta.catapult.peak": claims.bootstrap([2.0, 3.0, 5.0, 8.0]),
            "beta.catapult.sharpness": claims.Measurement(1.9, 1.7, 2.2, 4, "bootstrap")})
        sub = "" if k == 0 else scale
        claims.write(alpha, ALPHA.chapter, "sweep", scale, book / ALPHA.chapter / "results" / sub)
        claims.write(beta, BETA.chapter, "toy", scale, book / BETA.chapter / "results" / sub)


def test_collect_reads_published_files_at_every_scale(tmp_path):
    publish(tmp_path)
    (tmp_path / ALPHA.chapter / "results" / "old.claims.csv").write_text("chapter,claim,verdict\nx,y,reproduced\n")
    table = scorecard.collect(tmp_path)
    assert set(table["scale"]) == {"cpu", "gpu"} and len(table) == 12
    assert table["value"].dtype == float and math.isinf(table["tol_high"].iloc[0])
    assert scorecard.book_scale(table) == "cpu"
    assert scorecard.chapters_without_results(tmp_path) == ["gamma-empty"]


def test_empty_book_gives_empty_tables(tmp_path):
    table = scorecard.collect(tmp_path)
    assert table.empty and "verdict" in table.columns
    assert scorecard.summary(table).empty
    assert scorecard.environments(tmp_path).empty
    assert len(scorecard.forest(table).axes) == 1
    assert "<tbody></tbody>" in scorecard.table_html(table)


def test_summary_counts_claims_only_at_the_books_scale(tmp_path):
    publish(tmp_path)
    counts = scorecard.summary(scorecard.collect(tmp_path))
    assert counts.loc[ALPHA.chapter].to_dict() == {"reproduced": 1, "partly": 0, "inconclusive": 0,
                                                   "not reproduced": 1, "underpowered": 0,
                                                   "not testable at this scale": 1}
    assert counts.loc[BETA.chapter, "inconclusive"] == 1 and counts.loc[BETA.chapter, "reproduced"] == 1
    text = scorecard.summary_text(counts)
    assert "all chapters" in text and "2 reproduced" in text
    html = scorecard.summary_html(counts)
    assert claims.COLORS["reproduced"] in html and "not testable" in html


def test_one_table_of_claims_links_notebook_and_registry_and_shows_scales_side_by_side(tmp_path):
    publish(tmp_path)
    table = scorecard.collect(tmp_path)
    html = scorecard.table_html(table)
    assert html.count("<table") == 1 and html.count("<tr>") == 1 + 5  # the precondition is on its notebook's table
    assert html.count('<tr class="notebook-row">') == 2
    assert html.index("at cpu") < html.index("at gpu")
    assert f'href="claims-registry.html#{claims_html.anchor("alpha.law.exponent")}"' in html
    assert f'href="{ALPHA.chapter}/sweep.html#claims"' in html
    assert "†" not in html  # the precondition was met at both scales
    blocked = table.assign(verdict=lambda t: t["verdict"].where(t["kind"] == "claim", "not met"),
                           blocked_by=lambda t: t["blocked_by"].where(t["id"] != "alpha.law.exponent",
                                                                      "alpha.fit.train"))
    html = scorecard.table_html(blocked)
    assert 'title="needs alpha.fit.train: not met (1.000)">†' in html


def test_forest_plot_one_panel_per_chapter_and_normalised_bands(tmp_path):
    publish(tmp_path)
    table = scorecard.collect(tmp_path)
    fig = scorecard.forest(table)
    assert len([ax for ax in fig.axes if ax.axison]) == 2
    two_sided = table[(table["id"] == "alpha.law.exponent") & (table["scale"] == "cpu")].iloc[0]
    assert scorecard.normalised(two_sided) == pytest.approx((0.5, 0.25, 0.75))
    upper = table[table["id"] == "alpha.law.ratio"].iloc[0]
    value, low, high = scorecard.normalised(upper)
    assert value > 1 and low == high == value  # above the upper edge: not reproduced
    assert scorecard.normalised(table[table["id"] == "alpha.law.missing"].iloc[0]) is None


def test_environments_from_provenance(tmp_path):
    publish(tmp_path)
    env = scorecard.environments(tmp_path)
    assert len(env) == 4 and set(env["scale"]) == {"cpu", "gpu"}
    assert env["wall time (s)"].notna().all()
    assert env["notebook"].iloc[0] == f"{ALPHA.chapter}/sweep"
    html = scorecard.environments_html(env)
    assert "wall time at cpu (s)" in html and "wall time at gpu (s)" in html and html.count("<tr") == 1 + 2
    assert "Every run:" in html


def test_registry_page_renders_every_claim_with_its_anchor_and_reason():
    html = scorecard.registry_html([ALPHA, BETA])
    for reg in (ALPHA, BETA):
        for c in reg.claims:
            assert f'id="{claims_html.anchor(c.id)}"' in html
            assert html_lib.escape(c.reason) in html
    assert "within one resolution step" in html and "2026-11-30: ratio bound" in html
    assert "No tolerance changed" in html  # BETA has no history
    assert f'href="#{claims_html.anchor("alpha.fit.train")}"' in html  # a precondition links to its row
    assert re.search(r"≥ 0\.95 \(ours\)", html)
    text = scorecard.registry_counts([ALPHA, BETA])
    assert "alpha2020-test" in text and "3 claims" in text and "1 preconditions" in text


def test_registry_of_the_book_renders():
    from replicate import registry

    regs = registry.every()
    html = scorecard.registry_html(regs)
    assert html.count("<tr id=") == sum(len(r.claims) for r in regs)
    assert len(scorecard.registry_counts(regs).splitlines()) == max(1, len(regs))
