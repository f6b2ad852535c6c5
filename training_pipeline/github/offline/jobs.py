"""Which job is running, read from the workflow files as GitHub reads them.

GitHub's OIDC issuer knows each job's environment and the workflow file that defines it; act
(in host mode) passes neither to a step. The credentials stand-in therefore works them out from
what a step does know, the way GitHub resolves a run:

- ``GITHUB_WORKFLOW_REF`` names the triggering workflow and the ref it was read at (act does
  not set it; the offline harness sets it to GitHub's value), and ``GITHUB_SHA`` the commit
  whose version of that file runs;
- ``GITHUB_JOB`` is the id of the running job: either a job of the triggering workflow, or a
  job of a reusable workflow that one of its jobs calls (``uses: ./.github/workflows/x.yml``
  from the same commit, or ``uses: OWNER/REPO/.github/workflows/x.yml@REF`` read at REF).

The job's ``environment:`` may be a literal or an expression over ``github.*`` and ``inputs.*``
(inputs come from the caller's ``with:``, else the input's default). Anything else, and a run
that more than one caller job could explain, is refused with the reason: the stand-in never
guesses a claim.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

ReadFile = Callable[[str, str], str | None]  # (git revision, path) -> text, None if absent
_EXPRESSION = re.compile(r"^\$\{\{\s*(.*?)\s*\}\}$", re.S)
_CONTEXT = re.compile(r"^(github|inputs)\.([A-Za-z_][A-Za-z0-9_-]*)$")
_LITERAL = re.compile(r"^'((?:[^']|'')*)'$")
_REMOTE_WORKFLOW = re.compile(
    r"^(?P<repo>[^/]+/[^/]+)/(?P<path>\.github/workflows/[^@]+)@(?P<ref>.+)$"
)


class JobResolutionError(Exception):
    """The running job cannot be identified, or a claim of it cannot be evaluated."""


@dataclass(frozen=True)
class ResolvedJob:
    """What GitHub's issuer knows about the running job."""

    job_workflow_ref: str
    environment: str | None
    id_token_permission: str  # "write", "read" or "none": the job's effective permission


def load_workflow(text: str, where: str) -> dict[str, Any]:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise JobResolutionError(f"{where} is not valid YAML: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("jobs"), dict):
        raise JobResolutionError(f"{where} has no jobs")
    return document


def evaluate(value: Any, github: Mapping[str, str], inputs: Mapping[str, Any]) -> str:
    """A workflow value that is a literal or ``${{ github.X }}`` / ``${{ inputs.X }}`` /
    ``${{ 'text' }}``; any other expression raises JobResolutionError."""
    if value is None:
        return ""
    text = str(value)
    match = _EXPRESSION.match(text.strip())
    if match is None:
        if "${{" in text:
            raise JobResolutionError(f"cannot evaluate {text!r}: only whole expressions are")
        return text
    expression = match.group(1)
    if literal := _LITERAL.match(expression):
        return literal.group(1).replace("''", "'")
    context = _CONTEXT.match(expression)
    if context is None:
        raise JobResolutionError(
            f"cannot evaluate ${{{{ {expression} }}}}: the stand-in knows github.* and inputs.*"
        )
    scope, name = context.groups()
    source = github if scope == "github" else inputs
    if name not in source:
        raise JobResolutionError(f"{scope}.{name} is not defined for this job")
    return str(source[name])


def resolve(
    *,
    workflow_ref: str,
    job_id: str,
    sha: str,
    repository: str,
    github: Mapping[str, str],
    read_file: ReadFile,
) -> ResolvedJob:
    """The running job, given ``GITHUB_WORKFLOW_REF``, ``GITHUB_JOB`` and ``GITHUB_SHA``."""
    prefix = f"{repository}/"
    if not workflow_ref.startswith(prefix) or "@" not in workflow_ref:
        raise JobResolutionError(
            f"GITHUB_WORKFLOW_REF {workflow_ref!r} is not {prefix}<workflow file>@<ref>"
        )
    top_path = workflow_ref[len(prefix) :].rsplit("@", 1)[0]
    top = _read(read_file, sha, top_path)
    candidates: list[ResolvedJob] = []

    direct = top["jobs"].get(job_id)
    if isinstance(direct, dict) and "uses" not in direct:
        candidates.append(
            ResolvedJob(
                job_workflow_ref=workflow_ref,
                environment=_environment(direct, github, {}),
                id_token_permission=_permission(top, direct) or "none",
            )
        )
    for caller in top["jobs"].values():
        if not isinstance(caller, dict) or "uses" not in caller:
            continue
        called_path, revision, ref = _called(caller["uses"], repository, sha, github)
        called = _read(read_file, revision, called_path)
        job = called["jobs"].get(job_id)
        if not isinstance(job, dict):
            continue
        inputs = _inputs(called, caller, github)
        granted = _permission(top, caller) or "none"
        # A called workflow keeps its caller's permissions, or lowers them; never raises them.
        permission = _narrowest(granted, _permission(called, job) or granted)
        candidates.append(
            ResolvedJob(
                job_workflow_ref=f"{repository}/{called_path}@{ref}",
                environment=_environment(job, github, inputs),
                id_token_permission=permission,
            )
        )
    if not candidates:
        raise JobResolutionError(f"no job {job_id!r} in {top_path} or the workflows it calls")
    if len(set(candidates)) > 1:
        raise JobResolutionError(
            f"job {job_id!r} is defined by more than one job of {top_path}; the stand-in "
            "cannot tell which one runs"
        )
    return candidates[0]


def _read(read_file: ReadFile, revision: str, path: str) -> dict[str, Any]:
    text = read_file(revision, path)
    if text is None:
        raise JobResolutionError(f"{path} does not exist at {revision}")
    return load_workflow(text, f"{path}@{revision}")


def _called(
    uses: str, repository: str, sha: str, github: Mapping[str, str]
) -> tuple[str, str, str]:
    """(path, git revision to read it at, ref as job_workflow_ref names it) of a called
    workflow."""
    if uses.startswith("./"):
        # GitHub reads a local reusable workflow from the caller's own commit.
        return uses[2:], sha, github["ref"]
    match = _REMOTE_WORKFLOW.match(uses)
    if match is None or match["repo"] != repository:
        raise JobResolutionError(f"cannot resolve uses: {uses} (only this repository's workflows)")
    ref = match["ref"]
    if ref.startswith("refs/") or re.fullmatch(r"[0-9a-f]{40}", ref):
        return match["path"], ref, ref
    # A short name is a branch (GitHub also accepts a tag of that name; branches win here).
    return match["path"], f"refs/heads/{ref}", f"refs/heads/{ref}"


def _inputs(
    called: dict[str, Any], caller: dict[str, Any], github: Mapping[str, str]
) -> dict[str, str]:
    on = called.get("on", called.get(True)) or {}
    declared = (on.get("workflow_call") or {}).get("inputs") or {} if isinstance(on, dict) else {}
    given = caller.get("with") or {}
    values = {}
    for name, spec in declared.items():
        if name in given:
            values[name] = evaluate(given[name], github, {})
        elif isinstance(spec, dict) and "default" in spec:
            values[name] = evaluate(spec["default"], github, {})
    return values


def _environment(job: dict[str, Any], github: Mapping[str, str], inputs: Mapping[str, Any]):
    environment = job.get("environment")
    if isinstance(environment, dict):
        environment = environment.get("name")
    return evaluate(environment, github, inputs) or None


_LEVELS = {"none": 0, "read": 1, "write": 2}


def _permission(workflow: dict[str, Any], job: dict[str, Any]) -> str | None:
    """The id-token permission a job declares (its own ``permissions``, else its workflow's),
    None if neither declares any: GitHub's default token never has id-token write."""
    permissions = job.get("permissions", workflow.get("permissions"))
    if permissions is None:
        return None
    if permissions == "write-all":
        return "write"
    if isinstance(permissions, dict):
        return str(permissions.get("id-token", "none"))
    return "none"


def _narrowest(first: str, second: str) -> str:
    return min(first, second, key=lambda level: _LEVELS.get(level, 0))
