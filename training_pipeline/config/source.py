"""Which commit is being deployed: the lineage every registered model carries."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Revision:
    """A git commit and the ref it was deployed from (branch or tag)."""

    sha: str
    ref: str

    @property
    def short_sha(self) -> str:
        return self.sha[:12]


def current_revision(repo: Path = REPO_ROOT) -> Revision:
    """The checked-out commit; in GitHub Actions, GITHUB_SHA and GITHUB_REF win."""
    sha = os.environ.get("GITHUB_SHA") or _git(repo, "rev-parse", "HEAD") or "unknown"
    if "GITHUB_SHA" not in os.environ and _git(
        repo, "status", "--porcelain", "--untracked-files=no"
    ):
        # The scripts that run are the working tree's, not HEAD's: say so in the lineage (and
        # no image is tagged like this, so such a tree cannot be run on SageMaker).
        sha += "-dirty"
    ref = os.environ.get("GITHUB_REF") or _git(repo, "symbolic-ref", "-q", "HEAD") or "detached"
    return Revision(sha=sha, ref=ref)


def _git(repo: Path, *args: str) -> str | None:
    try:
        result = subprocess.run(
            ["git", *args], cwd=repo, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return result.stdout.strip() or None
