"""The space's page: a landing view with the board beside the demo, then one tab each for
the full leaderboard, the demo, submitting, and about. Composition only: each tab's wiring
is in its own module (`board_tab`, `demo_tab`, `submit_tab`), the logic in the plain
modules beside them, the numbers in the store.
"""

import functools

from space import board as board_logic
from space.about import about_markdown
from space.board_tab import board_tab
from space.context import Space
from space.demo_tab import demo_panel, examples_panel
from space.guard import guarded
from space.submit_tab import submit_tab
from space.uploads import queued_uploads


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
                    demo_panel(space, "home")
                    to_demo = gr.Button("Open the demo tab (examples)")
            with gr.Tab("Leaderboard", id="board"):
                refresh, inputs, outputs = board_tab(space)
            with gr.Tab("Demo", id="demo"):
                demo_panel(space, "demo")
                examples_panel(space)
            with gr.Tab("Submit", id="submit"):
                submit_tab(space)
            with gr.Tab("About", id="about"):
                gr.Markdown(about_markdown())
        to_board.click(lambda: gr.Tabs(selected="board"), None, tabs)
        to_demo.click(lambda: gr.Tabs(selected="demo"), None, tabs)

        page.load(guarded(lambda: board_logic.landing_table(space.sessions)), None, top)
        page.load(refresh, inputs, outputs)
    return page


