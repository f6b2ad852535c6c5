"""Fixtures for the local runner's tests: a moto server in this process and an SDK setup."""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from training_pipeline.runner import LocalRunner


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's server on a free loopback port, so that job processes reach it too."""
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(scope="module")
def aws_env(moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """os.environ for the module: moto's endpoint, fake keys, the SDK's telemetry off."""
    config = tmp_path_factory.mktemp("sdk-config") / "config.yaml"
    # The SDK reads its defaults (telemetry opt-out among them) from this YAML (JSON is YAML).
    sdk_defaults = {"SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}}}
    config.write_text(json.dumps({"SchemaVersion": "1.0", **sdk_defaults}))
    with pytest.MonkeyPatch.context() as patch:
        for key, value in {
            "AWS_ENDPOINT_URL": moto_endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "eu-west-1"),
            "SAGEMAKER_VALIDATE_ROLE": "false",
            "SAGEMAKER_USER_CONFIG_OVERRIDE": str(config),
        }.items():
            patch.setenv(key, value)
        for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
            patch.delenv(key, raising=False)
        yield moto_endpoint


@pytest.fixture(scope="module")
def session(aws_env: str) -> boto3.Session:
    return boto3.Session(region_name=os.environ["AWS_DEFAULT_REGION"])


@pytest.fixture(scope="module")
def bucket(session: boto3.Session) -> str:
    name = f"local-runner-{uuid.uuid4().hex[:12]}"
    location = {}
    if session.region_name != "us-east-1":
        location["CreateBucketConfiguration"] = {"LocationConstraint": session.region_name}
    session.client("s3").create_bucket(Bucket=name, **location)
    return name


class Log(list):
    """A `log` callable for the runner that keeps the lines."""

    def __call__(self, line: str) -> None:
        self.append(line)
        print(line)

    @property
    def text(self) -> str:
        return "\n".join(self)


@pytest.fixture
def log() -> Log:
    return Log()


@pytest.fixture
def runner(session: boto3.Session, tmp_path: Path, log: Log) -> LocalRunner:
    return LocalRunner(session, work_dir=tmp_path / "runs", log=log)
