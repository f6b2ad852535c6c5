"""Fixtures shared by every test directory: a clean AWS environment and the embedded AWS."""

from __future__ import annotations

import os
import shutil
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


def require_terraform() -> None:
    """Skip without Terraform and its provider mirror, except in CI, where that is a failure."""
    from training_pipeline import infra

    missing = []
    if shutil.which("terraform") is None:
        missing.append("the terraform CLI")
    if infra.find_provider_mirror() is None and os.environ.get("TF_PROVIDER_MIRROR") != "none":
        missing.append("a hashicorp/aws provider mirror (TF_PROVIDER_MIRROR)")
    if missing:
        reason = "needs " + " and ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the Terraform tests: {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def provisioned(embedded_server: embedded.EmbeddedServer) -> embedded.EmbeddedServer:
    """The four accounts created by the real Terraform on the session's embedded AWS."""
    from training_pipeline import infra
    from training_pipeline.settings import load_settings

    require_terraform()
    settings = load_settings()
    for target in infra.ALL_TARGETS:
        infra.apply(
            target, settings=settings, embedded=True, endpoint_url=embedded_server.endpoint_url
        )
    return embedded_server
