"""The runner on pipelines built with the SageMaker SDK, against moto's server."""

from __future__ import annotations

import io
import json
import os
import re
import tarfile
from pathlib import Path

import boto3
import pytest

from tooling import require
from training_pipeline.runner import DefinitionError, LocalRunner, isolation

from . import sdk_pipelines

JOB_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")


@pytest.fixture(scope="module")
def scripts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sdk_pipelines.write_scripts(tmp_path_factory.mktemp("scripts"))


@pytest.fixture(scope="module")
def churn(session: boto3.Session, bucket: str, scripts: Path) -> dict:
    sdk_pipelines.upload_inputs(session, bucket)
    return sdk_pipelines.churn_pipeline(bucket, scripts)


def read(session: boto3.Session, uri: str) -> bytes:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return session.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()


def tar_member(archive: bytes, name: str) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(archive)) as bundle:
        return bundle.extractfile(name).read()


def test_the_whole_pipeline_runs_and_registers(churn, runner, session, bucket, log):
    result = runner.run(churn, pipeline_name="churn", parameters={"Group": "churn-e2e"})

    assert result.status == "Succeeded", result.failure_reason
    assert [s.name for s in result.steps] == [
        "Ingest",
        "Fit",
        "Score",
        "QualityGate",
        "Publish",
        "MakeModel",
    ]
    assert all(s.status == "Succeeded" and not s.cache_hit for s in result.steps)
    assert result.execution_arn == (
        f"arn:aws:sagemaker:{session.region_name}:123456789012:pipeline/churn/execution/"
        f"{result.execution_id}"
    )
    assert "[2/7] Fit (Training) ..." in log
    assert re.search(r"\[2/7\] Fit \(Training\) Succeeded in \d+\.\d+s", log.text)
    assert "Execution Succeeded" in log[-1] and "not executed: Reject" in log[-1]

    # Ingest: inputs from two objects, arguments with a parameter, nested outputs uploaded.
    assert read(session, f"s3://{bucket}/ingest/train/train.csv") == b"x,y\n2,0\n4,1\n6,1\n"
    info = json.loads(read(session, f"s3://{bucket}/ingest/train/meta/info.json"))
    assert info == {"rows": 3, "tag": "fixed"}

    # Fit: script mode, channels, SM_* variables, model and output data archives, metrics.
    fit = result.step("Fit").properties
    assert JOB_NAME.fullmatch(fit["TrainingJobName"])
    assert fit["TrainingJobName"].startswith(f"pipelines-{result.execution_id}-Fit-")
    artifact = fit["ModelArtifacts"]["S3ModelArtifacts"]
    assert artifact == f"s3://{bucket}/models/{fit['TrainingJobName']}/output/model.tar.gz"
    model = json.loads(tar_member(read(session, artifact), "model.json"))
    assert model["rows"] == 3
    assert (model["quality"], model["label"], model["epochs"]) == (0.9, "churn", 3)
    assert model["hps"] == {"epochs": 3, "quality": 0.9, "label": "churn"}
    assert model["channels"] == ["train"]
    assert model["job"] == fit["TrainingJobName"]
    assert model["cwd"].endswith("/opt/ml/code")
    output = read(session, artifact.replace("model.tar.gz", "output.tar.gz"))
    assert tar_member(output, "notes.txt") == b"ok"
    assert fit["FinalMetricDataList"][0]["MetricName"] == "val_accuracy"
    assert fit["FinalMetricDataList"][0]["Value"] == 0.9
    assert fit["HyperParameters"]["quality"] == "0.9"

    # Publish: a real model package, every field resolved, the group created on the way.
    sagemaker = session.client("sagemaker")
    package = sagemaker.describe_model_package(
        ModelPackageName=result.step("Publish").properties["ModelPackageArn"]
    )
    assert package["ModelPackageGroupName"] == "churn-e2e"
    assert package["ModelApprovalStatus"] == "Approved"
    assert package["CustomerMetadataProperties"] == {
        "execution": result.execution_id,
        "rows": "3",
    }
    assert package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"] == artifact
    assert package["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"] == (
        f"s3://{bucket}/score/evaluation.json"
    )

    # MakeModel: CreateModel under a generated name.
    model_name = result.step("MakeModel").properties["ModelName"]
    described = sagemaker.describe_model(ModelName=model_name)
    assert described["PrimaryContainer"]["ModelDataUrl"] == artifact

    record = json.loads(json.dumps(result.to_dict()))
    assert record["status"] == "Succeeded" and len(record["steps"]) == 6


def test_parameters_can_take_the_else_branch_to_the_fail_step(churn, runner, session):
    result = runner.run(
        churn, pipeline_name="churn", parameters={"Quality": "0.5", "Group": "churn-rejected"}
    )

    assert result.status == "Failed"
    assert result.failure_reason == "accuracy 0.5 is below 0.8"
    assert result.parameters["Quality"] == 0.5
    assert [s.name for s in result.steps][-2:] == ["QualityGate", "Reject"]
    assert result.step("QualityGate").properties == {"Outcome": "False"}
    assert result.step("Reject").status == "Failed"
    groups = session.client("sagemaker").list_model_package_groups()["ModelPackageGroupSummaryList"]
    assert "churn-rejected" not in {g["ModelPackageGroupName"] for g in groups}


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"Nope": 1}, "Nope"),
        ({"Scale": 1.5}, "Scale"),
        ({"Scale": "many"}, "Scale"),
        ({"Quality": True}, "Quality"),
    ],
)
def test_bad_parameters_are_rejected_before_anything_runs(churn, runner, log, parameters, message):
    with pytest.raises(ValueError, match=message):
        runner.run(churn, parameters=parameters)
    assert not log


def test_step_caching_reuses_results_with_the_same_resolved_arguments(
    churn, session, bucket, tmp_path, log
):
    runner = LocalRunner(
        session, work_dir=tmp_path, log=log, cache_prefix=f"s3://{bucket}/pipeline-cache/"
    )
    parameters = {"Group": "churn-cached"}
    first = runner.run(churn, pipeline_name="churn", parameters=parameters)
    second = runner.run(churn, pipeline_name="churn", parameters=parameters)
    third = runner.run(churn, pipeline_name="churn", parameters={**parameters, "Quality": 0.95})

    assert first.succeeded and second.succeeded and third.succeeded
    hits = [{s.name for s in r.steps if s.cache_hit} for r in (first, second, third)]
    assert hits == [set(), {"Ingest", "Fit", "Score"}, {"Ingest"}]
    assert second.step("Fit").properties == first.step("Fit").properties
    assert re.search(r"Fit \(Training\) Succeeded in \d+\.\d+s \(cached\)", log.text)
    # Registration is never cached: each run adds a version.
    versions = session.client("sagemaker").list_model_packages(ModelPackageGroupName="churn-cached")
    assert len(versions["ModelPackageSummaryList"]) == 3


def test_a_failing_script_fails_its_step_with_the_last_error_line(
    session, bucket, scripts, runner, log
):
    definition = sdk_pipelines.failing_pipeline(bucket, scripts)
    result = runner.run(definition, pipeline_name="failing")

    assert result.status == "Failed"
    assert result.failure_reason == (
        "Step 'Explode' failed: ValueError: bad value in row 3 (exit code 1)"
    )
    assert [(s.name, s.status) for s in result.steps] == [("Explode", "Failed")]
    job_log = Path(result.step("Explode").log_path).read_text()
    assert "starting" in job_log and "a warning on stderr" in job_log
    assert f"log: {result.step('Explode').log_path}" in log.text
    # Said once as it happens; the execution's last line points at the step.
    assert log.text.count("bad value in row 3") == 1
    assert re.fullmatch(r"Execution Failed in [\d.]+s at step 'Explode'", log[-1])


def test_a_training_job_given_as_container_entrypoint(session, bucket, runner):
    definition = sdk_pipelines.entrypoint_training_pipeline(session, bucket)
    result = runner.run(definition, pipeline_name="learn")

    assert result.status == "Succeeded", result.failure_reason
    artifact = result.step("Learn").properties["ModelArtifacts"]["S3ModelArtifacts"]
    model = json.loads(tar_member(read(session, artifact), "model.json"))
    assert (model["quality"], model["label"], model["rows"]) == (0.7, "ep", 1)
    assert model["channels"] == ["code", "train"]


@pytest.fixture
def isolation_off(monkeypatch):
    """What a machine without user namespaces gets: the documented switch, then a fresh probe."""
    monkeypatch.setenv(isolation.SWITCH, "off")
    isolation.available.cache_clear()
    yield
    monkeypatch.undo()
    isolation.available.cache_clear()


def require_isolation() -> None:
    require(isolation.available(), "jobs cannot be isolated here (util-linux unshare)")


def test_model_trainer_source_code_runs_the_sdk_drivers(session, bucket, runner, tmp_path, log):
    require_isolation()
    session.client("s3").put_object(Bucket=bucket, Key="ep/train/train.csv", Body=b"x,y\n1,0\n")
    definition = sdk_pipelines.source_code_training_pipeline(bucket, tmp_path)
    channels = definition["Steps"][0]["Arguments"]["InputDataConfig"]
    assert {c["ChannelName"] for c in channels} == {"code", "sm_drivers", "train"}

    result = runner.run(definition, pipeline_name="learn")

    assert result.status == "Succeeded", result.failure_reason
    artifact = result.step("Learn").properties["ModelArtifacts"]["S3ModelArtifacts"]
    model = json.loads(tar_member(read(session, artifact), "model.json"))
    # The hyperparameters reached the script as the driver passes them, from /opt/ml paths.
    assert model == {
        "rows": 1,
        "epochs": 3,
        "label": "sc",
        "train_channel": "/opt/ml/input/data/train",
        "cwd": "/opt/ml/input/data/code",
    }
    assert "Running Basic Script driver" in Path(result.step("Learn").log_path).read_text()
    assert "mount namespace" in log.text
    assert not Path("/opt/ml").exists()


def test_hard_coded_container_paths_stay_in_the_jobs_tree(session, bucket, runner, tmp_path):
    require_isolation()
    session.client("s3").put_object(Bucket=bucket, Key="raw/part-1.csv", Body=b"x,y\n1,0\n2,1\n")
    definition = sdk_pipelines.hard_coded_paths_pipeline(bucket, tmp_path)
    host_opt = sorted(os.listdir("/opt"))

    result = runner.run(definition)

    assert result.status == "Succeeded", result.failure_reason
    assert read(session, f"s3://{bucket}/hard-coded/count.txt") == b"2"
    # The host's /opt is as it was, and none of it was reachable from the job's own directory.
    assert sorted(os.listdir("/opt")) == host_opt and "ml" not in host_opt
    seen = json.loads(read(session, f"s3://{bucket}/hard-coded/seen.json"))
    assert not set(seen) & set(host_opt), "the host's /opt was reachable from the job"


def test_a_job_that_sets_its_own_path_is_still_isolated(session, bucket, runner, tmp_path):
    require_isolation()
    session.client("s3").put_object(Bucket=bucket, Key="raw/part-1.csv", Body=b"x,y\n1,0\n")
    definition = sdk_pipelines.hard_coded_paths_pipeline(bucket, tmp_path)
    # Its Environment replaces PATH: the mounts must not depend on it.
    definition["Steps"][0]["Arguments"]["Environment"] = {"PATH": "/nonexistent"}

    result = runner.run(definition)

    assert result.status == "Succeeded", result.failure_reason
    assert read(session, f"s3://{bucket}/hard-coded/count.txt") == b"1"


def test_without_isolation_source_code_is_refused_and_paths_are_mapped(
    isolation_off, session, bucket, runner, tmp_path, log
):
    definition = sdk_pipelines.source_code_training_pipeline(bucket, tmp_path)
    with pytest.raises(DefinitionError, match=f"'Learn'.*source_code.*{isolation.SWITCH}=off"):
        runner.run(definition)
    assert not log
    # Paths given in the definition are still mapped, and the run says what is not isolated.
    result = runner.run(sdk_pipelines.framework_processor_pipeline(bucket, tmp_path))
    assert result.status == "Succeeded", result.failure_reason
    assert "a path hard-coded in a script is not isolated" in log.text


def test_a_framework_processor_runs_its_shell_wrapper_with_the_runner_python(
    session, bucket, runner, tmp_path
):
    definition = sdk_pipelines.framework_processor_pipeline(bucket, tmp_path)
    entrypoint = definition["Steps"][0]["Arguments"]["AppSpecification"]["ContainerEntrypoint"]
    assert entrypoint[0] == "/bin/bash" and entrypoint[1].endswith("runproc.sh")

    result = runner.run(definition)

    assert result.status == "Succeeded", result.failure_reason
    answer = read(session, f"s3://{bucket}/framework/answer.txt").decode()
    assert answer == f"42 {runner.python}"
