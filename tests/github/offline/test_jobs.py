"""Working out the running job from the workflow files, as GitHub's issuer knows it: the
template's own workflows, and changed ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from training_pipeline.github.offline import jobs
from training_pipeline.github.offline.jobs import JobResolutionError

ROOT = Path(__file__).resolve().parents[3]
REPO = "my-org/sagemaker-code-promotion"
SHA = "a" * 40


def files(at_sha: dict[str, str], at_main: dict[str, str] | None = None):
    """read_file over two revisions: the pushed commit and main."""
    revisions = {SHA: at_sha, "refs/heads/main": at_main if at_main is not None else at_sha}

    def read(revision: str, path: str) -> str | None:
        return revisions.get(revision, {}).get(path)

    return read


def ours() -> dict[str, str]:
    folder = ROOT / ".github" / "workflows"
    return {f".github/workflows/{p.name}": p.read_text() for p in folder.glob("*.yml")}


def github(ref: str, **extra: str) -> dict[str, str]:
    return {"ref": ref, "ref_name": ref.rsplit("/", 1)[-1], "sha": SHA, **extra}


def resolve(workflow: str, job: str, ref: str, read) -> jobs.ResolvedJob:
    return jobs.resolve(
        workflow_ref=f"{REPO}/.github/workflows/{workflow}@{ref}",
        job_id=job,
        sha=SHA,
        repository=REPO,
        github=github(ref),
        read_file=read,
    )


def test_the_deploy_job_of_a_tag_is_deploy_yml_on_main_in_the_tags_environment() -> None:
    found = resolve("on_tag.yml", "deploy", "refs/tags/prod", files(ours()))
    assert found == jobs.ResolvedJob(
        job_workflow_ref=f"{REPO}/.github/workflows/deploy.yml@refs/heads/main",
        environment="prod",
        id_token_permission="write",
    )


def test_the_verify_job_has_no_token_permission() -> None:
    found = resolve("on_tag.yml", "verify", "refs/tags/staging", files(ours()))
    assert (found.environment, found.id_token_permission) == (None, "none")


def test_a_merge_deploys_dev_and_the_images_job_is_on_merge_yml_itself() -> None:
    read = files(ours())
    deploy = resolve("on_merge.yml", "deploy", "refs/heads/main", read)
    assert deploy.environment == "dev"
    images = resolve("on_merge.yml", "images", "refs/heads/main", read)
    assert images.job_workflow_ref == f"{REPO}/.github/workflows/on_merge.yml@refs/heads/main"
    assert images.id_token_permission == "write"


def test_deploy_yml_is_read_from_main_not_from_the_pushed_commit() -> None:
    """A tagged commit that changes deploy.yml still runs main's: called at @main."""
    changed = dict(ours())
    changed[".github/workflows/deploy.yml"] = changed[".github/workflows/deploy.yml"].replace(
        "environment: ${{ inputs.environment }}", "environment: anything"
    )
    found = resolve("on_tag.yml", "deploy", "refs/tags/prod", files(changed, ours()))
    assert found.environment == "prod"


def test_a_local_call_reads_the_called_workflow_at_the_callers_ref() -> None:
    changed = dict(ours())
    changed[".github/workflows/on_tag.yml"] = changed[".github/workflows/on_tag.yml"].replace(
        f"uses: {REPO}/.github/workflows/deploy.yml@main", "uses: ./.github/workflows/deploy.yml"
    )
    found = resolve("on_tag.yml", "deploy", "refs/tags/prod", files(changed, ours()))
    assert found.job_workflow_ref == f"{REPO}/.github/workflows/deploy.yml@refs/tags/prod"


def test_a_called_workflow_cannot_raise_its_callers_permissions() -> None:
    changed = dict(ours())
    changed[".github/workflows/on_tag.yml"] = changed[".github/workflows/on_tag.yml"].replace(
        "      id-token: write # granted", "      # id-token: write, not granted"
    )
    found = resolve("on_tag.yml", "deploy", "refs/tags/prod", files(changed, ours()))
    assert found.id_token_permission == "none"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("prod", "prod"),
        ("${{ inputs.environment }}", "staging"),
        ("${{ github.ref_name }}", "prod"),
        ("${{ 'it''s' }}", "it's"),
        (None, ""),
    ],
)
def test_expressions_the_stand_in_evaluates(value: object, expected: str) -> None:
    assert jobs.evaluate(value, github("refs/tags/prod"), {"environment": "staging"}) == expected


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("${{ needs.resolve.outputs.env }}", "knows github.* and inputs.*"),
        ("${{ github.ref == 'refs/tags/prod' && 'prod' || '' }}", "knows github.* and inputs.*"),
        ("deploy-${{ inputs.environment }}", "only whole expressions"),
        ("${{ inputs.missing }}", "inputs.missing is not defined"),
    ],
)
def test_other_expressions_are_refused_rather_than_guessed(value: str, reason: str) -> None:
    with pytest.raises(JobResolutionError, match=reason.replace("*", r"\*")):
        jobs.evaluate(value, github("refs/tags/prod"), {"environment": "staging"})


def test_an_unknown_job_or_workflow_ref_is_refused() -> None:
    with pytest.raises(JobResolutionError, match="no job 'nope'"):
        resolve("on_tag.yml", "nope", "refs/tags/prod", files(ours()))
    with pytest.raises(JobResolutionError, match="is not my-org/sagemaker-code-promotion/"):
        jobs.resolve(
            workflow_ref="other/repo/.github/workflows/x.yml@refs/heads/main",
            job_id="x",
            sha=SHA,
            repository=REPO,
            github=github("refs/heads/main"),
            read_file=files(ours()),
        )
