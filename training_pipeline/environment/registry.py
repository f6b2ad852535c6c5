"""The environment's SageMaker Model Registry: list versions, approve, reject.

Each environment registers into its own model package group in its own account; nothing here
crosses accounts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import boto3
from botocore.exceptions import ClientError

from training_pipeline.errors import AwsAccessError, NotFoundError

STATUSES = ("Approved", "Rejected", "PendingManualApproval")


@dataclass(frozen=True)
class ModelVersion:
    """One model package, with the lineage and metrics the pipeline attached."""

    version: int
    arn: str
    status: str
    created: datetime
    metadata: dict[str, str]
    metrics: dict[str, float]

    @property
    def git_sha(self) -> str:
        return self.metadata.get("git_sha", "")


VERSION_COLUMNS = ("version", "status", "test metrics", "git sha", "data", "created")
# The registry's headline numbers of each kind of model, as its statistics file names them.
HEADLINE_METRICS = ("auc", "accuracy", "rmse", "r2")


def version_row(v: ModelVersion) -> tuple[object, ...]:
    """A version as the tables print it (VERSION_COLUMNS)."""
    return (
        v.version,
        v.status,
        "  ".join(f"{n} {v.metrics[n]:.4f}" for n in HEADLINE_METRICS if n in v.metrics),
        v.git_sha[:12],
        v.metadata.get("data_fingerprint", "")[:19],
        v.created.strftime("%Y-%m-%d %H:%M"),
    )


def list_versions(session: boto3.Session, group: str) -> list[ModelVersion]:
    """Every version in the group, newest first."""
    sagemaker = session.client("sagemaker")
    try:
        sagemaker.describe_model_package_group(ModelPackageGroupName=group)
    except ClientError as error:
        if error.response["Error"]["Code"] not in ("ValidationException", "ResourceNotFound"):
            raise AwsAccessError(f"cannot read model package group {group!r}: {error}") from None
        raise NotFoundError(
            f"model package group {group!r} does not exist in account "
            f"{_account(session)}; has `infra apply` run for this environment?"
        ) from None
    summaries = []
    for page in sagemaker.get_paginator("list_model_packages").paginate(
        ModelPackageGroupName=group
    ):
        summaries.extend(page["ModelPackageSummaryList"])
    versions = [_describe(session, summary["ModelPackageArn"]) for summary in summaries]
    return sorted(versions, key=lambda v: v.version, reverse=True)


def set_status(
    session: boto3.Session,
    group: str,
    version: int,
    status: str,
    reason: str,
    decider: boto3.Session | None = None,
) -> ModelVersion:
    """Approve or reject one version; the lineage metadata is kept as it was.

    ``decider`` makes the change (default: ``session``): where approval is manual, only the
    approver role may make a version Approved (deployment.decider).
    """
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
    target = next((v for v in list_versions(session, group) if v.version == version), None)
    if target is None:
        raise NotFoundError(f"model package group {group!r} has no version {version}")
    (decider or session).client("sagemaker").update_model_package(
        ModelPackageArn=target.arn,
        ModelApprovalStatus=status,
        ApprovalDescription=reason,
        # Passed again so that implementations which replace rather than merge (moto does)
        # keep the lineage; on SageMaker re-setting equal values changes nothing.
        CustomerMetadataProperties=target.metadata,
    )
    return _describe(session, target.arn)


def validation_problem(versions: list[ModelVersion], records: list[dict], sha: str) -> str | None:
    """None if this environment validated commit ``sha``: an Approved version has it as its
    lineage, or a run of it succeeded with a model identical to an Approved version (a run
    that registers nothing new). Otherwise what is missing."""
    by_number = {v.version: v for v in versions}
    if any(v.git_sha == sha and v.status == "Approved" for v in versions):
        return None
    for record in records:
        model = record.get("model") or {}
        twin = by_number.get(model.get("version", 0))
        if (
            record.get("git_sha") == sha
            and record.get("status") == "Succeeded"
            and not model.get("registered")
            and twin is not None
            and twin.status == "Approved"
        ):
            return None
    from_sha = [f"v{v.version} {v.status}" for v in versions if v.git_sha == sha]
    if from_sha:
        return f"its version(s) from that commit are {', '.join(from_sha)}, none Approved"
    return "no version was registered from that commit, and no run of it succeeded"


def _describe(session: boto3.Session, arn: str) -> ModelVersion:
    package = session.client("sagemaker").describe_model_package(ModelPackageName=arn)
    statistics = (
        package.get("ModelMetrics", {}).get("ModelQuality", {}).get("Statistics", {}).get("S3Uri")
    )
    return ModelVersion(
        version=package.get("ModelPackageVersion", 0),
        arn=arn,
        status=package.get("ModelApprovalStatus", ""),
        created=package["CreationTime"],
        metadata=package.get("CustomerMetadataProperties") or {},
        metrics=_metrics(session, statistics) if statistics else {},
    )


def _metrics(session: boto3.Session, s3_uri: str) -> dict[str, float]:
    """The headline numbers of a SageMaker model-quality statistics file."""
    bucket, _, key = s3_uri.removeprefix("s3://").partition("/")
    try:
        body = session.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError:
        return {}
    document = json.loads(body)
    section = document.get("binary_classification_metrics") or document.get(
        "regression_metrics", {}
    )
    return {
        name: float(value["value"])
        for name, value in section.items()
        if isinstance(value, dict) and isinstance(value.get("value"), int | float)
    }


def _account(session: boto3.Session) -> str:
    return session.client("sts").get_caller_identity()["Account"]
