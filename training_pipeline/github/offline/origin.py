"""A throwaway origin repository that plays GitHub for the workflows.

    hub = OfflineGitHub.create(tmp / "github", repository="my-org/repo", environ=aws_env)
    clone = hub.clone(tmp / "work", source=template_checkout)   # a developer's clone
    git -C clone push origin main        # runs on_merge.yml through act, as GitHub would
    hub.runs()                           # what ran, job by job, with the step summaries

The origin is a bare repository whose ``post-receive`` hook runs, for every pushed ref, the
workflows of the pushed commit that the push triggers (``receive.py``, ``act.py``); the pusher
sees their progress as ``remote:`` lines, and each run is recorded as JSON under ``runs/``.
Clones name the remote ``https://github.com/OWNER/REPO.git`` (act reads the repository from
it) and git's ``insteadOf`` sends that URL here, so ``git push origin`` and a job's
``git fetch`` reach this origin. Pull requests have no push: ``open_pull_request`` runs the
workflows for the ``pull_request`` event of a branch.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from training_pipeline.github.offline import act, events

STAND_INS_DIR = Path(__file__).resolve().parents[3] / ".github" / "offline"
CONFIG = "offline-github.json"
HOOK = """#!/bin/sh
# This origin plays GitHub: a push runs the workflows it triggers (training_pipeline.github.offline)
exec {python} -m training_pipeline.github.offline.receive
"""


def github_url(repository: str) -> str:
    return f"https://github.com/{repository}.git"


@dataclass(frozen=True)
class OfflineGitHub:
    """The origin, the clone act runs in, and where runs are recorded."""

    root: Path

    @property
    def origin(self) -> Path:
        return self.root / "origin.git"

    @property
    def config(self) -> dict[str, Any]:
        return json.loads((self.origin / CONFIG).read_text())

    @classmethod
    def create(
        cls,
        root: Path,
        *,
        repository: str,
        environ: dict[str, str],
        default_branch: str = "main",
        subject_claim_keys: str = "repo,context,job_workflow_ref",
        repository_ids: str | None = None,
    ) -> OfflineGitHub:
        """A new origin under ``root``. ``environ`` reaches every step (the embedded AWS);
        ``subject_claim_keys`` is the repository's OIDC subject template setting
        (``default`` for GitHub's default)."""
        hub = cls(Path(root).resolve())
        hub.root.mkdir(parents=True, exist_ok=True)
        _git("init", "--quiet", "--bare", f"--initial-branch={default_branch}", str(hub.origin))
        records = hub.root / "runs"
        records.mkdir(exist_ok=True)
        # Jobs reach the origin through github.com URLs rewritten by this file; act itself
        # must not see the rewrite (it names the repository after the remote's URL).
        gitconfig = hub.root / "gitconfig"
        gitconfig.write_text(
            f'[url "{hub.origin.as_uri()}"]\n\tinsteadOf = {github_url(repository)}\n'
        )
        stand_in_env = {
            "GIT_CONFIG_GLOBAL": str(gitconfig),
            "OFFLINE_GITHUB_PYTHON": sys.executable,
            "OFFLINE_GITHUB_ORIGIN": str(hub.origin),
            "OFFLINE_GITHUB_RECORD": str(records),
            "OFFLINE_GITHUB_SUBJECT_CLAIM_KEYS": subject_claim_keys,
            "OFFLINE_GITHUB_REPOSITORY_IDS": repository_ids or "",
            "PATH": f"{STAND_INS_DIR / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        }
        config = {
            "repository": repository,
            "default_branch": default_branch,
            "runner": str(hub.root / "runner"),
            "records": str(records),
            "stand_ins": str(STAND_INS_DIR),
            "environ": {**environ, **stand_in_env},
        }
        (hub.origin / CONFIG).write_text(json.dumps(config, indent=2))
        hook = hub.origin / "hooks" / "post-receive"
        hook.write_text(HOOK.format(python=sys.executable))
        hook.chmod(0o755)
        runner = hub._clone_to(hub.root / "runner")
        _git("-C", str(runner), "config", "--unset-all", f"url.{hub.origin.as_uri()}.insteadOf")
        return hub

    def clone(
        self, destination: Path, *, source: Path | None = None, commit_date: str | None = None
    ) -> Path:
        """A developer's clone; with ``source``, its first commit is that folder's files (what
        git would commit of it: tracked and untracked files, ignored ones left out), dated
        ``commit_date`` if given (the same files then make the same commit)."""
        destination = self._clone_to(Path(destination))
        if source is not None:
            _snapshot(Path(source), destination, commit_date)
        return destination

    def open_pull_request(self, branch: str, *, base: str | None = None, fork: str | None = None):
        """Run the workflows of a pull request from ``branch`` (of ``fork``, if given) into
        ``base``; the pull request's head must have been pushed."""
        from training_pipeline.github.offline import receive

        config = self.config
        base = base or config["default_branch"]
        head_sha = _git("--git-dir", str(self.origin), "rev-parse", f"refs/heads/{branch}")
        base_sha = _git("--git-dir", str(self.origin), "rev-parse", f"refs/heads/{base}")
        event = events.pull_request(
            config, branch=branch, head_sha=head_sha, base=base, base_sha=base_sha, fork=fork
        )
        return receive.dispatch(self.origin, "pull_request", event, head_sha, "refs/pull/1/merge")

    def runs(self) -> list[dict[str, Any]]:
        """Every recorded run, oldest first."""
        folder = Path(self.config["records"])
        return [json.loads(p.read_text()) for p in sorted(folder.glob("run-*.json"))]

    def tokens(self) -> list[dict[str, Any]]:
        """Every OIDC token the credentials stand-in was asked for, and its decision."""
        path = Path(self.config["records"]) / "tokens.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines()]

    def _clone_to(self, destination: Path) -> Path:
        config = json.loads((self.origin / CONFIG).read_text())
        repository = config["repository"]
        if destination.exists():
            shutil.rmtree(destination)
        _git("init", "--quiet", f"--initial-branch={config['default_branch']}", str(destination))
        for key, value in (
            ("remote.origin.url", github_url(repository)),
            ("remote.origin.fetch", "+refs/heads/*:refs/remotes/origin/*"),
            (f"url.{self.origin.as_uri()}.insteadOf", github_url(repository)),
            ("user.name", "Offline Developer"),
            ("user.email", "developer@example.com"),
        ):
            _git("-C", str(destination), "config", key, value)
        if _git("--git-dir", str(self.origin), "for-each-ref", "--count=1"):
            _git("-C", str(destination), "fetch", "--quiet", "--tags", "origin")
        return destination


def _snapshot(source: Path, clone: Path, commit_date: str | None) -> None:
    """Copy the files git would commit of ``source`` into ``clone`` and commit them."""
    listed = subprocess.run(
        ["git", "-C", str(source), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for raw in filter(None, listed):
        name = raw.decode()
        path = source / name
        if not path.is_file():
            continue  # deleted in the working tree
        target = clone / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    _git("-C", str(clone), "add", "--all")
    dated = {"GIT_AUTHOR_DATE": commit_date, "GIT_COMMITTER_DATE": commit_date}
    subprocess.run(
        ["git", "-C", str(clone), "commit", "--quiet", "-m", "The template, as checked out"],
        env={**os.environ, **(dated if commit_date else {})},
        check=True,
    )


def _git(*args: str) -> str:
    result = subprocess.run(["git", *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise act.ActError(f"git {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout.strip()
