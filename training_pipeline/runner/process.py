"""Run a job's process, keeping its output in a log file and its last error line."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

# The process groups of the jobs (and local model servers) running now. Steps run in threads
# of their own, so an interrupted runner ends these rather than waiting for them.
_running: set[int] = set()
_running_lock = threading.Lock()


@dataclass(frozen=True)
class ProcessOutcome:
    exit_code: int
    timed_out: bool
    last_error_line: str | None
    log_path: Path

    @property
    def succeeded(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


@contextlib.contextmanager
def tracked(process: subprocess.Popen) -> Iterator[None]:
    """Count ``process`` (the leader of its own process group) among the running ones."""
    with _running_lock:
        _running.add(process.pid)
    try:
        yield
    finally:
        with _running_lock:
            _running.discard(process.pid)


def kill_running() -> None:
    """End every job and model server this process has running, whole process groups, as
    stopping a pipeline execution stops its jobs."""
    with _running_lock:
        groups = list(_running)
    for group in groups:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)


def _pump(stream: IO[str], log: IO[str], lock: threading.Lock, tail: deque[str] | None) -> None:
    for line in stream:
        with lock:
            log.write(line)
            log.flush()
        if tail is not None and line.strip():
            tail.append(line.strip())


def run_process(
    command: list[str],
    *,
    env: dict[str, str],
    cwd: Path,
    log_path: Path,
    timeout_s: float | None,
) -> ProcessOutcome:
    """Run `command`; stdout and stderr go, interleaved, to `log_path`."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    lock = threading.Lock()
    stderr_tail: deque[str] = deque(maxlen=1)
    with log_path.open("w", encoding="utf-8") as log:
        try:
            process = subprocess.Popen(
                command,
                env=env,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                errors="replace",
                # Own process group, so a timeout also ends the job's children.
                start_new_session=True,
            )
        except OSError as error:
            log.write(f"cannot start {command}: {error}\n")
            return ProcessOutcome(127, False, f"cannot start {command[0]!r}: {error}", log_path)
        pumps = [
            threading.Thread(target=_pump, args=(process.stdout, log, lock, None)),
            threading.Thread(target=_pump, args=(process.stderr, log, lock, stderr_tail)),
        ]
        for pump in pumps:
            pump.start()
        # A timer ends a job that overruns; waiting with a timeout instead would poll, and
        # notice a job's end up to 50 ms late.
        expired = threading.Event()
        timer = threading.Timer(timeout_s, _expire, (process, expired)) if timeout_s else None
        try:
            with tracked(process):
                if timer:
                    timer.start()
                process.wait()
        finally:
            if timer:
                timer.cancel()
            # Like the end of a container: nothing the job started outlives it, even
            # when the runner itself is interrupted.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        for pump in pumps:
            pump.join()
    # A job that ended on its own just as the timer fired did not time out.
    timed_out = expired.is_set() and process.returncode == -signal.SIGKILL
    return ProcessOutcome(
        process.returncode, timed_out, stderr_tail[-1] if stderr_tail else None, log_path
    )


def _expire(process: subprocess.Popen, expired: threading.Event) -> None:
    expired.set()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
