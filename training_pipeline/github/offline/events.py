"""Event payloads as GitHub sends them to workflows (the fields workflows and act read)."""

from __future__ import annotations

from typing import Any


def repository(config: dict[str, Any], full_name: str | None = None) -> dict[str, Any]:
    full_name = full_name or config["repository"]
    owner, name = full_name.split("/")
    return {
        "full_name": full_name,
        "name": name,
        "owner": {"login": owner, "name": owner},
        "default_branch": config["default_branch"],
        "clone_url": f"https://github.com/{full_name}.git",
        "html_url": f"https://github.com/{full_name}",
    }


def push(config: dict[str, Any], *, ref: str, before: str, after: str, sha: str) -> dict[str, Any]:
    """A push of ``ref`` from ``before`` to ``after`` (``sha`` is the commit it points at)."""
    return {
        "ref": ref,
        "before": before,
        "after": after,
        "created": set(before) == {"0"},
        "deleted": False,
        "forced": False,
        "base_ref": None,
        "repository": repository(config),
        "pusher": {"name": "offline-developer", "email": "developer@example.com"},
        "sender": {"login": "offline-developer"},
        "head_commit": {"id": sha},
    }


def pull_request(
    config: dict[str, Any],
    *,
    branch: str,
    head_sha: str,
    base: str,
    base_sha: str,
    fork: str | None = None,
) -> dict[str, Any]:
    """A pull request (number 1) opened from ``branch`` into ``base``."""
    head_repository = repository(config, fork)
    return {
        "action": "opened",
        "number": 1,
        "pull_request": {
            "number": 1,
            "head": {"ref": branch, "sha": head_sha, "repo": head_repository},
            "base": {"ref": base, "sha": base_sha, "repo": repository(config)},
        },
        "repository": repository(config),
        "sender": {"login": "offline-developer"},
    }
