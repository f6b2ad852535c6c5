"""A model server in a child process, on a free loopback port, for the tests that talk to it
over real HTTP (the inference tests and the `serve --env` end-to-end test)."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

REPO = Path(__file__).resolve().parents[1]


@dataclass
class Served:
    url: str
    port: int
    process: subprocess.Popen
    log: IO[str]  # what the server printed (a file: a pipe nobody reads could fill and block it)

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()

    def worker_pids(self) -> list[int]:
        """The server's worker processes (granian forks them from the main one)."""
        pid = self.process.pid
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_command(model_dir: Path, port: int, *args: str) -> list[str]:
    return [sys.executable, "-m", "inference.serving.serve", "--model-dir", str(model_dir)] + [
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        *args,
    ]


@contextmanager
def serving(
    command: Sequence[str],
    port: int,
    env: dict[str, str] | None = None,
    timeout: float = 120,
    poll_seconds: float = 0.1,
) -> Iterator[Served]:
    """Run ``command`` until it answers GET /ping on ``port`` (asked every ``poll_seconds``);
    stop it (SIGTERM) afterwards, and kill its whole process group if it does not stop.

    Raises:
        AssertionError: the process exited before answering, with its output.
    """
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(
            list(command),
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its workers are in its group: a hung one dies with it
        )
        served = Served(f"http://127.0.0.1:{port}", port, process, log)
        try:
            _wait_for_ping(served, timeout, poll_seconds)
            yield served
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()


def _wait_for_ping(served: Served, timeout: float, poll_seconds: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if served.process.poll() is not None:
            raise AssertionError(
                f"the server exited {served.process.returncode}:\n{served.output()}"
            )
        connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=2)
        try:
            connection.request("GET", "/ping")
            if connection.getresponse().status == 200:
                return
        except OSError:  # refused, reset or timed out: not serving yet
            pass
        finally:
            connection.close()
        if time.monotonic() > deadline:
            raise AssertionError(f"the server did not answer /ping within {timeout} s")
        time.sleep(poll_seconds)
