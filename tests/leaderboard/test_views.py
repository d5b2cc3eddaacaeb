"""Views over the seeded board: what a submitter and a visitor may see, and exports."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from leaderboard import charts
from leaderboard.seeds import ensure_seeded
from leaderboard.store.database import open_store
from leaderboard.views import compare, own_samples, per_class, ranked, submission_detail, to_csv


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory):
    url = f"sqlite:///{tmp_path_factory.mktemp('views') / 'lb.sqlite'}"
    sessions = open_store(url)
    ensure_seeded(sessions)
    with sessions() as session:
        rows = ranked(session, "code-test-600", "code_cls")
    return sessions, {r["model"]: r["id"] for r in rows}


def test_own_samples_never_show_the_reference(seeded) -> None:
    sessions, ids = seeded
    with sessions() as session:
        cls = own_samples(session, ids["Qwen2.5-VL-7B-Instruct-SFT (sft)"], "code_cls")
        reports = own_samples(session, ids["Qwen2.5-VL-7B-Instruct-SFT (sft)"], "code_report")
    assert len(cls) == len(reports) == 600
    assert all("reference" not in s and "correct" in s for s in cls)
    assert all("reference_class" not in s for s in reports)
    # The findings the report missed are the reference's own: never shown.
    assert all("fn" not in s["diagnosis"]["findings"] for s in reports)
    assert any(s["diagnosis"]["findings"]["fp"] == ["Class II Malocclusion"] for s in reports)


def test_per_class_rows_carry_a_ci_around_the_stored_f1(seeded) -> None:
    sessions, ids = seeded
    with sessions() as session:
        rows = per_class(session, ids["Lingshu-32B-SFT (sft)"])
    assert [r["support"] for r in rows] == [100] * 6
    for r in rows:
        assert r["f1_ci_low"] <= r["f1"] <= r["f1_ci_high"]
        assert r["f1_ci_high"] - r["f1_ci_low"] > 0.01  # 100 samples per class: not a point
    figure = charts.per_class_bars(rows)
    assert list(figure.data[0].error_y.array) == pytest.approx(
        [r["f1_ci_high"] - r["f1"] for r in rows])


def test_compare_two_rows_gives_the_paired_table_with_holm(seeded) -> None:
    sessions, ids = seeded
    with sessions() as session:
        table = compare(session, ids["Lingshu-32B-SFT (sft)"],
                        ids["paligemma2-3b-mix-448 (baseline)"], "code_cls")
    macro = next(r for r in table if r["metric"] == "macro_f1")
    assert macro["delta"] > 0.7 and macro["p_holm"] < 0.05
    assert macro["board_verdict"] == "A"  # the board ranks the first row above the second


def test_filters_and_detail(seeded) -> None:
    sessions, ids = seeded
    with sessions() as session:
        closed = ranked(session, "code-test-600", "code_cls", open_weights=False)
        small = ranked(session, "code-test-600", "code_cls", max_params=2.5)
        detail = submission_detail(session, ids["gemini-2.5-flash (baseline)"])
    assert {r["model"].split(" ")[0] for r in closed} == {"gemini-2.0-flash",
                                                          "gemini-2.5-flash"}
    assert small and all(r["params_billion"] <= 2.5 for r in small)
    assert detail["reproduce"].endswith("baseline/gemini-2.5-flash")
    with pytest.raises(LookupError, match="no board 'nope'"), sessions() as session:
        ranked(session, "nope", "code_cls")


def test_csv_neutralises_formula_cells() -> None:
    rows = [{"model": "=cmd|' /C calc'!A0", "value": -0.5, "link": "+1", "note": "@SUM(1)"},
            {"model": "plain", "value": 0.25, "link": "https://x", "note": "-x"}]
    parsed = list(csv.DictReader(io.StringIO(to_csv(rows))))
    assert parsed[0]["model"] == "'=cmd|' /C calc'!A0"
    assert (parsed[0]["link"], parsed[0]["note"], parsed[1]["note"]) == ("'+1", "'@SUM(1)", "'-x")
    assert parsed[0]["value"] == "-0.5" and parsed[1]["model"] == "plain"  # numbers kept


def test_size_and_scatter_charts_take_the_ranked_rows(seeded) -> None:
    sessions, _ = seeded
    with sessions() as session:
        cls = ranked(session, "code-test-600", "code_cls")
        report = ranked(session, "code-test-600", "code_report")
    assert len(charts.by_size(cls).data[0].x) == sum(1 for r in cls if r["params_billion"])
    assert len(charts.scatter(cls, report, "bleu").data[0].x) == 42


def test_cli_export_and_show(seeded, tmp_path: Path) -> None:
    from leaderboard.cli import main

    db = str(seeded[0].kw["bind"].url)
    assert main(["--db", db, "export", "--output", str(tmp_path / "b.csv")]) == 0
    assert len((tmp_path / "b.csv").read_text().splitlines()) == 43
    assert main(["--db", db, "show", "999999"]) == 2
