"""Put an approved model package behind the environment's real-time endpoint.

Used by the Lambda that EventBridge calls when a package of the environment's group becomes
Approved (``on_approval.py``), and by ``python -m training_pipeline deploy`` for a manual deploy
or a rollback. boto3 and botocore only (the Lambda runtime has them): nothing from
``training_pipeline``.

Every name is derived from the package version, so a repeated event (EventBridge delivers at
least once) finds what it created the first time and changes nothing; a package that is not
Approved, or not of the environment's group, is refused before anything is created.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

VARIANT = "AllTraffic"


class DeployRefused(Exception):
    """The package must not be deployed here; nothing was created."""


@dataclass(frozen=True)
class Target:
    """The environment's endpoint and what its models run with."""

    endpoint_name: str
    model_package_group: str
    instance_type: str
    execution_role_arn: str
    kms_key_arn: str | None = None


@dataclass(frozen=True)
class Deployment:
    endpoint_name: str
    endpoint_config_name: str
    model_package_arn: str
    version: int
    action: str  # "created", "updated" or "unchanged"


def deploy(sagemaker: Any, target: Target, model_package_arn: str) -> Deployment:
    """Serve `model_package_arn` from the target's endpoint (created on first use).

    Raises:
        DeployRefused: the package is not Approved, or belongs to another group.
    """
    package = sagemaker.describe_model_package(ModelPackageName=model_package_arn)
    group, status = package.get("ModelPackageGroupName"), package.get("ModelApprovalStatus")
    if group != target.model_package_group:
        raise DeployRefused(
            f"{model_package_arn} belongs to group {group!r}, not {target.model_package_group!r}"
        )
    if status != "Approved":
        raise DeployRefused(f"{model_package_arn} is {status}, not Approved")
    version = package["ModelPackageVersion"]
    name = f"{target.endpoint_name}-v{version}"

    if not _exists(sagemaker.describe_model, ModelName=name):
        sagemaker.create_model(
            ModelName=name,
            ExecutionRoleArn=target.execution_role_arn,
            PrimaryContainer={"ModelPackageName": package["ModelPackageArn"]},
        )
    if not _exists(sagemaker.describe_endpoint_config, EndpointConfigName=name):
        kms = {"KmsKeyId": target.kms_key_arn} if target.kms_key_arn else {}
        sagemaker.create_endpoint_config(
            EndpointConfigName=name,
            ProductionVariants=[
                {
                    "VariantName": VARIANT,
                    "ModelName": name,
                    "InitialInstanceCount": 1,
                    "InstanceType": target.instance_type,
                }
            ],
            **kms,
        )

    endpoint = _exists(sagemaker.describe_endpoint, EndpointName=target.endpoint_name)
    if not endpoint:
        sagemaker.create_endpoint(EndpointName=target.endpoint_name, EndpointConfigName=name)
        action = "created"
    elif endpoint["EndpointConfigName"] == name:
        action = "unchanged"
    else:
        # SageMaker switches traffic once the new variant is healthy (blue/green) and keeps the
        # old one if it never becomes so.
        sagemaker.update_endpoint(EndpointName=target.endpoint_name, EndpointConfigName=name)
        action = "updated"
    return Deployment(target.endpoint_name, name, package["ModelPackageArn"], version, action)


def _exists(describe: Any, **request: str) -> dict | None:
    """The description, or None when SageMaker says there is no such thing."""
    try:
        return describe(**request)
    except ClientError as error:
        # SageMaker's answer for a missing model, endpoint config or endpoint.
        if "Could not find" in error.response.get("Error", {}).get("Message", ""):
            return None
        raise
