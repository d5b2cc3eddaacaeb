"""The leaderboard tab's wiring: filters, the table, its chart, a row in detail, a pair
compared. The logic is in `space.board`.

No `from __future__ import annotations` here: Gradio reads handler annotations at runtime.
"""

from typing import Any

from leaderboard.boards import BOARDS
from space import board as board_logic
from space.context import Space
from space.guard import guarded

REFRESH_S = 10.0


def board_tab(space: Space) -> Any:
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
