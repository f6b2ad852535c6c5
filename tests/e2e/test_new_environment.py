"""Environments are data: adding `qa` between staging and prod is one section of profiles.conf
(plus `qa` in on_tag.yml's tag list). Terraform then provisions qa's own account, the pipeline
runs and registers there, and qa's deploy role trusts only qa's deployments."""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from profiles_corpus import VALID
from tooling import require_terraform
from training_pipeline import cli
from training_pipeline.aws import embedded, iam_policy
from training_pipeline.aws.sessions import account_session
from training_pipeline.config.settings import DEFAULT_PATH, Settings, load_settings
from training_pipeline.environment import deployment, registry
from training_pipeline.github import oidc as github_oidc
from training_pipeline.github.oidc import JobToken
from training_pipeline.infra import terraform as infra

pytestmark = [pytest.mark.e2e, pytest.mark.terraform]
REPO_ROOT = Path(__file__).resolve().parents[2]
QA_PROFILES = VALID / "with_qa.conf"


@dataclass
class QaEstate:
    settings: Settings
    outputs: dict
    record: dict


def test_the_qa_file_is_the_shipped_one_plus_one_section() -> None:
    shipped = DEFAULT_PATH.read_text().splitlines()
    with_qa = QA_PROFILES.read_text().splitlines()
    changes = [
        line
        for line in difflib.unified_diff(shipped, with_qa, lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert all(line.startswith("+") for line in changes), changes
    assert changes[0] == "+[qa]" and all(" = " in line for line in changes[1:-1])


def test_the_workflow_trigger_line_is_the_only_workflow_edit() -> None:
    """on_tag.yml lists the tags it deploys; qa's tag joins them, and the environment it
    deploys is the tag's name, checked against profiles.conf by the deploy workflow."""
    text = (REPO_ROOT / ".github" / "workflows" / "on_tag.yml").read_text()
    assert text.count("tags: [staging, prod]") == 1
    edited = yaml.safe_load(text.replace("tags: [staging, prod]", "tags: [staging, qa, prod]"))
    settings = load_settings(QA_PROFILES)
    tagged = [e.name for e in list(settings.environments.values())[1:]]
    assert sorted(edited[True]["push"]["tags"]) == sorted(tagged)
    assert edited["jobs"]["deploy"]["with"] == {"environment": "${{ github.ref_name }}"}


@pytest.fixture(scope="module")
def qa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QaEstate]:
    """backend, operations and qa applied to an embedded AWS of their own, then qa's pipeline
    run there on qa's own data."""
    require_terraform()
    settings = load_settings(QA_PROFILES)
    saved = dict(os.environ)
    server = embedded.start_server()
    try:
        os.environ.update(server.environ(settings.region))
        os.environ["PROFILES_CONF"] = str(QA_PROFILES)
        os.environ["TP_WORK_DIR"] = str(tmp_path_factory.mktemp("qa-work"))
        results = infra.apply_all(
            ["backend", "operations", "qa"],
            settings=settings,
            embedded=True,
            endpoint_url=server.endpoint_url,
            log=lambda line: None,
        )
        target = deployment.connect("qa", embedded_aws=False)
        deployment.seed_reference_data(target, log=print)
        record = deployment.run(target, on="local")
        yield QaEstate(settings, results["qa"].outputs, record)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        embedded.stop_server(server)


def test_terraform_gives_qa_its_own_account(qa: QaEstate) -> None:
    qa_id = qa.settings.accounts["qa"]
    assert qa_id == "555555555555"
    assert qa.outputs["environment"] == "qa"
    assert qa.outputs["account_id"] == qa_id
    deploy_role = qa.outputs["github_deploy_role_arn"]
    assert deploy_role == f"arn:aws:iam::{qa_id}:role/{qa.settings.project}-qa-github-deploy"
    assert qa.outputs["github_deploy_role_subjects"] == [
        github_oidc.deploy_subject(qa.settings, "qa")
    ]
    # Nothing of qa's is in another account: dev's was never applied on this AWS.
    dev_iam = account_session(qa.settings, "dev").client("iam")
    assert not [r for r in dev_iam.list_roles()["Roles"] if "-qa-" in r["RoleName"]]


def test_the_pipeline_registers_in_qas_own_registry(qa: QaEstate) -> None:
    assert qa.record["status"] == "Succeeded", qa.record["failure_reason"]
    group = f"{qa.settings.project}-qa"
    [model] = registry.list_versions(account_session(qa.settings, "qa"), group)
    # [qa] approval = manual: a model that passed the gate waits for a person.
    assert model.status == "PendingManualApproval"
    assert model.metadata["pipeline_execution_arn"] == qa.record["execution_arn"]
    assert model.metadata["pipeline_execution_arn"].split(":")[4] == qa.settings.accounts["qa"]
    sagemaker = account_session(qa.settings, "staging").client("sagemaker")
    assert sagemaker.list_model_package_groups()["ModelPackageGroupSummaryList"] == []


def test_qas_deploy_role_trusts_only_qas_deployments(qa: QaEstate, capsys) -> None:
    settings = qa.settings
    iam = account_session(settings, "qa").client("iam")
    role = iam.get_role(RoleName=f"{settings.project}-qa-github-deploy")["Role"]
    policy = role["AssumeRolePolicyDocument"]
    policy = json.loads(policy) if isinstance(policy, str) else policy
    assert github_oidc.deploy_subject(settings, "qa") in json.dumps(policy)
    deploy_yml = github_oidc.workflow_ref(settings, github_oidc.DEPLOY_WORKFLOW)

    def admits(ref: str, environment: str) -> bool:
        token = JobToken(
            repository=settings.github_repository,
            ref=ref,
            sha="0" * 40,
            event_name="push",
            job_workflow_ref=deploy_yml,
            workflow_ref=deploy_yml,
            environment=environment,
        )
        request = github_oidc.web_identity_request(token.claims(), settings.accounts["qa"])
        return iam_policy.allows([policy], request)

    assert admits("refs/tags/qa", "qa")
    assert not admits("refs/tags/staging", "staging")
    assert not admits("refs/tags/prod", "prod")
    # The deploy workflow's own check, run with this profiles.conf.
    assert cli.main(["promotion", "check", "--env", "qa", "--ref", "refs/tags/qa"]) == 0
    assert cli.main(["promotion", "check", "--env", "qa", "--ref", "refs/tags/staging"]) == 1
    assert "deploys qa" in capsys.readouterr().out
