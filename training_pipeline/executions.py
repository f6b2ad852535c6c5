"""Records of pipeline executions, so that `status` can show what ran and why it failed.

Executions on SageMaker are recorded by SageMaker itself; executions by the local runner are
written as JSON next to their artifacts, in the environment's own artifacts bucket.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

import boto3

from training_pipeline.errors import NotFoundError, TemplateError

PREFIX = "executions/"
TERMINAL = {"Succeeded", "Failed", "Stopped"}


def save_record(session: boto3.Session, bucket: str, record: Mapping[str, Any]) -> str:
    """Store a local run's record; returns its S3 URI."""
    key = f"{PREFIX}{record['execution_id']}.json"
    session.client("s3").put_object(
        Bucket=bucket, Key=key, Body=json.dumps(record, indent=2, default=str).encode()
    )
    return f"s3://{bucket}/{key}"


def list_records(session: boto3.Session, bucket: str, pipeline_name: str) -> list[dict]:
    """Local runs and SageMaker runs of the pipeline, newest first."""
    s3 = session.client("s3")
    records = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=PREFIX):
        for item in page.get("Contents", []):
            records.append(json.loads(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()))
    sagemaker = session.client("sagemaker")
    try:
        summaries = sagemaker.list_pipeline_executions(PipelineName=pipeline_name)[
            "PipelineExecutionSummaries"
        ]
    except sagemaker.exceptions.ResourceNotFound:
        summaries = []
    local_arns = {record.get("execution_arn") for record in records}
    for summary in summaries:
        if summary["PipelineExecutionArn"] in local_arns:
            continue
        records.append(
            {
                "execution_id": summary["PipelineExecutionArn"].rsplit("/", 1)[-1],
                "execution_arn": summary["PipelineExecutionArn"],
                "status": summary["PipelineExecutionStatus"],
                "start_time": summary["StartTime"].isoformat(),
                "runner": "sagemaker",
                "failure_reason": summary.get("PipelineExecutionFailureReason"),
                "steps": [],
            }
        )
    return sorted(records, key=lambda r: str(r.get("start_time") or ""), reverse=True)


def evaluation_report(session: boto3.Session, record: Mapping[str, Any]) -> dict | None:
    """The `evaluation.json` an execution's EvaluateModel step wrote, if it got that far."""
    step = next((s for s in record.get("steps", []) if s["name"] == "EvaluateModel"), None)
    if step is None or step["status"] != "Succeeded" or "properties" not in step:
        return None  # not reached, or a SageMaker execution (whose steps we do not describe)
    outputs = step["properties"]["ProcessingOutputConfig"]["Outputs"]
    prefix = next(o["S3Output"]["S3Uri"] for o in outputs if o["OutputName"] == "evaluation")
    bucket, _, key = prefix.removeprefix("s3://").partition("/")
    body = session.client("s3").get_object(Bucket=bucket, Key=f"{key}/evaluation.json")["Body"]
    return json.loads(body.read())


def find_record(records: list[dict], execution_id: str) -> dict:
    for record in records:
        if execution_id in (record.get("execution_id"), record.get("execution_arn")):
            return record
    raise NotFoundError(f"no execution {execution_id!r}; `status` without --execution lists them")


def run_on_sagemaker(
    session: boto3.Session,
    pipeline_name: str,
    parameters: Mapping[str, Any],
    *,
    log: Callable[[str], None] = print,
    poll_seconds: float = 30.0,
) -> dict:
    """Start the upserted pipeline on SageMaker and wait for it, reporting step changes."""
    sagemaker = session.client("sagemaker")
    arn = sagemaker.start_pipeline_execution(
        PipelineName=pipeline_name,
        PipelineParameters=[{"Name": k, "Value": str(v)} for k, v in parameters.items()],
    )["PipelineExecutionArn"]
    log(f"started {arn}")
    seen: dict[str, str] = {}
    while True:
        execution = sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn)
        steps = sagemaker.list_pipeline_execution_steps(PipelineExecutionArn=arn)[
            "PipelineExecutionSteps"
        ]
        for step in reversed(steps):
            if seen.get(step["StepName"]) != step["StepStatus"]:
                seen[step["StepName"]] = step["StepStatus"]
                log(f"  {step['StepName']}: {step['StepStatus']}")
        status = execution["PipelineExecutionStatus"]
        if status in TERMINAL:
            break
        time.sleep(poll_seconds)
    if status != "Succeeded" and not execution.get("FailureReason"):
        raise TemplateError(f"execution {arn} ended {status}")
    return {
        "execution_id": arn.rsplit("/", 1)[-1],
        "execution_arn": arn,
        "status": status,
        "runner": "sagemaker",
        "failure_reason": execution.get("FailureReason"),
        "steps": [
            {
                "name": s["StepName"],
                "status": s["StepStatus"],
                "failure_reason": s.get("FailureReason"),
            }
            for s in reversed(steps)
        ],
    }
