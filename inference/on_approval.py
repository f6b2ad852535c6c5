"""Lambda handler: deploy a model package when it becomes Approved in this environment.

EventBridge calls it with a "SageMaker Model Package State Change" event. The rule
(terraform/modules/deploy-on-approval) already matches only this group's Approved packages;
the handler checks again, so that a widened rule can never deploy a Rejected or pending model,
and deploy.py checks the package's status as SageMaker reports it now, not as the event did.

Configuration, from the function's environment: ENDPOINT_NAME, MODEL_PACKAGE_GROUP,
INSTANCE_TYPE, EXECUTION_ROLE_ARN and, optionally, KMS_KEY_ARN.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

import boto3

try:  # in the Lambda bundle, deploy.py sits next to this file
    import deploy
except ImportError:  # imported as part of the `inference` package (tests, the CLI)
    from inference import deploy


def target_from_environment(environ: Mapping[str, str]) -> deploy.Target:
    """The deploy target the function is configured for; KeyError names a missing variable."""
    return deploy.Target(
        endpoint_name=environ["ENDPOINT_NAME"],
        model_package_group=environ["MODEL_PACKAGE_GROUP"],
        instance_type=environ["INSTANCE_TYPE"],
        execution_role_arn=environ["EXECUTION_ROLE_ARN"],
        kms_key_arn=environ.get("KMS_KEY_ARN") or None,
    )


def approved_package(event: Mapping[str, Any], group: str) -> str | None:
    """The ARN of the package the event reports Approved in `group`; None for anything else."""
    detail = event.get("detail") or {}
    if (
        event.get("detail-type") != "SageMaker Model Package State Change"
        or detail.get("ModelPackageGroupName") != group
        or detail.get("ModelApprovalStatus") != "Approved"
    ):
        return None
    return detail.get("ModelPackageArn")


def handler(event: Mapping[str, Any], context: Any = None) -> dict:
    target = target_from_environment(os.environ)
    arn = approved_package(event, target.model_package_group)
    if arn is None:
        result = {"deployed": False, "reason": "not an Approved package of this group"}
    else:
        try:
            deployment = deploy.deploy(boto3.client("sagemaker"), target, arn)
            result = {"deployed": True, **asdict(deployment)}
        except deploy.DeployRefused as refusal:
            # Not an error to retry: the package was rejected or moved on since the event.
            result = {"deployed": False, "reason": str(refusal)}
    print(json.dumps(result))  # the function's log line in CloudWatch
    return result
