"""The embedded AWS: moto's server on a loopback port, standing in for the four accounts.

Every AWS client of the project (boto3, the SageMaker SDK, Terraform's provider and S3 backend,
the AWS CLI) honours `AWS_ENDPOINT_URL`, so pointing that variable here is the only difference
between an embedded run and a real one. The accounts of profiles.conf are reached the way CI
reaches real ones, through STS AssumeRole (see aws.py); moto keeps each account's resources apart.

The server runs as a child process rather than a thread: moto's in-process mocks reset global
state, and a separate process keeps the embedded AWS alive across CLI invocations (`embedded up`).
It is moto's server with the fixes of embedded_server.py, where moto answers otherwise than AWS.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from training_pipeline.errors import AwsAccessError

STATE_FILE = Path(__file__).resolve().parents[2] / ".embedded" / "server.json"
SERVER_MODULE = "training_pipeline.aws.embedded_server"
# moto accepts any credentials; fixed ones keep the base identity in moto's default account.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "embedded", "AWS_SECRET_ACCESS_KEY": "embedded"}


@dataclass(frozen=True)
class EmbeddedServer:
    """A running moto server."""

    endpoint_url: str
    pid: int

    def environ(self, region: str) -> dict[str, str]:
        """Environment variables that send every AWS client of a process to this server."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_DEFAULT_REGION": region,
            "AWS_REGION": region,
            "AWS_EC2_METADATA_DISABLED": "true",
            **CREDENTIALS,
        }

    def is_alive(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.endpoint_url}/moto-api/", timeout=2):
                return True
        except OSError:
            return False


def answers(endpoint_url: str | None) -> bool:
    """Whether ``endpoint_url`` is an embedded AWS (moto's server answers its own API there)."""
    return bool(endpoint_url) and EmbeddedServer(endpoint_url, 0).is_alive()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(*, port: int | None = None, log_path: Path | None = None) -> EmbeddedServer:
    """Start moto's server as a detached child process and wait until it answers."""
    port = port or free_port()
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", SERVER_MODULE, "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    server = EmbeddedServer(f"http://127.0.0.1:{port}", process.pid)
    deadline = time.monotonic() + 30
    while not server.is_alive():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AwsAccessError(f"the embedded AWS (moto server) did not start on port {port}")
        time.sleep(0.1)
    return server


def stop_server(server: EmbeddedServer) -> None:
    with suppress(ProcessLookupError):
        os.kill(server.pid, signal.SIGTERM)


def running_server(state_file: Path = STATE_FILE) -> EmbeddedServer | None:
    """The server `embedded up` left running, if it still answers."""
    try:
        server = EmbeddedServer(**json.loads(state_file.read_text()))
    except (FileNotFoundError, json.JSONDecodeError, TypeError):
        return None
    return server if server.is_alive() else None


def ensure_server(state_file: Path = STATE_FILE) -> tuple[EmbeddedServer, bool]:
    """The persistent embedded server, started if needed; the flag says whether it is new."""
    server = running_server(state_file)
    if server:
        return server, False
    state_file.parent.mkdir(parents=True, exist_ok=True)
    server = start_server(log_path=state_file.with_name("moto.log"))
    state_file.write_text(json.dumps({"endpoint_url": server.endpoint_url, "pid": server.pid}))
    return server, True


def shutdown(state_file: Path = STATE_FILE) -> bool:
    """Stop the persistent server; False if none was running."""
    server = running_server(state_file)
    state_file.unlink(missing_ok=True)
    if server is None:
        return False
    stop_server(server)
    return True
