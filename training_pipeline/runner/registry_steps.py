"""Model (CreateModel) and RegisterModel (CreateModelPackage) steps: real SageMaker API calls."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from .expressions import to_text
from .jobs import JobContext

# Request fields that never come back from a Describe call, even on SageMaker itself.
_WRITE_ONLY = {"ClientToken", "CertifyForMarketplace"}
# Fields whose value is the service default: a registry that forgets them loses nothing.
_DEFAULTS = {"SkipModelValidation": "None"}


def _coerce(shape: Any, value: Any) -> Any:
    """`value` with scalars converted to the types the API's input shape declares.

    Parameters and JsonGet results are typed (an Integer parameter is an int), while API
    fields often are strings: SageMaker converts them when it calls the API, so do we.
    """
    if shape.type_name == "structure" and isinstance(value, dict):
        return {
            key: _coerce(shape.members[key], item) if key in shape.members else item
            for key, item in value.items()
        }
    if shape.type_name == "list" and isinstance(value, list):
        return [_coerce(shape.member, item) for item in value]
    if shape.type_name == "map" and isinstance(value, dict):
        return {key: _coerce(shape.value, item) for key, item in value.items()}
    if shape.type_name == "string" and isinstance(value, (bool, int, float)):
        return to_text(value)
    return value


def _request(client: Any, operation: str, arguments: Mapping[str, Any]) -> dict[str, Any]:
    shape = client.meta.service_model.operation_model(operation).input_shape
    return _coerce(shape, dict(arguments))


def _without_metadata(response: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


def run_create_model(context: JobContext, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """CreateModel under the step's generated name; DescribeModel result."""
    sagemaker = context.client("sagemaker")
    request = _request(sagemaker, "CreateModel", {**arguments, "ModelName": context.job_name})
    context.retrier.call(sagemaker.create_model, **request)
    described = context.retrier.call(sagemaker.describe_model, ModelName=request["ModelName"])
    return _without_metadata(described)


def _ensure_group(context: JobContext, sagemaker: Any, group: str) -> None:
    # SageMaker Pipelines creates a missing model package group on first registration.
    try:
        context.retrier.call(sagemaker.describe_model_package_group, ModelPackageGroupName=group)
    except ClientError as error:
        if error.response["Error"]["Code"] not in ("ValidationException", "ResourceNotFound"):
            raise
        context.log(f"    creating model package group {group}")
        context.retrier.call(sagemaker.create_model_package_group, ModelPackageGroupName=group)


def run_register_model(context: JobContext, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """CreateModelPackage with the step's arguments; DescribeModelPackage result.

    Fields the service accepted but does not return are reported, so that a registry
    (an emulator, say) that drops data does not do so silently.
    """
    sagemaker = context.client("sagemaker")
    request = _request(sagemaker, "CreateModelPackage", arguments)
    group = request.get("ModelPackageGroupName")
    if isinstance(group, str) and not group.startswith("arn:"):
        _ensure_group(context, sagemaker, group)
    arn = context.retrier.call(sagemaker.create_model_package, **request)["ModelPackageArn"]
    described = _without_metadata(
        context.retrier.call(sagemaker.describe_model_package, ModelPackageName=arn)
    )
    dropped = sorted(
        key
        for key in set(request) - set(described) - _WRITE_ONLY
        if _DEFAULTS.get(key) != request[key]
    )
    if dropped:
        context.log(f"    warning: DescribeModelPackage does not return {dropped} for {arn}")
    return {**described, "ModelPackageArn": arn}
