"""The GitHub workflows agree with the Terraform trust policies and are locked down.

The OIDC `sub` claim of a job is `environment:NAME` when the job names an environment, else
`ref:<the pushed ref>` (GitHub's default claim template). Each deploy job's claim must be exactly
what its role's trust policy accepts (terraform/main/env/*.tfvars, terraform/operations).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from training_pipeline.promotion import REF_TO_ENVIRONMENT

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def workflow(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def trusted_subjects(tfvars: Path, variable: str) -> list[str]:
    match = re.search(rf"^{variable}\s*=\s*\[(.*?)\]", tfvars.read_text(), re.M | re.S)
    assert match, f"{tfvars} sets no {variable}"
    return re.findall(r'"([^"]+)"', match.group(1))


def job_subject(job: dict, ref: str) -> str:
    return f"environment:{job['environment']}" if "environment" in job else f"ref:{ref}"


def deploy_jobs() -> list[tuple[str, dict, str]]:
    """(environment, job, ref that triggers it) for every job using the deploy action."""
    found = []
    merge = workflow("on_merge.yml")
    found.append(("dev", merge["jobs"]["deploy-dev"], "refs/heads/main"))
    tag = workflow("on_tag.yml")
    for env in ("staging", "prod"):
        job = tag["jobs"][f"deploy-{env}"]
        ref = re.fullmatch(r"github\.ref == '(.+)'", job["if"]).group(1)
        found.append((env, job, ref))
    return found


@pytest.mark.parametrize(("env", "job", "ref"), deploy_jobs(), ids=lambda v: str(v)[:20])
def test_each_deploy_job_presents_the_subject_its_role_trusts(env, job, ref):
    assert REF_TO_ENVIRONMENT[ref] == env
    [step] = [s for s in job["steps"] if s.get("uses") == "./.github/actions/deploy"]
    assert step["with"]["environment"] == env
    trusted = trusted_subjects(
        ROOT / "terraform/main/env" / f"{env}.tfvars", "github_oidc_subjects"
    )
    assert trusted == [job_subject(job, ref)]


def test_only_prod_names_a_github_environment():
    environments = {env: job.get("environment") for env, job, _ in deploy_jobs()}
    assert environments == {"dev": None, "staging": None, "prod": "prod"}


def test_the_image_job_presents_the_subject_the_ci_role_trusts():
    job = workflow("on_merge.yml")["jobs"]["images"]
    text = (ROOT / "terraform/operations/variables.tf").read_text()
    default = re.search(r'variable "ci_github_subjects".*?default\s*=\s*\[(.*?)\]', text, re.S)
    assert re.findall(r'"([^"]+)"', default.group(1)) == [job_subject(job, "refs/heads/main")]


def test_triggers():
    assert workflow("on_merge.yml")[True] == {"push": {"branches": ["main"]}}
    assert workflow("on_tag.yml")[True] == {"push": {"tags": ["staging", "prod"]}}


@pytest.mark.parametrize("path", sorted((ROOT / ".github").rglob("*.yml")), ids=lambda p: p.name)
def test_actions_are_pinned_and_permissions_minimal(path):
    doc = yaml.safe_load(path.read_text())
    text = path.read_text()
    for uses in re.findall(r"uses:\s*(\S+)", text):
        assert uses.startswith("./") or PINNED.match(uses), f"{path.name}: {uses} is not pinned"
    if "jobs" in doc:
        assert doc["permissions"] == {}, f"{path.name}: top-level permissions must be empty"
        for name, job in doc["jobs"].items():
            wants_token = "configure-aws-credentials" in yaml.dump(job) or any(
                s.get("uses") == "./.github/actions/deploy" for s in job["steps"]
            )
            expected = {"contents": "read", **({"id-token": "write"} if wants_token else {})}
            assert job["permissions"] == expected, f"{path.name}:{name}"
    assert "secrets.AWS_" not in text  # OIDC only: no long-lived keys


def test_zizmor_finds_nothing():
    zizmor = Path(sys.executable).with_name("zizmor")
    if not zizmor.exists():
        pytest.skip("zizmor is not installed in this virtualenv")
    result = subprocess.run(
        [str(zizmor), "--offline", "--min-severity", "low", str(ROOT / ".github")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
