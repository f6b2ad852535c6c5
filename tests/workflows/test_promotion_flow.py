"""Promotion by git tags, played for real: on_merge.yml and on_tag.yml (and the deploy.yml they
call from main) run through act against the embedded AWS, from pushes to a throwaway origin.

What GitHub would let through gets through, and what it would refuse is refused where it would
be: by the deploy workflow's own checks before any credentials exist, by GitHub's token issuer,
or by the trust policies (the credentials stand-in evaluates the policy read back from IAM).
"""

from __future__ import annotations

import re
import subprocess
import textwrap

import pytest

from training_pipeline import cli
from training_pipeline.environment import deployment
from training_pipeline.pipeline import images

from .conftest import Offline, Promoted

pytestmark = [pytest.mark.e2e, pytest.mark.workflows]
REFUSED = "Not authorized to perform sts:AssumeRoleWithWebIdentity"
CONFIGURE_AWS_CREDENTIALS = (
    "aws-actions/configure-aws-credentials@e3dd6a429d7300a6a4c196c26e071d42e0343502"
)


def jobs(runs: list[dict]) -> dict[str, dict]:
    """Every job of every workflow of ``runs``, by act's job name (caller/workflow/job)."""
    return {name: job for run in runs for w in run["workflows"] for name, job in w["jobs"].items()}


def results(runs: list[dict]) -> dict[str, str]:
    return {name: job["result"] for name, job in jobs(runs).items() if job["result"]}


def lineage(versions) -> list[tuple[int, str, str]]:
    return [(v.version, v.status, v.git_sha) for v in versions]


def test_a_merge_builds_the_images_and_retrains_dev_from_that_commit(
    offline: Offline, promoted: Promoted
) -> None:
    sha, after = promoted.sha, promoted.after["merge"]
    assert results(promoted.runs["merge"]) == {
        "on-merge/images": "success",
        "deploy-dev/deploy/verify": "success",
        "deploy-dev/deploy/deploy": "success",
    }
    assert lineage(after["dev"]) == [(1, "Approved", sha)]
    assert after["staging"] == [] and after["prod"] == []
    # The images of the commit are in the operations account's ECR, checked by digest.
    ecr = deployment.connect("dev", embedded_aws=False).session.client("ecr")
    found = images.resolve(ecr, offline.settings, sha)
    assert all(image.uri.endswith(image.digest) for image in found.values())
    # The CI role went to the images job, dev's role to deploy.yml's deploy job, nothing else.
    tokens = [t for t in offline.hub.tokens() if t["claims"]["sha"] == sha][:2]
    assert [(t["job"], t["role"].rsplit("/", 1)[1], t["granted"]) for t in tokens] == [
        ("images", "mlops-demo-github-ci", True),
        ("deploy", "mlops-demo-dev-github-deploy", True),
    ]
    assert tokens[1]["claims"]["sub"] == (
        "repo:my-org/sagemaker-code-promotion:environment:dev:job_workflow_ref:"
        "my-org/sagemaker-code-promotion/.github/workflows/deploy.yml@refs/heads/main"
    )


def test_the_job_summary_tells_what_ran_and_what_was_registered(promoted: Promoted) -> None:
    summary = jobs(promoted.runs["merge"])["deploy-dev/deploy/deploy"]["summary"]
    assert "## ✅ dev, model cancer: pipeline succeeded" in summary
    assert f"`{promoted.sha[:12]}` from `refs/heads/main`" in summary
    assert "| model | registered `mlops-demo-dev` version 1 (Approved) |" in summary
    for step in ("PrepareData", "TrainModel", "EvaluateModel", "CheckNewModel", "RegisterModel"):
        assert f"| {step} |" in summary
    assert re.search(r"\| roc_auc \| (0\.9\d*|1\.0+) \|", summary)
    assert "Pipelines › `mlops-demo-dev-training`" in summary
    # The same job ran every model of profiles.conf: the regression's section follows.
    assert "## ✅ dev, model diabetes: pipeline succeeded" in summary
    assert "| model | registered `mlops-demo-dev-diabetes` version 1 (Approved) |" in summary
    assert re.search(r"\| rmse \| \d+\.\d{4} \|", summary)


def test_tag_staging_retrains_staging_only(offline: Offline, promoted: Promoted) -> None:
    before, after = promoted.after["merge"], promoted.after["staging"]
    assert results(promoted.runs["staging"]) == {
        "deploy/deploy/verify": "success",
        "deploy/deploy/deploy": "success",
    }
    assert lineage(after["staging"]) == [(1, "Approved", promoted.sha)]
    assert after["dev"] == before["dev"] and after["prod"] == []
    # Staging trained on staging's own data, into staging's own bucket, with images by digest.
    target = deployment.connect("staging", embedded_aws=False)
    [version] = after["staging"]
    assert version.metadata["input_data_url"] == f"s3://{target.names.data_bucket}/training/"
    pipeline = target.session.client("sagemaker").describe_pipeline(
        PipelineName=target.names.pipeline_name
    )
    definition = pipeline["PipelineDefinition"]
    assert "mlops-demo-training@sha256:" in definition and ":latest" not in definition


def test_tag_prod_retrains_prod_for_a_persons_approval(
    offline: Offline, promoted: Promoted
) -> None:
    before, after = promoted.after["staging"], promoted.after["prod"]
    assert results(promoted.runs["prod"]) == {
        "deploy/deploy/verify": "success",
        "deploy/deploy/deploy": "success",
    }
    assert lineage(after["prod"]) == [(1, "PendingManualApproval", promoted.sha)]
    # Both models, each in its own group of prod's registry, by the same tag.
    regression = offline.versions("prod", "diabetes")
    assert lineage(regression) == [(1, "PendingManualApproval", promoted.sha)]
    assert regression[0].arn.split("/")[-2] == "mlops-demo-prod-diabetes"
    assert after["dev"] == before["dev"] and after["staging"] == before["staging"]
    prod_model = after["prod"][0].metadata
    assert prod_model["input_data_url"].startswith("s3://mlops-demo-prod-data-444444444444/")
    assert prod_model["model_digest"].startswith("sha256:")


def test_the_same_tag_again_reruns_cleanly_and_registers_nothing(
    offline: Offline, promoted: Promoted
) -> None:
    before = offline.versions("prod")
    runs = offline.promote("prod", promoted.sha)
    assert results(runs) == {"deploy/deploy/verify": "success", "deploy/deploy/deploy": "success"}
    assert offline.versions("prod") == before
    summary = jobs(runs)["deploy/deploy/deploy"]["summary"]
    assert "nothing new registered: the model is identical to `mlops-demo-prod` version 1" in (
        summary
    )


def test_branches_pull_requests_and_other_tags_deploy_nothing(
    offline: Offline, promoted: Promoted
) -> None:
    registries = {env: offline.versions(env) for env in ("dev", "staging", "prod")}
    tokens = len(offline.hub.tokens())
    offline.git("checkout", "-q", "-B", "feature", promoted.sha)
    offline.git("commit", "-q", "--allow-empty", "-m", "work in progress")
    offline.git("tag", "-f", "v1.0", promoted.sha)
    runs = offline.push("feature", "refs/tags/v1.0")
    runs.append(offline.hub.open_pull_request("feature"))
    assert [(r["event"], r["ref"], r["workflows"]) for r in runs] == [
        ("push", "refs/heads/feature", []),
        ("push", "refs/tags/v1.0", []),
        ("pull_request", "refs/pull/1/merge", []),
    ]
    assert len(offline.hub.tokens()) == tokens
    assert {env: offline.versions(env) for env in registries} == registries


def test_a_commit_not_on_main_tagged_staging_is_refused_before_credentials_exist(
    offline: Offline, promoted: Promoted
) -> None:
    tokens = len(offline.hub.tokens())
    offline.git("checkout", "-q", "-B", "unreviewed", promoted.sha)
    offline.git("commit", "-q", "--allow-empty", "-m", "never reviewed")
    side = offline.git("rev-parse", "HEAD")
    offline.git("tag", "-f", "staging", side)
    try:
        runs = offline.push("refs/tags/staging")
    finally:
        offline.set_tag("staging", promoted.sha)
    assert results(runs) == {"deploy/deploy/verify": "failure"}
    verify = jobs(runs)["deploy/deploy/verify"]["steps"]
    assert ("The commit must be on main", "failure") in [
        (name, result) for name, result, _ in verify
    ]
    assert len(offline.hub.tokens()) == tokens  # no token was even asked for


def test_a_tagged_commit_that_changes_the_workflow_gets_no_role(
    offline: Offline, promoted: Promoted
) -> None:
    """The tagged commit calls its own deploy.yml, without the checks: the token names that
    deploy.yml at refs/tags/prod, which prod's trust policy refuses."""
    offline.git("checkout", "-q", "-B", "bypass", promoted.sha)
    workflows = offline.clone / ".github" / "workflows"
    on_tag = (workflows / "on_tag.yml").read_text()
    (workflows / "on_tag.yml").write_text(
        on_tag.replace(
            "uses: my-org/sagemaker-code-promotion/.github/workflows/deploy.yml@main",
            "uses: ./.github/workflows/deploy.yml",
        )
    )
    deploy = (workflows / "deploy.yml").read_text()
    (workflows / "deploy.yml").write_text(deploy.replace("    needs: verify\n", ""))
    offline.git("commit", "-q", "-am", "deploy without the checks")
    offline.git("tag", "-f", "prod", "HEAD")
    try:
        runs = offline.push("refs/tags/prod")
    finally:
        offline.set_tag("prod", promoted.sha)
    assert results(runs)["deploy/deploy/deploy"] == "failure"
    [token] = [t for t in offline.hub.tokens() if t["ref"] == "refs/tags/prod"][-1:]
    assert token["granted"] is False and REFUSED in token["reason"]
    assert token["claims"]["job_workflow_ref"].endswith("/deploy.yml@refs/tags/prod")
    assert offline.versions("prod") == promoted.after["prod"]["prod"]


def test_pull_requests_get_no_role_and_forks_no_token(offline: Offline, promoted: Promoted) -> None:
    offline.git("checkout", "-q", "-B", "steal", promoted.sha)
    role = f"arn:aws:iam::{offline.settings.accounts['prod']}:role/mlops-demo-prod-github-deploy"
    (offline.clone / ".github" / "workflows" / "steal.yml").write_text(
        textwrap.dedent(
            f"""\
            name: steal
            on: pull_request
            permissions: {{}}
            jobs:
              steal:
                runs-on: ubuntu-24.04
                environment: prod
                permissions:
                  id-token: write
                steps:
                  - uses: {CONFIGURE_AWS_CREDENTIALS}
                    with:
                      role-to-assume: {role}
                      aws-region: eu-west-1
            """
        )
    )
    offline.git("add", ".github/workflows/steal.yml")
    offline.git("commit", "-q", "-m", "take prod's role")
    offline.push("steal")
    same_repository = offline.hub.open_pull_request("steal")
    fork = offline.hub.open_pull_request("steal", fork="someone-else/sagemaker-code-promotion")
    assert results([same_repository]) == {"steal/steal": "failure"}
    assert results([fork]) == {"steal/steal": "failure"}
    refused_by_trust, no_token = offline.hub.tokens()[-2:]
    assert refused_by_trust["claims"]["sub"].startswith(
        "repo:my-org/sagemaker-code-promotion:environment:prod:job_workflow_ref:"
        "my-org/sagemaker-code-promotion/.github/workflows/steal.yml@refs/pull/1/merge"
    )
    assert REFUSED in refused_by_trust["reason"]
    assert "claims" not in no_token and "fork" in no_token["reason"]


def test_promote_prod_refuses_a_commit_staging_never_validated(
    offline: Offline, promoted: Promoted, capsys: pytest.CaptureFixture
) -> None:
    offline.git("checkout", "-q", "-B", "main", promoted.sha)
    offline.git("commit", "-q", "--allow-empty", "-m", "merged later")
    newer = offline.git("rev-parse", "HEAD")
    runs = offline.push("main")
    assert results(runs)["deploy-dev/deploy/deploy"] == "success"
    argv = ["promote", "prod", newer, "--repo", str(offline.clone)]
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert f"Error: staging runs at {promoted.sha[:12]}, not {newer[:12]}" in err
    assert "--force --reason" in err
    assert cli.main(["promote", "staging", newer, "--repo", str(offline.clone), "--dry-run"]) == 0
    assert f"would move staging: {promoted.sha[:12]}" in capsys.readouterr().out
    origin_tag = subprocess.run(
        ["git", "--git-dir", str(offline.hub.origin), "rev-parse", "refs/tags/prod"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert origin_tag == promoted.sha  # nothing moved
