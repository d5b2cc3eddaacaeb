"""The demo's wiring: upload fields with thumbnails, the run button, the two answers (the
paper's two tasks) with a line saying whether they agree, and the examples.

No `from __future__ import annotations` here: Gradio reads handler annotations at runtime.
"""

import functools
import logging
from pathlib import Path

from space.context import Space
from space.demo import (
    NO_COMPARISON,
    TASK_1,
    TASK_2,
    UploadError,
    agreement,
    example_verdict,
    run_demo,
    stream_demo,
)
from space.highlight import color_map, highlighted, legend_html
from space.uploads import forget_uploads, remember_uploads, thumbnails_html

log = logging.getLogger("codebench.space")
# The uploads a session's form still lists are kept in its memory this long after its last
# run (and dropped when the tab closes): long enough to edit the complaint and run again.
KEEP_UPLOADS_S = 900


def _refused(error: UploadError):
    """An expected refusal: one line in the server log, the reason on the page, no
    traceback (Gradio prints one for every gr.Error unless told not to)."""
    import gradio as gr

    log.warning("demo refused a request: %s", error)
    return gr.Error(str(error), print_exception=False)


def _shown(answer: dict) -> tuple:
    """The class probabilities, the agreement line and the highlighted report."""
    return (answer["probabilities"] or {answer["class"]: 1.0}, agreement(answer),
            highlighted(answer["report"]))


def _demo_outputs(space: Space, photos, radios, age, gender, complaint, kept):
    """Yields the whole view each time the report grows (Gradio streams a generator), and
    the session's memory of this form's uploads (so the same form can run again once
    their files have left the disk)."""
    paths = [*(photos or []), *(radios or [])]
    memory = remember_uploads(paths, kept)  # before the files are deleted below
    waiting = ({}, "", []) if space.second else ()
    try:
        for answer in stream_demo(space.model, photos, radios, age, gender, complaint,
                                  space.second, memory):
            yield (*_shown(answer),
                   *(_shown(answer["second"]) if "second" in answer else waiting), memory)
    except UploadError as error:
        raise _refused(error) from None
    finally:
        forget_uploads(paths, space.queued_uploads())


def _answer_column(model, prefix: str, key: str) -> list:
    """One model's two answers: the class (task 1), the agreement line, the report
    (task 2) with its legend."""
    import gradio as gr

    with gr.Column():
        shown = [gr.Label(label=f"{TASK_1}: class probabilities, {model.checkpoint}",
                          num_top_classes=6, elem_id=f"{prefix}-{key}"),
                 gr.Markdown(elem_id=f"{prefix}-{key}-agreement"),
                 gr.HighlightedText(label=f"{TASK_2}: the diagnostic report written by "
                                    f"{model.checkpoint}", combine_adjacent=False,
                                    color_map=color_map(), elem_id=f"{prefix}-{key}-report")]
        gr.HTML(legend_html())
    return shown


def _thumbnails(paths, kept) -> str:
    return thumbnails_html(paths, kept)


def _upload_field(label: str, elem_id: str, kept) -> object:
    """A multiple-file upload with thumbnails of what it holds below it."""
    import gradio as gr

    # No file_types: Gradio would refuse another type before the handler runs, leaving
    # the upload in its cache; stage_uploads refuses it in words and the copy is deleted.
    field = gr.File(label=label, file_count="multiple", type="filepath", elem_id=elem_id)
    thumbs = gr.HTML(elem_id=f"{elem_id}-thumbnails")
    field.change(_thumbnails, [field, kept], thumbs, show_progress="hidden",
                 api_name=False)
    return field


def demo_panel(space: Space, prefix: str) -> None:
    """Upload fields, a run button, the two answers (and the comparison model's, side by
    side, where one is configured)."""
    import gradio as gr

    gr.Markdown(f"**Model:** {space.model.describe()}. It answers the paper's two tasks "
                f"in two passes: **{TASK_1}** gives the probability of each of the six "
                f"classes; **{TASK_2}** writes the nine-section diagnostic report.")
    kept = gr.State({}, time_to_live=KEEP_UPLOADS_S)
    photos = _upload_field("Intraoral photographs", f"{prefix}-photos", kept)
    radios = _upload_field("Radiographs", f"{prefix}-radios", kept)
    with gr.Row():
        # A text field: Gradio 6's gr.Number shows 0 when empty (its frontend sets
        # value ??= 0), as if an age were given; parse_age reads and checks it.
        age = gr.Textbox(label="Age (years)", placeholder="optional", max_lines=1,
                         elem_id=f"{prefix}-age")
        gender = gr.Dropdown(["", "Female", "Male"], label="Gender", value="")
    complaint = gr.Textbox(label="Chief complaint", lines=2, elem_id=f"{prefix}-complaint")
    run = gr.Button("Run the model", variant="primary", elem_id=f"{prefix}-run")
    outputs = []
    with gr.Row():
        for model, key in ((space.model, "class"), (space.second, "second")):
            if model is not None:
                outputs += _answer_column(model, prefix, key)
    if space.second is None:
        gr.Markdown(NO_COMPARISON)
    # A partial, not a lambda: Gradio streams only what it sees is a generator function.
    run.click(functools.partial(_demo_outputs, space),
              [photos, radios, age, gender, complaint, kept], [*outputs, kept],
              concurrency_limit=1, concurrency_id="model", api_name=f"{prefix}_predict")


def _example_choices(data_dir: Path) -> list[str]:
    from eval_harness.api import load_split

    return [c.checkup_id for c in load_split(data_dir, "test", "en").checkups[:12]]


def _run_example(space: Space, checkup_id: str):
    """A synthetic test checkup: the model's two answers next to its reference class and
    report, and whether each answer matched (synthetic data is not held out)."""
    from eval_harness.api import load_split

    checkup = next((c for c in load_split(space.data_dir, "test", "en").checkups
                    if c.checkup_id == checkup_id), None)
    try:
        if checkup is None:
            raise UploadError(f"no synthetic test checkup {checkup_id!r}: pick one from "
                              "the list")
        answer = run_demo(space.model, [str(p) for p in checkup.photograph_paths],
                          [str(p) for p in checkup.radiograph_paths], checkup.age,
                          checkup.gender, checkup.texts["chief_complaint"])
    except UploadError as error:
        raise _refused(error) from None
    reference = (f"**Reference class:** {checkup.primary}  \n"
                 f"{example_verdict(checkup.primary, answer)}\n\n"
                 "**Reference report:**\n\n"  # one line per section, as written
                 + "  \n".join(checkup.reference_report.splitlines()))
    return (*_shown(answer), reference)


def examples_panel(space: Space) -> None:
    """A synthetic test checkup picked from a list, run, and shown beside its reference."""
    import gradio as gr

    gr.Markdown("### Examples from the synthetic test split")
    example = gr.Dropdown(_example_choices(space.data_dir), label="Checkup",
                          elem_id="demo-example")
    run_example = gr.Button("Run this example", elem_id="demo-run-example")
    with gr.Row():
        with gr.Column():
            shown = [gr.Label(label=f"{TASK_1}: class probabilities", num_top_classes=6,
                              elem_id="example-class"),
                     gr.Markdown(elem_id="example-agreement"),
                     gr.HighlightedText(label=f"{TASK_2}: the generated report",
                                        color_map=color_map(), elem_id="example-report")]
            gr.HTML(legend_html())
        ex_reference = gr.Markdown(elem_id="example-reference")
    run_example.click(lambda c: _run_example(space, c), example, [*shown, ex_reference],
                      concurrency_limit=1, concurrency_id="model")
