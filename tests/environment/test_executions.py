"""Waiting for a pipeline execution on SageMaker, and reading what it produced.

moto records a started execution as Succeeded at once, with no steps, and has no
ListPipelineExecutionSteps; so the wait loop is tested against botocore's Stubber, which
checks every request against the SageMaker API model. Reading the evaluation report of a
SageMaker execution goes through the embedded AWS (moto's processing jobs and S3).
"""

from __future__ import annotations

import datetime as dt
import json

import boto3
import pytest
from botocore.stub import Stubber

from training_pipeline.environment import executions

REGION = "eu-west-1"
PIPELINE = "mlops-demo-dev-training"
ARN = f"arn:aws:sagemaker:{REGION}:222222222222:pipeline/{PIPELINE}/execution/abc123def456"
T0 = dt.datetime(2026, 11, 22, 8, 0, tzinfo=dt.UTC)


def step(name: str, status: str, metadata: dict, *, ended: bool = False, **extra) -> dict:
    entry = {"StepName": name, "StepStatus": status, "StartTime": T0, "Metadata": metadata}
    if ended:
        entry["EndTime"] = T0 + dt.timedelta(seconds=90)
    return {**entry, **extra}


PREPARE = {"ProcessingJob": {"Arn": f"arn:aws:sagemaker:{REGION}:222222222222:processing-job/p"}}
TRAIN = {"TrainingJob": {"Arn": f"arn:aws:sagemaker:{REGION}:222222222222:training-job/t"}}


class StubbedSession:
    """A boto3 session whose SageMaker client answers from a Stubber."""

    def __init__(self) -> None:
        self.sagemaker = boto3.Session(
            region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
        ).client("sagemaker")
        self.stubber = Stubber(self.sagemaker)

    def client(self, service: str):
        assert service == "sagemaker"
        return self.sagemaker

    def poll(self, status: str, steps: list[dict], **execution) -> None:
        self.stubber.add_response(
            "describe_pipeline_execution",
            {"PipelineExecutionStatus": status, "CreationTime": T0, **execution},
            {"PipelineExecutionArn": ARN},
        )
        self.stubber.add_response(
            "list_pipeline_execution_steps",
            {"PipelineExecutionSteps": steps},
            {"PipelineExecutionArn": ARN, "SortOrder": "Ascending"},
        )


def started(session: StubbedSession, parameters: list[dict], description: str = "") -> None:
    expected = {"PipelineName": PIPELINE, "PipelineParameters": parameters}
    if description:
        expected["PipelineExecutionDescription"] = description
    session.stubber.add_response(
        "start_pipeline_execution", {"PipelineExecutionArn": ARN}, expected
    )


def test_the_wait_reports_each_step_change_once_and_returns_the_record():
    session = StubbedSession()
    started(session, [{"Name": "MaxIter", "Value": "50"}], "refs/tags/prod at 0123abc")
    session.poll("Executing", [step("PrepareData", "Executing", PREPARE)])
    session.poll("Executing", [step("PrepareData", "Executing", PREPARE)])
    session.poll(
        "Executing",
        [
            step("PrepareData", "Succeeded", PREPARE, ended=True),
            step("TrainModel", "Executing", {}),
        ],
    )
    session.poll(
        "Succeeded",
        [
            step("PrepareData", "Succeeded", PREPARE, ended=True),
            step(
                "TrainModel",
                "Succeeded",
                TRAIN,
                ended=True,
                CacheHitResult={"SourcePipelineExecutionArn": ARN},
            ),
        ],
    )
    lines: list[str] = []
    with session.stubber:
        record = executions.run_on_sagemaker(
            session,
            PIPELINE,
            {"MaxIter": 50},
            description="refs/tags/prod at 0123abc",
            log=lines.append,
            poll_seconds=0,
        )
    session.stubber.assert_no_pending_responses()

    assert lines == [
        f"started {ARN}",
        "  PrepareData: Executing",
        "  PrepareData: Succeeded",
        "  TrainModel: Executing",
        "  TrainModel: Succeeded",
    ]
    assert record["status"] == "Succeeded" and record["failure_reason"] is None
    assert record["execution_id"] == "abc123def456" and record["runner"] == "sagemaker"
    assert [
        (s["name"], s["step_type"], s["duration_s"], s["cache_hit"]) for s in record["steps"]
    ] == [
        ("PrepareData", "Processing", 90.0, False),
        ("TrainModel", "Training", 90.0, True),
    ]


def test_a_failed_execution_carries_the_failing_steps_reason():
    session = StubbedSession()
    started(session, [])
    reason = "ClientError: DataValidationError: bad.csv:5: label 2 is not 0 or 1"
    session.poll(
        "Failed",
        [step("PrepareData", "Failed", PREPARE, ended=True, FailureReason=reason)],
        # What SageMaker says of every execution whose step failed.
        FailureReason="Step failure: One or multiple steps failed.",
    )
    with session.stubber:
        record = executions.run_on_sagemaker(session, PIPELINE, {}, log=print, poll_seconds=0)
    assert record["status"] == "Failed" and record["failure_reason"] == reason
    assert record["steps"][0]["failure_reason"] == reason


def test_an_execution_stopped_without_a_reason_says_so():
    session = StubbedSession()
    started(session, [])
    session.poll("Stopped", [])
    with session.stubber:
        record = executions.run_on_sagemaker(session, PIPELINE, {}, log=print, poll_seconds=0)
    assert record["status"] == "Stopped"
    assert "ended Stopped; SageMaker gave no reason" in record["failure_reason"]


def test_the_evaluation_report_of_a_sagemaker_execution_is_found_through_its_job(embedded_env):
    session = boto3.Session(region_name=REGION)
    s3, sagemaker = session.client("s3"), session.client("sagemaker")
    bucket = "artifacts-of-a-sagemaker-run"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    report = {"metrics": {"roc_auc": {"value": 0.97}}, "test_rows": 86}
    s3.put_object(
        Bucket=bucket, Key="run/evaluate/evaluation/evaluation.json", Body=json.dumps(report)
    )
    job = sagemaker.create_processing_job(
        ProcessingJobName="pipelines-abc123-EvaluateModel",
        RoleArn="arn:aws:iam::123456789012:role/execution",
        AppSpecification={"ImageUri": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/t:1"},
        ProcessingResources={
            "ClusterConfig": {
                "InstanceCount": 1,
                "InstanceType": "ml.m5.large",
                "VolumeSizeInGB": 30,
            }
        },
        ProcessingOutputConfig={
            "Outputs": [
                {
                    "OutputName": "evaluation",
                    "S3Output": {
                        "S3Uri": f"s3://{bucket}/run/evaluate/evaluation",
                        "LocalPath": "/opt/ml/processing/evaluation",
                        "S3UploadMode": "EndOfJob",
                    },
                }
            ]
        },
    )
    record = {
        "runner": "sagemaker",
        "steps": [
            {
                "name": "EvaluateModel",
                "status": "Succeeded",
                "metadata": {"ProcessingJob": {"Arn": job["ProcessingJobArn"]}},
            }
        ],
    }
    assert executions.evaluation_report(session, record) == report
    record["steps"][0]["status"] = "Failed"
    assert executions.evaluation_report(session, record) is None


@pytest.mark.parametrize("steps", [[], [{"name": "EvaluateModel", "status": "Succeeded"}]])
def test_no_report_without_a_finished_evaluation_step(steps):
    assert executions.evaluation_report(boto3.Session(region_name=REGION), {"steps": steps}) is None


def test_records_are_those_of_the_asked_pipeline_only(embedded_env):
    """Every model's pipeline keeps its records in the environment's one artifacts bucket: a
    model's history (and promotion's 'did this environment validate the commit?') must not
    see another model's runs."""
    session = boto3.Session(region_name=REGION)
    s3 = session.client("s3")
    bucket = "records-of-two-models"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    regression = "mlops-demo-dev-diabetes-training"
    saved = [
        {"pipeline_name": PIPELINE, "execution_id": "c1", "status": "Failed"},
        {"pipeline_name": regression, "execution_id": "d1", "status": "Succeeded"},
        # A SageMaker run's record names its pipeline in its ARN only.
        {"execution_id": "abc123def456", "execution_arn": ARN, "status": "Succeeded"},
    ]
    for record in saved:
        executions.save_record(session, bucket, record)
    for name in (PIPELINE, regression):
        session.client("sagemaker").create_pipeline(
            PipelineName=name,
            PipelineDefinition=json.dumps({"Version": "2020-12-01", "Steps": []}),
            RoleArn="arn:aws:iam::123456789012:role/execution",
        )
    ours = executions.list_records(session, bucket, PIPELINE)
    assert sorted(r["execution_id"] for r in ours) == ["abc123def456", "c1"]
    theirs = executions.list_records(session, bucket, regression)
    assert [r["execution_id"] for r in theirs] == ["d1"]
