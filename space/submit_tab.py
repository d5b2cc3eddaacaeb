"""The submit tab's wiring: the form, the result message, the queue. The logic is in
`space.submit`.

No `from __future__ import annotations` here: Gradio reads the `gr.Request` annotation of a
handler at runtime to pass the request in.
"""

from leaderboard.store.database import OUTAGE
from space import submit as submit_logic
from space.context import Space
from space.guard import guarded
from space.uploads import forget_uploads


def submit_tab(space: Space) -> None:
    import gradio as gr

    boards, default = submit_logic.board_choices()
    gr.Markdown("Upload a predictions file (JSONL: `{\"id\", \"task\", \"prediction\"}` per "
                "line) **or** describe a model the server runs on `synthetic-demo`. "
                + ("The boards listed are the ones this server can score." if boards else
                   "**This server cannot score any board right now** (its held-out "
                   "references are not installed); submissions are refused."))
    with gr.Row():
        # Any value reaches the handler, which refuses another board in words (a value
        # outside the choices would be Gradio's error, with a traceback in the log).
        board = gr.Dropdown(boards, value=default, label="Board", elem_id="submit-board",
                            allow_custom_value=True)
        model_name = gr.Textbox(label="Model name", elem_id="submit-model-name")
        submitter = gr.Textbox(label="Submitter", elem_id="submit-submitter")
    with gr.Row():
        setting = gr.Dropdown(["", "zero-shot", "few-shot", "fine-tuned"], value="",
                              label="Setting")
        # A text field: Gradio 6's Number shows an empty value as 0 (its front end sets
        # a missing value to 0, placeholder or not), which reads as "0 given".
        params = gr.Textbox(label="Parameters (billions)", placeholder="e.g. 7; empty: "
                            "not given", elem_id="submit-params")
        weights = gr.Dropdown(["", "open", "closed"], value="", label="Weights")
        link = gr.Textbox(label="Link (http/https)")
    file = gr.File(label="Predictions file", file_types=[".jsonl"], type="filepath",
                   elem_id="submit-file")
    spec = gr.Textbox(label='Or a model, e.g. {"backend": "hf", "model_args": '
                      '{"checkpoint": "tiny-demo"}}', lines=2)
    send = gr.Button("Submit", variant="primary", elem_id="submit-send")
    result = gr.Markdown(elem_id="submit-result")
    followed = gr.State(None)  # the id of this page's latest queued submission
    queue = gr.Dataframe(headers=list(submit_logic.QUEUE_COLUMNS.values()), label="Queue",
                         interactive=False, elem_id="submit-queue")

    @guarded
    def send_it(board, name, who, setting, params, weights, link, file, spec,
                request: gr.Request):
        meta = {"model_name": name, "submitter": who, "setting": setting or None,
                "params_billion": submit_logic.number_or_text(params), "link": link or None,
                "open_weights": {"open": True, "closed": False}.get(weights)}
        client = request.client.host if request and request.client else None
        try:
            outcome = submit_logic.submit(space.sessions, space.folder, board, file,
                                          spec or "", meta, client)
        finally:  # stored under the leaderboard folder (or refused): the upload goes
            forget_uploads([file] if file else [], space.queued_uploads())
        try:
            queue_now = submit_logic.queue_table(space.sessions)
        except OUTAGE:  # the message already says nothing was stored; the timer retries
            queue_now = gr.skip()
        return outcome.message, queue_now, outcome.submission_id

    @guarded
    def refresh(submission_id):
        """The queue, and the followed submission's state until it is final."""
        queue_now = submit_logic.queue_table(space.sessions)
        if submission_id is None:
            return queue_now, gr.skip(), gr.skip()
        message, done = submit_logic.follow(space.sessions, submission_id)
        return queue_now, message, None if done else submission_id

    send.click(send_it, [board, model_name, submitter, setting, params, weights, link, file,
                         spec], [result, queue, followed], api_name="submit")
    gr.Timer(3.0).tick(refresh, followed, [queue, result, followed])
