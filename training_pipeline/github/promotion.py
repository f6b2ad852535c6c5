"""Promotion: which git ref deploys which environment, and moving a tag, with guards.

profiles.conf gives each environment its ``deploy_ref``: merges to main deploy the first one
(dev); every later one is deployed by moving the tag named after it onto a commit of main
(``promote staging SHA``). Promoting checks, before it moves anything:

- the commit is on main: main has been at it (its first-parent history; the deploy workflow
  refuses any other commit too, before it asks for credentials);
- for an environment after a tag-deployed one (prod after staging): that environment already
  runs the commit (its tag points there) and validated it: its registry holds an Approved
  version whose lineage is that commit, or a run of that commit succeeded with a model
  identical to an Approved version. ``force_reason`` skips this second guard, never the first.

Rolling back is promoting an older commit of main, with the same guards.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from training_pipeline.config.settings import Settings
from training_pipeline.errors import UserError


class PromotionRefused(UserError):
    """A guard refused the promotion; the message says which and why."""


def environment_for_ref(settings: Settings, ref: str) -> str:
    """The environment ``ref`` deploys to; any other ref deploys nowhere."""
    env = settings.environment_for_ref(ref)
    if env is None:
        allowed = ", ".join(f"{e.deploy_ref} -> {e.name}" for e in settings.environments.values())
        raise UserError(f"{ref!r} deploys to no environment (only {allowed})")
    return env


def check_deploy_allowed(settings: Settings, env: str, ref: str) -> None:
    """Refuse a CI deployment of ``env`` from a ref that is not ``env``'s deploy_ref."""
    wanted = settings.environment(env).deploy_ref
    if ref != wanted:
        raise UserError(
            f"{ref or 'no ref'} does not deploy {env}: profiles.conf gives [{env}] "
            f"deploy_ref = {wanted}"
        )


@dataclass(frozen=True)
class Promotion:
    """Moving ``tag`` from ``old_sha`` (None: a new tag) to ``new_sha``."""

    env: str
    tag: str
    old_sha: str | None
    new_sha: str
    forced_reason: str | None = None

    def describe(self, repo: Path) -> str:
        new = f"{self.new_sha[:12]} ({_subject(repo, self.new_sha)})"
        if self.old_sha is None:
            return f"{self.tag}: new tag at {new}"
        if self.old_sha == self.new_sha:
            return f"{self.tag}: already at {new}; pushing it again re-runs the deployment"
        old = f"{self.old_sha[:12]} ({_subject(repo, self.old_sha)})"
        return f"{self.tag}: {old} -> {new}"


# (environment, sha) -> None if that environment validated the commit, else the reason not
Validator = Callable[[str, str], str | None]


def plan(
    repo: Path,
    settings: Settings,
    env: str,
    rev: str | None,
    *,
    validated: Validator,
    force_reason: str | None = None,
) -> Promotion:
    """The promotion of ``rev`` (default: main) to ``env``, once every guard has passed."""
    environment = settings.environment(env)
    if not environment.deploy_ref.startswith("refs/tags/"):
        raise PromotionRefused(
            f"{env} is deployed by merging to {settings.main_branch}, not by promotion"
        )
    if force_reason is not None and not force_reason.strip():
        raise PromotionRefused("--force needs a --reason that says why the guards are skipped")
    main = f"refs/remotes/origin/{settings.main_branch}"
    branch = f"+refs/heads/{settings.main_branch}:{main}"
    _git(repo, "fetch", "--quiet", "--force", "--tags", "origin", branch)
    sha = _resolve(repo, rev or main)
    if not _on_first_parent_history(repo, sha, main):
        raise PromotionRefused(
            f"{rev or sha} ({sha[:12]}) is not on {settings.main_branch}: only commits merged "
            f"to {settings.main_branch} are promoted (the deploy workflow refuses any other)"
        )
    previous = _previous_tag_environment(settings, env)
    if previous is not None and force_reason is None:
        runs = _tag_sha(repo, previous)
        if runs != sha:
            where = f"at {runs[:12]}" if runs else "nowhere yet"
            raise PromotionRefused(
                f"{previous} runs {where}, not {sha[:12]}: promote {previous} {sha[:12]} first, "
                f"or --force --reason '...' to promote to {env} anyway"
            )
        problem = validated(previous, sha)
        if problem is not None:
            raise PromotionRefused(
                f"{previous} has not validated {sha[:12]}: {problem}; wait for its deployment, "
                f"or --force --reason '...' to promote to {env} anyway"
            )
    tag = environment.deploy_ref.removeprefix("refs/tags/")
    return Promotion(env, tag, _tag_sha(repo, env), sha, force_reason)


def push(repo: Path, promotion: Promotion) -> None:
    """Move the tag and push it: the push starts on_tag.yml for that environment. git's own
    output (the remote's, too) goes to the terminal."""
    _git(repo, "tag", "--force", promotion.tag, promotion.new_sha)
    ref = f"refs/tags/{promotion.tag}"
    if promotion.old_sha == promotion.new_sha:
        # Pushing a tag where it already is changes nothing and triggers nothing; deleting it
        # first (which triggers no workflow) makes the push a new one that re-runs the deploy.
        _git(repo, "push", "--quiet", "origin", f":{ref}")
    pushed = subprocess.run(["git", "-C", str(repo), "push", "--force", "origin", ref])
    if pushed.returncode != 0:
        raise UserError(f"git push of the tag {promotion.tag} failed (see above)")


def _previous_tag_environment(settings: Settings, env: str) -> str | None:
    """The environment promoted to just before ``env``, if it is tag-deployed too."""
    names = settings.environment_names
    index = names.index(env)
    if index == 0:
        return None
    previous = settings.environment(names[index - 1])
    return previous.name if previous.deploy_ref.startswith("refs/tags/") else None


def _tag_sha(repo: Path, tag: str) -> str | None:
    found = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--verify", "--quiet", f"refs/tags/{tag}^{{commit}}"],
        capture_output=True,
        text=True,
    )
    return found.stdout.strip() or None


def _resolve(repo: Path, rev: str) -> str:
    found = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"],
        capture_output=True,
        text=True,
    )
    if found.returncode != 0:
        raise PromotionRefused(f"{rev!r} is not a commit of {repo}")
    return found.stdout.strip()


def _on_first_parent_history(repo: Path, sha: str, ref: str) -> bool:
    """Whether ``ref`` has been at ``sha``: not any ancestor (the commits of a merged branch
    were never main, nor reviewed as main), a commit of its first-parent history."""
    history = _git(repo, "rev-list", "--first-parent", ref)
    return sha in history.splitlines()


def _subject(repo: Path, sha: str) -> str:
    return _git(repo, "log", "-1", "--format=%s", sha)


def _git(repo: Path, *args: str) -> str:
    result = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise UserError(f"git {' '.join(args)} failed in {repo}: {result.stderr.strip()}")
    return result.stdout.strip()
