"""Which environment a git ref deploys to: the whole promotion model in one table.

Merging to main deploys to dev; moving the `staging` or `prod` tag onto a commit
(`git tag -f staging <sha> && git push -f origin staging`) deploys that commit there.
"""

from __future__ import annotations

from training_pipeline.errors import TemplateError

REF_TO_ENVIRONMENT = {
    "refs/heads/main": "dev",
    "refs/tags/staging": "staging",
    "refs/tags/prod": "prod",
}


def environment_for_ref(ref: str) -> str:
    """The environment `ref` deploys to; any other ref deploys nowhere."""
    try:
        return REF_TO_ENVIRONMENT[ref]
    except KeyError:
        allowed = ", ".join(f"{r} -> {e}" for r, e in REF_TO_ENVIRONMENT.items())
        raise TemplateError(f"{ref!r} deploys to no environment (only {allowed})") from None


def check_deploy_allowed(env: str, ref: str) -> None:
    """Refuse a CI deployment of `env` from a ref that promotes to another environment."""
    if environment_for_ref(ref) != env:
        raise TemplateError(
            f"{ref} deploys to {environment_for_ref(ref)}, not {env}: promote with "
            f"`git tag -f {env} <sha> && git push -f origin {env}`"
        )
