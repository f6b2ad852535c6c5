"""Fixtures of the Terraform tests: the Terraform CLI, the provider mirror, checkov, and one
embedded AWS with backend, operations and the three environments applied to it.

A missing tool skips the tests that need it, or fails them in CI (tests/tooling.py).
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from tooling import require
from training_pipeline.aws import embedded
from training_pipeline.config.settings import Settings, load_settings
from training_pipeline.infra import terraform as infra

REPO_ROOT = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = REPO_ROOT / "terraform"


@pytest.fixture(scope="session")
def terraform_bin() -> str:
    binary = shutil.which("terraform")
    require(binary, "terraform is not on PATH (install Terraform >= 1.10)")
    return str(binary)


@pytest.fixture(scope="session")
def provider_mirror(terraform_bin: str) -> Path:
    """The hashicorp/aws filesystem mirror ($TF_PROVIDER_MIRROR, else the usual places)."""
    mirror = infra.find_provider_mirror()
    require(
        mirror,
        "no hashicorp/aws provider mirror found: set TF_PROVIDER_MIRROR to a directory holding "
        "registry.terraform.io/hashicorp/aws/<version>/<os_arch>/",
    )
    return mirror


@pytest.fixture(scope="session")
def cli_config_env(
    provider_mirror: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """Environment for a terraform subprocess that installs hashicorp/aws from the mirror only."""
    config = tmp_path_factory.mktemp("tfrc") / "terraform.rc"
    config.write_text(infra.cli_config(provider_mirror))
    env = dict(os.environ)
    env.update(
        {"TF_CLI_CONFIG_FILE": str(config), "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"}
    )
    return env


@pytest.fixture(scope="session")
def checkov_bin() -> str:
    """checkov: $CHECKOV, else on PATH, else .venv-checkov/, else next to this interpreter.

    checkov pins an old boto3 (it cannot share the project's virtualenv), so it lives in a
    virtualenv of its own: `python -m venv .venv-checkov && .venv-checkov/bin/pip install checkov`.
    """
    candidates = [
        os.environ.get("CHECKOV"),
        shutil.which("checkov"),
        str(REPO_ROOT / ".venv-checkov" / "bin" / "checkov"),
        str(Path(sys.executable).with_name("checkov")),
    ]
    binary = next((c for c in candidates if c and Path(c).is_file()), None)
    require(binary, "checkov is not installed (set CHECKOV or put checkov on PATH)")
    return str(binary)


@pytest.fixture(scope="session")
def settings() -> Settings:
    return load_settings(REPO_ROOT / "profiles.conf")


def model_prefixes(settings: Settings, env: str) -> dict[str, str]:
    """Model name -> the prefix of its resources in ``env`` (group, pipeline, endpoint, ...):
    the first model keeps the environment's historic {project}-{env}, every later one adds its
    name. Written out here, not taken from training_pipeline, so that the tests check both."""
    base = f"{settings.project}-{env}"
    return {m: base if m == settings.first_model else f"{base}-{m}" for m in settings.model_names}


################################################################################
# The embedded AWS with everything applied
################################################################################


@dataclass
class AppliedInfra:
    """One embedded AWS with all five targets applied, and how long that took."""

    server: embedded.EmbeddedServer
    settings: Settings
    work_dir: Path
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def run_options(self) -> dict[str, Any]:
        return {
            "settings": self.settings,
            "embedded": True,
            "endpoint_url": self.server.endpoint_url,
            "work_dir": self.work_dir,
            "log": lambda message: None,
        }

    def session(self, account: str) -> boto3.Session:
        """A boto3 session in ``account`` (operations, dev, staging, prod) of the embedded AWS."""
        base = boto3.Session(
            aws_access_key_id="embedded",
            aws_secret_access_key="embedded",
            region_name=self.settings.region,
        )
        sts = base.client("sts", endpoint_url=self.server.endpoint_url)
        credentials = sts.assume_role(
            RoleArn=f"arn:aws:iam::{self.settings.accounts[account]}:role/"
            f"{infra.EMBEDDED_ASSUME_ROLE}",
            RoleSessionName=f"tests-{account}",
        )["Credentials"]
        return boto3.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name=self.settings.region,
        )

    def client(self, account: str, service: str) -> Any:
        return self.session(account).client(service, endpoint_url=self.server.endpoint_url)


@pytest.fixture(scope="session")
def applied(provider_mirror: Path, settings: Settings, estate: tuple) -> AppliedInfra:
    """The session's embedded AWS with backend, operations, dev, staging and prod applied
    through infra.apply_all (tests/conftest.py)."""
    server, results = estate
    result = AppliedInfra(server, settings, infra.default_work_dir(server.endpoint_url))
    for target, applied_target in results.items():
        result.seconds[target] = applied_target.seconds
        result.outputs[target] = applied_target.outputs
    print(
        "\nembedded apply: "
        + ", ".join(f"{t} {s:.0f}s" for t, s in result.seconds.items())
        + f", longest {max(result.seconds.values()):.0f}s (applied side by side)"
    )
    return result
