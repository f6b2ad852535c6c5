"""The OIDC tokens GitHub Actions issues to jobs, and the subjects this template's roles trust.

The repository customises its subject claim template to ``["repo", "context",
"job_workflow_ref"]`` (`github settings` prints the API call), so a job's ``sub`` reads::

    repo:OWNER/REPO:environment:prod:job_workflow_ref:OWNER/REPO/.github/workflows/deploy.yml@refs/heads/main

``context`` is ``environment:NAME`` for a job that names an environment, else ``pull_request``
for pull requests, else ``ref:<the pushed ref>``; ``job_workflow_ref`` is the workflow file that
defines the job and the ref it was read at (for a reusable workflow, the called one). The deploy
roles trust only the deploy job of ``deploy.yml`` on the main branch, in their environment; the
CI role only the images job of ``on_merge.yml`` on the main branch. A workflow changed on a
branch, a tag's commit or a pull request has another ``job_workflow_ref`` and gets no role.

Repositories created or renamed after 2026-07-15 name themselves
``OWNER@OWNER_ID/REPO@REPO_ID`` in the subject; ``[project] github_ids`` in profiles.conf says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from training_pipeline.aws import iam_policy
from training_pipeline.config.settings import Settings

ISSUER = "token.actions.githubusercontent.com"
AUDIENCE = "sts.amazonaws.com"
SUBJECT_CLAIM_KEYS = ("repo", "context", "job_workflow_ref")
DEPLOY_WORKFLOW = ".github/workflows/deploy.yml"
IMAGES_WORKFLOW = ".github/workflows/on_merge.yml"


def repo_claim(repository: str, ids: str | None = None) -> str:
    """The ``repo`` part of a subject: ``OWNER/REPO``, or ``OWNER@ID/REPO@ID`` with ids."""
    if ids is None:
        return repository
    (owner, name), (owner_id, repo_id) = repository.split("/"), ids.split("/")
    return f"{owner}@{owner_id}/{name}@{repo_id}"


@dataclass(frozen=True)
class JobToken:
    """The claims GitHub puts in the OIDC token of one job."""

    repository: str
    ref: str
    sha: str
    event_name: str
    job_workflow_ref: str
    workflow_ref: str
    environment: str | None = None
    repository_ids: str | None = None
    aud: str = AUDIENCE

    @property
    def context(self) -> str:
        if self.environment:
            return f"environment:{_escaped(self.environment)}"
        if self.event_name in ("pull_request", "pull_request_target"):
            return "pull_request"
        return f"ref:{_escaped(self.ref)}"

    def subject(self, claim_keys: tuple[str, ...] | None = SUBJECT_CLAIM_KEYS) -> str:
        """``sub`` under the customised template (``claim_keys``), or GitHub's default (None)."""
        values = {
            "repo": repo_claim(self.repository, self.repository_ids),
            "job_workflow_ref": self.job_workflow_ref,
            "ref": self.ref,
            "sha": self.sha,
            "environment": self.environment or "",
            "event_name": self.event_name,
            "workflow_ref": self.workflow_ref,
        }
        parts = []
        for key in claim_keys or ("repo", "context"):
            if key == "context":
                parts.append(self.context)
            elif key in values:
                parts.append(f"{key}:{_escaped(values[key])}")
            else:
                raise ValueError(f"claim key {key!r} is not modelled here")
        return ":".join(parts)

    def claims(self, claim_keys: tuple[str, ...] | None = SUBJECT_CLAIM_KEYS) -> dict[str, str]:
        """The token's payload, as GitHub's issuer writes it (the claims a trust policy sees)."""
        claims = {
            "iss": f"https://{ISSUER}",
            "aud": self.aud,
            "sub": self.subject(claim_keys),
            "repository": self.repository,
            "repository_owner": self.repository.split("/")[0],
            "ref": self.ref,
            "ref_type": "tag" if self.ref.startswith("refs/tags/") else "branch",
            "sha": self.sha,
            "event_name": self.event_name,
            "job_workflow_ref": self.job_workflow_ref,
            "workflow_ref": self.workflow_ref,
        }
        if self.environment:
            claims["environment"] = self.environment
        return claims


def _escaped(value: str) -> str:
    """GitHub escapes a colon inside a value, so that the parts of a subject stay apart."""
    return value.replace(":", "%3A")


def provider_arn(account_id: str) -> str:
    """The GitHub OIDC provider of an account (one per account, created by Terraform)."""
    return f"arn:aws:iam::{account_id}:oidc-provider/{ISSUER}"


def web_identity_request(claims: dict[str, str], account_id: str) -> iam_policy.Request:
    """AssumeRoleWithWebIdentity as IAM evaluates it: the provider as the principal, and the
    token's ``sub`` and ``aud`` as condition keys (AWS reads no other GitHub claim)."""
    return iam_policy.Request(
        action="sts:AssumeRoleWithWebIdentity",
        principal=("Federated", provider_arn(account_id)),
        context={f"{ISSUER}:sub": claims["sub"], f"{ISSUER}:aud": claims["aud"]},
    )


def workflow_ref(settings: Settings, workflow: str) -> str:
    """``OWNER/REPO/<workflow>@refs/heads/<main>``: a workflow file as the main branch has it."""
    return f"{settings.github_repository}/{workflow}@refs/heads/{settings.main_branch}"


def deploy_subject(settings: Settings, env: str) -> str:
    """The one subject the deploy role of ``env`` trusts."""
    settings.environment(env)
    return _subject(settings, f"environment:{env}", DEPLOY_WORKFLOW)


def images_subject(settings: Settings) -> str:
    """The one subject the operations account's CI role trusts."""
    return _subject(settings, f"ref:refs/heads/{settings.main_branch}", IMAGES_WORKFLOW)


def _subject(settings: Settings, context: str, workflow: str) -> str:
    repo = repo_claim(settings.github_repository, settings.github_ids)
    return f"repo:{repo}:{context}:job_workflow_ref:{workflow_ref(settings, workflow)}"
