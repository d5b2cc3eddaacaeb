"""The CLI as a user meets it, run as a real subprocess: one line for bad usage (exit 2)
and bad data (exit 1), a traceback and a "this is a bug" line for anything else,
exit 3 for a degraded run, quiet and pipe-friendly output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from eval_harness.data.load import load_checkups
from tests.conftest import require_shared

ROOT = Path(__file__).resolve().parents[1]


def _cli(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "eval_harness", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, **kwargs)


def _one_line(done: subprocess.CompletedProcess, code: int, message: str) -> None:
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert message in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def _peer_lines(tmp_path: Path, lines: list[dict]) -> Path:
    run = tmp_path / "peer"
    run.mkdir()
    (run / "predictions.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    return run


def test_peer_line_without_ground_truth(tmp_path: Path) -> None:
    run = _peer_lines(tmp_path, [
        {"id": "code_cls_00000", "task": "code_classification", "prediction": "Pulpitis",
         "ground_truth": "Pulpitis"},
        {"id": "code_cls_00001", "task": "code_classification", "prediction": "Pulpitis"}])
    done = _cli("score", "--peer-run", run, "--output", tmp_path / "o")
    _one_line(done, 1, "line 2, checkup code_cls_00001: peer-run line without its ground truth")


def test_peer_run_lacking_a_requested_task(tmp_path: Path) -> None:
    run = _peer_lines(tmp_path, [
        {"id": "code_cls_00000", "task": "code_classification", "prediction": "Pulpitis",
         "ground_truth": "Pulpitis"}])
    done = _cli("score", "--peer-run", run, "--tasks", "code_cls,code_report",
                "--output", tmp_path / "o")
    _one_line(done, 1, "no predictions for task(s) code_report (it has code_cls)")
    assert not (tmp_path / "o" / "results.json").exists()


def test_jsonl_whose_code_field_is_not_an_object(tmp_path: Path) -> None:
    path = tmp_path / "export.jsonl"
    path.write_text(json.dumps({"messages": [], "images": [], "code": "0001-001"}) + "\n")
    _one_line(_cli("data", "info", path), 1, "line 1: 'code' must be an object, not str")


@pytest.mark.parametrize("tasks", [",", " , "])
def test_empty_task_list_is_a_usage_error(tasks: str, synth_dir: Path, tmp_path: Path) -> None:
    preds = tmp_path / "p.jsonl"
    preds.write_text('{"id": "x", "task": "code_cls", "prediction": "Pulpitis"}\n')
    done = _cli("score", "--predictions", preds, "--data", synth_dir, "--tasks", tasks,
                "--output", tmp_path / "o")
    _one_line(done, 2, "--tasks names no task")


def test_empty_predictions_file_is_an_error_not_a_run_of_failures(synth_dir: Path,
                                                                   tmp_path: Path) -> None:
    preds = tmp_path / "empty.jsonl"
    preds.write_text("\n")
    done = _cli("score", "--predictions", preds, "--data", synth_dir, "--output", tmp_path / "o")
    _one_line(done, 1, "no predictions: the file is empty")


def test_unknown_split_names_the_splits_that_exist(synth_dir: Path, tmp_path: Path) -> None:
    preds = tmp_path / "p.jsonl"
    preds.write_text('{"id": "x", "task": "code_cls", "prediction": "Pulpitis"}\n')
    done = _cli("score", "--predictions", preds, "--data", synth_dir, "--split", "dev",
                "--output", tmp_path / "o")
    _one_line(done, 1, "no 'dev' checkups; the splits here are test, train")


def test_a_bug_shows_its_traceback_and_says_so(tmp_path: Path) -> None:
    """An internal error is not dressed up as bad input: traceback plus one line."""
    code = ("import sys\nfrom eval_harness import cli\n"
            "def boom(args):\n    raise ValueError('internal invariant broken')\n"
            "args = cli.build_parser().parse_args(['data', 'info', '.'])\n"
            "args.handler = boom\nsys.exit(cli._dispatch(args))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 70
    assert "Traceback" in done.stderr and "internal invariant broken" in done.stderr
    assert "This is a bug in eval_harness" in done.stderr


def _predictions(path: Path, checkups, failed: int) -> Path:
    lines = [{"id": c.checkup_id, "task": "code_cls", "prediction": c.primary}
             if i >= failed else {"id": c.checkup_id, "task": "code_cls", "failed": True,
                                  "error": "server returned 503"}
             for i, c in enumerate(checkups)]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


def test_degraded_run_writes_its_document_and_exits_3(synth_dir: Path, tmp_path: Path) -> None:
    test = load_checkups(synth_dir, split="test")
    preds = _predictions(tmp_path / "p.jsonl", test, failed=len(test) // 2)
    done = _cli("score", "--predictions", preds, "--data", synth_dir, "--output",
                tmp_path / "o", "--resamples", "20", "--quiet")
    assert done.returncode == 3, done.stderr
    assert "run degraded" in done.stderr and "server returned 503" in done.stderr
    document = json.loads((tmp_path / "o" / "results.json").read_text())
    assert document["status"] == "degraded"
    assert document["failures"]["rate"]["code_cls"] == pytest.approx(0.5)
    # The same file under a looser threshold is an ordinary run.
    done = _cli("score", "--predictions", preds, "--data", synth_dir, "--output",
                tmp_path / "o2", "--resamples", "20", "--max-failure-rate", "0.6")
    assert done.returncode == 0, done.stderr


def test_quiet_run_prints_no_progress_bar_and_skip_reasons_show(synth_dir: Path,
                                                                tmp_path: Path) -> None:
    common = ("run", "--model", "majority", "--data", synth_dir, "--tasks",
              "code_cls,code_report", "--resamples", "20", "--no-embeddings", "--no-cache")
    loud = _cli(*common, "--output", tmp_path / "loud")
    assert loud.returncode == 0 and "%|" in loud.stderr  # the bar the flag must silence
    quiet = _cli(*common, "--output", tmp_path / "quiet", "--quiet")
    assert quiet.returncode == 0, quiet.stderr
    assert "%|" not in quiet.stderr and quiet.stderr.strip() == ""
    assert "cosine skipped: disabled (--no-embeddings)" in quiet.stdout


def test_output_piped_into_head_ends_without_a_traceback(synth_dir: Path, tmp_path: Path) -> None:
    test = load_checkups(synth_dir, split="test")
    preds = _predictions(tmp_path / "p.jsonl", test, failed=0)
    process = subprocess.Popen(
        [sys.executable, "-m", "eval_harness", "score", "--predictions", str(preds), "--data",
         str(synth_dir), "--output", str(tmp_path / "o"), "--resamples", "20"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()  # the reader is gone before anything is printed, as `head` exits
    stderr = process.communicate(timeout=300)[1].decode()
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr
    assert process.returncode == 141
    assert (tmp_path / "o" / "results.json").is_file()  # the work itself was done


def test_compare_of_two_peer_runs_prints_its_table(tmp_path: Path) -> None:
    peer = require_shared()
    for name, run in (("a", "sft/Qwen2.5-VL-7B-Instruct-SFT"),
                      ("b", "baseline/Qwen2.5-VL-7B-Instruct")):
        done = _cli("score", "--peer-run", peer / run, "--tasks", "code_cls",
                    "--output", tmp_path / name, "--resamples", "50", "--quiet")
        assert done.returncode == 0, done.stderr
    done = _cli("compare", tmp_path / "a", tmp_path / "b", "--resamples", "50")
    assert done.returncode == 0, done.stderr
    assert "code_cls" in done.stdout and "macro_f1" in done.stdout and "p Holm" in done.stdout


@pytest.mark.parametrize(("line", "message"), [
    ({"task": "code_cls", "prediction": "Pulpitis", "failed": "no"},
     "'failed' must be true or false, not 'no'"),
    ({"task": "code_cls", "prediction": None, "failed": True, "error": {"code": 500}},
     "'error' must be a string"),
])
def test_wrong_field_types_are_data_errors(line, message, synth_dir: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    from eval_harness.cli import main

    cid = load_checkups(synth_dir, split="test")[0].checkup_id
    preds = tmp_path / "p.jsonl"
    preds.write_text(json.dumps({"id": cid, **line}) + "\n")
    assert main(["score", "--predictions", str(preds), "--data", str(synth_dir),
                 "--output", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert f"line 1, checkup {cid}: {message}" in err and "Traceback" not in err


def test_peer_prediction_that_is_not_text(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    from eval_harness.cli import main

    run = _peer_lines(tmp_path, [
        {"id": "code_cls_00000", "task": "code_classification", "prediction": 5,
         "ground_truth": "Pulpitis"}])
    assert main(["score", "--peer-run", str(run), "--output", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert "line 1, checkup code_cls_00000: 'prediction' must be a string" in err


def test_empty_answers_count_toward_degraded(synth_dir: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """A wrong dtype that makes a model answer nothing must not pass as a row of zeros."""
    from eval_harness.cli import main

    test = load_checkups(synth_dir, split="test")
    preds = tmp_path / "p.jsonl"
    preds.write_text("".join(json.dumps({"id": c.checkup_id, "task": "code_report",
                                         "prediction": ""}) + "\n" for c in test))
    assert main(["score", "--predictions", str(preds), "--data", str(synth_dir),
                 "--output", str(tmp_path / "o"), "--resamples", "20",
                 "--no-embeddings"]) == 3
    document = json.loads((tmp_path / "o" / "results.json").read_text())
    assert document["status"] == "degraded"
    assert document["failures"]["top_errors"] == [["empty answer", len(test)]]


@pytest.mark.parametrize(("extra", "message"), [
    (["--resamples", "0"], "--resamples must be at least 1"),
    (["--json", "."], "--json . is a folder"),
])
def test_compare_usage_errors(extra, message, tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    from eval_harness.cli import main

    assert main(["compare", str(tmp_path / "a"), str(tmp_path / "b"), *extra]) == 2
    assert message in capsys.readouterr().err
