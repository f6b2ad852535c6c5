"""The job's "container" on the local disk: a per-job tree standing for /opt/ml.

Where jobs run isolated (isolation.py), the tree is bound at /opt/ml and container paths stay
as written. Elsewhere every occurrence of `/opt/ml` in a job's entrypoint, arguments and
environment is rewritten to the job's own directory; either way jobs never touch the host's
/opt/ml and never see each other's files.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import boto3

from .errors import StepFailure
from .expressions import to_text

_CONTAINER_PATH = re.compile(r"(?<![\w./-])/opt/ml(?![\w.-])")
_PYTHON = re.compile(r"python(3(\.\d+)?)?")
# Credentials and profile selection of the host must not leak into a job: it gets
# exactly the runner's credentials, like a SageMaker job gets its role's.
_HOST_AWS_VARIABLES = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
)


class ContainerRoot:
    """A job's private tree standing in for the container's `/opt/ml`."""

    def __init__(self, root: Path, *, isolated: bool = False) -> None:
        self.root = root
        # Bound at /opt/ml in the job's own mount namespace: container paths need no rewriting.
        self.isolated = isolated

    def map(self, text: str) -> str:
        """`text` with every container path in it pointing into this job's tree."""
        if self.isolated:
            return text
        return _CONTAINER_PATH.sub(lambda _: str(self.root / "opt" / "ml"), text)

    def path(self, container_path: str) -> Path:
        """The local directory or file standing for an absolute container path."""
        if not container_path.startswith("/"):
            raise StepFailure(f"container path must be absolute: {container_path!r}")
        return self.root / container_path.lstrip("/")

    def map_shell_scripts(self, command: list[str]) -> None:
        """Rewrite container paths inside shell scripts the command runs.

        Helper scripts such as FrameworkProcessor's `runproc.sh` `cd` into container paths;
        they are downloaded copies inside the job tree, so editing them is safe.
        """
        if self.isolated:
            return
        for token in command:
            script = Path(token)
            if token.endswith(".sh") and script.is_file() and self.root in script.parents:
                script.write_text(self.map(script.read_text()))


def local_command(
    entrypoint: list[Any], arguments: list[Any], root: ContainerRoot, python: str
) -> list[str]:
    """The command line to run, with `python`/`python3` meaning the runner's interpreter."""
    command = [root.map(to_text(part)) for part in [*entrypoint, *arguments]]
    if command and _PYTHON.fullmatch(Path(command[0]).name):
        command[0] = python
    return command


def python_shim(directory: Path, python: str) -> Path:
    """A directory of `python`/`python3` (and `pip`/`pip3`) wrappers around the runner's
    interpreter.

    Put first on PATH, it makes scripts that call `python3` themselves (shell helpers,
    `subprocess`, the SDK's training drivers, which also insist on a `pip`) use the same
    interpreter and virtualenv as the runner.
    """
    directory.mkdir(parents=True, exist_ok=True)
    for name, arguments in (
        ("python", ""),
        ("python3", ""),
        ("pip", " -m pip"),
        ("pip3", " -m pip"),
    ):
        shim = directory / name
        shim.write_text(f'#!/bin/sh\nexec {shlex.quote(python)}{arguments} "$@"\n')
        shim.chmod(0o755)
    return directory


def job_environment(
    session: boto3.Session,
    job_variables: Mapping[str, Any],
    root: ContainerRoot,
    shim_dir: Path,
) -> dict[str, str]:
    """The environment of a job's process.

    The host environment minus its AWS identity, plus the runner session's frozen
    credentials and region (and AWS_ENDPOINT_URL when set), so that boto3 in a script
    reaches the same account as the runner; then the job's own `Environment`.
    """
    environment = {k: v for k, v in os.environ.items() if k not in _HOST_AWS_VARIABLES}
    credentials = session.get_credentials()
    if credentials is not None:
        frozen = credentials.get_frozen_credentials()
        environment["AWS_ACCESS_KEY_ID"] = frozen.access_key
        environment["AWS_SECRET_ACCESS_KEY"] = frozen.secret_key
        if frozen.token:
            environment["AWS_SESSION_TOKEN"] = frozen.token
    if session.region_name:
        environment["AWS_DEFAULT_REGION"] = environment["AWS_REGION"] = session.region_name
    environment["PATH"] = os.pathsep.join([str(shim_dir), environment.get("PATH", "")])
    environment["PYTHONUNBUFFERED"] = "1"
    environment.update({k: root.map(to_text(v)) for k, v in job_variables.items()})
    return environment
