"""The main job end to end: Terraform-provisioned accounts on the embedded AWS, the pipeline
built by the SDK, executed by the local runner, models registered in each environment's own
registry. Each test stands alone (any order, or alone): what it needs is set up by the module's
fixtures (the accounts' data, each environment's first model), and what it changes it compares
before and after, or undoes."""

from __future__ import annotations

import io
import json
import re
import sys
import urllib.request
from contextlib import redirect_stdout

import pytest

from inference.on_approval import deploy as deploy_module
from inference.serving import handler
from serving_process import free_port, serving
from training_pipeline import cli
from training_pipeline.aws.sessions import account_session
from training_pipeline.config.settings import load_settings
from training_pipeline.config.source import current_revision
from training_pipeline.environment import deployment, executions, registry
from training_pipeline.environment.data import (
    load_dataset,
    load_reference_dataset,
    model_schema,
)
from training_pipeline.errors import UserError

pytestmark = pytest.mark.e2e
SETTINGS = load_settings()
WEAK = {"MaxIter": "2", "MaxDepth": "1", "LearningRate": "0.01", "GateThreshold": "0.5"}
# The pipeline's template defaults, which overfit the 442-row diabetes table (its pipeline.json
# sets gentler ones): in dev a higher RMSE than the champion's, though within the floor.
WEAK_REGRESSION = {"MaxIter": "200", "MaxDepth": "3", "LearningRate": "0.1"}


@pytest.fixture(scope="module")
def aws(provisioned, tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        for key, value in provisioned.environ(SETTINGS.region).items():
            patch.setenv(key, value)
        patch.setenv("TP_WORK_DIR", str(tmp_path_factory.mktemp("work")))
        for env in SETTINGS.environment_names:  # each account its own sample; idempotent
            for target in deployment.connect(env, embedded_aws=False).every_model():
                deployment.seed_reference_data(target, log=print)
        yield provisioned


@pytest.fixture(scope="module")
def first_models(aws) -> dict:
    """Each environment's first run of each model on its own data: dev and prod through the
    library, staging through the CLI as a user starts it (every model; its report kept); the
    registries right after."""
    output = io.StringIO()
    with redirect_stdout(output):
        staging_exit = cli.main(["run", "--env", "staging", "--on", "local"])
    runs = {
        (env, model): run(env, model=model)
        for env in ("dev", "prod")
        for model in SETTINGS.model_names
    }
    return {
        "runs": runs,
        "staging_exit": staging_exit,
        "staging_output": output.getvalue(),
        "versions": {env: versions(env) for env in SETTINGS.environment_names},
        "regressions": {env: versions(env, "diabetes") for env in SETTINGS.environment_names},
    }


def run(env: str, model: str | None = None, **kwargs) -> dict:
    target = deployment.connect(env, embedded_aws=False, model=model)
    return deployment.run(target, on="local", **kwargs)


def versions(env: str, model: str | None = None) -> list[registry.ModelVersion]:
    target = deployment.connect(env, embedded_aws=False, model=model)
    return registry.list_versions(target.session, target.names.model_package_group)


def test_dev_run_trains_evaluates_and_registers(first_models):
    record = first_models["runs"]["dev", "cancer"]
    assert record["status"] == "Succeeded", record["failure_reason"]
    assert [s["name"] for s in record["steps"]] == [
        "PrepareData",
        "TrainModel",
        "EvaluateModel",
        "BaselineData",
        "CheckQuality",
        "CheckNewModel",
        "RegisterModel",
    ]
    [model] = first_models["versions"]["dev"]
    assert model.version == 1 and model.status == "Approved"
    assert record["model"] == {"version": 1, "status": "Approved", "registered": True}
    assert model.metadata["model_digest"].startswith("sha256:")
    assert model.metrics["auc"] > 0.95
    assert model.git_sha == current_revision().sha
    assert model.metadata["data_fingerprint"].startswith("sha256:")
    assert model.metadata["pipeline_execution_arn"] == record["execution_arn"]
    # The evaluation's plots are artifacts next to its report, in dev's own bucket.
    s3 = account_session(SETTINGS, "dev").client("s3")
    bucket, _, prefix = model.metadata["evaluation_url"].removeprefix("s3://").partition("/")
    keys = {
        o["Key"].rsplit("/", 1)[-1]
        for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]
    }
    assert {
        "evaluation.json",
        "model_quality.json",
        "confusion_matrix.png",
        "roc_curve.png",
    } <= keys
    # The drift baseline: attached to the version as SageMaker's registry keeps it, its
    # statistics and constraints where the package says, with the reference sample beside them.
    package = (
        account_session(SETTINGS, "dev")
        .client("sagemaker")
        .describe_model_package(ModelPackageName=model.arn)
    )
    baseline = model.metadata["baseline_url"]
    for name in ("Statistics", "Constraints"):
        uri = package["DriftCheckBaselines"]["ModelDataQuality"][name]["S3Uri"]
        assert uri == f"{baseline}/{name.lower()}.json"
        assert package["ModelMetrics"]["ModelDataQuality"][name]["S3Uri"] == uri
    bucket, _, key = baseline.removeprefix("s3://").partition("/")
    statistics = json.loads(
        s3.get_object(Bucket=bucket, Key=f"{key}/statistics.json")["Body"].read()
    )
    columns = [f["name"] for f in statistics["features"]]
    assert columns == [*model_schema("cancer").features, "malignant_probability"]
    reference = s3.get_object(Bucket=bucket, Key=f"{key}/reference.csv")["Body"].read()
    assert reference.decode().splitlines()[0] == ",".join(columns)


def test_staging_and_prod_retrain_in_their_own_accounts(first_models):
    # staging through the CLI, as a user would: step table, metrics, registry.
    assert first_models["staging_exit"] == 0
    out = first_models["staging_output"]
    assert "RegisterModel  RegisterModel  Succeeded" in out
    assert re.search(r"metric \(test split, \d+ rows\)", out) and "roc_auc" in out
    assert "champion" in out and "none approved yet" in out
    assert "Model registry mlops-demo-staging (333333333333)" in out
    # The two models' executions ran side by side, each progress line naming its model.
    lines = out.splitlines()
    diabetes_started = next(i for i, x in enumerate(lines) if x.startswith("[diabetes] Execution"))
    cancer_ended = next(i for i, x in enumerate(lines) if x.startswith("[cancer] Execution Succ"))
    assert diabetes_started < cancer_ended
    record = first_models["runs"]["prod", "cancer"]
    assert record["status"] == "Succeeded", record["failure_reason"]
    first = first_models["versions"]
    assert [v.status for v in first["staging"]] == ["Approved"]
    # prod's approval is manual: the gate passed, a human still has to approve.
    assert [v.status for v in first["prod"]] == ["PendingManualApproval"]
    assert len(first["dev"]) == 1
    for env in SETTINGS.environment_names:
        session = account_session(SETTINGS, env)
        groups = session.client("sagemaker").list_model_package_groups()[
            "ModelPackageGroupSummaryList"
        ]
        assert sorted(g["ModelPackageGroupName"] for g in groups) == [
            f"{SETTINGS.project}-{env}",
            f"{SETTINGS.project}-{env}-diabetes",
        ]
        package = session.client("sagemaker").describe_model_package(
            ModelPackageName=first[env][0].arn
        )
        model_url = package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
        account = SETTINGS.accounts[env]
        assert model_url.startswith(f"s3://{SETTINGS.project}-{env}-artifacts-{account}/")
        # Each environment trained on the data in its own bucket.
        assert package["CustomerMetadataProperties"]["input_data_url"] == (
            f"s3://{SETTINGS.project}-{env}-data-{account}/training/"
        )
    # ... which is its own: three environments, three datasets.
    fingerprints = {first[env][0].metadata["data_fingerprint"] for env in first}
    assert len(fingerprints) == 3


def test_the_regression_trains_gates_and_registers_in_each_environments_own_group(first_models):
    """The second reference model: its own pipeline, data prefix, group and error metric, in
    every environment, promoted by the same runs."""
    assert (
        "== model diabetes: mlops-demo-staging-diabetes-training =="
        in (first_models["staging_output"])
    )
    assert (
        "Model registry mlops-demo-staging-diabetes (333333333333)"
        in (first_models["staging_output"])
    )
    for env in SETTINGS.environment_names:
        [model] = first_models["regressions"][env]
        expected = "PendingManualApproval" if env == "prod" else "Approved"
        assert model.status == expected, env
        assert model.arn.split("/")[-2] == f"{SETTINGS.project}-{env}-diabetes"
        assert 30 < model.metrics["rmse"] <= 68 and "auc" not in model.metrics
        account = SETTINGS.accounts[env]
        assert model.metadata["input_data_url"] == (
            f"s3://{SETTINGS.project}-{env}-data-{account}/training-diabetes/"
        )
        assert model.git_sha == current_revision().sha
    for env in ("dev", "prod"):
        record = first_models["runs"][env, "diabetes"]
        assert record["status"] == "Succeeded", record["failure_reason"]
        assert record["model_name"] == "diabetes"
    # Each environment's regression is its own too: three datasets, three models.
    models = first_models["regressions"]
    assert len({models[env][0].metadata["data_fingerprint"] for env in models}) == 3
    assert len({models[env][0].metadata["model_digest"] for env in models}) == 3


def test_a_worse_regression_higher_error_fails_its_gate(first_models):
    before = versions("dev", "diabetes")
    record = run("dev", model="diabetes", parameters=WEAK_REGRESSION)
    assert record["status"] == "Failed"
    reason = record["failure_reason"]
    assert reason.startswith("quality gate failed, nothing was registered: challenger rmse ")
    # Within the floor: what stopped it is its higher error than the approved champion's (an
    # improvement below zero).
    challenger = float(re.search(r"challenger rmse ([0-9.]+) must be <= the floor", reason)[1])
    assert challenger <= SETTINGS.model("diabetes").floor_in("dev")
    champion = float(re.search(r"approved champion's ([0-9.]+) by at least", reason)[1])
    improvement = float(re.search(r"\(it improves by (-[0-9.]+)\)$", reason)[1])
    assert improvement == pytest.approx(champion - challenger, abs=1e-5) and improvement < 0
    assert "RegisterModel" not in [s["name"] for s in record["steps"]]
    assert versions("dev", "diabetes") == before


def test_a_worse_challenger_fails_the_gate_and_registers_nothing(first_models):
    before = versions("dev")
    record = run("dev", parameters=WEAK)
    assert record["status"] == "Failed"
    assert record["failure_reason"].startswith("quality gate failed, nothing was registered")
    assert re.search(r"approved champion's (0\.9\d*|1\.0) by at least", record["failure_reason"])
    assert "RegisterModel" not in [s["name"] for s in record["steps"]]
    assert versions("dev") == before


def test_a_bad_csv_fails_at_validation_and_registers_nothing(aws, tmp_path, capsys):
    frame = load_reference_dataset()
    frame.loc[:100, "mean_radius"] = None
    frame.loc[200, "malignant"] = 2
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    before = versions("dev")
    # Through the CLI: a failed execution is a non-zero exit with the reason printed.
    argv = ["run", "--env", "dev", "--model", "cancer", "--on", "local", "--data", str(path)]
    assert cli.main(argv) == 1
    out = capsys.readouterr().out
    target = deployment.connect("dev", embedded_aws=False)
    record = executions.list_records(
        target.session, target.names.artifacts_bucket, target.names.pipeline_name
    )[0]
    assert record["status"] == "Failed"
    assert [s["name"] for s in record["steps"]] == ["PrepareData"]
    reason = record["failure_reason"]
    # Every problem is named, with where it is, in one message.
    assert "DataValidationError" in reason and "'mean_radius'" in reason
    assert "malignant" in reason and "bad.csv" in reason
    assert f"reason: {reason}" in out
    assert versions("dev") == before


def test_a_rerun_on_unchanged_data_reuses_the_trained_model(first_models):
    before = versions("dev")
    record = run("dev")
    assert record["status"] == "Succeeded"
    cached = {s["name"]: s["cache_hit"] for s in record["steps"]}
    # PrepareData always reads the prefix again (its contents may have changed); it publishes
    # the same content-addressed split, so TrainModel is a cache hit.
    assert not cached["PrepareData"] and cached["TrainModel"]
    assert not cached["EvaluateModel"]
    # Not cached either: a hit would point the version at this execution's empty folder.
    assert not cached["BaselineData"]
    # Same data, same code: the same model, byte for byte. It passes the gate ("not worse")
    # and is registered no second time.
    assert versions("dev") == before
    assert "RegisterModel" not in [s["name"] for s in record["steps"]]
    assert record["model"] == {"version": 1, "status": "Approved", "registered": False}


def test_new_data_under_the_same_prefix_is_trained_on(first_models):
    target = deployment.connect("dev", embedded_aws=False)
    before = {v.version for v in versions("dev")}
    s3 = target.session.client("s3")
    extra = load_reference_dataset().sample(frac=0.5, random_state=7).to_csv(index=False)
    key = f"{target.names.training_prefix}more.csv"
    s3.put_object(Bucket=target.names.data_bucket, Key=key, Body=extra.encode())
    try:
        record = run("dev")
    finally:
        s3.delete_object(Bucket=target.names.data_bucket, Key=key)
        # A model it registered would be dev's champion from now on: reject it, so that dev's
        # champion is again the one trained on dev's own data.
        for version in versions("dev"):
            if version.version not in before:
                registry.set_status(
                    target.session,
                    target.names.model_package_group,
                    version.version,
                    "Rejected",
                    "trained on a test's extra data",
                )
    trained = next(s for s in record["steps"] if s["name"] == "TrainModel")
    assert not trained["cache_hit"]  # a new split, a new content address, a new model


def test_cli_models_status_approve(first_models, tmp_path, capsys):
    assert cli.main(["models", "--env", "prod"]) == 0
    table = capsys.readouterr().out
    assert "PendingManualApproval" in table or "Approved" in table
    assert current_revision().sha[:12] in table

    assert cli.main(["approve", "--env", "prod", "--model", "cancer", "1", "--reason", "ok"]) == 0
    # prod's approval is manual: the CLI approves as prod's approver role, the only identity
    # allowed to (tests/terraform/test_least_privilege.py evaluates that).
    prod_account = SETTINGS.environment("prod").account_id
    approver = f"arn:aws:iam::{prod_account}:role/mlops-demo-prod-model-approver"
    assert f"version 1: Approved (as {approver})" in capsys.readouterr().out
    [model] = versions("prod")
    assert model.status == "Approved"
    assert model.git_sha == current_revision().sha  # lineage survives the approval

    # A failed run of its own (a label no model can have), then the status table lists every
    # execution with its outcome and reason.
    frame = load_reference_dataset()
    frame.loc[3, "malignant"] = 7
    frame.to_csv(tmp_path / "bad.csv", index=False)
    assert run("dev", data=tmp_path / "bad.csv")["status"] == "Failed"
    capsys.readouterr()  # the run's own progress lines
    assert cli.main(["status", "--env", "dev", "--model", "cancer", "--limit", "1000"]) == 0
    status = capsys.readouterr().out
    target = deployment.connect("dev", embedded_aws=False)
    records = executions.list_records(
        target.session, target.names.artifacts_bucket, target.names.pipeline_name
    )
    assert status.count("Succeeded") == sum(r["status"] == "Succeeded" for r in records) >= 1
    assert status.count("Failed") == sum(r["status"] == "Failed" for r in records) >= 1
    assert "DataValidationError" in status

    assert cli.main(["reject", "--env", "dev", "--model", "cancer", "7"]) == 1
    assert "has no version 7" in capsys.readouterr().err


def test_cli_deploys_the_approved_prod_model_to_prods_endpoint_only(first_models, capsys):
    # What the deploy-on-approval function does when prod's version 1 is approved (moto cannot
    # run the Lambda), by hand.
    target = deployment.connect("prod", embedded_aws=False)
    registry.set_status(target.session, target.names.model_package_group, 1, "Approved", "test")
    assert cli.main(["deploy", "--env", "prod", "--model", "cancer"]) == 0
    assert "endpoint mlops-demo-prod: created, serving version 1" in capsys.readouterr().out
    assert cli.main(["deploy", "--env", "prod", "--model", "cancer", "--version", "1"]) == 0
    assert "unchanged" in capsys.readouterr().out
    prod = account_session(SETTINGS, "prod").client("sagemaker")
    endpoint = prod.describe_endpoint(EndpointName="mlops-demo-prod")
    name = endpoint["EndpointConfigName"]
    assert re.fullmatch(r"mlops-demo-prod-v1-[0-9a-f]{8}", name)
    model = prod.describe_model(ModelName=name)
    assert model["PrimaryContainer"]["ModelPackageName"] == versions("prod")[0].arn
    # profiles.conf's [prod] capture = 20: requests and answers, into prod's own bucket, KMS;
    # endpoint_instances = 2.
    config = prod.describe_endpoint_config(EndpointConfigName=name)
    assert config["ProductionVariants"][0]["InitialInstanceCount"] == 2
    capture = config["DataCaptureConfig"]
    assert capture["InitialSamplingPercentage"] == 20
    assert capture["DestinationS3Uri"] == (
        f"s3://mlops-demo-prod-artifacts-{SETTINGS.environment('prod').account_id}"
        "/datacapture/mlops-demo-prod/"
    )
    assert [o["CaptureMode"] for o in capture["CaptureOptions"]] == ["Input", "Output"]
    assert ":key/" in capture["KmsKeyId"]
    # The endpoint's own role, not the jobs' execution role.
    prod_account = SETTINGS.environment("prod").account_id
    assert model["ExecutionRoleArn"] == f"arn:aws:iam::{prod_account}:role/mlops-demo-prod-endpoint"
    for env in ("dev", "staging"):
        others = account_session(SETTINGS, env).client("sagemaker").list_endpoints()
        assert others["Endpoints"] == [], env

    assert cli.main(["deploy", "--env", "dev", "--model", "cancer"]) == 1
    assert "gives [dev] no endpoint (endpoint = off)" in capsys.readouterr().err

    # How `deploy --wait` ends an update (moto has no UpdateEndpoint: the endpoint is put where
    # an update leaves it, the deploying-config tag naming the config it was for).
    target = deployment.connect("prod", embedded_aws=False, model="cancer")
    arn = endpoint["EndpointArn"]

    def update_to(config: str) -> deploy_module.Deployment:
        prod.add_tags(ResourceArn=arn, Tags=[{"Key": "deploying-config", "Value": config}])
        return deploy_module.Deployment("mlops-demo-prod", config, arn, 1, "updating")

    rolled_back = update_to(f"{name}-x")  # the endpoint still serves `name`
    with pytest.raises(UserError, match=f"to {name}-x failed: it is InService and serves {name}"):
        deployment.await_update(target, rolled_back, log=print, poll_seconds=0)
    took = update_to(name)
    assert deployment.await_update(target, took, log=print, poll_seconds=0) == "updated"
    assert prod.list_tags(ResourceArn=arn)["Tags"] == []
    # The function may have forgotten the update already: the CLI still knows what it started.
    assert deployment.await_update(target, took, log=print, poll_seconds=0) == "updated"


def test_ci_refuses_an_environment_its_ref_does_not_promote_to(aws, monkeypatch, capsys):
    before = versions("prod")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_REF", "refs/tags/staging")
    assert cli.main(["run", "--env", "prod"]) == 1
    assert "refs/tags/staging does not deploy prod" in capsys.readouterr().err
    assert versions("prod") == before


def test_a_sagemaker_run_needs_this_commits_images(aws, capsys):
    before = versions("staging")
    assert cli.main(["run", "--env", "staging", "--on", "sagemaker"]) == 1
    err = capsys.readouterr().err
    assert f"mlops-demo-training:{current_revision().sha} is not in the operations" in err
    assert versions("staging") == before


@pytest.mark.parametrize(("env", "model"), [("prod", "cancer"), ("staging", "diabetes")])
def test_serve_tries_a_registry_version_over_http(first_models, aws, tmp_path, capsys, env, model):
    # A person trying a version before approving it: `serve` downloads it from the
    # environment's own account and serves it; the answers are the registered model's own.
    group = deployment.connect(env, embedded_aws=False, model=model).names.model_package_group
    port = free_port()
    command = [sys.executable, "-m", "training_pipeline", "serve", "--env", env]
    command += ["--model", model, "--version", "1", "--port", str(port)]
    environment = {**aws.environ(SETTINGS.region), "TP_WORK_DIR": str(tmp_path)}
    schema = model_schema(model)
    dataset = load_dataset(SETTINGS.model(model).dataset, schema)
    rows = dataset[list(schema.features)].head(100)
    with serving(command, port, env=environment) as served:
        request = urllib.request.Request(
            served.url + "/invocations",
            data=rows.to_csv(index=False, header=False).encode(),
            headers={"Content-Type": "text/csv"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.loads(response.read())
            assert response.headers["X-Model-Version"] == f"{group}/1"
        assert f"{group}/1 (" in served.output()
    assert cli.main(["serve", "--env", env, "--model", model, "--version", "99"]) == 1
    assert f"{group} has no version 99 (it has 1" in capsys.readouterr().err
    # The model's own predictions: its registered artifact, read straight from the bucket.
    package = registry.list_versions(
        deployment.connect(env, embedded_aws=False, model=model).session, group
    )[-1]
    assert package.version == 1
    sagemaker = account_session(SETTINGS, env).client("sagemaker")
    url = sagemaker.describe_model_package(ModelPackageName=package.arn)["InferenceSpecification"][
        "Containers"
    ][0]["ModelDataUrl"]
    bucket, _, key = url.removeprefix("s3://").partition("/")
    account_session(SETTINGS, env).client("s3").download_file(
        bucket, key, str(tmp_path / "model.tar.gz")
    )
    estimator = handler.load_model(tmp_path).estimator
    assert answer["model_version"] == f"{group}/1"
    if schema.kind == "regression":
        expected = estimator.predict(rows).tolist()
        assert [p[schema.label] for p in answer["predictions"]] == expected
    else:
        expected = estimator.predict_proba(rows)[:, 1].tolist()
        assert [p[f"{schema.label}_probability"] for p in answer["predictions"]] == expected


def test_predict_scores_a_batch_with_the_newest_approved_version(first_models, aws, tmp_path):
    # staging scores a CSV of its own data bucket through its batch pipeline: the transform job
    # serves the newest Approved version, and the predictions are that model's own.
    target = deployment.connect("staging", embedded_aws=False, model="cancer")
    s3, names = target.session.client("s3"), target.names
    schema = model_schema("cancer")
    rows = load_dataset(SETTINGS.model("cancer").dataset, schema)[list(schema.features)]
    rows = rows.sample(n=150, random_state=3)
    s3.put_object(
        Bucket=names.data_bucket, Key="batch/e2e/rows.csv", Body=rows.to_csv(index=False).encode()
    )
    output = io.StringIO()
    try:
        with redirect_stdout(output):
            exit_code = cli.main(
                ["predict", "--env", "staging", "--model", "cancer"]
                + ["--input", f"s3://{names.data_bucket}/batch/e2e/"]
            )
    finally:
        s3.delete_object(Bucket=names.data_bucket, Key="batch/e2e/rows.csv")
    printed = output.getvalue()
    assert exit_code == 0, printed

    newest = max(
        (v for v in versions("staging") if v.status == "Approved"), key=lambda v: v.version
    )
    execution = re.search(r"execution (\w+): Succeeded", printed).group(1)
    where = f"s3://{names.artifacts_bucket}/predictions/{names.batch_pipeline_name}/{execution}/"
    assert where in printed
    assert re.search(
        rf"rows\.csv\.out\s+150\s+{names.model_package_group}/{newest.version}", printed
    )
    body = s3.get_object(
        Bucket=names.artifacts_bucket,
        Key=f"predictions/{names.batch_pipeline_name}/{execution}/rows.csv.out",
    )["Body"].read()
    scored = [p for line in body.splitlines() for p in json.loads(line)["predictions"]]
    sagemaker = target.session.client("sagemaker")
    url = sagemaker.describe_model_package(ModelPackageName=newest.arn)["InferenceSpecification"][
        "Containers"
    ][0]["ModelDataUrl"]
    bucket, _, key = url.removeprefix("s3://").partition("/")
    s3.download_file(bucket, key, str(tmp_path / "model.tar.gz"))
    estimator = handler.load_model(tmp_path).estimator
    expected = estimator.predict_proba(rows)[:, 1].tolist()
    assert [p["malignant_probability"] for p in scored] == expected
    # The batch pipeline SageMaker holds is the one that ran: promoted with the training one.
    held = sagemaker.describe_pipeline(PipelineName=names.batch_pipeline_name)
    assert json.loads(held["PipelineDefinition"])["Steps"][2]["Type"] == "Transform"


def test_predict_scores_only_the_models_batch_data(first_models, aws, capsys):
    staging = deployment.connect("staging", embedded_aws=False).names
    prod_data = deployment.connect("prod", embedded_aws=False).names.data_bucket
    command = ["predict", "--env", "staging", "--model", "cancer", "--input"]
    batch = f"s3://{staging.data_bucket}/batch/"
    for elsewhere in (f"s3://{prod_data}/batch/", f"s3://{staging.data_bucket}/training/"):
        assert cli.main([*command, elsewhere]) == 1
        err = capsys.readouterr().err
        assert f"--input {elsewhere}: score data under {batch} (model cancer's batch data" in err
    assert cli.main([*command, f"{batch}none/"]) == 1
    assert f"nothing to score under {batch}none/" in capsys.readouterr().err


def served_traffic(aws, tmp_path, rows) -> None:
    """`rows` sent, 100 a request, to staging's cancer model served by `serve --capture`,
    which puts what it answered with staging's captured traffic when it stops."""
    port = free_port()
    command = [sys.executable, "-m", "training_pipeline", "serve", "--env", "staging"]
    command += ["--model", "cancer", "--port", str(port), "--capture"]
    environment = {**aws.environ(SETTINGS.region), "TP_WORK_DIR": str(tmp_path)}
    with serving(command, port, env=environment) as served:
        for start in range(0, len(rows), 100):
            request = urllib.request.Request(
                served.url + "/invocations",
                data=rows.iloc[start : start + 100].to_csv(index=False).encode(),
                headers={"Content-Type": "text/csv"},
            )
            with urllib.request.urlopen(request, timeout=30) as response:
                assert response.status == 200


def test_drift_in_served_traffic_retrains_that_environment_only(first_models, aws, tmp_path):
    # staging serves its model and records the traffic; its drift check judges the traffic
    # against the served version's baseline. Traffic like its own data: no drift, nothing
    # starts. Three features shifted by half a standard deviation: drift in exactly those,
    # staging's training pipeline starts (drift_action = retrain); dev and prod see nothing.
    target = deployment.connect("staging", embedded_aws=False, model="cancer")
    names, s3 = target.names, target.session.client("s3")
    bucket, _, prefix = names.capture_url.removeprefix("s3://").partition("/")

    def clear_capture() -> None:
        for item in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []):
            s3.delete_object(Bucket=bucket, Key=item["Key"])

    def started(env: str) -> list[dict]:
        sagemaker = account_session(SETTINGS, env).client("sagemaker")
        pipeline = deployment.connect(env, embedded_aws=False).names.pipeline_name
        return sagemaker.list_pipeline_executions(PipelineName=pipeline)[
            "PipelineExecutionSummaries"
        ]

    def check() -> str:
        output = io.StringIO()
        with redirect_stdout(output):
            assert cli.main(["monitor", "--env", "staging", "--model", "cancer"]) == 0
        return output.getvalue()

    def alarm(env: str) -> str:
        # Terraform's alarm on the drift check's verdict; the embedded AWS evaluates it when
        # the check puts its metric, as CloudWatch does (aws/embedded_server.py).
        alarms = (
            account_session(SETTINGS, env)
            .client("cloudwatch")
            .describe_alarms(
                AlarmNames=[deployment.connect(env, embedded_aws=False).names.drift_alarm]
            )["MetricAlarms"]
        )
        return alarms[0]["StateValue"] if alarms else "none"

    schema = model_schema("cancer")
    data = load_dataset(SETTINGS.model("cancer").dataset, schema)[list(schema.features)]
    before = {env: len(started(env)) for env in SETTINGS.environment_names}
    prod_alarm = alarm("prod")
    clear_capture()
    try:
        served_traffic(aws, tmp_path, data.sample(n=1_000, replace=True, random_state=5))
        printed = check()
        assert "1000 captured rows in the last 24 h" in printed, printed
        assert "drifted: none" in printed and "started" not in printed
        assert {env: len(started(env)) for env in SETTINGS.environment_names} == before
        assert alarm("staging") == "OK"

        clear_capture()
        shifted = data.sample(n=1_000, replace=True, random_state=6)
        moved = ["mean_radius", "mean_texture", "worst_smoothness"]
        shifted[moved] += 0.5 * data[moved].std()
        served_traffic(aws, tmp_path, shifted)
        printed = check()
    finally:
        clear_capture()
    assert f"drifted: {', '.join(moved)}" in printed, printed
    assert re.search(r"worst_smoothness\s+0\.\d+\s+\S+\s+\S+\s+DRIFTED", printed)
    assert "drift_action = retrain: started arn:aws:sagemaker" in printed
    report = re.search(r"report: (s3://\S+)", printed).group(1)
    page_bucket, _, key = report.removeprefix("s3://").partition("/")
    page = s3.get_object(Bucket=page_bucket, Key=key)["Body"].read().decode()
    assert "Drift in 3 of 31 columns" in page and page.count("data:image/png") == 3
    after = {env: len(started(env)) for env in SETTINGS.environment_names}
    assert after == {**before, "staging": before["staging"] + 1}
    assert alarm("staging") == "ALARM"
    assert (alarm("dev"), alarm("prod")) == ("none", prod_alarm)  # dev has no drift check
    [newest] = [e for e in started("staging") if e["PipelineExecutionArn"] in printed]
    description = target.session.client("sagemaker").describe_pipeline_execution(
        PipelineExecutionArn=newest["PipelineExecutionArn"]
    )["PipelineExecutionDescription"]
    assert description == f"drift in {', '.join(moved)}: {report}"
    # The version it registers will say why it was trained (its triggered_by metadata).
    parameters = target.session.client("sagemaker").list_pipeline_parameters_for_execution(
        PipelineExecutionArn=newest["PipelineExecutionArn"]
    )["PipelineParameters"]
    assert {"Name": "TriggeredBy", "Value": f"drift: {report}"} in parameters
