"""Put an approved model package behind the environment's real-time endpoint.

Used by the Lambda that EventBridge calls when a package of the environment's group is approved
or rejected (``lambda_function.py``: it serves the group's newest Approved version), and by
``python -m training_pipeline deploy`` for a manual deploy or a pinned rollback. boto3 and
botocore only (the Lambda runtime has them): nothing from ``training_pipeline``.

A model and its endpoint config are named after the package version and a digest of what they
are made of (package, instance type and count, key, role, data capture), so a repeated event
finds what the first one created and changes nothing, while a new instance type in
profiles.conf does make a new config.
A package that is not Approved, or not of the environment's group, or whose model artifact is
not the one it recorded at registration (``model_digest``, see inference/integrity.py), is
refused before anything is created; the container is told the digest too (``MODEL_DIGEST``) and
refuses to load any other model.
"""

from __future__ import annotations

import hashlib
import tarfile
import tempfile
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

if __package__:  # the `inference` package: tests and the CLI
    from inference import integrity
else:  # the Lambda bundle: integrity.py sits next to this file at the zip's top level
    import integrity

VARIANT = "AllTraffic"
# Blue/green updates: SageMaker starts the new version's fleet beside the serving one. With two
# instances or more, a canary: one instance of the new version takes its share of the traffic
# for BAKE_SECONDS (the baking period, under the rollback alarms), then the rest moves; with one
# instance (a canary may be at most half the fleet) all traffic moves at once and is baked for
# BAKE_SECONDS. An alarm going off while a step bakes moves the traffic back.
BAKE_SECONDS = 600
MAX_UPDATE_SECONDS = 3600
# Tag on the endpoint naming the config an update under way should end on; settle() compares
# it with what the endpoint serves once the update is over.
DEPLOYING_TAG = "deploying-config"
# While an endpoint is in one of these states SageMaker refuses UpdateEndpoint.
BUSY = {"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"}


class DeployRefused(Exception):
    """The package must not be deployed here; nothing was created."""


class EndpointBusy(Exception):
    """The endpoint is being created or updated: try again when it is InService."""


class EndpointFailed(Exception):
    """The endpoint is Failed and cannot be updated: a person must delete it first."""


class DeploymentRolledBack(Exception):
    """SageMaker moved the traffic back to the version served before: the update failed."""


@dataclass(frozen=True)
class EndpointTarget:
    """The environment's endpoint and what its models run with."""

    endpoint_name: str
    model_package_group: str
    instance_type: str
    execution_role_arn: str
    kms_key_arn: str | None = None
    # Data capture: the percentage of requests recorded with their answers (0: none), and the
    # S3 prefix SageMaker writes them under (its own layout below it: endpoint/variant/date).
    capture_percent: int = 0
    capture_destination: str | None = None
    # CloudWatch alarms (Terraform's, on the endpoint's 5xx errors and latency) that roll an
    # update back while SageMaker bakes it.
    rollback_alarms: tuple[str, ...] = ()
    # Instances behind the endpoint: with two or more an update is a canary (one instance of
    # the new version takes its share of the traffic first).
    instance_count: int = 1


@dataclass(frozen=True)
class Deployment:
    endpoint_name: str
    endpoint_config_name: str
    model_package_arn: str
    version: int
    # "created", "unchanged", or "updating": SageMaker finishes the update or rolls it back
    # (settle() tells which)
    action: str


def newest_approved(sagemaker: Any, group: str) -> str | None:
    """The ARN of the group's most recently created Approved package, if any."""
    packages = sagemaker.list_model_packages(
        ModelPackageGroupName=group,
        ModelApprovalStatus="Approved",
        SortBy="CreationTime",
        SortOrder="Descending",
        MaxResults=1,
    )["ModelPackageSummaryList"]
    return packages[0]["ModelPackageArn"] if packages else None


def config_name(target: EndpointTarget, model_package_arn: str, version: int) -> str:
    """The name of the model and endpoint config serving `model_package_arn` on `target`."""
    makings = [model_package_arn, target.instance_type, target.kms_key_arn or ""]
    if target.capture_percent:  # a new sampling or destination makes a new config
        makings += [str(target.capture_percent), target.capture_destination or ""]
    if target.instance_count != 1:
        makings.append(f"instances={target.instance_count}")
    digest = hashlib.sha256("|".join([*makings, target.execution_role_arn]).encode())
    return f"{target.endpoint_name}-v{version}-{digest.hexdigest()[:8]}"


def deploy(sagemaker: Any, target: EndpointTarget, model_package_arn: str, s3: Any) -> Deployment:
    """Serve `model_package_arn` from the target's endpoint (created on first use); `s3` reads
    its model artifact, whose digest is checked against the one the package recorded.

    Raises:
        DeployRefused: the package is not Approved, belongs to another group, records no model
            digest, or its artifact is missing or differs from what was registered.
        EndpointBusy: the endpoint is being created or updated (retry later).
        EndpointFailed: the endpoint is Failed.
    """
    package = sagemaker.describe_model_package(ModelPackageName=model_package_arn)
    group, status = package.get("ModelPackageGroupName"), package.get("ModelApprovalStatus")
    if group != target.model_package_group:
        raise DeployRefused(
            f"{model_package_arn} belongs to group {group!r}, not {target.model_package_group!r}"
        )
    if status != "Approved":
        raise DeployRefused(f"{model_package_arn} is {status}, not Approved")
    recorded = verify_artifact(s3, package)
    version = package["ModelPackageVersion"]
    name = config_name(target, package["ModelPackageArn"], version)

    if not _exists(sagemaker.describe_model, ModelName=name):
        _create(
            sagemaker.create_model,
            ModelName=name,
            ExecutionRoleArn=target.execution_role_arn,
            PrimaryContainer={
                "ModelPackageName": package["ModelPackageArn"],
                # The server checks the files it is given against the digest before loading
                # them, and names the version in every answer.
                "Environment": {"MODEL_DIGEST": recorded, "MODEL_VERSION": f"{group}/{version}"},
            },
        )
    if not _exists(sagemaker.describe_endpoint_config, EndpointConfigName=name):
        kms = {"KmsKeyId": target.kms_key_arn} if target.kms_key_arn else {}
        variant = {
            "VariantName": VARIANT,
            "ModelName": name,
            "InitialInstanceCount": target.instance_count,
            "InstanceType": target.instance_type,
        }
        _create(
            sagemaker.create_endpoint_config,
            EndpointConfigName=name,
            ProductionVariants=[variant],
            **kms,
            **data_capture(target),
        )

    endpoint = _exists(sagemaker.describe_endpoint, EndpointName=target.endpoint_name)
    if not endpoint:
        sagemaker.create_endpoint(EndpointName=target.endpoint_name, EndpointConfigName=name)
        action = "created"
    elif endpoint.get("EndpointStatus") == "Failed":
        raise EndpointFailed(
            f"endpoint {target.endpoint_name} is Failed ({endpoint.get('FailureReason')}): "
            f"delete it (aws sagemaker delete-endpoint --endpoint-name {target.endpoint_name}) "
            "and deploy again"
        )
    elif endpoint["EndpointConfigName"] == name:
        _forget_other_update(sagemaker, endpoint["EndpointArn"], name)
        action = "unchanged"
    elif endpoint.get("EndpointStatus") in BUSY:
        raise EndpointBusy(
            f"endpoint {target.endpoint_name} is {endpoint['EndpointStatus']}: "
            f"{name} is deployed once it is InService again"
        )
    else:
        # SageMaker switches traffic once the new variant is healthy (blue/green), keeps the old
        # one if it never becomes so, and with rollback alarms moves traffic back when one goes
        # off while it bakes.
        sagemaker.update_endpoint(
            EndpointName=target.endpoint_name,
            EndpointConfigName=name,
            **deployment_config(target),
        )
        # Only once SageMaker took the update: a refused one must not be reported as rolled
        # back later. (The update takes minutes; the tag is there long before it ends.)
        sagemaker.add_tags(
            ResourceArn=endpoint["EndpointArn"], Tags=[{"Key": DEPLOYING_TAG, "Value": name}]
        )
        action = "updating"
    return Deployment(target.endpoint_name, name, package["ModelPackageArn"], version, action)


def settle(sagemaker: Any, endpoint_name: str, wanted: str | None = None) -> str | None:
    """How the update deploy() started on the endpoint ended, once it is over.

    Returns "updated" when the endpoint serves the config the update was for (and forgets the
    update), None while the update is under way or when none was started. The config is the
    one the endpoint's tag names, or ``wanted`` (the CLI's, which the function may have
    forgotten already).

    Raises:
        DeploymentRolledBack: the endpoint settled on another config: SageMaker rolled the
            update back (a rollback alarm went off while it baked, or the new fleet never
            became healthy). The update is not forgotten, so every retry of the event fails
            alike and the event reaches the on-failure queue, until the next deployment.
    """
    endpoint = _exists(sagemaker.describe_endpoint, EndpointName=endpoint_name)
    if not endpoint or endpoint.get("EndpointStatus") in BUSY:
        return None
    arn = endpoint["EndpointArn"]
    tagged = _update_under_way(sagemaker, arn)
    wanted = wanted or tagged
    if wanted is None:
        return None
    serving, status = endpoint["EndpointConfigName"], endpoint.get("EndpointStatus")
    if status == "InService" and serving == wanted:
        if tagged:
            sagemaker.delete_tags(ResourceArn=arn, TagKeys=[DEPLOYING_TAG])
        return "updated"
    reason = endpoint.get("FailureReason")
    raise DeploymentRolledBack(
        f"the update of endpoint {endpoint_name} to {wanted} failed: it is {status} and serves "
        f"{serving}{f' ({reason})' if reason else ''}; the version stays Approved but is not "
        "served: see the endpoint's rollback alarms and its logs"
    )


def _update_under_way(sagemaker: Any, endpoint_arn: str) -> str | None:
    # A dict: the last value of the key wins, as AddTags overwrites (moto appends instead).
    tags = {
        tag["Key"]: tag["Value"] for tag in sagemaker.list_tags(ResourceArn=endpoint_arn)["Tags"]
    }
    return tags.get(DEPLOYING_TAG)


def _forget_other_update(sagemaker: Any, endpoint_arn: str, serving: str) -> None:
    """The endpoint serves what it should: an update to anything else (one rolled back, whose
    version was then rejected) is no longer to be reported."""
    tagged = _update_under_way(sagemaker, endpoint_arn)
    if tagged is not None and tagged != serving:
        sagemaker.delete_tags(ResourceArn=endpoint_arn, TagKeys=[DEPLOYING_TAG])


def deployment_config(target: EndpointTarget) -> dict:
    """UpdateEndpoint's DeploymentConfig: blue/green (a canary with two instances or more),
    baked under the target's rollback alarms (none: SageMaker's default blue/green switch)."""
    if not target.rollback_alarms:
        return {}
    return {
        "DeploymentConfig": {
            "BlueGreenUpdatePolicy": {
                "TrafficRoutingConfiguration": _traffic_routing(target),
                "TerminationWaitInSeconds": 0,
                "MaximumExecutionTimeoutInSeconds": MAX_UPDATE_SECONDS,
            },
            "AutoRollbackConfiguration": {
                "Alarms": [{"AlarmName": name} for name in target.rollback_alarms]
            },
        }
    }


def _traffic_routing(target: EndpointTarget) -> dict:
    if target.instance_count < 2:
        return {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": BAKE_SECONDS}
    return {
        "Type": "CANARY",
        "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1},
        "WaitIntervalInSeconds": BAKE_SECONDS,
    }


def data_capture(target: EndpointTarget) -> dict:
    """CreateEndpointConfig's DataCaptureConfig for the target, if it captures at all: requests
    and answers, both content types the server takes, encrypted with the environment's key."""
    if not target.capture_percent:
        return {}
    if not target.capture_destination:
        raise ValueError(
            f"{target.endpoint_name} captures {target.capture_percent}% but has no destination"
        )
    config = {
        "EnableCapture": True,
        "InitialSamplingPercentage": target.capture_percent,
        "DestinationS3Uri": target.capture_destination,
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        "CaptureContentTypeHeader": {
            "CsvContentTypes": ["text/csv"],
            "JsonContentTypes": ["application/json"],
        },
    }
    if target.kms_key_arn:
        config["KmsKeyId"] = target.kms_key_arn
    return {"DataCaptureConfig": config}


def verify_artifact(s3: Any, package: dict) -> str:
    """The package's recorded model digest, once its model artifact in S3 is found to have it.

    Raises:
        DeployRefused: no digest was recorded, the artifact cannot be read, or it differs.
    """
    arn = package["ModelPackageArn"]
    recorded = (package.get("CustomerMetadataProperties") or {}).get("model_digest")
    if not recorded:
        raise DeployRefused(
            f"{arn} records no model_digest: a package that was not registered by the pipeline "
            "cannot be checked, so it is not deployed"
        )
    url = package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
    bucket, _, key = url.removeprefix("s3://").partition("/")
    with tempfile.TemporaryFile() as copy:
        try:
            body = s3.get_object(Bucket=bucket, Key=key)["Body"]
            for chunk in iter(lambda: body.read(1 << 20), b""):
                copy.write(chunk)
        except ClientError as error:
            raise DeployRefused(f"cannot read the model of {arn} at {url}: {error}") from None
        copy.seek(0)
        try:
            integrity.check(integrity.of_archive(copy), recorded, f"the model {url} of {arn}")
        except integrity.DigestMismatch as mismatch:
            raise DeployRefused(str(mismatch)) from None
        except (tarfile.TarError, OSError, EOFError) as error:
            raise DeployRefused(
                f"the model {url} of {arn} is not a readable archive: {error}"
            ) from None
    return recorded


def _exists(describe: Any, **request: str) -> dict | None:
    """The description, or None when SageMaker says there is no such thing."""
    try:
        return describe(**request)
    except ClientError as error:
        details = error.response.get("Error", {})
        # SageMaker's answer for a missing model, endpoint config or endpoint.
        if details.get("Code") == "ValidationException" and "Could not find" in details.get(
            "Message", ""
        ):
            return None
        raise


def _create(create: Any, **request: Any) -> None:
    """Create, unless a concurrent deployment (the CLI and the function) just did."""
    try:
        create(**request)
    except ClientError as error:
        if "already existing" not in error.response.get("Error", {}).get("Message", ""):
            raise
