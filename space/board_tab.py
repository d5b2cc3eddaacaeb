"""The leaderboard tab's wiring: filters, the table, its chart, a row in detail, a pair
compared. The logic is in `space.board`.

No `from __future__ import annotations` here: Gradio reads handler annotations at runtime.
"""

from typing import Any

from leaderboard.boards import BOARDS
from space import board as board_logic
from space.context import Space
from space.guard import guarded
from space.highlight import color_map, legend_html

REFRESH_S = 10.0


def board_tab(space: Space) -> Any:
    import gradio as gr

    from eval_harness.tasks import task_names

    @guarded
    def refresh(board, task, setting, weights, max_params, shown, rank_by=None):
        # A size the filter cannot read is said above the legend (the timer refreshes
        # every few seconds: a pop-up would repeat) and the board shows every size.
        try:
            limit, problem = board_logic.parse_max_params(max_params), ""
        except ValueError as error:
            limit, problem = None, f"**{error}**\n\n"
        found = board_logic.rows(space.sessions, board, task, setting, weights, limit,
                                 rank_by)
        picks = gr.update(choices=board_logic.choices(found))
        # The download holds the rows on screen from the start: its click only fetches.
        return (board_logic.table(found, shown), board_logic.rank_chart(found), picks, picks,
                picks, found, problem + board_logic.legend(found, shown),
                board_logic.csv_download(found, board, task))

    tasks = list(task_names())
    with gr.Row():
        board = gr.Dropdown(list(BOARDS), value=BOARDS[0], label="Board", elem_id="board-board")
        task = gr.Dropdown(tasks, value=tasks[0], label="Task", elem_id="board-task")
        rank_by = gr.Dropdown(board_logic.rank_options(tasks[0]),
                              value=board_logic.rank_by_for(tasks[0], None),
                              label="Rank and sort by", elem_id="board-rank-by",
                              info="The table is ordered by this metric's rank interval.",
                              # Any task's metric through the API; a wrong one reads as primary.
                              allow_custom_value=True)
        setting = gr.Radio(list(board_logic.SETTINGS), value="all", label="Setting")
        weights = gr.Radio(list(board_logic.WEIGHTS), value="all", label="Weights")
        # A text field: a Number left empty shows 0, which reads as a limit of 0.
        max_params = gr.Textbox(label="At most (billions of parameters)", value="",
                                placeholder="any size", elem_id="board-max-params")
    shown = gr.CheckboxGroup(board_logic.column_options(), value=board_logic.DEFAULT_COLUMNS,
                             label="Columns")
    found = gr.State([])
    table = gr.Dataframe(board_logic.table([]), label="Leaderboard", interactive=False,
                         show_search="filter", pinned_columns=2, elem_id="board-table",
                         max_height=600)
    gr.Markdown(board_logic.RANK_NOTE, elem_id="board-rank-note")
    legend = gr.Markdown(elem_id="board-legend")
    download = gr.DownloadButton("Download CSV (the rows above)", elem_id="board-download")
    chart = gr.Plot(label="Rank intervals (95%)", elem_id="board-rank-chart")
    gr.Markdown("### A row in detail (for the task chosen above)")
    pick = gr.Dropdown(label="Row", choices=[], elem_id="board-pick")
    detail = gr.Markdown(elem_id="board-detail")
    with gr.Row():
        per_class = gr.Plot(label="Per-class F1", elem_id="board-per-class")
        heat = gr.Plot(label="Confusion", elem_id="board-confusion")
    samples = gr.Dataframe(board_logic.EMPTY_SAMPLES, label="Per-sample answers (no "
                           "reference shown)", max_height=300, interactive=False,
                           elem_id="board-samples")
    with gr.Row():
        sample = gr.Dropdown(label="One answer in full", choices=[], elem_id="board-sample")
        sample_summary = gr.Markdown(elem_id="board-sample-summary")
    sample_text = gr.HighlightedText(label="The answer, labeler findings highlighted",
                                     combine_adjacent=False, color_map=color_map())
    gr.HTML(legend_html())
    gr.Markdown("### Two rows, paired on the same checkups")
    with gr.Row():
        a = gr.Dropdown(label="Row A", choices=[], elem_id="board-a")
        b = gr.Dropdown(label="Row B", choices=[], elem_id="board-b")
    compare = gr.Button("Compare", elem_id="board-compare")
    gr.Markdown(board_logic.COMPARE_NOTE)
    paired = gr.Dataframe(board_logic.comparison_rows([], tasks[0]),
                          label="This pair, and the board's verdict on it", wrap=True,
                          interactive=False, elem_id="board-paired")
    # rank_by last: API callers that name only the first six get the task's primary.
    inputs = [board, task, setting, weights, max_params, shown, rank_by]
    outputs = [table, chart, pick, a, b, found, legend, download]
    for control in (board, setting, weights, shown):
        control.change(refresh, inputs, outputs)
    max_params.submit(refresh, inputs, outputs)
    max_params.blur(refresh, inputs, outputs)
    # A new task brings its own rank-by choices (primary selected), then the table. The
    # selector refreshes on the user's choice only, so the task's reset does not read twice.
    task.change(lambda t: gr.update(choices=board_logic.rank_options(t),
                                    value=board_logic.rank_by_for(t, None)), task, rank_by
                ).then(refresh, inputs, outputs)
    rank_by.input(refresh, inputs, outputs)
    # New results show without restarts; named, so the API (and the benchmark) can read it.
    gr.Timer(REFRESH_S).tick(refresh, inputs, outputs, api_name="board_rows")

    # The row's detail and its answers follow the task: a new row or a new task redraws.
    def show_detail(row, board, t):
        return board_logic.detail(space.sessions, row, board, t)

    def list_samples(row, t):
        return gr.update(choices=board_logic.sample_ids(space.sessions, row, t), value=None)

    for trigger in (pick.change, task.change):
        trigger(guarded(show_detail), [pick, board, task], [detail, per_class, heat, samples])
        trigger(guarded(list_samples), [pick, task], sample)
    sample.change(guarded(lambda row, t, sid: board_logic.sample_view(
        space.sessions, space.folder, row, t, sid)), [pick, task, sample],
        [sample_summary, sample_text])
    compare.click(guarded(lambda x, y, t: board_logic.comparison(space.sessions, x, y, t)),
                  [a, b, task], paired)
    return refresh, inputs, outputs
