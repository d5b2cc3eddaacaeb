"""Progress events of a long run, for whoever supervises it.

The runner reports after every group of answers (a local model's batch, or a few answers
of an API backend); by default nobody listens. The leaderboard's job process installs a
listener that forwards each event to its supervisor, whose stall detector then knows the
job is alive. One listener per process: a job process runs one job.
"""

from __future__ import annotations

from collections.abc import Callable

Listener = Callable[[str], None]
_listener: Listener | None = None


def listen(listener: Listener | None) -> None:
    """Send every later event to ``listener`` (None: stop listening)."""
    global _listener
    _listener = listener


def report(event: str) -> None:
    if _listener is not None:
        _listener(event)
