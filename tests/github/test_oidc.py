"""The claims of GitHub's OIDC tokens, as GitHub documents and issues them
(docs.github.com/en/actions/reference/security/oidc)."""

from __future__ import annotations

from training_pipeline.config.settings import load_settings
from training_pipeline.github import oidc as github_oidc
from training_pipeline.github.oidc import JobToken

SETTINGS = load_settings()
SHA = "0123456789abcdef0123456789abcdef01234567"


def test_the_documented_custom_subject() -> None:
    """GitHub's own example for ["repo", "context", "job_workflow_ref"]."""
    token = JobToken(
        repository="octo-org/octo-repo",
        ref="refs/heads/main",
        sha=SHA,
        event_name="workflow_dispatch",
        job_workflow_ref="octo-org/octo-automation/.github/workflows/oidc.yml@refs/heads/main",
        workflow_ref="octo-org/octo-repo/.github/workflows/caller.yml@refs/heads/main",
        environment="prod",
    )
    assert token.subject() == (
        "repo:octo-org/octo-repo:environment:prod:job_workflow_ref:"
        "octo-org/octo-automation/.github/workflows/oidc.yml@refs/heads/main"
    )


def test_default_subjects_by_context() -> None:
    def job(**kwargs) -> JobToken:
        fields = {
            "repository": "o/r",
            "ref": "refs/heads/main",
            "sha": SHA,
            "event_name": "push",
            "job_workflow_ref": "o/r/.github/workflows/x.yml@refs/heads/main",
            "workflow_ref": "o/r/.github/workflows/x.yml@refs/heads/main",
        }
        return JobToken(**{**fields, **kwargs})

    assert job().subject(None) == "repo:o/r:ref:refs/heads/main"
    assert job(ref="refs/tags/prod").subject(None) == "repo:o/r:ref:refs/tags/prod"
    assert job(event_name="pull_request", ref="refs/pull/1/merge").subject(None) == (
        "repo:o/r:pull_request"
    )
    # An environment replaces the ref, and the pull request, in the context.
    assert job(event_name="pull_request", environment="prod").subject(None) == (
        "repo:o/r:environment:prod"
    )
    # Colons inside a value are escaped, as GitHub does.
    assert job(environment="Production:V1").subject(None) == "repo:o/r:environment:Production%3AV1"
    # Repositories created after 2026-07-15 carry the owner's and their own id.
    assert job(repository_ids="11/22").subject(None) == "repo:o@11/r@22:ref:refs/heads/main"


def test_the_claims_a_trust_policy_can_see() -> None:
    token = JobToken(
        repository="o/r",
        ref="refs/tags/prod",
        sha=SHA,
        event_name="push",
        job_workflow_ref="o/r/.github/workflows/deploy.yml@refs/heads/main",
        workflow_ref="o/r/.github/workflows/on_tag.yml@refs/tags/prod",
        environment="prod",
    )
    claims = token.claims()
    assert claims["iss"] == "https://token.actions.githubusercontent.com"
    assert claims["aud"] == "sts.amazonaws.com" and claims["ref_type"] == "tag"
    request = github_oidc.web_identity_request(claims, "444444444444")
    assert request.principal == (
        "Federated",
        "arn:aws:iam::444444444444:oidc-provider/token.actions.githubusercontent.com",
    )
    # AWS reads sub and aud of a GitHub token, nothing else (GitHub's docs: no custom claims).
    assert set(request.context) == {
        "token.actions.githubusercontent.com:sub",
        "token.actions.githubusercontent.com:aud",
    }


def test_the_subjects_the_roles_trust_come_from_profiles_conf() -> None:
    repo = SETTINGS.github_repository
    assert github_oidc.deploy_subject(SETTINGS, "prod") == (
        f"repo:{repo}:environment:prod:job_workflow_ref:"
        f"{repo}/.github/workflows/deploy.yml@refs/heads/main"
    )
    assert github_oidc.images_subject(SETTINGS) == (
        f"repo:{repo}:ref:refs/heads/main:job_workflow_ref:"
        f"{repo}/.github/workflows/on_merge.yml@refs/heads/main"
    )
