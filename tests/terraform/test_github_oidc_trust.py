"""The deploy roles' and the CI role's trust policies, read back from the embedded AWS and
evaluated against the tokens GitHub Actions issues to each kind of job, with the repository's
subject template customised to ["repo", "context", "job_workflow_ref"] (github_oidc.py):

    sub = repo:OWNER/REPO:<context>:job_workflow_ref:<workflow file>@<ref it was read at>

Only these (role, job) pairs may assume: the CI role for the images job of on_merge.yml on main;
each deploy role for the deploy job of deploy.yml as main has it, in that role's environment.
A workflow changed on a branch or a tag's commit, a pull request, another repository, GitHub's
default template and a wrong audience get nothing.
"""

from __future__ import annotations

import json

import pytest

from training_pipeline.aws import iam_policy
from training_pipeline.github import oidc as github_oidc
from training_pipeline.github.oidc import JobToken

from .conftest import AppliedInfra

pytestmark = [pytest.mark.terraform, pytest.mark.e2e]

ROLES = ("ci", "dev", "staging", "prod")
SHA = "0123456789abcdef0123456789abcdef01234567"


def jobs(repository: str) -> dict[str, JobToken]:
    def workflow(name: str, ref: str = "refs/heads/main", repo: str = repository) -> str:
        return f"{repo}/.github/workflows/{name}@{ref}"

    def token(ref: str, job_workflow: str, environment: str | None = None, **kwargs) -> JobToken:
        fields = {
            "repository": repository,
            "ref": ref,
            "sha": SHA,
            "event_name": "push",
            "job_workflow_ref": job_workflow,
            "workflow_ref": job_workflow,
            "environment": environment,
        }
        return JobToken(**{**fields, **kwargs})

    main, staging, prod = "refs/heads/main", "refs/tags/staging", "refs/tags/prod"
    other = "someone-else/" + repository.split("/")[1]
    return {
        "images job, push to main": token(main, workflow("on_merge.yml")),
        "images job, push to a branch": token(
            "refs/heads/feature", workflow("on_merge.yml", "refs/heads/feature")
        ),
        "deploy.yml@main, dev": token(main, workflow("deploy.yml"), "dev"),
        "deploy.yml@main, staging": token(staging, workflow("deploy.yml"), "staging"),
        "deploy.yml@main, prod": token(prod, workflow("deploy.yml"), "prod"),
        # The tag's commit changed its workflows: a local call reads them from that commit.
        "deploy.yml of the tagged commit, prod": token(prod, workflow("deploy.yml", prod), "prod"),
        "a job of on_tag.yml itself, prod": token(prod, workflow("on_tag.yml", prod), "prod"),
        "deploy.yml of a branch, staging": token(
            "refs/heads/feature", workflow("deploy.yml", "refs/heads/feature"), "staging"
        ),
        "deploy.yml@main, pull request": token(
            "refs/pull/1/merge", workflow("deploy.yml"), event_name="pull_request"
        ),
        "deploy.yml@main, no environment": token(prod, workflow("deploy.yml")),
        "another repository, prod": token(
            prod, workflow("deploy.yml", repo=other), "prod", repository=other
        ),
        "deploy.yml@main, prod, wrong audience": token(
            prod, workflow("deploy.yml"), "prod", aud="https://github.com/my-org"
        ),
    }


EXPECTED_ALLOWED = {
    ("ci", "images job, push to main"),
    ("dev", "deploy.yml@main, dev"),
    ("staging", "deploy.yml@main, staging"),
    ("prod", "deploy.yml@main, prod"),
}


def role_of(applied: AppliedInfra, role: str) -> tuple[str, str, dict]:
    """(account name, role ARN, trust policy as stored in the embedded AWS)."""
    project = applied.settings.project
    account, name = (
        ("operations", f"{project}-github-ci")
        if role == "ci"
        else (role, f"{project}-{role}-github-deploy")
    )
    found = applied.client(account, "iam").get_role(RoleName=name)["Role"]
    document = found["AssumeRolePolicyDocument"]
    return account, found["Arn"], json.loads(document) if isinstance(document, str) else document


def allowed(policy: dict, claims: dict, account_id: str) -> bool:
    return iam_policy.allows([policy], github_oidc.web_identity_request(claims, account_id))


def test_trust_policies_admit_only_the_reviewed_jobs(applied: AppliedInfra) -> None:
    found = set()
    for role in ROLES:
        account, _, policy = role_of(applied, role)
        account_id = applied.settings.accounts[account]
        for name, job in jobs(applied.settings.github_repository).items():
            if allowed(policy, job.claims(), account_id):
                found.add((role, name))
    assert found == EXPECTED_ALLOWED


def test_without_the_customised_template_no_token_is_accepted(applied: AppliedInfra) -> None:
    """Before `github settings` is applied, GitHub issues default subjects: every role refuses."""
    for role, name in EXPECTED_ALLOWED:
        account, _, policy = role_of(applied, role)
        job = jobs(applied.settings.github_repository)[name]
        assert not allowed(policy, job.claims(None), applied.settings.accounts[account])


def test_trust_policies_accept_only_their_own_accounts_provider(applied: AppliedInfra) -> None:
    for role, name in EXPECTED_ALLOWED:
        account, _, policy = role_of(applied, role)
        claims = jobs(applied.settings.github_repository)[name].claims()
        for other, other_id in applied.settings.accounts.items():
            assert allowed(policy, claims, other_id) is (other == account)


def test_trust_policies_hold_exactly_the_subjects_of_profiles_conf(applied: AppliedInfra) -> None:
    settings = applied.settings
    for role in ROLES:
        _, _, policy = role_of(applied, role)
        [statement] = policy["Statement"]
        assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
        condition = statement["Condition"]
        assert set(condition) == {"StringEquals"}, "no StringLike, no wildcards"
        keys = condition["StringEquals"]
        assert keys["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"
        subjects = keys["token.actions.githubusercontent.com:sub"]
        subjects = [subjects] if isinstance(subjects, str) else subjects
        expected = (
            github_oidc.images_subject(settings)
            if role == "ci"
            else github_oidc.deploy_subject(settings, role)
        )
        assert subjects == [expected]


def test_moto_sts_hands_out_credentials_without_checking(applied: AppliedInfra) -> None:
    """moto 5.2 verifies neither the token nor the trust policy: it also assumes a role for a
    forbidden token. That is why the offline credentials stand-in evaluates the trust policy
    itself before it calls STS; if a future moto starts refusing, this test says so."""
    _, arn, _ = role_of(applied, "prod")
    sts = applied.client("prod", "sts")
    forbidden = jobs(applied.settings.github_repository)["a job of on_tag.yml itself, prod"]
    credentials = sts.assume_role_with_web_identity(
        RoleArn=arn, RoleSessionName="github-actions", WebIdentityToken=_unsigned(forbidden)
    )["Credentials"]
    assert credentials["AccessKeyId"]


def _unsigned(job: JobToken) -> str:
    import base64

    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none'})}.{part(job.claims())}."
