"""Fixtures shared by every test directory: a clean AWS environment and the embedded AWS."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from training_pipeline import embedded

REGION = "eu-west-1"


@pytest.fixture(autouse=True, scope="session")
def _no_real_aws() -> Iterator[None]:
    """No test may reach a real account: drop profiles and keys, pin the region."""
    saved = dict(os.environ)
    for key in list(os.environ):
        if key.startswith("AWS_") or key in ("GITHUB_ACTIONS", "GITHUB_REF", "GITHUB_SHA"):
            del os.environ[key]
    os.environ.update(
        {
            "AWS_DEFAULT_REGION": REGION,
            "AWS_EC2_METADATA_DISABLED": "true",
            "SAGEMAKER_VALIDATE_ROLE": "false",
        }
    )
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope="session")
def embedded_server() -> Iterator[embedded.EmbeddedServer]:
    """One moto server (a child process) for the whole session."""
    server = embedded.start_server()
    yield server
    embedded.stop_server(server)


@pytest.fixture
def embedded_env(
    embedded_server: embedded.EmbeddedServer, monkeypatch: pytest.MonkeyPatch
) -> embedded.EmbeddedServer:
    """os.environ pointing at the session's embedded AWS for one test."""
    for key, value in embedded_server.environ(REGION).items():
        monkeypatch.setenv(key, value)
    return embedded_server
