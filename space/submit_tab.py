"""The submit tab's wiring: the form, the result message, the queue. The logic is in
`space.submit`.

No `from __future__ import annotations` here: Gradio reads the `gr.Request` annotation of a
handler at runtime to pass the request in.
"""

from leaderboard.boards import BOARDS
from space import submit as submit_logic
from space.context import Space
from space.guard import guarded
from space.uploads import forget_uploads


def submit_tab(space: Space) -> None:
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
