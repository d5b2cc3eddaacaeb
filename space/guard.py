"""A database that does not answer becomes a plain message on the page, never a traceback.

The engine checks a pooled connection before using it (``pool_pre_ping`` on PostgreSQL;
SQLite reopens its file), so the first call after the database comes back succeeds: the
page recovers without restarting the app.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from leaderboard.store.database import OUTAGE, outage_reason

log = logging.getLogger("codebench.space")

UNAVAILABLE = ("The leaderboard database is not answering right now. Nothing was changed; "
               "the page tries again by itself, or try again in a minute.")


def guarded(handler: Callable[..., Any]) -> Callable[..., Any]:
    """``handler`` with database outages turned into a ``gr.Error`` saying so. The
    signature (and a ``gr.Request`` annotation) stays visible to Gradio through wraps."""

    @functools.wraps(handler)
    def call(*args: Any, **kwargs: Any) -> Any:
        import gradio as gr

        try:
            return handler(*args, **kwargs)
        except OUTAGE as error:
            log.warning("database unavailable: %s", outage_reason(error))
            raise gr.Error(UNAVAILABLE, print_exception=False) from None

    return call
