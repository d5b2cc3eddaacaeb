"""Data-parallel runs under `accelerate launch`: shard checkups, gather predictions.

Each process takes every world_size-th checkup (in id order), predicts, and the main
process gathers the predictions, restores checkup order and scores once, so the
results equal a single-process run. Without a launcher this is a no-op.
"""

from __future__ import annotations

import atexit
import os
from typing import Any, TypeVar

T = TypeVar("T")


def world() -> tuple[int, int]:
    """(rank, world size) from the launcher's environment; (0, 1) when not launched."""
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))


def shard(items: list[T]) -> list[T]:
    rank, size = world()
    return items[rank::size]


def gather(local: Any) -> list[Any] | None:
    """Every process's ``local`` object in rank order on the main process, None on
    the others; ``[local]`` when not launched."""
    rank, size = world()
    if size == 1:
        return [local]
    import torch
    from accelerate import PartialState
    from accelerate.utils import gather_object

    # Without CUDA, accelerate only joins the process group when asked for CPU (gloo).
    state = PartialState(cpu=not torch.cuda.is_available())
    atexit.register(_leave_process_group)
    gathered = gather_object([local])
    state.wait_for_everyone()
    return gathered if rank == 0 else None


def _leave_process_group() -> None:
    # A process that exits with its gloo group still alive aborts in C++ teardown now
    # and then ("terminate called without an active exception": a joinable thread
    # destroyed), and the launcher then kills the healthy ranks too. Leaving the group
    # before the interpreter shuts down joins those threads.
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
