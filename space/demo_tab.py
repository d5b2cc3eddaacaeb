"""The demo's wiring: upload fields, the run button, the two answers, the examples.

No `from __future__ import annotations` here: Gradio reads handler annotations at runtime.
"""

import functools
from pathlib import Path

from space.context import Space
from space.demo import ENABLE_COMPARISON, UploadError, run_demo, stream_demo
from space.highlight import highlighted
from space.uploads import forget_uploads


def _shown(answer: dict) -> tuple:
    return answer["probabilities"] or {answer["class"]: 1.0}, highlighted(answer["report"])


def _demo_outputs(space: Space, photos, radios, age, gender, complaint):
    """Yields the whole view each time the report grows (Gradio streams a generator)."""
    import gradio as gr

    waiting = ({}, []) if space.second else ()
    try:
        for answer in stream_demo(space.model, photos, radios, age, gender, complaint,
                                  space.second):
            yield _shown(answer) + (_shown(answer["second"]) if "second" in answer
                                    else waiting)
    except UploadError as error:
        raise gr.Error(str(error)) from None
    finally:
        forget_uploads([*(photos or []), *(radios or [])], space.queued_uploads())


def demo_panel(space: Space, prefix: str) -> None:
    """Upload fields, a run button, the class probabilities and the highlighted report
    (and the comparison model's, side by side, where one is configured)."""
    import gradio as gr

    gr.Markdown(f"**Model:** {space.model.describe()}.")
    # No file_types: Gradio would refuse another type before the handler runs, leaving
    # the upload in its cache; stage_uploads refuses it in words and the copy is deleted.
    photos = gr.File(label="Intraoral photographs", file_count="multiple", type="filepath",
                     elem_id=f"{prefix}-photos")
    radios = gr.File(label="Radiographs", file_count="multiple", type="filepath",
                     elem_id=f"{prefix}-radios")
    with gr.Row():
        age = gr.Number(label="Age", precision=0, minimum=0, maximum=120)
        gender = gr.Dropdown(["", "Female", "Male"], label="Gender", value="")
    complaint = gr.Textbox(label="Chief complaint", lines=2)
    run = gr.Button("Run the model", variant="primary", elem_id=f"{prefix}-run")
    outputs = []
    with gr.Row():
        for model, key in ((space.model, "class"), (space.second, "second")):
            if model is None:
                continue
            with gr.Column():
                outputs.append(gr.Label(label=f"Predicted class: {model.checkpoint}",
                                        num_top_classes=6, elem_id=f"{prefix}-{key}"))
                outputs.append(gr.HighlightedText(
                    label=f"Report by {model.checkpoint} (labeler findings highlighted)",
                    combine_adjacent=False, elem_id=f"{prefix}-{key}-report"))
    if space.second is None:
        gr.Markdown(ENABLE_COMPARISON)
    # A partial, not a lambda: Gradio streams only what it sees is a generator function.
    run.click(functools.partial(_demo_outputs, space), [photos, radios, age, gender, complaint],
              outputs, concurrency_limit=1, concurrency_id="model",
              api_name=f"{prefix}_predict")


def _example_choices(data_dir: Path) -> list[str]:
    from eval_harness.api import load_split

    return [c.checkup_id for c in load_split(data_dir, "test", "en").checkups[:12]]


def _run_example(space: Space, checkup_id: str):
    """A synthetic test checkup: the model's answer next to its reference (synthetic
    data is not held out)."""
    import gradio as gr

    from eval_harness.api import load_split

    checkup = next((c for c in load_split(space.data_dir, "test", "en").checkups
                    if c.checkup_id == checkup_id), None)
    if checkup is None:
        raise gr.Error(f"no synthetic test checkup {checkup_id!r}")
    answer = run_demo(space.model, [str(p) for p in checkup.photograph_paths],
                      [str(p) for p in checkup.radiograph_paths], checkup.age, checkup.gender,
                      checkup.texts["chief_complaint"])
    reference = f"**Reference class:** {checkup.primary}\n\n{checkup.reference_report}"
    return (*_shown(answer), reference)


def examples_panel(space: Space) -> None:
    """A synthetic test checkup picked from a list, run, and shown beside its reference."""
    import gradio as gr

    gr.Markdown("### Examples from the synthetic test split")
    example = gr.Dropdown(_example_choices(space.data_dir), label="Checkup",
                          elem_id="demo-example")
    run_example = gr.Button("Run this example", elem_id="demo-run-example")
    with gr.Row():
        ex_class = gr.Label(label="Predicted class", num_top_classes=6,
                            elem_id="example-class")
        ex_reference = gr.Markdown(elem_id="example-reference")
    ex_report = gr.HighlightedText(label="Generated report", elem_id="example-report")
    run_example.click(lambda c: _run_example(space, c), example,
                      [ex_class, ex_report, ex_reference], concurrency_limit=1,
                      concurrency_id="model")
