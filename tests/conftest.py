"""Fixtures shared by every test directory: a clean AWS environment and the embedded AWS."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tooling import require_terraform
from training_pipeline.aws import embedded

REGION = "eu-west-1"
SDK_CONFIG = str(Path(__file__).with_name("sagemaker_sdk_config.yaml"))
SHARED_DIR_ENV = "TP_TESTS_SHARED_DIR"


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
            # Both of the SDK's config files: none of the machine's own may shape a definition.
            "SAGEMAKER_ADMIN_CONFIG_OVERRIDE": SDK_CONFIG,
            "SAGEMAKER_USER_CONFIG_OVERRIDE": SDK_CONFIG,
            # Definition templates of this test session, not the machine's cache.
            "TP_CACHE_DIR": str(_shared_dir() / "cache"),
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


# What a create sent again after its late answer meets: IAM's, KMS's and Lambda's words.
_CREATED_BY_A_LATE_ANSWER = ("EntityAlreadyExists", "AlreadyExistsException", "already exist")


def _provision_all(log=lambda message: None) -> tuple[embedded.EmbeddedServer, dict]:
    """A fresh embedded AWS with every Terraform target applied; returns it and the results.

    Under heavy CPU load moto's server can answer a create minutes late. The provider then sends
    it again as a new request (for IAM after 2 min 30 s; seen with a delaying proxy), which fails
    with an "already exists" error although nothing else created the resource. (An answer that
    is lost instead is retried by the SDK itself, and the embedded server answers that retry.)
    That is the emulator's flake, not the configuration's, so the whole provisioning is retried
    once on a new server; a second failure fails the tests.
    """
    from training_pipeline.config.settings import load_settings
    from training_pipeline.infra import terraform as infra

    settings = load_settings()
    for attempt in (1, 2):
        server = embedded.start_server()
        try:
            results = infra.apply_all(
                settings=settings, embedded=True, endpoint_url=server.endpoint_url, log=log
            )
            return server, results
        except BaseException as error:
            embedded.stop_server(server)
            retry = isinstance(error, infra.TerraformCommandError) and any(
                late in str(error) for late in _CREATED_BY_A_LATE_ANSWER
            )
            if attempt == 2 or not retry:
                raise
            print(f"\nretrying the embedded provisioning on a new server after: {error}")
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def provision_all():
    """`_provision_all`, for fixtures that need an estate of their own (tests/workflows)."""
    return _provision_all


@pytest.fixture(scope="session")
def estate() -> Iterator[tuple[embedded.EmbeddedServer, dict]]:
    """The four accounts created by the real Terraform on an embedded AWS of their own, and
    the apply results; shared by the end-to-end runs and the Terraform tests (which only read
    what Terraform made, so the models the runs add do not disturb them).

    Provisioned once per test session, however many xdist workers need it: the first one
    applies it under a lock and records it in the session's shared directory, the others
    reuse it, and the controlling process stops its server at the end (pytest_unconfigure). A
    failed provisioning is recorded too, so that the other workers fail at once instead of
    trying again one after the other.
    """
    require_terraform()
    from training_pipeline.config.settings import load_settings
    from training_pipeline.infra import terraform as infra

    settings = load_settings()
    record = _shared_dir() / "estate.json"
    failed = record.with_suffix(".failed")
    with _locked(record.with_suffix(".lock")):
        if failed.exists():
            pytest.fail(f"the shared estate could not be provisioned: {failed.read_text()}")
        if record.exists():
            saved = json.loads(record.read_text())
            server = embedded.EmbeddedServer(saved["endpoint_url"], saved["pid"])
            results = {
                name: infra.ApplyResult(
                    infra.TerraformTarget.parse(name, settings),
                    applied["outputs"],
                    "",
                    applied["seconds"],
                )
                for name, applied in saved["results"].items()
            }
        else:
            try:
                server, results = _provision_all()
            except Exception as error:
                failed.write_text(f"{type(error).__name__}: {error}"[-4000:])
                raise
            saved = {
                "endpoint_url": server.endpoint_url,
                "pid": server.pid,
                "results": {
                    name: {"outputs": r.outputs, "seconds": r.seconds}
                    for name, r in results.items()
                },
            }
            record.write_text(json.dumps(saved))
    yield server, results


def _shared_dir() -> Path:
    """A directory of this test session that every xdist worker sees (pytest_configure)."""
    return Path(os.environ[SHARED_DIR_ENV])


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def pytest_configure(config: pytest.Config) -> None:
    # The controlling process makes the shared directory; workers inherit the variable.
    if not hasattr(config, "workerinput"):
        os.environ[SHARED_DIR_ENV] = tempfile.mkdtemp(prefix="tests-shared-")


def pytest_unconfigure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return
    shared = Path(os.environ.pop(SHARED_DIR_ENV))
    record = shared / "estate.json"
    if record.exists():
        saved = json.loads(record.read_text())
        embedded.stop_server(embedded.EmbeddedServer(saved["endpoint_url"], saved["pid"]))
    shutil.rmtree(shared, ignore_errors=True)


@pytest.fixture(scope="session")
def provisioned(estate: tuple[embedded.EmbeddedServer, dict]) -> embedded.EmbeddedServer:
    return estate[0]
