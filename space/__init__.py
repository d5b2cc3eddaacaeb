"""The Gradio space: small modules, one per tab, composed by `space.layout` and `app.py`.

Each tab's logic lives in plain functions (tested without a browser); the Gradio wiring
only connects them. The space never computes metrics and never reads held-out references:
the board comes from `leaderboard.views`, the demo's answers from the harness.
"""
