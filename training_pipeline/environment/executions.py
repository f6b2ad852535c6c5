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

from training_pipeline.errors import NotFoundError

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
    """Local runs and SageMaker runs of the pipeline, newest first. The environment's bucket
    holds the records of every model's pipeline: only this one's are returned."""
    s3 = session.client("s3")
    records = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=PREFIX):
        for item in page.get("Contents", []):
            record = json.loads(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
            if pipeline_of(record) == pipeline_name:
                records.append(record)
    sagemaker = session.client("sagemaker")
    paginator = sagemaker.get_paginator("list_pipeline_executions")
    try:
        summaries = [
            summary
            for page in paginator.paginate(PipelineName=pipeline_name)
            for summary in page["PipelineExecutionSummaries"]
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
    if step is None or step["status"] != "Succeeded":
        return None
    if "properties" in step:  # the local runner keeps what DescribeProcessingJob would say
        job = step["properties"]
    elif "ProcessingJob" in step.get("metadata", {}):
        name = step["metadata"]["ProcessingJob"]["Arn"].rsplit("/", 1)[-1]
        job = session.client("sagemaker").describe_processing_job(ProcessingJobName=name)
    else:
        return None
    outputs = job["ProcessingOutputConfig"]["Outputs"]
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
    description: str = "",
    log: Callable[[str], None] = print,
    poll_seconds: float = 30.0,
) -> dict:
    """Start the upserted pipeline on SageMaker and wait for it, reporting step changes.
    ``description`` (the commit, say) is the execution's own, shown in Studio."""
    sagemaker = session.client("sagemaker")
    arn = sagemaker.start_pipeline_execution(
        PipelineName=pipeline_name,
        PipelineParameters=[{"Name": k, "Value": str(v)} for k, v in parameters.items()],
        **({"PipelineExecutionDescription": description[:3072]} if description else {}),
    )["PipelineExecutionArn"]
    execution_id = arn.rsplit("/", 1)[-1]
    log(f"started {arn}")
    seen: dict[str, str] = {}
    try:
        while True:
            execution = sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn)
            steps = sagemaker_steps(sagemaker, arn)
            for step in steps:
                if seen.get(step["name"]) != step["status"]:
                    seen[step["name"]] = step["status"]
                    log(f"  {step['name']}: {step['status']}")
            status = execution["PipelineExecutionStatus"]
            if status in TERMINAL:
                break
            time.sleep(poll_seconds)
    except KeyboardInterrupt:
        log(f"stopped waiting; {execution_id} goes on on SageMaker (`status --execution ID`)")
        raise
    failure = failure_reason(status, execution.get("FailureReason"), steps)
    return {
        "pipeline_name": pipeline_name,
        "execution_id": execution_id,
        "execution_arn": arn,
        "status": status,
        "runner": "sagemaker",
        "start_time": _iso(execution.get("CreationTime")),
        "failure_reason": failure,
        "steps": steps,
    }


def pipeline_of(record: Mapping[str, Any]) -> str:
    """The pipeline a record is of: named in it, or in its execution ARN
    (arn:...:pipeline/NAME/execution/ID)."""
    if record.get("pipeline_name"):
        return record["pipeline_name"]
    _, _, path = str(record.get("execution_arn", "")).partition(":pipeline/")
    return path.split("/execution/", 1)[0]


def failure_reason(status: str, execution_reason: str | None, steps: list[dict]) -> str | None:
    """Why an execution did not succeed: its failed step's own reason (SageMaker's execution
    reason only says "Step failure: One or multiple steps failed.") before the execution's."""
    if status == "Succeeded":
        return None
    step_reason = next((s["failure_reason"] for s in steps if s.get("failure_reason")), None)
    return (
        step_reason
        or execution_reason
        or f"ended {status}; SageMaker gave no reason (see the execution in Studio)"
    )


def sagemaker_steps(sagemaker: Any, execution_arn: str) -> list[dict]:
    """The steps of a SageMaker execution in the order they started, as the local runner's
    records list them (plus each step's Metadata: the ARNs of its jobs and packages)."""
    steps = []
    paginator = sagemaker.get_paginator("list_pipeline_execution_steps")
    for page in paginator.paginate(PipelineExecutionArn=execution_arn, SortOrder="Ascending"):
        steps.extend(page["PipelineExecutionSteps"])
    return [
        {
            "name": step["StepName"],
            # Metadata holds one key per step type: ProcessingJob, TrainingJob, Condition, ...
            "step_type": next(iter(step.get("Metadata") or {}), "").removesuffix("Job"),
            "status": step["StepStatus"],
            "duration_s": (
                (step["EndTime"] - step["StartTime"]).total_seconds()
                if step.get("StartTime") and step.get("EndTime")
                else None
            ),
            "cache_hit": "CacheHitResult" in step,
            "failure_reason": step.get("FailureReason"),
            "metadata": step.get("Metadata") or {},
        }
        for step in steps
    ]


def _iso(moment: Any) -> str | None:
    return moment.isoformat() if moment is not None else None
