"""The task registry: one module per task, one line each here.

- ``code_cls``: six-way classification of a checkup into a COde benchmark class.
- ``code_report``: the complete diagnostic report, scored for text and clinical content.
- ``code_multilabel``: every class the checkup shows (its class set from the label map).

A fourth task is one new module defining ``TASK = Task(...)`` (see ``base.Task``) and
one line in ``_MODULES``; ``register`` adds one at run time (tests, plug-ins). Modules
are imported on first use, so importing the registry costs nothing.
"""

from __future__ import annotations

from importlib import import_module

from eval_harness.tasks.base import Task

_MODULES = {
    "code_cls": "eval_harness.tasks.code_cls",
    "code_report": "eval_harness.tasks.code_report",
    "code_multilabel": "eval_harness.tasks.code_multilabel",
}
_REGISTERED: dict[str, Task] = {}


def register(task: Task) -> None:
    """Add (or replace) a task defined outside this package."""
    _REGISTERED[task.name] = task


def unregister(name: str) -> None:
    _REGISTERED.pop(name, None)


def task_names() -> tuple[str, ...]:
    return (*_MODULES, *(n for n in _REGISTERED if n not in _MODULES))


def get_task(name: str) -> Task:
    if name in _REGISTERED:
        return _REGISTERED[name]
    if name not in _MODULES:
        raise KeyError(name)
    return import_module(_MODULES[name]).TASK


def parse_tasks(text: str, option: str = "--tasks") -> list[str]:
    """A comma-separated task list: known names, at least one, no repeats."""
    from eval_harness.errors import UsageError

    tasks = [t.strip() for t in text.split(",") if t.strip()]
    if not tasks:
        raise UsageError(f"{option} names no task; use one or more of "
                         f"{', '.join(task_names())}")
    unknown = [t for t in tasks if t not in task_names()]
    if unknown:
        raise UsageError(f"{option}: unknown task(s) {', '.join(unknown)}; use "
                         f"{', '.join(task_names())}")
    return list(dict.fromkeys(tasks))


def by_peer_name() -> dict[str, str]:
    """Peer-run task name -> our task name."""
    return {t.peer_name: t.name for t in map(get_task, task_names()) if t.peer_name}
