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
              "Possible gingivitis. Angle Class II malocclusion.")
    labels = {text: label for text, label in highlighted(report) if label}
    assert "".join(text for text, _ in highlighted(report)) == report  # nothing lost
    assert labels["Chronic pulpitis"] == "affirmed: Pulpitis"
    assert labels["dental caries"] == "negated: Dental Caries"
    assert labels["gingivitis"] == "uncertain: Gingivitis"
    assert labels["K04.003"] == "ICD-10: Pulpitis"
    # The class is named only where the anomaly's own name does not say it.
    assert labels["Angle Class II malocclusion"] == ("affirmed: Class II Malocclusion "
                                                     "(Class III Malocclusion)")


def test_highlight_tags_name_a_class_once() -> None:
    """Finding 7: tags read "AFFIRMED: PULPITIS (PULPITIS)", the class repeated after an
    anomaly of the same name."""
    for _, label in highlighted("Diagnosis: pulpitis of 36; no caries; gingivitis."):
        if label:
            name = label.split(": ", 1)[1]
            assert f"({name})" not in label, label


def test_each_kind_of_highlight_has_one_fixed_color_and_a_legend() -> None:
    """Finding 7: no legend, and Gradio gave every label its own color from a cycling
    palette, so "affirmed" looked different on every report."""
    from space.highlight import color_map, legend_html

    reports = ["Diagnosis: pulpitis of 36 (K04.003); no caries; possible gingivitis.",
               "Diagnosis: tooth loss of 46; no pulpitis; gingivitis; crowding (K07.3).",
               "Diagnosis: if caries develops, restore 16; no K02.1; cannot rule out "
               "pulpitis (K04.0)."]
    colors = color_map()  # one static map, given to the component once
    by_kind: dict[str, set[str]] = {}
    for report in reports:
        for _, label in highlighted(report):
            if label:
                assert label in colors, label  # else Gradio picks a palette color
                by_kind.setdefault(label.split(":")[0], set()).add(colors[label])
    assert set(by_kind) >= {"affirmed", "negated", "uncertain", "ICD-10"}
    assert all(len(shades) == 1 for shades in by_kind.values()), by_kind
    assert len({shade for shades in by_kind.values() for shade in shades}) == len(by_kind)
    legend = legend_html()
    for word in ("affirmed", "uncertain", "negated", "ICD-10"):
        assert f">{word}</span>: " in legend


_PROBABILITIES = {"Dental Caries": 0.8, "Pulpitis": 0.1, "Gingivitis": 0.04,
                  "Tooth Loss": 0.03, "Tooth Structure Loss": 0.02,
                  "Class III Malocclusion": 0.01}
_PULPITIS = ("Examination: deep caries on 36, tender to percussion.\n"
             "Diagnosis: Chronic pulpitis of tooth 36 (K04.003).\nTreatment Plan: RCT.")


def test_two_answers_that_differ_say_so_with_the_labelers_reading() -> None:
    """Finding 4: the class panel said "Dental Caries 80%" beside a report diagnosing
    Pulpitis, and nothing on the page said why."""
    from space.demo import agreement

    answer = {"class": "Dental Caries", "probabilities": _PROBABILITIES,
              "report": _PULPITIS, "done": True}
    line = agreement(answer)
    assert "differ" in line and "\n" not in line
    assert "Classification (task 1) ranks Dental Caries first (80%)" in line
    assert "Report (task 2) diagnoses Pulpitis" in line
    # The reading is of the Diagnosis section (caries is affirmed only in Examination).
    assert "Diagnosis section" in line and '"Chronic pulpitis"' in line
    assert agreement(answer | {"done": False}) == ""  # not while the report is written


def test_two_answers_that_agree_or_a_report_naming_no_class() -> None:
    from space.demo import agreement

    agree = {"class": "Pulpitis", "probabilities": {"Pulpitis": 0.7, "Dental Caries": 0.3},
             "report": _PULPITIS, "done": True}
    assert agreement(agree).startswith("Both answers name Pulpitis")
    silent = agree | {"report": "Diagnosis: nothing abnormal.\nRemarks: none."}
    assert "diagnoses none of the six classes" in agreement(silent)


def test_the_reports_class_is_the_one_code_report_scores() -> None:
    """The demo's reading is code_report's primary-class accuracy's reading: a report the
    page says diagnoses X scores 1 against reference X and 0 against the top class."""
    from eval_harness.metrics.clinical import primary_class_accuracy
    from space.demo import report_class

    diagnosed, _ = report_class(_PULPITIS)
    assert diagnosed == "Pulpitis"
    assert primary_class_accuracy([_PULPITIS], ["Pulpitis"]).value == 1.0
    assert primary_class_accuracy([_PULPITIS], ["Dental Caries"]).value == 0.0


def test_an_example_says_whether_each_answer_matched() -> None:
    """Finding 4: an example showed the reference class but not which answer matched it."""
    from space.demo import example_verdict

    answer = {"class": "Dental Caries", "probabilities": _PROBABILITIES,
              "report": _PULPITIS, "done": True}
    first, second = example_verdict("Pulpitis", answer).split("\n")
    assert "task 1" in first and "Dental Caries" in first and "does not match" in first
    assert "task 2" in second and "Pulpitis" in second and "does not match" not in second


def test_no_comparison_note_does_not_ask_a_visitor_to_set_variables() -> None:
    """Finding 7: the GPT-4o note told visitors to set OPENAI_API_KEY."""
    from space import demo

    assert "OPENAI_API_KEY" not in demo.NO_COMPARISON
    assert "no comparison model configured" in demo.NO_COMPARISON


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


def test_age_is_optional_and_checked_in_words() -> None:
    """Finding 5: the Age field showed 0 as if set (and an age of 0 became "no age")."""
    from space.demo import parse_age

    assert parse_age("") is None and parse_age("  ") is None and parse_age(None) is None
    assert parse_age("0") == 0 and parse_age(" 42 ") == 42 and parse_age(30) == 30
    with pytest.raises(UploadError, match=r"Age: 'forty' is not a number"):
        parse_age("forty")
    with pytest.raises(UploadError, match="Age: 130 is not a whole number of years"):
        parse_age("130")


def _cache(tmp_path: Path, monkeypatch) -> Path:
    cache = tmp_path / "gradio"
    (cache / "0123abcd").mkdir(parents=True)
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(cache))
    return cache


def test_a_form_run_again_uses_the_kept_uploads_once_the_files_are_gone(
        tmp_path: Path, monkeypatch) -> None:
    """Finding 1: the second run of a form said "<name>: image file is missing" because
    the first run's end deleted the cached uploads the form still lists."""
    from space.uploads import remember_uploads

    cache = _cache(tmp_path, monkeypatch)
    photo = _png(cache / "0123abcd" / "0007-001-01.jpg")
    elsewhere = _png(tmp_path / "not-an-upload.png")  # never read into memory
    kept = remember_uploads([photo, elsewhere], None)
    assert list(kept) == [photo]
    Path(photo).unlink()  # the first run's end
    with pytest.raises(UploadError, match=r"0007-001-01\.jpg: image file is missing"):
        stage_uploads([photo], [], tmp_path / "without")
    private = tmp_path / "request"
    assert stage_uploads([photo], [], private, kept) == (["01.png"], [])
    with Image.open(private / "Photographs" / "01.png") as staged:
        assert staged.size == (64, 48)
    # Still kept for a third run; dropped once the form no longer lists it.
    assert remember_uploads([photo], kept) == kept
    assert remember_uploads([], kept) == {}
    assert not Path(photo).exists() and list(cache.rglob("*.*")) == []


def test_thumbnails_are_inline_and_write_nothing(tmp_path: Path, monkeypatch) -> None:
    """Finding 9: the upload fields showed file names only; a thumbnail must not put
    another copy of a patient image on disk."""
    from space.uploads import thumbnails_html

    cache = _cache(tmp_path, monkeypatch)
    photo = _png(cache / "0123abcd" / "photo.jpg", size=(640, 480))
    notes = cache / "0123abcd" / "notes.jpg"
    notes.write_text("not an image")
    before = sorted(tmp_path.rglob("*"))
    shown = thumbnails_html([photo, str(notes)], None)
    assert sorted(tmp_path.rglob("*")) == before
    assert shown.count('src="data:image/jpeg;base64,') == 1 and 'alt="photo.jpg"' in shown
    assert "notes.jpg: " in shown and str(cache) not in shown
    Path(photo).unlink()  # gone after a run: drawn from the session's memory instead
    kept = {photo: _bytes()}
    assert thumbnails_html([photo], kept).count("data:image/jpeg") == 1
    assert "upload it again" in thumbnails_html([photo], None)


def _bytes() -> bytes:
    import io

    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 200, 10)).save(buffer, "PNG")
    return buffer.getvalue()


def test_a_refused_upload_is_one_log_line_without_a_traceback(tmp_path: Path,
                                                              caplog) -> None:
    """Finding 9: every expected refusal printed a full traceback in the server log."""
    import gradio as gr

    from space.context import Space
    from space.demo_tab import _demo_outputs

    text = tmp_path / "notes.png"
    text.write_text("not an image")
    space = Space(sessions=None, folder=tmp_path, data_dir=tmp_path,  # type: ignore[arg-type]
                  model=DemoModel("tiny-demo"))
    with caplog.at_level("WARNING", logger="codebench.space"), \
            pytest.raises(gr.Error) as refused:
        list(_demo_outputs(space, [str(text)], [], None, "", "", {}))
    assert refused.value.print_exception is False
    assert "notes.png" in str(refused.value.message)
    lines = [r for r in caplog.records if r.name == "codebench.space"]
    assert len(lines) == 1 and "notes.png" in lines[0].getMessage()
