"""The `data` subcommands from the command line: outputs, exit codes, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from eval_harness.cli import main


def test_info_prints_counts_and_fingerprint(synth_dir: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "info", str(synth_dir), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["checkups"] == 48 and len(summary["fingerprint"]) == 64
    test = summary["splits"]["test"]
    assert set(test["classes"].values()) == {test["checkups"] // 6}
    assert 0 < summary["splits"]["train"]["radiograph_coverage"] < 1


def test_info_with_validation_carve(synth_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "info", str(synth_dir), "--validation-fraction", "0.2"]) == 0
    assert "[validation]" in capsys.readouterr().out


def test_export_then_info_gives_same_fingerprint(synth_dir: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    main(["data", "info", str(synth_dir), "--json"])
    original = json.loads(capsys.readouterr().out)["fingerprint"]
    for fmt, out in (("jsonl", tmp_path / "c.jsonl"), ("hf", tmp_path / "c.parquet")):
        assert main(["data", "export", str(synth_dir), "--format", fmt, "--out", str(out)]) == 0
        capsys.readouterr()
        assert main(["data", "info", str(out), "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["fingerprint"] == original


def test_missing_folder_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "eval_harness", "data", "info",
                           str(tmp_path / "nope")], capture_output=True, text=True)
    assert done.returncode == 1  # a data error (usage errors exit 2)
    assert "no such dataset" in done.stderr and "Traceback" not in done.stderr


def test_bad_arguments_exit_nonzero() -> None:
    done = subprocess.run([sys.executable, "-m", "eval_harness", "data", "synth"],
                          capture_output=True, text=True)
    assert done.returncode == 2 and "--out" in done.stderr
