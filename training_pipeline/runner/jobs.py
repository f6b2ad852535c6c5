"""What every step executor gets: names, ARNs, AWS access and a way to run the job's process."""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable, Mapping, Set
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from . import isolation
from .container import ContainerRoot, job_environment, python_shim
from .errors import DefinitionError, StepFailure
from .expressions import is_expression
from .process import ProcessOutcome, run_process
from .retry import Retrier
from .s3 import S3

_MAX_JOB_NAME = 63


def job_name(execution_id: str, step_name: str, prefix: str | None = None) -> str:
    """A SageMaker-like job name within 63 characters.

    `pipelines-<execution id>-<step>-<hash>` by default; `<prefix>-<hash>` when the
    definition keeps a job name (the SDK's PipelineDefinitionConfig use_custom_job_prefix).
    """
    digest = hashlib.sha256(f"{execution_id}/{step_name}".encode()).hexdigest()[:10]
    base = prefix if prefix else f"pipelines-{execution_id}-{step_name}"
    safe = re.sub(r"[^A-Za-z0-9]+", "-", base).strip("-") or "job"
    return f"{safe[: _MAX_JOB_NAME - len(digest) - 1].strip('-')}-{digest}"


def check_keys(
    where: str, mapping: Any, handled: Set[str], ignored: Set[str] = frozenset()
) -> None:
    """Reject fields the runner does not implement, naming the step and field.

    `ignored` fields are accepted because they only matter to managed infrastructure
    (instance types, VPC, tags), never to what a job computes.
    """
    if is_expression(mapping):
        raise DefinitionError(f"{where}: must be written out, not computed by an expression")
    if not isinstance(mapping, dict):
        raise DefinitionError(f"{where}: expected an object, got {mapping!r}")
    unknown = sorted(set(mapping) - handled - ignored)
    if unknown:
        raise DefinitionError(f"{where}: unsupported field(s) {unknown}")


def check_value(where: str, value: Any, allowed: Set[str]) -> None:
    """Reject a literal option the runner does not implement (expressions are checked later)."""
    if value is not None and not is_expression(value) and value not in allowed:
        raise DefinitionError(f"{where}: {value!r} is not supported (supported: {sorted(allowed)})")


@dataclass
class JobContext:
    """One step's run: its names, its private directory, AWS access and the interpreter."""

    job_name: str
    job_dir: Path
    session: boto3.Session
    clients: Callable[[str], Any]  # the runner's, shared by every step
    region: str
    account: str
    retrier: Retrier
    python: str
    log: Callable[[str], None]

    @property
    def root(self) -> ContainerRoot:
        return ContainerRoot(self.job_dir, isolated=isolation.available())

    @functools.cached_property
    def s3(self) -> S3:
        return S3(self.clients("s3"), self.retrier)

    def client(self, service: str) -> Any:
        return self.clients(service)

    def arn(self, resource_type: str, name: str) -> str:
        return f"arn:aws:sagemaker:{self.region}:{self.account}:{resource_type}/{name.lower()}"

    def run(
        self,
        command: list[str],
        variables: Mapping[str, Any],
        *,
        cwd: Path,
        timeout_s: float | None,
    ) -> ProcessOutcome:
        """Run the job's process; StepFailure with SageMaker-like reasons if it fails."""
        self.root.map_shell_scripts(command)
        environment = job_environment(
            self.session, variables, self.root, python_shim(self.job_dir / "bin", self.python)
        )
        if self.root.isolated:
            command = isolation.wrap(command, self.job_dir)
        outcome = run_process(
            command,
            env=environment,
            cwd=cwd,
            log_path=self.job_dir / "job.log",
            timeout_s=timeout_s,
        )
        if outcome.timed_out:
            raise StepFailure(f"MaxRuntimeExceeded: the job ran longer than {timeout_s:g}s")
        if not outcome.succeeded:
            raise StepFailure(f"{self._failure_message(outcome)} (exit code {outcome.exit_code})")
        return outcome

    def _failure_message(self, outcome: ProcessOutcome) -> str:
        # Like SageMaker, prefer what the job wrote to /opt/ml/output/failure.
        failure_file = self.root.path("/opt/ml/output/failure")
        if failure_file.is_file() and failure_file.read_text().strip():
            return failure_file.read_text().strip()[:1024]
        return outcome.last_error_line or "the job's process failed without an error message"
