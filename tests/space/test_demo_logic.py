"""The demo's logic without a browser: uploads, answers, highlights, streaming."""

from __future__ import annotations

import itertools
import json
import tempfile
from pathlib import Path

import pytest
from PIL import Image

from space.demo import MAX_IMAGES, DemoModel, UploadError, run_demo, stage_uploads
from space.highlight import highlighted


def test_highlights_name_status_class_and_codes() -> None:
    report = ("Diagnosis: Chronic pulpitis of tooth 36 (K04.003); no dental caries. "
              "Possible gingivitis.")
    labels = {text: label for text, label in highlighted(report) if label}
    assert "".join(text for text, _ in highlighted(report)) == report  # nothing lost
    assert any(v.startswith("affirmed:") and "(Pulpitis)" in v for v in labels.values())
    assert any(v.startswith("negated:") and "(Dental Caries)" in v for v in labels.values())
    assert any(v.startswith("uncertain:") and "(Gingivitis)" in v for v in labels.values())
    assert any(v.startswith("ICD-10 K04.003") for v in labels.values())


def _png(path: Path, size=(64, 48)) -> str:
    Image.new("RGB", size, (200, 100, 100)).save(path)
    return str(path)


def test_uploads_are_checked_with_plain_reasons(tmp_path: Path) -> None:
    with pytest.raises(UploadError, match="at least one"):
        stage_uploads([], None, tmp_path / "a")
    many = [_png(tmp_path / f"{i}.png") for i in range(MAX_IMAGES + 1)]
    with pytest.raises(UploadError, match=f"at most {MAX_IMAGES}"):
        stage_uploads(many, [], tmp_path / "b")
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    with pytest.raises(UploadError, match=r"notes\.png: "):
        stage_uploads([str(text)], [], tmp_path / "c")
    huge = tmp_path / "huge.png"
    Image.new("1", (9000, 6000)).save(huge)  # 54 megapixels, a few KB on disk
    with pytest.raises(UploadError, match=r"huge\.png: "):
        stage_uploads([str(huge)], [], tmp_path / "d")
    photos, radios = stage_uploads([_png(tmp_path / "p.png")], [_png(tmp_path / "r.png")],
                                   tmp_path / "e")
    assert (photos, radios) == (["01.png"], ["01.png"])


def test_demo_answers_and_leaves_no_copy_of_the_uploads(synth_dir: Path,
                                                        monkeypatch) -> None:
    from eval_harness.data.load import load_checkups
    from space import demo

    made: list[Path] = []  # the request's private folder (other processes make their own)
    original = tempfile.mkdtemp

    def mkdtemp(**kwargs) -> str:
        made.append(Path(original(**kwargs)))
        return str(made[-1])

    monkeypatch.setattr(demo.tempfile, "mkdtemp", mkdtemp)
    checkup = next(c for c in load_checkups(synth_dir) if c.split == "test")
    answer = run_demo(DemoModel("tiny-demo"), [str(p) for p in checkup.photograph_paths],
                      [str(p) for p in checkup.radiograph_paths], 40, "Female", "toothache")
    assert len(made) == 1 and not made[0].exists()
    assert sum(answer["probabilities"].values()) == pytest.approx(1.0, abs=1e-3)
    assert answer["class"] == max(answer["probabilities"], key=answer["probabilities"].get)
    assert "Diagnosis:" in answer["report"]


def test_a_configured_endpoint_answers_beside_the_demo_model(synth_dir: Path,
                                                             monkeypatch) -> None:
    # GPT-4o stood in by a fake OpenAI-compatible server; the key only in the environment.
    from eval_harness.data.load import load_checkups
    from space.demo import comparison_model
    from tests.fake_openai_server import FakeOpenAIServer

    def answer(body: dict) -> str:
        asks_report = "diagnostic report" in json.dumps(body)
        return ("Diagnosis: Chronic pulpitis (K04.003)." if asks_report
                else "The answer is Pulpitis.")

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert comparison_model() is None  # the page then says how to enable it
    checkup = next(c for c in load_checkups(synth_dir) if c.split == "test")
    with FakeOpenAIServer(answer=answer, expected_key="sk-test") as server:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        monkeypatch.setenv("CODEBENCH_OPENAI_BASE_URL", server.base_url)
        second = comparison_model()
        assert second is not None and second.checkpoint == "gpt-4o"
        both = run_demo(DemoModel("tiny-demo"), [str(p) for p in checkup.photograph_paths],
                        [], None, None, "", second=second)
    assert both["second"]["class"] == "Pulpitis"
    assert both["second"]["probabilities"] == {"Pulpitis": 1.0}
    assert "K04.003" in both["second"]["report"]
    assert sum(both["probabilities"].values()) == pytest.approx(1.0, abs=1e-3)


def test_the_report_streams_and_ends_as_the_whole_answer(synth_dir: Path) -> None:
    from eval_harness.data.load import load_checkups
    from space.demo import stream_demo

    checkup = next(c for c in load_checkups(synth_dir) if c.split == "test")
    photos = [str(p) for p in checkup.photograph_paths]
    model = DemoModel("tiny-demo")
    steps = [a["report"] for a in stream_demo(model, photos, [], None, None, "")]
    whole = run_demo(model, photos, [], None, None, "")["report"]
    assert len(steps) > 5 and steps[-1] == whole  # greedy: streamed = generated
    assert all(later.startswith(earlier.rstrip()) for earlier, later in
               itertools.pairwise(steps) if earlier)
