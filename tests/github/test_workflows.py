"""The workflow files agree with profiles.conf, the trust policies and each other, and are locked
down. (tests/workflows/ runs them; this reads them.)

The trust policies require, per environment, the deploy job of deploy.yml as the main branch
has it (github_oidc.py); so every deploy must call exactly that file at that ref, and the job
that asks for credentials must name the environment it deploys.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from tooling import require
from training_pipeline.config.settings import load_settings
from training_pipeline.github import oidc as github_oidc
from training_pipeline.github.offline import act

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
STAND_INS = ROOT / ".github" / "offline"
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
SETTINGS = load_settings()


def workflow(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def callers() -> list[tuple[str, str, dict]]:
    """(workflow, job id, job) of every job that calls the deploy workflow."""
    found = []
    for path in sorted(WORKFLOWS.glob("*.yml")):
        for name, job in workflow(path.name)["jobs"].items():
            if "deploy.yml" in str(job.get("uses", "")):
                found.append((path.name, name, job))
    return found


def test_deploys_call_deploy_yml_as_the_main_branch_has_it():
    expected = github_oidc.workflow_ref(SETTINGS, github_oidc.DEPLOY_WORKFLOW)
    expected = expected.replace("@refs/heads/", "@")
    assert {(w, job["uses"]) for w, _, job in callers()} == {
        ("on_merge.yml", expected),
        ("on_tag.yml", expected),
    }


def test_each_trigger_deploys_the_environment_of_its_ref():
    merge, tag = workflow("on_merge.yml"), workflow("on_tag.yml")
    first, *tagged = SETTINGS.environments.values()
    assert merge[True] == {"push": {"branches": [SETTINGS.main_branch]}}
    assert first.deploy_ref == f"refs/heads/{SETTINGS.main_branch}"
    assert merge["jobs"]["deploy-dev"]["with"] == {"environment": first.name}
    # A tag's name is the environment it deploys (profiles.conf: deploy_ref = refs/tags/<env>).
    assert tag[True] == {"push": {"tags": [e.name for e in tagged]}}
    assert all(e.deploy_ref == f"refs/tags/{e.name}" for e in tagged)
    assert tag["jobs"]["deploy"]["with"] == {"environment": "${{ github.ref_name }}"}


def test_only_the_deploy_job_holds_a_token_and_only_after_verify():
    jobs = workflow("deploy.yml")["jobs"]
    assert set(jobs) == {"verify", "deploy"}
    assert jobs["verify"]["permissions"] == {"contents": "read"}
    assert jobs["deploy"]["needs"] == "verify"
    assert jobs["deploy"]["permissions"] == {"contents": "read", "id-token": "write"}
    # The environment is the OIDC subject's context the deploy role requires.
    assert jobs["deploy"]["environment"] == "${{ inputs.environment }}"
    # The ancestry check runs before any of the commit's own code (the install comes after),
    # against profiles.conf's main branch.
    steps = jobs["verify"]["steps"]
    names = [s.get("name") or s.get("uses") for s in steps]
    check = names.index("The commit must be on main")
    assert check < names.index("Install the CLI (hash-locked)")
    assert steps[check]["env"] == {"MAIN_BRANCH": SETTINGS.main_branch}
    assert "--first-parent" in steps[check]["run"]


def test_the_images_job_is_the_one_the_ci_role_trusts():
    job = workflow("on_merge.yml")["jobs"]["images"]
    assert "environment" not in job and job["permissions"]["id-token"] == "write"
    uses = [s.get("uses", "") for s in job["steps"]]
    assert any(u.startswith("aws-actions/configure-aws-credentials@") for u in uses)
    assert github_oidc.images_subject(SETTINGS).endswith(
        f":job_workflow_ref:{SETTINGS.github_repository}/.github/workflows/on_merge.yml"
        f"@refs/heads/{SETTINGS.main_branch}"
    )


@pytest.mark.parametrize("path", sorted((ROOT / ".github").rglob("*.yml")), ids=lambda p: p.name)
def test_actions_are_pinned_and_permissions_minimal(path):
    doc = yaml.safe_load(path.read_text())
    text = path.read_text()
    own = f"{SETTINGS.github_repository}/.github/workflows/"
    for uses in act.USES.findall(text):
        assert uses.startswith(("./", own)) or PINNED.match(uses), f"{path.name}: {uses}"
    if "jobs" in doc:
        assert doc["permissions"] == {}, f"{path.name}: top-level permissions must be empty"
        for name, job in doc["jobs"].items():
            wants_token = "configure-aws-credentials" in yaml.dump(job) or "deploy.yml" in str(
                job.get("uses", "")
            )
            expected = {"contents": "read", **({"id-token": "write"} if wants_token else {})}
            assert job["permissions"] == expected, f"{path.name}:{name}"
    assert "secrets.AWS_" not in text  # OIDC only: no long-lived keys


def test_every_remote_action_of_the_cd_workflows_has_a_stand_in():
    for path in sorted(WORKFLOWS.glob("*.yml")):
        if path.name in act.SKIPPED_WORKFLOWS:
            continue
        for uses in act.USES.findall(path.read_text()):
            owner_repo = "/".join(uses.split("@")[0].split("/")[:2])
            if uses.startswith("./") or owner_repo in (
                SETTINGS.github_repository,
                "actions/checkout",
            ):
                continue
            folder = STAND_INS / act.STAND_INS[owner_repo]
            declared = yaml.safe_load((folder / "action.yml").read_text()).get("inputs", {})
            assert (folder / "README.md").is_file()
            step = next(
                s
                for j in workflow(path.name)["jobs"].values()
                for s in j.get("steps", [])
                if s.get("uses") == uses
            )
            assert set(step.get("with", {})) <= set(declared), f"{uses}: inputs of the stand-in"


def test_zizmor_allows_only_this_repository_at_a_ref():
    config = yaml.safe_load((ROOT / ".github" / "zizmor.yml").read_text())
    policies = config["rules"]["unpinned-uses"]["config"]["policies"]
    assert policies == {f"{SETTINGS.github_repository}/*": "ref-pin"}


def test_zizmor_finds_nothing():
    zizmor = Path(sys.executable).with_name("zizmor")
    require(zizmor.exists(), "zizmor is not installed in this virtualenv")
    result = subprocess.run(
        [str(zizmor), "--offline", "--min-severity", "low", str(ROOT / ".github")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # zizmor only warns about a file it cannot parse, and then audits nothing in it.
    assert "failed to parse" not in result.stderr, result.stderr


def test_act_jobs_see_the_callers_basics_and_template_cache_but_no_credentials(monkeypatch):
    monkeypatch.setenv("TP_CACHE_DIR", "/somewhere/cache")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-for-jobs")
    monkeypatch.setenv("HOME", "/home/someone")

    environment = act._clean_environment({"PATH": "/job/bin"})

    assert environment["TP_CACHE_DIR"] == "/somewhere/cache"
    assert environment["HOME"] == "/home/someone" and environment["PATH"] == "/job/bin"
    assert "AWS_SECRET_ACCESS_KEY" not in environment


def test_what_the_workflows_install_is_hash_locked_build_backend_included():
    # The jobs that hold an environment's role install only what requirements/cli.txt locks,
    # and build the project with its locked setuptools, not one an isolated build would fetch.
    lock = (ROOT / "requirements" / "cli.txt").read_text()
    build = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    for requirement in build:
        name = re.split(r"[<>=!~ ]", requirement, maxsplit=1)[0]
        assert re.search(rf"^{re.escape(name)}==\S+ \\$", lock, re.M), name
    installs = [
        line.strip()
        for path in WORKFLOWS.glob("*.yml")
        for line in path.read_text().splitlines()
        if "pip install" in line and not line.strip().startswith("#")
    ]
    assert installs
    for install in installs:
        locked_requirements = "--require-hashes" in install and "-r requirements/cli.txt" in install
        the_project = install.endswith(" .") and "--no-deps --no-build-isolation" in install
        assert locked_requirements or the_project, install
