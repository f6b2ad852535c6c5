"""The GitHub settings script agrees with profiles.conf and the trust policies, and is a valid
shell script whose bodies are the JSON the REST API takes."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from profiles_corpus import VALID
from training_pipeline import cli
from training_pipeline.config.settings import load_settings
from training_pipeline.github import repository_settings as github_settings
from training_pipeline.github.oidc import SUBJECT_CLAIM_KEYS

SETTINGS = load_settings()


def calls() -> dict[tuple[str, str], dict]:
    return {(c.method, c.path): c.body for c in github_settings.calls(SETTINGS)}


def test_the_subject_template_is_the_one_the_trust_policies_expect() -> None:
    body = calls()["PUT", f"repos/{SETTINGS.github_repository}/actions/oidc/customization/sub"]
    assert body == {"use_default": False, "include_claim_keys": list(SUBJECT_CLAIM_KEYS)}


def test_one_environment_per_section_deployable_only_from_its_ref() -> None:
    found = calls()
    for env in SETTINGS.environments.values():
        path = f"repos/{SETTINGS.github_repository}/environments/{env.name}"
        body = found["PUT", path]
        assert body["deployment_branch_policy"] == {
            "protected_branches": False,
            "custom_branch_policies": True,
        }
        kind, name = ("tag", env.name) if env.name != "dev" else ("branch", "main")
        assert found["POST", f"{path}/deployment-branch-policies"] == {"name": name, "type": kind}
        assert len(body["reviewers"]) == len(env.reviewers)
        assert body["prevent_self_review"] is bool(env.reviewers)


def test_promotion_tags_and_main_are_protected() -> None:
    rulesets = [c.body for c in github_settings.calls(SETTINGS) if c.path.endswith("/rulesets")]
    tags, main = rulesets
    assert tags["target"] == "tag"
    assert tags["conditions"]["ref_name"]["include"] == ["refs/tags/staging", "refs/tags/prod"]
    assert {r["type"] for r in tags["rules"]} == {"creation", "update", "deletion"}
    assert main["conditions"]["ref_name"]["include"] == ["refs/heads/main"]
    review = next(r for r in main["rules"] if r["type"] == "pull_request")
    assert review["parameters"]["required_approving_review_count"] >= 1
    assert review["parameters"]["require_last_push_approval"] is True


def test_the_script_is_shell_and_each_body_is_json(capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["github", "settings"]) == 0
    script = capsys.readouterr().out
    if shutil.which("sh"):
        assert subprocess.run(["sh", "-n"], input=script, text=True).returncode == 0
    bodies = re.findall(r"<<'?JSON'?\n(.*?)\nJSON\n", script, re.S)
    # One body per call, and a second for each that updates what an earlier run made.
    found = github_settings.calls(SETTINGS)
    assert len(bodies) == len(found) + sum(call.update for call in found)
    for body in bodies:
        # A reviewer's id is a command substitution the shell fills in; the rest is JSON.
        json.loads(re.sub(r"\$\(gh api [^)]*\)", "1", body))
    assert "$(gh api orgs/my-org/teams/ml-leads --jq .id)" in script


@pytest.fixture
def fake_github(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`gh` on PATH is the stand-in of fake_gh.py, with an empty repository's settings."""
    if not shutil.which("jq"):
        pytest.skip("jq is not installed")
    state = tmp_path / "github.json"
    state.write_text(json.dumps({"rulesets": [], "branch_policies": {}, "put": {}, "log": []}))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    gh = bin_dir / "gh"
    gh.write_text(
        f'#!/bin/sh\nexec {sys.executable} {Path(__file__).with_name("fake_gh.py")} "$@"\n'
    )
    gh.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_GH_STATE", str(state))
    return state


def test_applying_again_after_adding_an_environment_updates_instead_of_duplicating(
    fake_github: Path,
) -> None:
    github_settings.apply(SETTINGS)
    github_settings.apply(SETTINGS)  # again: nothing new, nothing fails
    state = json.loads(fake_github.read_text())
    assert [r["name"] for r in state["rulesets"]] == ["promotion tags", "main is reviewed"]
    assert {env: len(p) for env, p in state["branch_policies"].items()} == {
        "dev": 1,
        "staging": 1,
        "prod": 1,
    }
    with_qa = load_settings(VALID / "with_qa.conf")
    github_settings.apply(with_qa)
    state = json.loads(fake_github.read_text())
    tags = next(r for r in state["rulesets"] if r["name"] == "promotion tags")
    assert tags["conditions"]["ref_name"]["include"] == [
        "refs/tags/staging",
        "refs/tags/qa",
        "refs/tags/prod",
    ]
    assert len(state["rulesets"]) == 2
    assert state["branch_policies"]["qa"] == [{"name": "qa", "type": "tag", "id": 1}]
    qa = state["put"][f"repos/{with_qa.github_repository}/environments/qa"]
    assert [r["type"] for r in qa["reviewers"]] == ["Team", "User"]
