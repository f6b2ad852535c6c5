"""The GitHub-side settings the trust policies rely on, as GitHub REST API calls.

`python -m training_pipeline github settings` prints them as ``gh api`` commands (``--apply``
runs them with the GitHub CLI, logged in as a repository admin). Running them again, say after
adding an environment, updates what an earlier run made instead of adding a second one. They
are derived from profiles.conf, as the trust policies are, so the two cannot drift apart:

1. the repository's OIDC subject claim template ``["repo", "context", "job_workflow_ref"]``,
   without which no deploy or CI role accepts any token;
2. a GitHub Environment per environment of profiles.conf, deployable only from its deploy_ref
   (the main branch, or its tag), with its ``reviewers`` required and self-review prevented;
3. a ruleset on the promotion tags: only repository admins and maintainers may create, move
   or delete them;
4. a ruleset on the main branch: changes arrive by reviewed pull request only, never by a
   force push or deletion.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from dataclasses import dataclass
from typing import Any

from training_pipeline.config.settings import Settings
from training_pipeline.errors import UserError
from training_pipeline.github.oidc import SUBJECT_CLAIM_KEYS

# Built-in repository roles, as ruleset bypass actors (actor_type RepositoryRole).
ADMIN_ROLE, MAINTAIN_ROLE = 5, 2
# Marks an id that `gh api <path> --jq .id` supplies when the script runs.
_ID = "gh-id:"
_LOOKUP = re.compile(r'"gh-id:([A-Za-z0-9/._-]+)"')


@dataclass(frozen=True)
class ApiCall:
    """One REST call: what it does, and why the template needs it."""

    method: str
    path: str
    body: dict[str, Any]
    why: str
    # For a POST that creates a named object: a jq filter over GET `path` that prints the id of
    # the one made by an earlier run, so that running the script again creates no second one.
    existing: str | None = None
    # Whether that earlier object is brought up to date (PUT `path`/ID) or left as it is.
    update: bool = False

    def command(self) -> str:
        body = json.dumps(self.body, indent=2)
        # A reviewer's id is looked up by gh when the script runs: an unquoted here-document
        # lets the shell substitute it (the JSON holds no other `$`).
        lookups = _LOOKUP.findall(body)
        for lookup in lookups:
            body = body.replace(f'"{_ID}{lookup}"', f"$(gh api {lookup} --jq .id)")
        marker = "JSON" if lookups else "'JSON'"
        path = shlex.quote(self.path)

        def call(method: str, target: str) -> str:
            return f"gh api --method {method} {target} --input - <<{marker}\n{body}\nJSON\n"

        if self.existing is None:
            return f"# {self.why}\n" + call(self.method, path)
        found = f"id=$(gh api --paginate {path} --jq {shlex.quote(self.existing)})\n"
        updated = call("PUT", path + '/"$id"')
        otherwise = f"else\n{updated}" if self.update else ""
        return (
            f'# {self.why}\n{found}if [ -z "$id" ]; then\n{call(self.method, path)}{otherwise}fi\n'
        )


def calls(settings: Settings) -> list[ApiCall]:
    """Every call, in the order to make them."""
    repo = f"repos/{settings.github_repository}"
    found = [
        ApiCall(
            "PUT",
            f"{repo}/actions/oidc/customization/sub",
            {"use_default": False, "include_claim_keys": list(SUBJECT_CLAIM_KEYS)},
            "OIDC subjects name the workflow file and ref that defines each job "
            "(job_workflow_ref): the trust policies require deploy.yml on main",
        )
    ]
    for env in settings.environments.values():
        reviewers = [_reviewer(name) for name in env.reviewers]
        found.append(
            ApiCall(
                "PUT",
                f"{repo}/environments/{env.name}",
                {
                    "prevent_self_review": bool(reviewers),
                    "reviewers": reviewers,
                    "deployment_branch_policy": {
                        "protected_branches": False,
                        "custom_branch_policies": True,
                    },
                },
                f"GitHub Environment {env.name}: the deploy job's environment (the OIDC "
                "subject's context)"
                + (f"; {', '.join(env.reviewers)} approve each deployment" if reviewers else ""),
            )
        )
        kind = "tag" if env.deploy_ref.startswith("refs/tags/") else "branch"
        found.append(
            ApiCall(
                "POST",
                f"{repo}/environments/{env.name}/deployment-branch-policies",
                {"name": env.deploy_ref.split("/", 2)[2], "type": kind},
                f"only the {kind} {env.deploy_ref.split('/', 2)[2]} may deploy to {env.name}",
                existing=_named(
                    ".branch_policies[]", name=env.deploy_ref.split("/", 2)[2], type=kind
                ),
            )
        )
    environments = settings.environments.values()
    tags = [e.deploy_ref for e in environments if e.deploy_ref.startswith("refs/tags/")]
    found.append(
        ApiCall(
            "POST",
            f"{repo}/rulesets",
            {
                "name": "promotion tags",
                "target": "tag",
                "enforcement": "active",
                "conditions": {"ref_name": {"include": tags, "exclude": []}},
                "rules": [{"type": "creation"}, {"type": "update"}, {"type": "deletion"}],
                "bypass_actors": [
                    {"actor_id": role, "actor_type": "RepositoryRole", "bypass_mode": "always"}
                    for role in (ADMIN_ROLE, MAINTAIN_ROLE)
                ],
            },
            "only admins and maintainers may move the tags that promote",
            # The list also holds the organisation's rulesets.
            existing=_named(".[]", name="promotion tags", source_type="Repository"),
            update=True,
        )
    )
    found.append(
        ApiCall(
            "POST",
            f"{repo}/rulesets",
            {
                "name": f"{settings.main_branch} is reviewed",
                "target": "branch",
                "enforcement": "active",
                "conditions": {
                    "ref_name": {"include": [f"refs/heads/{settings.main_branch}"], "exclude": []}
                },
                "rules": [
                    {"type": "deletion"},
                    {"type": "non_fast_forward"},
                    {
                        "type": "pull_request",
                        "parameters": {
                            "required_approving_review_count": 1,
                            "dismiss_stale_reviews_on_push": True,
                            "require_code_owner_review": False,
                            "require_last_push_approval": True,
                            "required_review_thread_resolution": False,
                        },
                    },
                ],
                "bypass_actors": [],
            },
            f"what reaches {settings.main_branch} (and so every environment, and deploy.yml "
            "itself) was reviewed in a pull request",
            existing=_named(
                ".[]", name=f"{settings.main_branch} is reviewed", source_type="Repository"
            ),
            update=True,
        )
    )
    return found


def script(settings: Settings) -> str:
    """The calls as a shell script of ``gh api`` commands."""
    header = (
        "#!/bin/sh\n# GitHub settings of "
        f"{settings.github_repository}, from profiles.conf (run as a repository admin).\n"
        "set -e\n\n"
    )
    return header + "\n".join(call.command() for call in calls(settings))


def apply(settings: Settings) -> None:
    """Run the script with the GitHub CLI."""
    try:
        result = subprocess.run(["sh"], input=script(settings), text=True, capture_output=True)
    except FileNotFoundError:
        raise UserError("sh is not available to run the gh commands") from None
    if result.returncode != 0:
        raise UserError(f"a gh api call failed: {result.stderr.strip()[-2000:]}")


def _named(items: str, **fields: str) -> str:
    """A jq filter printing the id of the item of ``items`` with these field values."""
    condition = " and ".join(f".{key} == {json.dumps(value)}" for key, value in fields.items())
    return f"{items} | select({condition}) | .id"


def _reviewer(name: str) -> dict[str, Any]:
    """A required reviewer; the API wants its numeric id, which ``gh`` looks up."""
    if "/" in name:
        org, team = name.split("/", 1)
        return {"type": "Team", "id": f"{_ID}orgs/{org}/teams/{team}"}
    return {"type": "User", "id": f"{_ID}users/{name}"}
