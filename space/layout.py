"""The space's page: a landing view with the board beside the demo, then one tab each for
the full leaderboard, the demo, submitting, and about. Wiring only: the logic is in the
sibling modules, the numbers in the store.

No `from __future__ import annotations` here: Gradio reads the `gr.Request` annotation of a
handler at runtime to pass the request in.
"""

import functools
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from space import board as board_logic
from space import submit as submit_logic
from space.about import about_markdown
from space.demo import ENABLE_COMPARISON, DemoModel, UploadError, run_demo, stream_demo
from space.guard import guarded
from space.highlight import highlighted
from space.uploads import forget_uploads, queued_uploads

BOARDS = ("code-test-600", "synthetic-demo")
REFRESH_S = 10.0
CSS = ".codebench-landing {gap: 24px}"


@dataclass
class Space:
    sessions: sessionmaker[Session]
    folder: Path  # the leaderboard folder (stored submissions)
    data_dir: Path  # the synthetic benchmark (examples, the demo's board)
    model: DemoModel
    second: DemoModel | None = None  # GPT-4o (or another endpoint) beside it, if configured
    # The page's queue, read when a request ends (set by build; see space.uploads).
    queued_uploads: Callable[[], Counter[str] | None] = lambda: None


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


def _demo_panel(space: Space, prefix: str) -> None:
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


def _board_tab(space: Space) -> Any:
    import gradio as gr

    from eval_harness.tasks import task_names

    @guarded
    def refresh(board, task, setting, weights, max_params, shown, rank_by=None):
        found = board_logic.rows(space.sessions, board, task, setting, weights, max_params,
                                 rank_by)
        picks = gr.update(choices=board_logic.choices(found))
        return (board_logic.table(found, shown), board_logic.rank_chart(found), picks, picks,
                picks, found)

    tasks = list(task_names())
    with gr.Row():
        board = gr.Dropdown(list(BOARDS), value=BOARDS[0], label="Board", elem_id="board-board")
        task = gr.Dropdown(tasks, value=tasks[0], label="Task", elem_id="board-task")
        rank_by = gr.Dropdown(board_logic.rank_choices(tasks[0]),
                              value=board_logic.rank_by_for(tasks[0], None), label="Rank by",
                              elem_id="board-rank-by",
                              # Any task's metric through the API; a wrong one reads as primary.
                              allow_custom_value=True)
        setting = gr.Radio(list(board_logic.SETTINGS), value="all", label="Setting")
        weights = gr.Radio(list(board_logic.WEIGHTS), value="all", label="Weights")
        max_params = gr.Number(label="At most (B parameters)", value=None)
    headers = [(header, key) for key, header, _ in board_logic.COLUMNS]
    shown = gr.CheckboxGroup(headers, value=[k for k, _, d in board_logic.COLUMNS if d],
                             label="Columns")
    found = gr.State([])
    gr.Markdown(board_logic.RANK_NOTE, elem_id="board-rank-note")
    table = gr.Dataframe(label="Leaderboard", interactive=False, show_search="filter",
                         pinned_columns=2, elem_id="board-table", max_height=600)
    download = gr.DownloadButton("Download CSV")
    chart = gr.Plot(label="Rank intervals (95%)", elem_id="board-rank-chart")
    gr.Markdown("### A row in detail")
    pick = gr.Dropdown(label="Row", choices=[], elem_id="board-pick")
    detail = gr.Markdown()
    with gr.Row():
        per_class = gr.Plot(label="Per-class F1 (95% CI)", elem_id="board-per-class")
        heat = gr.Plot(label="Confusion matrix", elem_id="board-confusion")
    samples = gr.Dataframe(label="Per-sample answers (no reference shown)", max_height=300)
    with gr.Row():
        sample = gr.Dropdown(label="One answer in full", choices=[], elem_id="board-sample")
        sample_summary = gr.Markdown(elem_id="board-sample-summary")
    sample_text = gr.HighlightedText(label="The answer, labeler findings highlighted",
                                     combine_adjacent=False)
    gr.Markdown("### Two rows, paired on the same checkups")
    with gr.Row():
        a = gr.Dropdown(label="Row A", choices=[], elem_id="board-a")
        b = gr.Dropdown(label="Row B", choices=[], elem_id="board-b")
    compare = gr.Button("Compare", elem_id="board-compare")
    gr.Markdown(board_logic.COMPARE_NOTE)
    paired = gr.Dataframe(label="This pair, and the board's verdict on it", wrap=True,
                          elem_id="board-paired")
    # rank_by last: API callers that name only the first six get the task's primary.
    inputs = [board, task, setting, weights, max_params, shown, rank_by]
    outputs = [table, chart, pick, a, b, found]
    for control in (board, setting, weights, max_params, shown):
        control.change(refresh, inputs, outputs)
    # A new task brings its own rank-by choices (primary selected), then the table. The
    # selector refreshes on the user's choice only, so the task's reset does not read twice.
    task.change(lambda t: gr.update(choices=board_logic.rank_choices(t),
                                    value=board_logic.rank_by_for(t, None)), task, rank_by
                ).then(refresh, inputs, outputs)
    rank_by.input(refresh, inputs, outputs)
    # New results show without restarts; named, so the API (and the benchmark) can read it.
    gr.Timer(REFRESH_S).tick(refresh, inputs, outputs, api_name="board_rows")
    pick.change(guarded(lambda row, board: board_logic.detail(space.sessions, row, board)),
                [pick, board], [detail, per_class, heat, samples])
    pick.change(guarded(lambda row, t: gr.update(
        choices=board_logic.sample_ids(space.sessions, row, t), value=None)), [pick, task],
        sample)
    sample.change(guarded(lambda row, t, sid: board_logic.sample_view(
        space.sessions, space.folder, row, t, sid)), [pick, task, sample],
        [sample_summary, sample_text])
    compare.click(guarded(lambda x, y, t: board_logic.comparison(space.sessions, x, y, t)),
                  [a, b, task], paired)
    download.click(board_logic.csv_download, [found, board, task], download)
    return refresh, inputs, outputs


def build(space: Space):
    import gradio as gr

    with gr.Blocks(title="COde-Bench", delete_cache=(600, 600)) as page:
        space.queued_uploads = functools.partial(queued_uploads, page)
        gr.Markdown("# COde-Bench — oro-dental vision-language models, measured\n"
                    "The `code-test-600` board shows published runs on the real COde test "
                    "split. The demo runs on this server: "
                    f"{space.model.describe()}.")
        with gr.Tabs() as tabs:
            # Wide screens: board and demo side by side; narrow ones: the columns stack.
            with gr.Tab("Home", id="home"), gr.Row(elem_classes="codebench-landing",
                                                    equal_height=False):
                with gr.Column(min_width=420):
                    gr.Markdown("### Leaderboard: code-test-600, six-class macro-F1")
                    top = gr.Dataframe(interactive=False, elem_id="home-board",
                                       max_height=520)
                    to_board = gr.Button("Open the full leaderboard")
                with gr.Column(min_width=420):
                    gr.Markdown("### Try the model on a checkup")
                    _demo_panel(space, "home")
                    to_demo = gr.Button("Open the demo tab (examples)")
            with gr.Tab("Leaderboard", id="board"):
                refresh, inputs, outputs = _board_tab(space)
            with gr.Tab("Demo", id="demo"):
                _demo_panel(space, "demo")
                gr.Markdown("### Examples from the synthetic test split")
                example = gr.Dropdown(_example_choices(space.data_dir), label="Checkup",
                                      elem_id="demo-example")
                run_example = gr.Button("Run this example", elem_id="demo-run-example")
                with gr.Row():
                    ex_class = gr.Label(label="Predicted class", num_top_classes=6,
                                        elem_id="example-class")
                    ex_reference = gr.Markdown(elem_id="example-reference")
                ex_report = gr.HighlightedText(label="Generated report",
                                               elem_id="example-report")
                run_example.click(lambda c: _run_example(space, c), example,
                                  [ex_class, ex_report, ex_reference], concurrency_limit=1,
                                  concurrency_id="model")
            with gr.Tab("Submit", id="submit"):
                _submit_tab(space)
            with gr.Tab("About", id="about"):
                gr.Markdown(about_markdown())
        to_board.click(lambda: gr.Tabs(selected="board"), None, tabs)
        to_demo.click(lambda: gr.Tabs(selected="demo"), None, tabs)

        @guarded
        def landing():
            found = board_logic.rows(space.sessions, "code-test-600", "code_cls")[:10]
            return board_logic.table(found, ["rank", "model", "value", "ci"])

        page.load(landing, None, top)
        page.load(refresh, inputs, outputs)
    return page


def _submit_tab(space: Space) -> None:
    import gradio as gr

    gr.Markdown("Upload a predictions file (JSONL: `{\"id\", \"task\", \"prediction\"}` per "
                "line) **or** describe a model the server runs on `synthetic-demo`.")
    with gr.Row():
        board = gr.Dropdown(list(BOARDS), value=BOARDS[1], label="Board")
        model_name = gr.Textbox(label="Model name", elem_id="submit-model-name")
        submitter = gr.Textbox(label="Submitter", elem_id="submit-submitter")
    with gr.Row():
        setting = gr.Dropdown(["", "zero-shot", "few-shot", "fine-tuned"], value="",
                              label="Setting")
        params = gr.Number(label="Parameters (billions)", value=None)
        weights = gr.Dropdown(["", "open", "closed"], value="", label="Weights")
        link = gr.Textbox(label="Link (http/https)")
    file = gr.File(label="Predictions file", file_types=[".jsonl"], type="filepath",
                   elem_id="submit-file")
    spec = gr.Textbox(label='Or a model, e.g. {"backend": "hf", "model_args": '
                      '{"checkpoint": "tiny-demo"}}', lines=2)
    send = gr.Button("Submit", variant="primary", elem_id="submit-send")
    result = gr.Markdown(elem_id="submit-result")
    queue = gr.Dataframe(label="Queue", interactive=False, elem_id="submit-queue")

    @guarded
    def send_it(board, name, who, setting, params, weights, link, file, spec,
                request: gr.Request):
        meta = {"model_name": name, "submitter": who, "setting": setting or None,
                "params_billion": params or None, "link": link or None,
                "open_weights": {"open": True, "closed": False}.get(weights)}
        client = request.client.host if request and request.client else None
        try:
            message = submit_logic.submit(space.sessions, space.folder, board, file,
                                          spec or "", meta, client)
        finally:  # stored under the leaderboard folder (or refused): the upload goes
            forget_uploads([file] if file else [], space.queued_uploads())
        return message, submit_logic.queue_table(space.sessions)

    send.click(send_it, [board, model_name, submitter, setting, params, weights, link, file,
                         spec], [result, queue], api_name="submit")
    gr.Timer(3.0).tick(guarded(lambda: submit_logic.queue_table(space.sessions)), None, queue)
