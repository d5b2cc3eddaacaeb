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


def test_a_board_without_rows_yet_shows_an_empty_table_with_its_headers(seeded) -> None:
    """The page offers synthetic-demo before anything was submitted to it; the empty
    table says what its columns are (it showed Gradio's "1 2 3" before)."""
    assert board.rows(seeded, "synthetic-demo", "code_cls") == []
    headers, cells, _ = board.shown_cells(board.table([]))
    assert headers == ["Rank (95%)", "Model", "Score", "95% CI", "Setting",
                       "Parameters (B)", "Open weights"] and cells == []


def test_board_table_detail_and_download(seeded) -> None:
    found = board.rows(seeded, "code-test-600", "code_cls", setting="fine-tuned")
    headers, cells, _ = board.shown_cells(board.table(found))
    assert len(cells) == 12 and headers[:4] == ["Rank (95%)", "Model", "Macro-F1", "95% CI"]
    assert [row[0] for row in cells] == [
        board.rank_text(r["rank_low"], r["rank_high"]) for r in found]
    assert board.shown_cells(board.table(found, ["model", "top_confusion"]))[0] == [
        "Model", "Top confusion"]
    headers, cells, _ = board.shown_cells(board.table(found, ["model", "f1:Pulpitis"]))
    assert headers == ["Model", "F1: Pulpitis"]
    assert all(0 <= float(row[1]) <= 1 for row in cells)
    text, per_class, heat, samples = board.detail(seeded, found[0]["id"], "code-test-600")
    assert "Reproduce on your machine" in text and "pocket-dentist" in text
    assert per_class is not None and heat is not None
    assert len(samples) == 600 and "reference" not in " ".join(samples.columns).lower()
    csv_text = Path(board.csv_download(found, "code-test-600", "code_cls")).read_text()
    assert csv_text.splitlines()[0].startswith("Row id,Model,")
    assert csv_text.count("\n") == 13
    table = board.comparison(seeded, found[0]["id"], found[-1]["id"], "code_cls")
    assert "Macro-F1" in set(table["Metric"])


def test_about_has_a_card_per_metric_and_the_signatures_collapsed() -> None:
    """The About tab was one table whose task column Chromium squeezed to "co de _c ls"
    under long signatures (a page ~4,700 px tall)."""
    text = about_markdown()
    assert "<strong>Macro-F1</strong> <code>macro_f1</code>" in text
    assert "<strong>BLEU (sentence mean)</strong> <code>bleu_sentence_mean</code>" in text
    assert "<strong>ICD-10 F1</strong> <code>icd_f1</code>" in text
    assert "<strong>Published numbers:</strong> Its mean, standard deviation" in text
    assert "| code_cls |" not in text  # no table
    summary = text.index("<details><summary>Exact definitions and signatures")
    assert text.index("sacrebleu:") > summary  # signatures only inside the block
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
    outcome = submit.submit(sessions, tmp_path, "synthetic-demo", str(answers), "",
                            {"model_name": "m", "submitter": "ann"})
    assert "Queued" in outcome.message
    work(sessions, tmp_path, once=True, options=ScoreOptions(embeddings=False, resamples=20))
    ids = board.sample_ids(sessions, 1, "code_report")
    summary, pieces = board.sample_view(sessions, tmp_path, 1, "code_report", ids[0])
    assert "Six-class reading" in summary
    assert any(label and label.startswith("affirmed:") and "Pulpitis" in label
               for _, label in pieces)
    assert test[0].reference_report not in summary + "".join(t for t, _ in pieces)
    # A published run keeps its scores only: the viewer says so instead of guessing.
    published = board.rows(seeded, "code-test-600", "code_report")[0]["id"]
    summary, pieces = board.sample_view(seeded, tmp_path, published, "code_report", "00000")
    assert "published runs are kept here as scores only" in summary and pieces == []


def test_a_rank_interval_reads_as_text() -> None:
    assert board.rank_text(1, 4) == "1–4"
    assert board.rank_text(3, 3) == "3"  # not "3–3"
    assert board.rank_text(None, None) == "—"  # a row not ranked by this metric
    assert board.rank_text(None, 5) == "—"
    assert board.shown_cells(board.table(
        [{"id": 1, "model": "m", "metric": "macro_f1", "value": 0.5, "ci_low": 0.4,
          "ci_high": 0.6, "rank_low": 2, "rank_high": 7, "submitter": "s",
          "provenance": None}], ["rank", "model"]))[:2] == (["Rank (95%)", "Model"],
                                                           [["2–7", "m"]])


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
    columns = board.shown_cells(board.table(by_meteor))[0]
    assert columns[2] == "METEOR" and columns.count("METEOR") == 1  # not twice
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
    assert "Macro-F1" in rank_intervals(found, metric_label="Macro-F1").layout.title.text
    assert len(rank_intervals(found, limit=2).data[0].y) == 2
    assert board.rank_chart([_row(4, None, None)]) is None


def test_the_rank_chart_follows_the_board_rows(seeded) -> None:
    found = board.rows(seeded, "code-test-600", "code_report", setting="fine-tuned",
                       rank_by="meteor")
    (bars,) = board.rank_chart(found).data
    assert len(bars.y) == len(found) == 12
    assert [d[0] for d in bars.customdata] == [r["rank_low"] for r in found]
    assert [d[1] for d in bars.customdata] == [r["rank_high"] for r in found]
    assert "Rank by METEOR" in board.rank_chart(found).layout.title.text


def test_compare_shows_the_pairs_test_beside_the_boards_verdict(seeded) -> None:
    found = board.rows(seeded, "code-test-600", "code_cls")
    far = board.comparison(seeded, found[0]["id"], found[-1]["id"], "code_cls")
    assert list(far.columns) == ["Metric", "A", "B", "A − B", "95% CI of A − B", "p (Holm)",
                                 "Board's verdict"]  # no always-empty note column
    assert far["Metric"].tolist()[:3] == ["Macro-F1", "Accuracy", "Weighted F1"]
    verdicts = dict(zip(far["Metric"], far["Board's verdict"], strict=True))
    assert verdicts["Macro-F1"] == "board: A ranked above B"
    close = board.comparison(seeded, found[1]["id"], found[0]["id"], "code_cls")
    assert set(close["Board's verdict"]) == {"board: cannot separate"}
    report = board.rows(seeded, "code-test-600", "code_report")
    both = board.comparison(seeded, report[0]["id"], report[1]["id"], "code_report")
    verdicts = dict(zip(both["Metric"], both["Board's verdict"], strict=True))
    assert verdicts["ROUGE-1"] == "—"  # not a metric the board ranks
    assert verdicts["BLEU (sentence mean)"].startswith("board: ")
    assert "Holm" in board.COMPARE_NOTE and "whole board" in board.COMPARE_NOTE


def test_compare_numbers_are_rounded_and_signed() -> None:
    """The Compare table once printed a CI as `-0.0016666666666667052,0.033333333333333326`
    (the raw list); every cell is text to 3 decimals now."""
    frame = board.comparison_rows([
        {"metric": "rougeL", "a": 0.6, "b": 0.59, "delta": 0.0058250007,
         "ci": [-0.0016666666666667052, 0.033333333333333326],
         "p_holm": 1.0, "skipped": None, "board_verdict": None},
        {"metric": "macro_f1", "a": 0.8124196583, "b": 0.0, "delta": 0.8124196583,
         "ci": [0.7794868500, 0.8423879091], "p_holm": 0.000999, "skipped": None,
         "board_verdict": "B"},
        {"metric": "meteor", "a": 0.5, "b": None, "delta": None, "ci": None, "p_holm": None,
         "skipped": "B: missing", "board_verdict": None},
        {"metric": "accuracy", "a": 0.5, "b": 0.5001, "delta": -0.0001, "ci": [-0.01, 0.01],
         "p_holm": 1.0, "skipped": None, "board_verdict": "tie"}], "code_cls")
    rows = frame.to_dict("records")
    assert rows[0] == {"Metric": "Macro-F1", "A": "0.812", "B": "0.000", "A − B": "+0.812",
                       "95% CI of A − B": "+0.779 to +0.842", "p (Holm)": "<0.001",
                       "Board's verdict": "board: B ranked above A", "Note": ""}
    assert rows[1]["A − B"] == "0.000"  # not "-0.000"
    assert rows[1]["Board's verdict"] == "board: cannot separate"
    assert rows[2]["Metric"] == "ROUGE-L" and rows[2]["95% CI of A − B"] == "-0.002 to +0.033"
    assert rows[2]["p (Holm)"] == "1.000" and rows[2]["Board's verdict"] == "—"
    assert rows[3]["95% CI of A − B"] == "—" and rows[3]["Note"] == "B: missing"
    assert "Note" not in board.comparison_rows([dict(r, skipped=None) for r in [
        {"metric": "accuracy", "a": 0.5, "b": 0.5, "delta": 0.0, "ci": [0.0, 0.0],
         "p_holm": 1.0, "board_verdict": "tie"}]], "code_cls").columns


def _spec_row(i: int, value: float, loss: float, rank: tuple[int, int]) -> dict:
    return {"id": i, "model": f"m{i}", "task": "code_multilabel", "metric": "micro_f1",
            "value": value, "ci_low": value - 0.0312, "ci_high": value + 0.02851,
            "rank_low": rank[0], "rank_high": rank[1], "submitter": "s", "provenance": None,
            "params_billion": 7.0, "open_weights": True, "setting": None,
            "hamming_loss": loss}


def test_the_table_reads_like_a_papers() -> None:
    """Finding 5 and 7: raw floats and metric keys as headers; 0.8 shown as 0.8; no best
    value marked; a lower-is-better column (Hamming loss) would have marked the worst."""
    from leaderboard.columns import OTHER

    found = [_spec_row(1, 0.80954, 0.2, (1, 2)), _spec_row(2, 0.8, 0.1, (1, 2)),
             _spec_row(3, 0.5, 0.3, (3, 3))]
    original = board.BOARD_COLUMNS
    board.BOARD_COLUMNS = (*original, ("hamming_loss", True))  # a lower-is-better column
    try:
        headers, cells, bold = board.shown_cells(board.table(found))
    finally:
        board.BOARD_COLUMNS = original
    assert OTHER["rank"].label == "Rank (95%)"
    assert headers == ["Rank (95%)", "Model", "Micro-F1", "95% CI", "Setting",
                       "Parameters (B)", "Open weights", "Hamming loss"]
    assert cells[0] == ["1–2", "m1", "0.810", "0.778–0.838", "—", "7", "yes", "0.200"]
    assert cells[1][2:4] == ["0.800", "0.769–0.829"] and cells[2][0] == "3"
    # Bold: the highest Micro-F1 (row 1) and the lowest Hamming loss (row 2), nothing else.
    assert [[i for i, b in enumerate(r) if b] for r in bold] == [[2], [7], []]


def test_the_legend_names_each_metric_column_and_its_direction() -> None:
    """Finding 7: code_report ranks by `bleu_sentence_mean` while a `bleu` column beside
    it shows another number with nothing saying which is which."""
    found = [{"id": 1, "model": "m", "task": "code_report", "metric": "bleu_sentence_mean",
              "value": 0.4, "ci_low": 0.3, "ci_high": 0.5, "rank_low": 1, "rank_high": 1,
              "submitter": "s", "provenance": None, "bleu": 0.45}]
    text = board.legend(found)
    first, second = text.splitlines()
    assert first.startswith("- **BLEU (sentence mean)** — the board is ranked by this:")
    assert second.startswith("- **BLEU (corpus)**: One BLEU-4 over all reports at once")
    assert "Not the paper's figure" in second and "(higher is better)" in second


def test_the_csv_has_readable_headers_and_full_precision() -> None:
    """The download's header row comes from the column spec (it was machine keys); the
    ranked metric is the score column, not repeated; numbers are not rounded."""
    import csv
    import io

    found = [dict(_spec_row(1, 0.80954, 0.2, (1, 2)), rank_upper_bound=1, micro_f1=0.80954)]
    header, row = list(csv.reader(io.StringIO(board.csv_text(found))))
    assert header == ["Row id", "Model", "Task", "Ranked by", "Micro-F1", "95% CI low",
                      "95% CI high", "Best rank (95%)", "Worst rank (95%)", "Submitted by",
                      "Parameters (B)", "Open weights", "Setting", "Hamming loss"]
    assert row[:5] == ["1", "m1", "code_multilabel", "micro_f1", "0.80954"]
    # The machine keys stay with the CLI's export (scripts), unchanged.
    from leaderboard.views import to_csv
    assert to_csv([{"model": "m", "value": 0.5}]).splitlines()[0] == "model,value"


def test_the_same_rows_give_the_same_download_file() -> None:
    """The table refreshes every 10 s and sets the download each time: one file per
    content, not one new temp folder per tick."""
    found = [_spec_row(1, 0.8, 0.2, (1, 1))]
    first = board.csv_download(found, "b", "code_multilabel")
    assert board.csv_download(found, "b", "code_multilabel") == first
    other = board.csv_download([_spec_row(1, 0.7, 0.2, (1, 1))], "b", "code_multilabel")
    assert other != first and Path(other).name == Path(first).name


def test_the_size_filter_starts_empty_and_says_what_is_wrong() -> None:
    """Finding 5: "At most (B parameters)" showed 0 as if a limit were set."""
    assert board.parse_max_params("") is None and board.parse_max_params(None) is None
    assert board.parse_max_params(" 2,5 ") == 2.5 and board.parse_max_params(7) == 7.0
    with pytest.raises(ValueError, match="'seven' is not a number"):
        board.parse_max_params("seven")
    with pytest.raises(ValueError, match="positive number"):
        board.parse_max_params("0")


def test_row_details_follow_the_task(seeded) -> None:
    """Finding 6: with code_report chosen, the detail still showed code_cls's chart and
    per-sample table."""
    row = board.rows(seeded, "code-test-600", "code_report", setting="fine-tuned")[0]["id"]
    _, per_class, heat, samples = board.detail(seeded, row, "code-test-600",
                                               "code_report")
    assert list(samples.columns) == [
        "Checkup", "BLEU (sentence mean)", "ROUGE-L", "METEOR", "Six-class reading right",
        "Findings matched", "Findings added", "Diagnosis read from", "Status"]
    assert len(samples) == 600 and "Report (task 2)" in per_class.layout.title.text
    assert "Report (task 2)" in heat.layout.title.text
    # Lingshu-32B-SFT: every Angle Class III reference was written as Class II (the
    # published table, docs/clinical-accuracy.md), a fine-grained finding it added.
    assert "Class II Malocclusion" in set(samples["Findings added"])
    _, cls_chart, _, cls_samples = board.detail(seeded, row, "code-test-600", "code_cls")
    assert list(cls_samples.columns) == ["Checkup", "Answer read as", "Right", "Status"]
    assert "Classification (task 1)" in cls_chart.layout.title.text


def test_provenance_is_labelled_and_reproducing_needs_no_server_path(seeded) -> None:
    """Finding 7: provenance was a key:value dump and "Reproduce" pointed at ../shared/…,
    which a visitor does not have."""
    row = board.rows(seeded, "code-test-600", "code_cls", setting="fine-tuned")[0]["id"]
    text = board.detail(seeded, row, "code-test-600", "code_cls")[0]
    assert "- **Commit**: `416efab189d7…`" in text
    assert "- **Folder**: results/datasets/code/sft/Lingshu-32B-SFT" in text
    assert "provenance:" not in text and "../shared" not in text and "/work/" not in text
    assert ("python -m eval_harness score --output <out folder> --peer-run <your "
            "pocket-dentist clone>/results/datasets/code/sft/Lingshu-32B-SFT") in text
    assert "<details><summary>For the operator of this server" in text
    assert f"python -m leaderboard show {row}" in text


def test_a_row_this_server_scored_shows_its_answer_text(synth_dir: Path, tmp_path: Path,
                                                         monkeypatch) -> None:
    """Finding 6: rows scored by this server's own model runs said "published runs keep
    scores only": the answer text was dropped when the row landed."""
    from eval_harness import api
    from eval_harness.tasks.base import ScoreOptions
    from leaderboard.boards import board_row
    from leaderboard.ingest import record_scored
    from leaderboard.store.schema import Submission

    monkeypatch.setenv("CODEBENCH_DATA_DIR", str(synth_dir))
    sessions = open_store(f"sqlite:///{tmp_path / 'lb.sqlite'}")
    split = api.load_split(synth_dir, "test", "en")
    scored = api.evaluate_on(split, "majority", {}, ["code_cls"],
                             ScoreOptions(embeddings=False, resamples=20))
    with sessions.begin() as session:
        session.add(board_row("synthetic-demo", split.references))
        row = Submission(board_id="synthetic-demo", kind="model", submitter="ann",
                         content_hash="x", model_name="majority", open_weights=True,
                         payload={"backend": "majority", "model_args": {},
                                  "tasks": ["code_cls"]})
        session.add(row)
        record_scored(session, row, scored, detail="scored")
        row_id = row.id
    first = board.sample_ids(sessions, row_id, "code_cls")[0]
    summary, pieces = board.sample_view(sessions, tmp_path, row_id, "code_cls", first)
    answer = next(s for s in scored.samples if s["id"] == first)["prediction"]
    assert pieces and "".join(text for text, _ in pieces) == answer
    assert "scores only" not in summary and "not kept" not in summary
