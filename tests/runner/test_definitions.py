"""The runner on hand-written definitions: forms the SDK emits rarely, and what it refuses."""

from __future__ import annotations

import copy
import json
from typing import Any

import boto3
import pytest

from training_pipeline.runner import DefinitionError, LocalRunner

WRITE_RESULT = (
    "import json, os, sys; "
    "open(os.path.join(sys.argv[1], 'r.json'), 'w').write(json.dumps("
    "{'exec': os.environ['EXEC'], 'job': os.environ['JOB'], 'n': int(sys.argv[2])}))"
)


def processing(name: str, code: str, *args: Any, **arguments: Any) -> dict:
    return {
        "Name": name,
        "Type": "Processing",
        "Arguments": {
            "AppSpecification": {
                "ImageUri": "example.com/any:1",
                "ContainerEntrypoint": ["python", "-c", code],
                "ContainerArguments": list(args),
            },
            "ProcessingResources": {"ClusterConfig": {"InstanceCount": 1}},
            "RoleArn": "arn:aws:iam::123456789012:role/r",
            **arguments,
        },
    }


def get(reference: str) -> dict:
    return {"Get": reference}


def output_uri(bucket: str) -> dict:
    values = [f"s3://{bucket}/hand", get("Execution.PipelineExecutionId")]
    return {"Std:Join": {"On": "/", "Values": values}}


def hand_written(bucket: str) -> dict:
    make = processing(
        "Make",
        WRITE_RESULT,
        "/opt/ml/processing/out",
        get("Parameters.N"),
        Environment={
            "EXEC": get("Execution.PipelineExecutionId"),
            "JOB": get("Execution.ProcessingJobName"),
        },
        ProcessingOutputConfig={
            "Outputs": [
                {
                    "OutputName": "result",
                    "S3Output": {
                        "S3Uri": output_uri(bucket),
                        "LocalPath": "/opt/ml/processing/out",
                        "S3UploadMode": "EndOfJob",
                    },
                }
            ]
        },
    )
    read_back = {
        "Std:JsonGet": {
            "S3Uri": {"Std:Join": {"On": "/", "Values": [output_uri(bucket), "r.json"]}},
            "Path": "exec",
        }
    }
    gate = {
        "Name": "Check",
        "Type": "Condition",
        "DependsOn": ["Make"],
        "Arguments": {
            "Conditions": [
                {
                    "Type": "Equals",
                    "LeftValue": read_back,
                    "RightValue": get("Execution.PipelineExecutionId"),
                }
            ],
            "IfSteps": [processing("Done", "print('done')")],
            "ElseSteps": [
                {"Name": "Stop", "Type": "Fail", "Arguments": {"ErrorMessage": "mismatch"}}
            ],
        },
    }
    return {
        "Version": "2020-12-01",
        "Parameters": [{"Name": "N", "Type": "Integer", "DefaultValue": 4}],
        "Steps": [gate, make],
    }


def test_a_hand_written_pipeline_with_execution_variables_and_s3_json_get(
    session: boto3.Session, bucket: str, runner: LocalRunner
):
    result = runner.run(hand_written(bucket), pipeline_name="hand", execution_id="run-1")

    assert result.status == "Succeeded", result.failure_reason
    assert [s.name for s in result.steps] == ["Make", "Check", "Done"]
    body = session.client("s3").get_object(Bucket=bucket, Key="hand/run-1/r.json")["Body"]
    written = json.loads(body.read())
    assert written == {
        "exec": "run-1",
        "job": result.step("Make").properties["ProcessingJobName"],
        "n": 4,
    }


def _sleeping(name: str, seconds: float, *depends_on: str, exit_code: int = 0) -> dict:
    code = f"import sys, time; time.sleep({seconds}); sys.exit({exit_code})"
    return {**processing(name, code), "DependsOn": list(depends_on)}


def _pipeline(*steps: dict) -> dict:
    return {"Version": "2020-12-01", "Parameters": [], "Steps": list(steps)}


@pytest.fixture
def two_at_once(session: boto3.Session, tmp_path, log) -> LocalRunner:
    """A runner that runs two steps at once, whatever the machine's cores."""
    return LocalRunner(session, work_dir=tmp_path / "runs", log=log, parallel_steps=2)


def test_independent_steps_run_side_by_side_as_sagemaker_runs_them(two_at_once: LocalRunner):
    # Listed out of order: the record follows the dependencies and then the definition.
    definition = _pipeline(
        _sleeping("Last", 0, "Left", "Right"), _sleeping("Left", 1.5), _sleeping("Right", 1.5)
    )

    result = two_at_once.run(definition, pipeline_name="side-by-side")

    assert result.status == "Succeeded", result.failure_reason
    assert [s.name for s in result.steps] == ["Left", "Right", "Last"]
    left, right, last = result.steps
    assert left.start_time < right.end_time and right.start_time < left.end_time, "no overlap"
    assert last.start_time >= max(left.end_time, right.end_time)


def test_one_step_at_a_time_when_asked(session: boto3.Session, tmp_path, log):
    runner = LocalRunner(session, work_dir=tmp_path, log=log, parallel_steps=1)
    definition = _pipeline(_sleeping("Left", 0.5), _sleeping("Right", 0.5))

    left, right = runner.run(definition, pipeline_name="one-at-a-time").steps

    assert right.start_time >= left.end_time


def test_after_a_failure_nothing_new_starts_and_running_steps_end(two_at_once, log):
    definition = _pipeline(
        _sleeping("Breaks", 0, exit_code=3), _sleeping("Slow", 1.5), _sleeping("After", 0, "Slow")
    )

    result = two_at_once.run(definition, pipeline_name="one-fails")

    assert result.status == "Failed"
    assert result.failure_reason.startswith("Step 'Breaks' failed:")
    assert [(s.name, s.status) for s in result.steps] == [
        ("Breaks", "Failed"),
        ("Slow", "Succeeded"),
    ]
    assert "at step 'Breaks'" in log.text
    assert "After" not in log.text


def test_an_empty_input_prefix_fails_the_step(bucket: str, runner: LocalRunner):
    definition = hand_written(bucket)
    definition["Steps"][1]["Arguments"]["ProcessingInputs"] = [
        {
            "InputName": "data",
            "S3Input": {
                "S3Uri": f"s3://{bucket}/nothing-here/",
                "LocalPath": "/opt/ml/processing/input",
                "S3DataType": "S3Prefix",
                "S3InputMode": "File",
            },
        }
    ]
    result = runner.run(definition)
    assert result.failure_reason == (
        f"Step 'Make' failed: no S3 objects found under s3://{bucket}/nothing-here/"
    )


def edited(bucket: str, path: list, value: Any) -> dict:
    """hand_written() with the field at `path` (from the Make step) set to `value`."""
    definition = copy.deepcopy(hand_written(bucket))
    target = definition["Steps"][1]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return definition


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (["Type"], "Lambda", "'Make': unsupported step type 'Lambda'"),
        (["Surprise"], 1, r"step 'Make': unsupported field\(s\) \['Surprise'\]"),
        (
            ["Arguments", "AppSpecification", "ContainerEntrypoint"],
            [],
            "ContainerEntrypoint is required",
        ),
        (
            ["Arguments", "ProcessingInputs"],
            [{"InputName": "d", "DatasetDefinition": {}}],
            r"ProcessingInputs\[0\]: unsupported field\(s\) \['DatasetDefinition'\]",
        ),
        (
            ["Arguments", "ProcessingInputs"],
            [
                {
                    "InputName": "d",
                    "S3Input": {
                        "S3Uri": "s3://b/m",
                        "LocalPath": "/x",
                        "S3DataType": "ManifestFile",
                    },
                }
            ],
            "'ManifestFile' is not supported",
        ),
        (["Arguments", "Environment"], {"X": get("Execution.TrainingJobName")}, "TrainingJobName"),
        (["Arguments", "Environment"], {"X": get("Parameters.Nope")}, "undeclared parameter"),
        (
            ["Arguments", "Environment"],
            {
                "X": {
                    "Std:JsonGet": {"PropertyFile": get("Steps.Make.PropertyFiles.R"), "Path": "a"}
                }
            },
            "depends on itself",
        ),
        (["CacheConfig"], {"Enabled": True, "ExpireAfter": "30 days"}, "ExpireAfter"),
        (
            ["RetryPolicies"],
            [{"ExceptionType": ["Step.WHATEVER"], "MaxAttempts": 1}],
            "Step.WHATEVER",
        ),
        (
            ["PropertyFiles"],
            [{"PropertyFileName": "R", "OutputName": "nope", "FilePath": "r.json"}],
            "'nope'",
        ),
    ],
)
def test_what_the_runner_cannot_run_is_refused_before_anything_runs(
    bucket: str, runner: LocalRunner, log, path, value, message
):
    with pytest.raises(DefinitionError, match=message):
        runner.run(edited(bucket, path, value))
    assert not log


def test_undeclared_property_files_and_cache_on_conditions_are_refused(bucket: str, runner):
    definition = hand_written(bucket)
    definition["Steps"][0]["Arguments"]["Conditions"][0]["LeftValue"] = {
        "Std:JsonGet": {"PropertyFile": get("Steps.Make.PropertyFiles.Missing"), "Path": "a"}
    }
    with pytest.raises(DefinitionError, match="'Make' declares no such property file"):
        runner.run(definition)
    definition = hand_written(bucket)
    definition["Steps"][0]["CacheConfig"] = {"Enabled": True}
    with pytest.raises(DefinitionError, match="CacheConfig is not supported for Condition"):
        runner.run(definition)


class _ThrottledOnce:
    """A SageMaker client whose first CreateModelPackage call is throttled."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def create_model_package(self, **request: Any) -> dict:
        self.calls += 1
        if self.calls == 1:
            from botocore.exceptions import ClientError

            error = {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}
            raise ClientError(error, "CreateModelPackage")
        return self._client.create_model_package(**request)


class _Session(boto3.Session):
    def __init__(self, region: str) -> None:
        super().__init__(region_name=region)
        self.sagemaker = _ThrottledOnce(super().client("sagemaker"))

    def client(self, service: str, *args: Any, **kwargs: Any) -> Any:
        return (
            self.sagemaker if service == "sagemaker" else super().client(service, *args, **kwargs)
        )


def register(policies: list[dict]) -> dict:
    arguments = {
        "ModelPackageGroupName": "retried",
        "InferenceSpecification": {
            "Containers": [{"Image": "example.com/serve:1", "ModelDataUrl": "s3://b/model.tar.gz"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        "ModelApprovalStatus": "PendingManualApproval",
        "SkipModelValidation": "None",
        "SourceUri": "s3://b/model.tar.gz",
    }
    step = {
        "Name": "Reg",
        "Type": "RegisterModel",
        "Arguments": arguments,
        "RetryPolicies": policies,
    }
    return {"Version": "2020-12-01", "Steps": [step]}


def test_retry_policies_retry_throttled_api_calls(session: boto3.Session, tmp_path, log):
    flaky = _Session(session.region_name)
    runner = LocalRunner(flaky, work_dir=tmp_path, log=log)
    policy = {
        "ExceptionType": ["Step.THROTTLING"],
        "IntervalSeconds": 0,
        "BackoffRate": 1.0,
        "MaxAttempts": 1,
    }

    result = runner.run(register([policy]))
    assert result.status == "Succeeded", result.failure_reason
    assert flaky.sagemaker.calls == 2
    assert "Step.THROTTLING" in log.text and "retry 1" in log.text
    assert result.step("Reg").properties["ModelApprovalStatus"] == "PendingManualApproval"
    # moto keeps no SourceUri: the runner says so instead of losing it silently.
    assert "DescribeModelPackage does not return ['SourceUri']" in log.text

    unprotected = LocalRunner(_Session(session.region_name), work_dir=tmp_path, log=log)
    result = unprotected.run(register([]))
    assert result.status == "Failed"
    assert "ThrottlingException" in result.failure_reason


def test_cache_hits_need_the_same_arguments_and_an_unexpired_entry(
    bucket: str, session: boto3.Session, tmp_path, log
):
    runner = LocalRunner(session, work_dir=tmp_path, log=log, cache_prefix=f"s3://{bucket}/cache")
    definition = hand_written(bucket)
    definition["Steps"][1]["CacheConfig"] = {"Enabled": True, "ExpireAfter": "P1D"}
    text = json.dumps(definition)

    runs = [runner.run(text, execution_id="same") for _ in range(2)]
    runs.append(runner.run(text, execution_id="other"))
    assert [r.step("Make").cache_hit for r in runs] == [False, True, False]

    definition["Steps"][1]["CacheConfig"]["ExpireAfter"] = "PT0S"
    assert not runner.run(definition, execution_id="same").step("Make").cache_hit
