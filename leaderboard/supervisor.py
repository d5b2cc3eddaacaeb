"""Every queued job runs in a process of its own, under limits its supervisor enforces.

The worker (``python -m leaderboard worker``, or the app's worker thread) never scores a
job itself: it starts ``python -m leaderboard.supervisor`` (a fresh interpreter: no
inherited threads, sockets or database handles), hands it the job on a private pipe, and
watches. The child reports progress (each group of answers) and finally the scored run or
its failure; it never touches the database. The supervisor ends the child when it passes

- its wall-clock limit (``failed: timeout``),
- the stall limit: no answer or progress event for that long (``failed: stalled``),
- or, in the child, its address-space limit (``resource.setrlimit``; ``failed: out of
  memory``),

with SIGTERM, then SIGKILL after a grace period, and returns the failure with the last
lines the child wrote. A never-answering endpoint or a model that sleeps forever can
therefore hold a worker for at most its limits, in any process.
"""

from __future__ import annotations

import os
import pickle
import resource
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

GRACE_S = 10.0
POLL_S = 0.5
LOG_LINES = 20


@dataclass(frozen=True)
class JobLimits:
    wall_s: float = 3600.0
    stall_s: float = 600.0
    memory_mb: int = 0  # 0: no limit
    grace_s: float = GRACE_S

    @classmethod
    def from_settings(cls, board_timeout_s: int | None = None) -> JobLimits:
        """The operator's settings; a board's own wall-clock limit wins."""
        from eval_harness.settings import Settings

        settings = Settings.from_env()
        memory = settings.job_memory_mb
        if memory is None:  # 80% of this machine's memory
            memory = int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") * 0.8
                         / 2**20)
        return cls(wall_s=float(board_timeout_s or settings.job_timeout_s),
                   stall_s=float(settings.job_stall_s), memory_mb=memory)


@dataclass
class Outcome:
    scored: Any = None  # eval_harness.api.Scored
    failure: tuple[str, str] | None = None  # (category, log excerpt)


class _Child:
    """The job's process, its message pipe and its stderr file."""

    def __init__(self) -> None:
        read_fd, write_fd = os.pipe()
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())
        self.process = subprocess.Popen(
            [sys.executable, "-m", "leaderboard.supervisor", str(write_fd), str(os.getpid())],
            stdin=subprocess.PIPE, stdout=self.log, stderr=subprocess.STDOUT,
            pass_fds=(write_fd,), close_fds=True, start_new_session=True)
        os.close(write_fd)
        self.messages = Connection(read_fd, writable=False)

    def send(self, payload: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(payload)
        self.process.stdin.close()

    def tail(self) -> str:
        self.log.seek(0, os.SEEK_END)
        size = self.log.tell()
        self.log.seek(max(0, size - 8000))
        lines = self.log.read().decode("utf-8", "replace").splitlines()
        return "\n".join(lines[-LOG_LINES:])

    def stop(self, grace_s: float) -> None:
        """SIGTERM, then SIGKILL once the grace period is over (the whole session)."""
        for sig, wait in ((signal.SIGTERM, grace_s), (signal.SIGKILL, None)):
            if self.process.poll() is not None:
                break
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.process.wait(wait)
            except subprocess.TimeoutExpired:
                continue

    def close(self) -> None:
        self.messages.close()
        self.log.close()


def run_job(job: Any, folder: Path, options: Any, limits: JobLimits, *,
            alive: Callable[[], bool] = lambda: True,
            on_progress: Callable[[], None] = lambda: None) -> Outcome:
    """Score ``job`` in a child process within ``limits``. ``alive()`` going False (the
    lease was lost) ends the child and returns no outcome to store; ``on_progress`` is
    called for every progress event (the heartbeat's evidence that the job lives)."""
    child = _Child()
    recent: deque[str] = deque(maxlen=LOG_LINES)
    start = last = time.monotonic()
    try:
        child.send(pickle.dumps((job, folder, options, limits.memory_mb)))
        while True:
            message = _next_message(child)
            now = time.monotonic()
            if message is not None:
                kind, body = message
                if kind == "done":
                    return Outcome(scored=body)
                if kind == "failed":
                    return Outcome(failure=body)
                last = now  # "progress"
                recent.append(body)
                on_progress()
            elif child.process.poll() is not None and not child.messages.poll():
                return Outcome(failure=_died(child, limits))
            reason = _breach(now - start, now - last, limits)
            if reason or not alive():
                child.stop(limits.grace_s)
                if not reason:
                    return Outcome(failure=("lease expired", "the worker lost this job's "
                                            "lease; it was stopped"))
                excerpt = "\n".join(recent) or child.tail()
                return Outcome(failure=(reason[0], f"{reason[1]}\nlast progress:\n{excerpt}"))
    finally:
        child.stop(limits.grace_s)
        child.close()


def _next_message(child: _Child) -> tuple[str, Any] | None:
    try:
        if child.messages.poll(POLL_S):
            return child.messages.recv()
    except (EOFError, OSError):
        return None  # the child ended; _died says how
    return None


def _breach(ran_s: float, quiet_s: float, limits: JobLimits) -> tuple[str, str] | None:
    if ran_s > limits.wall_s:
        return "timeout", f"the job ran past its limit of {limits.wall_s:g} s"
    if quiet_s > limits.stall_s:
        return "stalled", (f"no answer or progress for {quiet_s:.0f} s (limit "
                           f"{limits.stall_s:g} s)")
    return None


def _died(child: _Child, limits: JobLimits) -> tuple[str, str]:
    """A child that ended without an outcome: killed by the kernel, or crashed."""
    code = child.process.returncode
    tail = child.tail()
    if code == -signal.SIGKILL and limits.memory_mb:
        return "out of memory", f"the job's process was killed (SIGKILL)\n{tail}"
    return "crash", f"the job's process ended with code {code} and no result\n{tail}"


# --------------------------------------------------------------------------- the child


def _die_with_parent(parent: int) -> None:
    """Linux: the kernel kills this process when its supervisor dies (a SIGKILLed worker
    leaves no orphaned job behind); its lease then returns the job to the queue."""
    import ctypes
    import ctypes.util

    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
    if os.getppid() != parent:  # the supervisor died before the call above
        os._exit(1)


def _limit_memory(memory_mb: int) -> None:
    if memory_mb > 0:
        limit = memory_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _child_main(fd: int, parent: int) -> None:
    from eval_harness import progress

    _die_with_parent(parent)
    messages = Connection(fd, readable=False)
    job, folder, options, memory_mb = pickle.loads(sys.stdin.buffer.read())
    progress.listen(lambda event: messages.send(("progress", event)))
    _limit_memory(memory_mb)
    try:
        from leaderboard.worker import failure_of, score

        progress.report("started")
        try:
            scored = score(job, folder, options)
        except MemoryError as error:
            messages.send(("failed", ("out of memory", f"MemoryError: {error} (limit "
                                                       f"{memory_mb} MB)")))
            return
        except Exception as error:  # every failure is reported with its category
            messages.send(("failed", failure_of(job, error)))
            return
        messages.send(("done", scored))
    except MemoryError:  # past the limit while sending: say so in as few bytes as possible
        os.write(2, b"MemoryError while reporting the result\n")
        raise SystemExit(3) from None
    finally:
        progress.listen(None)


if __name__ == "__main__":
    try:
        _child_main(int(sys.argv[1]), int(sys.argv[2]))
    except Exception:  # the supervisor reads this from the child's log
        traceback.print_exc()
        raise SystemExit(1) from None
