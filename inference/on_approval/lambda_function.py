"""Lambda handler: serve the group's newest Approved model after an approval or a rejection.

EventBridge calls it with "SageMaker Model Package State Change" events of this environment's
group whose package is Approved or Rejected (terraform/modules/deploy-on-approval). The event
only says that something changed: the function deploys the group's newest Approved version as
SageMaker lists it now. So events may come twice or out of order and the endpoint still ends on
the newest Approved version; approving a new version releases it, and rejecting the served
version rolls back to the previous Approved one. A group with nothing Approved leaves the
endpoint as it is.

An endpoint that is still being created or updated raises EndpointBusy: Lambda retries the
event twice (about 1 and 2 minutes later), then leaves it with its error in the on-failure
queue; `python -m training_pipeline deploy` finishes the job.

An update is blue/green under the endpoint's rollback alarms and ends after the function has
returned ("updating"). A second rule sends the endpoint's own state changes here: once the
endpoint is InService again the function checks it serves the version the update was for, and
if SageMaker rolled the update back it fails (DeploymentRolledBack), so a rolled-back
deployment is reported as failed, with its reason, in the on-failure queue.

Configuration, from the function's environment: ENDPOINT_NAME, MODEL_PACKAGE_GROUP,
INSTANCE_TYPE, EXECUTION_ROLE_ARN and, optionally, KMS_KEY_ARN, CAPTURE_PERCENT and
CAPTURE_DESTINATION (data capture), ROLLBACK_ALARMS (comma-separated alarm names) and
INSTANCE_COUNT (1 unless set).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

import boto3

if __package__:  # the `inference` package: tests and the CLI
    from . import deploy
else:  # the Lambda bundle: deploy.py sits next to this file at the zip's top level
    import deploy

RELEVANT = {"Approved", "Rejected"}


def target_from_environment(environ: Mapping[str, str]) -> deploy.EndpointTarget:
    """The deploy target the function is configured for; KeyError names a missing variable."""
    return deploy.EndpointTarget(
        endpoint_name=environ["ENDPOINT_NAME"],
        model_package_group=environ["MODEL_PACKAGE_GROUP"],
        instance_type=environ["INSTANCE_TYPE"],
        execution_role_arn=environ["EXECUTION_ROLE_ARN"],
        kms_key_arn=environ.get("KMS_KEY_ARN") or None,
        capture_percent=int(environ.get("CAPTURE_PERCENT") or 0),
        capture_destination=environ.get("CAPTURE_DESTINATION") or None,
        rollback_alarms=tuple(filter(None, environ.get("ROLLBACK_ALARMS", "").split(","))),
        instance_count=int(environ.get("INSTANCE_COUNT") or 1),
    )


def concerns_serving(event: Mapping[str, Any], group: str) -> bool:
    """Whether the event is an approval or a rejection in `group` (the rule's pattern, again,
    so that a widened rule cannot make the function act on anything else)."""
    detail = event.get("detail") or {}
    return (
        event.get("detail-type") == "SageMaker Model Package State Change"
        and detail.get("ModelPackageGroupName") == group
        and detail.get("ModelApprovalStatus") in RELEVANT
    )


def concerns_the_endpoint(event: Mapping[str, Any], endpoint_name: str) -> bool:
    """Whether the event is a state change of the target's endpoint (the second rule's
    pattern, again)."""
    detail = event.get("detail") or {}
    return (
        event.get("detail-type") == "SageMaker Endpoint State Change"
        and detail.get("EndpointName") == endpoint_name
    )


def handler(event: Mapping[str, Any], context: Any = None) -> dict:
    target = target_from_environment(os.environ)
    sagemaker = boto3.client("sagemaker")
    if concerns_the_endpoint(event, target.endpoint_name):
        # The end of an update this function started: success is logged, a rollback raises
        # DeploymentRolledBack, so the run fails, is retried, and lands in the on-failure queue.
        outcome = deploy.settle(sagemaker, target.endpoint_name)
        result = {"deployed": outcome == "updated", "endpoint_name": target.endpoint_name}
        result["reason"] = (
            "the update is over: the endpoint serves the new version"
            if outcome
            else "no update started here has ended yet"
        )
    elif not concerns_serving(event, target.model_package_group):
        result = {"deployed": False, "reason": "not an approval or rejection in this group"}
    elif (arn := deploy.newest_approved(sagemaker, target.model_package_group)) is None:
        result = {"deployed": False, "reason": "nothing Approved: the endpoint is left as it is"}
    else:
        try:
            result = {
                "deployed": True,
                **asdict(deploy.deploy(sagemaker, target, arn, boto3.client("s3"))),
            }
        except deploy.DeployRefused as refusal:
            # Not an error to retry: the package was rejected or moved on since it was listed.
            result = {"deployed": False, "reason": str(refusal)}
    print(json.dumps(result))  # the function's log line in CloudWatch
    return result
