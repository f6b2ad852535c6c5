"""Promotion guards on real git repositories: a bare origin and a clone, no workflows.

The validator is registry.validation_problem over model versions and run records as the
registry and the artifacts bucket return them (tests/workflows/ runs the whole path on the
embedded AWS).
"""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from training_pipeline.config.settings import load_settings
from training_pipeline.environment import registry
from training_pipeline.errors import UserError
from training_pipeline.github import promotion
from training_pipeline.github.promotion import PromotionRefused

SETTINGS = load_settings()


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


def commit(repo: Path, message: str, file: str = "file.txt") -> str:
    (repo / file).write_text(message)
    git(repo, "add", file)
    git(repo, "commit", "-qm", message)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A clone whose origin has main with two commits."""
    origin, clone = tmp_path / "origin.git", tmp_path / "clone"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(clone)], check=True)
    git(clone, "config", "user.email", "dev@example.com")
    git(clone, "config", "user.name", "Dev")
    git(clone, "remote", "add", "origin", str(origin))
    commit(clone, "first")
    commit(clone, "second")
    git(clone, "push", "-q", "origin", "main")
    return clone


def version(number: int, sha: str, status: str) -> registry.ModelVersion:
    return registry.ModelVersion(
        version=number,
        arn=f"arn:aws:sagemaker:eu-west-1:333333333333:model-package/g/{number}",
        status=status,
        created=datetime(2026, 1, 1, tzinfo=UTC),
        metadata={"git_sha": sha},
        metrics={},
    )


def validated_by(versions: list, records: list | None = None):
    def check(env: str, sha: str) -> str | None:
        assert env == "staging"
        return registry.validation_problem(versions, records or [], sha)

    return check


def test_staging_takes_main_by_default_and_a_new_tag(repo: Path) -> None:
    head = git(repo, "rev-parse", "HEAD")
    planned = promotion.plan(repo, SETTINGS, "staging", None, validated=validated_by([]))
    assert (planned.tag, planned.old_sha, planned.new_sha) == ("staging", None, head)
    assert planned.describe(repo) == f"staging: new tag at {head[:12]} (second)"


def test_a_commit_not_on_main_is_refused_even_with_force(repo: Path) -> None:
    git(repo, "checkout", "-qb", "feature")
    side = commit(repo, "not reviewed")
    for force in (None, "hotfix"):
        with pytest.raises(PromotionRefused, match=f"{side[:12]}.* is not on main"):
            promotion.plan(
                repo, SETTINGS, "staging", side, validated=validated_by([]), force_reason=force
            )


def test_a_merged_branch_commit_main_never_was_at_is_refused(repo: Path) -> None:
    git(repo, "checkout", "-qb", "feature", "HEAD~1")
    inside = commit(repo, "work in progress", "feature.txt")
    commit(repo, "ready", "feature.txt")
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "-m", "merge feature", "feature")
    git(repo, "push", "-q", "origin", "main")
    assert git(repo, "merge-base", "--is-ancestor", inside, "main") == ""  # an ancestor, yet
    with pytest.raises(PromotionRefused, match=f"{inside[:12]}.* is not on main"):
        promotion.plan(repo, SETTINGS, "staging", inside, validated=validated_by([]))
    merge = git(repo, "rev-parse", "HEAD")
    assert (
        promotion.plan(repo, SETTINGS, "staging", merge, validated=validated_by([])).new_sha
        == merge
    )


def test_dev_is_not_promoted(repo: Path) -> None:
    with pytest.raises(PromotionRefused, match="dev is deployed by merging to main"):
        promotion.plan(repo, SETTINGS, "dev", None, validated=validated_by([]))


def test_prod_needs_staging_to_run_the_commit_and_to_have_validated_it(repo: Path) -> None:
    first = git(repo, "rev-parse", "HEAD~1")
    head = git(repo, "rev-parse", "HEAD")
    with pytest.raises(PromotionRefused, match="staging runs nowhere yet, not"):
        promotion.plan(repo, SETTINGS, "prod", head, validated=validated_by([]))

    promotion.push(
        repo, promotion.plan(repo, SETTINGS, "staging", first, validated=validated_by([]))
    )
    with pytest.raises(PromotionRefused, match=f"staging runs at {first[:12]}, not {head[:12]}"):
        promotion.plan(repo, SETTINGS, "prod", head, validated=validated_by([]))

    promotion.push(
        repo, promotion.plan(repo, SETTINGS, "staging", head, validated=validated_by([]))
    )
    with pytest.raises(PromotionRefused, match="no version was registered from that commit"):
        promotion.plan(repo, SETTINGS, "prod", head, validated=validated_by([]))
    rejected = [version(1, head, "Rejected")]
    with pytest.raises(PromotionRefused, match="v1 Rejected, none Approved"):
        promotion.plan(repo, SETTINGS, "prod", head, validated=validated_by(rejected))

    planned = promotion.plan(
        repo, SETTINGS, "prod", head, validated=validated_by([version(1, head, "Approved")])
    )
    assert (planned.tag, planned.new_sha) == ("prod", head)


def test_a_run_that_registered_an_identical_model_validates_its_commit(repo: Path) -> None:
    """A commit whose model is byte-identical to an Approved version registers nothing, and
    still counts as validated (a README change, say)."""
    first, head = git(repo, "rev-parse", "HEAD~1"), git(repo, "rev-parse", "HEAD")
    promotion.push(
        repo, promotion.plan(repo, SETTINGS, "staging", head, validated=validated_by([]))
    )
    versions = [version(1, first, "Approved")]
    records = [
        {"git_sha": head, "status": "Succeeded", "model": {"version": 1, "registered": False}}
    ]
    planned = promotion.plan(
        repo, SETTINGS, "prod", head, validated=validated_by(versions, records)
    )
    assert planned.new_sha == head
    failed = [{**records[0], "status": "Failed"}]
    with pytest.raises(PromotionRefused, match="no run of it succeeded"):
        promotion.plan(repo, SETTINGS, "prod", head, validated=validated_by(versions, failed))


def test_force_needs_a_reason_and_skips_only_the_staging_guards(repo: Path) -> None:
    head = git(repo, "rev-parse", "HEAD")
    with pytest.raises(PromotionRefused, match="--force needs a --reason"):
        promotion.plan(repo, SETTINGS, "prod", head, validated=validated_by([]), force_reason=" ")
    planned = promotion.plan(
        repo, SETTINGS, "prod", head, validated=validated_by([]), force_reason="incident 42"
    )
    assert planned.forced_reason == "incident 42"


def test_rollback_and_same_commit_again(repo: Path) -> None:
    first, head = git(repo, "rev-parse", "HEAD~1"), git(repo, "rev-parse", "HEAD")
    promotion.push(
        repo, promotion.plan(repo, SETTINGS, "staging", head, validated=validated_by([]))
    )
    back = promotion.plan(repo, SETTINGS, "staging", first, validated=validated_by([]))
    assert back.describe(repo) == f"staging: {head[:12]} (second) -> {first[:12]} (first)"
    promotion.push(repo, back)
    origin = git(repo, "remote", "get-url", "origin")
    assert git(Path(origin), "rev-parse", "refs/tags/staging") == first
    again = promotion.plan(repo, SETTINGS, "staging", first, validated=validated_by([]))
    assert "already at" in again.describe(repo) and "re-runs the deployment" in again.describe(repo)
    pushes = Path(origin) / "pushes.log"
    hook = Path(origin) / "hooks" / "post-receive"
    hook.write_text(f"#!/bin/sh\ncat >> {pushes}\n")
    hook.chmod(0o755)
    promotion.push(repo, again)
    # GitHub starts a workflow for a push that creates the tag, so the same commit goes out as a
    # deletion, then a creation: two pushes, never a no-op update.
    zero = "0" * 40
    assert pushes.read_text().splitlines() == [
        f"{first} {zero} refs/tags/staging",
        f"{zero} {first} refs/tags/staging",
    ]


@pytest.mark.parametrize(
    ("ref", "env"),
    [("refs/heads/main", "dev"), ("refs/tags/staging", "staging"), ("refs/tags/prod", "prod")],
)
def test_each_deploy_ref_maps_to_one_environment(ref: str, env: str) -> None:
    assert promotion.environment_for_ref(SETTINGS, ref) == env
    promotion.check_deploy_allowed(SETTINGS, env, ref)


@pytest.mark.parametrize(
    "ref", ["refs/heads/feature", "refs/tags/v1.0", "refs/pull/1/merge", "refs/heads/prod", ""]
)
def test_other_refs_deploy_nowhere(ref: str) -> None:
    with pytest.raises(UserError, match="deploys to no environment"):
        promotion.environment_for_ref(SETTINGS, ref)


def test_a_staging_tag_cannot_deploy_prod() -> None:
    with pytest.raises(
        UserError,
        match="refs/tags/staging does not deploy prod: .* deploy_ref = refs/tags/prod",
    ):
        promotion.check_deploy_allowed(SETTINGS, "prod", "refs/tags/staging")
