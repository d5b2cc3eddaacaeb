"""The leaderboard tab's logic without a browser: rows, table, details, compare, About."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from leaderboard.seeds import ensure_seeded
from leaderboard.store.database import open_store
from space import board, submit
from space.about import about_markdown
from space.demo import DemoModel


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory):
    sessions = open_store(f"sqlite:///{tmp_path_factory.mktemp('space') / 'lb.sqlite'}")
    ensure_seeded(sessions)
    return sessions


def test_a_board_without_rows_yet_shows_an_empty_table(seeded) -> None:
    """The page offers synthetic-demo before anything was submitted to it."""
    assert board.rows(seeded, "synthetic-demo", "code_cls") == []
    assert board.table([]).empty


def test_board_table_detail_and_download(seeded) -> None:
    found = board.rows(seeded, "code-test-600", "code_cls", setting="fine-tuned")
    frame = board.table(found)
    assert len(frame) == 12 and list(frame.columns[:4]) == [
        "Rank (95% interval)", "Model", "macro_f1", "95% CI"]
    assert frame["Rank (95% interval)"].tolist() == [
        board.rank_text(r["rank_low"], r["rank_high"]) for r in found]
    assert board.table(found, ["model", "top_confusion"]).columns.tolist() == [
        "Model", "Top confusion"]
    per_class = board.table(found, ["model", "f1:Pulpitis"])  # behind the column picker
    assert per_class.columns.tolist() == ["Model", "F1 Pulpitis"]
    assert per_class["F1 Pulpitis"].between(0, 1).all()
    text, per_class, heat, samples = board.detail(seeded, found[0]["id"], "code-test-600")
    assert "Reproduce:" in text and "pocket-dentist" in text
    assert per_class is not None and heat is not None
    assert len(samples) == 600 and "reference" not in samples.columns
    csv = Path(board.csv_download(found, "code-test-600", "code_cls")).read_text()
    assert "rank_low" in csv.splitlines()[0]
    assert csv.count("\n") == 13
    table = board.comparison(seeded, found[0]["id"], found[-1]["id"], "code_cls")
    assert "macro_f1" in set(table["metric"])


def test_about_lists_every_metric_with_its_signature() -> None:
    text = about_markdown()
    assert "| code_cls | `macro_f1` |" in text and "sacrebleu" in text
    assert "max-t rule" in text and "replicates" in text  # the ranking rule, from its module


def test_one_answer_in_full_shows_its_text_and_findings_never_the_reference(
        synth_dir: Path, tmp_path: Path, monkeypatch, seeded) -> None:
    from eval_harness.api import load_split
    from eval_harness.tasks.base import ScoreOptions
    from leaderboard.worker import work

    monkeypatch.setenv("CODEBENCH_DATA_DIR", str(synth_dir))
    sessions = open_store(f"sqlite:///{tmp_path / 'lb.sqlite'}")
    test = load_split(synth_dir, "test", "en").checkups
    answers = tmp_path / "reports.jsonl"
    answers.write_text("".join(json.dumps({"id": c.checkup_id, "task": "code_report",
                                           "prediction": "Diagnosis: Chronic pulpitis."})
                               + "\n" for c in test))
    message = submit.submit(sessions, tmp_path, "synthetic-demo", str(answers), "",
                            {"model_name": "m", "submitter": "ann"})
    assert "Queued" in message
    work(sessions, tmp_path, once=True, options=ScoreOptions(embeddings=False, resamples=20))
    ids = board.sample_ids(sessions, 1, "code_report")
    summary, pieces = board.sample_view(sessions, tmp_path, 1, "code_report", ids[0])
    assert "Six-class reading" in summary
    assert any(label and label.startswith("affirmed:") and label.endswith("(Pulpitis)")
               for _, label in pieces)
    assert test[0].reference_report not in summary + "".join(t for t, _ in pieces)
    # A published run keeps its scores only: the viewer says so instead of guessing.
    published = board.rows(seeded, "code-test-600", "code_report")[0]["id"]
    summary, pieces = board.sample_view(seeded, tmp_path, published, "code_report", "00000")
    assert "not kept" in summary and pieces == []


def test_a_rank_interval_reads_as_text() -> None:
    assert board.rank_text(1, 4) == "1–4"
    assert board.rank_text(3, 3) == "3"  # not "3–3"
    assert board.rank_text(None, None) == "—"  # a row not ranked by this metric
    assert board.rank_text(None, 5) == "—"
    assert board.table([{"id": 1, "model": "m", "metric": "macro_f1", "value": 0.5,
                         "ci_low": 0.4, "ci_high": 0.6, "rank_low": 2, "rank_high": 7,
                         "submitter": "s", "provenance": None}],
                       ["rank", "model"]).to_dict("records") == [
        {"Rank (95% interval)": "2–7", "Model": "m"}]


def test_rank_by_choices_follow_the_task(seeded) -> None:
    from eval_harness.tasks import get_task, task_names

    assert board.rank_choices("code_cls") == ["macro_f1", "accuracy", "weighted_f1"]
    assert board.rank_choices("code_report")[0] == "bleu_sentence_mean"
    assert "meteor" in board.rank_choices("code_report")
    for task in task_names():
        assert board.rank_choices(task) == list(get_task(task).rank_metrics())
    # The selector may still show the last task's metric while the task changes.
    assert board.rank_by_for("code_report", "macro_f1") == "bleu_sentence_mean"
    assert board.rank_by_for("code_cls", "accuracy") == "accuracy"
    assert board.rank_by_for("code_cls", None) == "macro_f1"
    by_primary = board.rows(seeded, "code-test-600", "code_report")
    by_meteor = board.rows(seeded, "code-test-600", "code_report", rank_by="meteor")
    assert {r["metric"] for r in by_meteor} == {"meteor"}
    columns = board.table(by_meteor).columns.tolist()
    assert columns[2] == "meteor" and columns.count("meteor") == 1  # not twice
    assert [r["id"] for r in by_meteor] != [r["id"] for r in by_primary]
    stale = board.rows(seeded, "code-test-600", "code_report", rank_by="macro_f1")
    assert [r["id"] for r in stale] == [r["id"] for r in by_primary]


def test_the_page_offers_every_registered_task() -> None:
    """The task selector reads the registry: a task registered later is offered too."""
    import dataclasses

    import gradio as gr

    from eval_harness.tasks import get_task, register, unregister
    from space.board_tab import board_tab
    from space.context import Space

    register(dataclasses.replace(get_task("code_multilabel"), name="code_extra"))
    try:
        with gr.Blocks() as page:
            board_tab(Space(sessions=None, folder=Path("."), data_dir=Path("."),
                             model=DemoModel("tiny-demo")))
        offered = next(c for c in page.blocks.values()
                       if getattr(c, "label", None) == "Task").choices
        rank_by = next(c for c in page.blocks.values()
                       if getattr(c, "elem_id", None) == "board-rank-by")
    finally:
        unregister("code_extra")
    assert [value for _, value in offered] == ["code_cls", "code_report", "code_multilabel",
                                               "code_extra"]
    assert [v for _, v in rank_by.choices] == ["macro_f1", "accuracy", "weighted_f1"]
    assert rank_by.value == "macro_f1"


def _row(i: int, low: int | None, high: int | None) -> dict:
    return {"id": i, "model": f"m{i}", "metric": "macro_f1", "value": 0.5, "rank_low": low,
            "rank_high": high}


def test_the_rank_chart_has_one_bar_per_ranked_row_best_at_the_top() -> None:
    from leaderboard.charts import RANK_PAD, rank_intervals

    found = [_row(7, 1, 2), _row(3, 1, 4), _row(9, 3, 3), _row(4, None, None)]
    figure = rank_intervals(found)
    (bars,) = figure.data
    assert list(bars.y) == ["m7 (#7)", "m3 (#3)", "m9 (#9)"]  # the unranked row left out
    ends = [(base + RANK_PAD, base + length - RANK_PAD) for base, length in
            zip(bars.base, bars.x, strict=True)]
    assert ends == [pytest.approx((1, 2)), pytest.approx((1, 4)), pytest.approx((3, 3))]
    assert all(length > 0 for length in bars.x)  # a one-rank interval still shows
    # The table's order, first row at the top.
    assert list(figure.layout.yaxis.categoryarray) == list(bars.y)
    assert figure.layout.yaxis.autorange == "reversed"
    assert "macro_f1" in figure.layout.title.text
    assert len(rank_intervals(found, limit=2).data[0].y) == 2
    assert board.rank_chart([_row(4, None, None)]) is None


def test_the_rank_chart_follows_the_board_rows(seeded) -> None:
    found = board.rows(seeded, "code-test-600", "code_report", setting="fine-tuned",
                       rank_by="meteor")
    (bars,) = board.rank_chart(found).data
    assert len(bars.y) == len(found) == 12
    assert [d[0] for d in bars.customdata] == [r["rank_low"] for r in found]
    assert [d[1] for d in bars.customdata] == [r["rank_high"] for r in found]
    assert "meteor" in board.rank_chart(found).layout.title.text


def test_compare_shows_the_pairs_test_beside_the_boards_verdict(seeded) -> None:
    found = board.rows(seeded, "code-test-600", "code_cls")
    far = board.comparison(seeded, found[0]["id"], found[-1]["id"], "code_cls")
    assert list(far.columns) == ["metric", "A", "B", "A − B", "95% CI", "p (Holm)",
                                 "board's verdict", "note"]
    assert far["metric"].tolist()[:3] == ["macro_f1", "accuracy", "weighted_f1"]
    verdicts = dict(zip(far["metric"], far["board's verdict"], strict=True))
    assert verdicts["macro_f1"] == "board: A ranked above B"
    close = board.comparison(seeded, found[1]["id"], found[0]["id"], "code_cls")
    assert set(close["board's verdict"]) == {"board: cannot separate"}
    report = board.rows(seeded, "code-test-600", "code_report")
    both = board.comparison(seeded, report[0]["id"], report[1]["id"], "code_report")
    verdicts = dict(zip(both["metric"], both["board's verdict"], strict=True))
    assert verdicts["rouge1"] == "—"  # not a metric the board ranks
    assert verdicts["bleu_sentence_mean"].startswith("board: ")
    assert "Holm" in board.COMPARE_NOTE and "whole board" in board.COMPARE_NOTE


def test_compare_numbers_are_rounded_and_signed() -> None:
    frame = board.comparison_rows([
        {"metric": "rougeL", "a": 0.6, "b": 0.59, "delta": 0.0058250007, "ci": [-0.0017310271,
                                                                              0.0326508562],
         "p_holm": 1.0, "skipped": None, "board_verdict": None},
        {"metric": "macro_f1", "a": 0.8124196583, "b": 0.0, "delta": 0.8124196583,
         "ci": [0.7794868500, 0.8423879091], "p_holm": 0.000999, "skipped": None,
         "board_verdict": "B"},
        {"metric": "meteor", "a": 0.5, "b": None, "delta": None, "ci": None, "p_holm": None,
         "skipped": "B: missing", "board_verdict": None}], "code_cls")
    rows = frame.to_dict("records")
    assert rows[0] == {"metric": "macro_f1", "A": 0.812, "B": 0.0, "A − B": "+0.812",
                       "95% CI": "[+0.779, +0.842]", "p (Holm)": "<0.001",
                       "board's verdict": "board: B ranked above A", "note": ""}
    assert rows[1]["95% CI"] == "[-0.002, +0.033]" and rows[1]["p (Holm)"] == "1.000"
    assert rows[1]["board's verdict"] == "—"
    assert rows[2]["95% CI"] == "—" and rows[2]["note"] == "B: missing"
