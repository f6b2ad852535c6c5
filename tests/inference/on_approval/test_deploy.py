"""Deploying an Approved model package to the endpoint: deploy.py and the Lambda handler.

Against the embedded AWS (moto) for everything moto implements; moto has no UpdateEndpoint, so
replacing the served version is tested against botocore's Stubber, which checks each request
against the SageMaker API model.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import io
import os
import re
import sys
import tarfile
import uuid
import zipfile
from pathlib import Path

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from inference import integrity
from inference.on_approval import deploy
from inference.on_approval import lambda_function as on_approval
from training_pipeline.infra import lambda_bundle

REPO = Path(__file__).resolve().parents[3]

REGION = "eu-west-1"
ROLE = "arn:aws:iam::123456789012:role/models"


@pytest.fixture
def sagemaker(embedded_env):
    return boto3.Session(region_name=REGION).client("sagemaker")


BUCKET = "artifacts-of-deploy-tests"


@pytest.fixture
def s3(embedded_env):
    client = boto3.Session(region_name=REGION).client("s3")
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
        client.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
    return client


@pytest.fixture
def group(sagemaker, s3) -> str:
    name = f"group-{uuid.uuid4().hex[:8]}"
    sagemaker.create_model_package_group(ModelPackageGroupName=name)
    return name


def model_archive(content: bytes) -> bytes:
    """A model.tar.gz holding model.joblib with `content`, as a training job packs it."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        info = tarfile.TarInfo("model.joblib")
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
    return raw.getvalue()


def register(sagemaker, group: str, status: str, *, digest: str | None = "auto") -> str:
    """A package whose artifact is in the embedded S3, recording its digest as the pipeline
    does (``digest=None``: none recorded)."""
    key = f"{group}/{uuid.uuid4().hex[:8]}/model.tar.gz"
    archive = model_archive(f"model of {key}".encode())
    boto3.Session(region_name=REGION).client("s3").put_object(Bucket=BUCKET, Key=key, Body=archive)
    recorded = integrity.of_archive(io.BytesIO(archive)) if digest == "auto" else digest
    return sagemaker.create_model_package(
        ModelPackageGroupName=group,
        ModelApprovalStatus=status,
        InferenceSpecification={
            "Containers": [
                {
                    "Image": "111111111111.dkr.ecr.eu-west-1.amazonaws.com/inference:abc",
                    "ModelDataUrl": f"s3://{BUCKET}/{key}",
                }
            ],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
        **({"CustomerMetadataProperties": {"model_digest": recorded}} if recorded else {}),
    )["ModelPackageArn"]


def target_for(group: str) -> deploy.EndpointTarget:
    return deploy.EndpointTarget(
        endpoint_name=f"{group}-endpoint",
        model_package_group=group,
        instance_type="ml.m5.large",
        execution_role_arn=ROLE,
        kms_key_arn="alias/environment",
    )


def names(sagemaker, group: str) -> tuple[list[str], list[str], list[str]]:
    """The models, endpoint configs and endpoints this group's deployments made."""
    models = [m["ModelName"] for m in sagemaker.list_models()["Models"]]
    configs = [
        c["EndpointConfigName"] for c in sagemaker.list_endpoint_configs()["EndpointConfigs"]
    ]
    endpoints = [e["EndpointName"] for e in sagemaker.list_endpoints()["Endpoints"]]
    return tuple(
        sorted(n for n in found if n.startswith(group)) for found in (models, configs, endpoints)
    )


def test_an_approved_package_gets_an_endpoint_and_a_repeat_changes_nothing(sagemaker, s3, group):
    arn = register(sagemaker, group, "Approved")
    target = target_for(group)

    first = deploy.deploy(sagemaker, target, arn, s3)
    name = first.endpoint_config_name
    assert (first.action, first.version) == ("created", 1)
    assert re.fullmatch(rf"{group}-endpoint-v1-[0-9a-f]{{8}}", name)
    model = sagemaker.describe_model(ModelName=name)
    assert model["PrimaryContainer"]["ModelPackageName"] == arn
    # The container gets the recorded digest: the server refuses any other model's files.
    recorded = sagemaker.describe_model_package(ModelPackageName=arn)["CustomerMetadataProperties"][
        "model_digest"
    ]
    assert model["PrimaryContainer"]["Environment"] == {
        "MODEL_DIGEST": recorded,
        "MODEL_VERSION": f"{group}/1",
    }
    assert model["ExecutionRoleArn"] == ROLE
    config = sagemaker.describe_endpoint_config(EndpointConfigName=name)
    assert config["KmsKeyId"] == "alias/environment"
    [variant] = config["ProductionVariants"]
    assert (variant["ModelName"], variant["InstanceType"]) == (name, "ml.m5.large")
    endpoint = sagemaker.describe_endpoint(EndpointName=f"{group}-endpoint")
    assert endpoint["EndpointConfigName"] == name

    # EventBridge delivers at least once: the same event again finds it all in place.
    assert deploy.deploy(sagemaker, target, arn, s3).action == "unchanged"
    assert names(sagemaker, group) == ([name], [name], [f"{group}-endpoint"])

    # A new instance type in profiles.conf is a new config, not the old one reused.
    bigger = dataclasses.replace(target, instance_type="ml.m5.xlarge")
    assert deploy.config_name(bigger, arn, 1) != name


@pytest.mark.parametrize("status", ["PendingManualApproval", "Rejected"])
def test_a_package_that_is_not_approved_creates_nothing(sagemaker, s3, group, status):
    arn = register(sagemaker, group, status)
    with pytest.raises(deploy.DeployRefused, match=f"is {status}, not Approved"):
        deploy.deploy(sagemaker, target_for(group), arn, s3)
    assert names(sagemaker, group) == ([], [], [])


def test_a_package_of_another_group_creates_nothing(sagemaker, s3, group):
    other = f"{group}-other"
    sagemaker.create_model_package_group(ModelPackageGroupName=other)
    arn = register(sagemaker, other, "Approved")
    with pytest.raises(deploy.DeployRefused, match=f"belongs to group {other!r}"):
        deploy.deploy(sagemaker, target_for(group), arn, s3)
    assert names(sagemaker, group) == ([], [], [])


def test_a_tampered_model_artifact_is_refused_and_nothing_is_created(sagemaker, s3, group):
    arn = register(sagemaker, group, "Approved")
    url = sagemaker.describe_model_package(ModelPackageName=arn)["InferenceSpecification"][
        "Containers"
    ][0]["ModelDataUrl"]
    key = url.removeprefix(f"s3://{BUCKET}/")
    # Someone with write access to the bucket swaps the model after its approval.
    s3.put_object(Bucket=BUCKET, Key=key, Body=model_archive(b"another model"))
    with pytest.raises(deploy.DeployRefused) as refused:
        deploy.deploy(sagemaker, target_for(group), arn, s3)
    message = str(refused.value)
    assert message.startswith(f"the model {url} of {arn} has digest sha256:")
    assert "but its model package records sha256:" in message
    assert "changed after registration" in message
    assert names(sagemaker, group) == ([], [], [])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("no digest", "records no model_digest"),
        ("artifact gone", "cannot read the model of"),
        ("not an archive", "is not a readable archive"),
    ],
)
def test_a_model_that_cannot_be_checked_is_not_deployed(sagemaker, s3, group, change, message):
    arn = register(sagemaker, group, "Approved", digest=None if change == "no digest" else "auto")
    url = sagemaker.describe_model_package(ModelPackageName=arn)["InferenceSpecification"][
        "Containers"
    ][0]["ModelDataUrl"]
    key = url.removeprefix(f"s3://{BUCKET}/")
    if change == "artifact gone":
        s3.delete_object(Bucket=BUCKET, Key=key)
    if change == "not an archive":
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"not a tar.gz")
    with pytest.raises(deploy.DeployRefused, match=message):
        deploy.deploy(sagemaker, target_for(group), arn, s3)
    assert names(sagemaker, group) == ([], [], [])


PROD_ARN = f"arn:aws:sagemaker:{REGION}:444444444444:model-package/mlops-demo-prod/2"
PROD = deploy.EndpointTarget("mlops-demo-prod", "mlops-demo-prod", "ml.m5.xlarge", ROLE)
PROD_V2 = deploy.config_name(PROD, PROD_ARN, 2)
T0 = dt.datetime(2026, 11, 22, tzinfo=dt.UTC)
PROD_ARCHIVE = model_archive(b"prod v2")
PROD_DIGEST = integrity.of_archive(io.BytesIO(PROD_ARCHIVE))
PROD_MODEL_KEY = "pipelines/mlops-demo-prod-training/x2/train/model/model.tar.gz"


def stubbed_s3() -> tuple[object, Stubber]:
    """An S3 client that serves v2's model artifact once, as GetObject does."""
    client = boto3.Session(
        region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
    ).client("s3")
    stub = Stubber(client)
    stub.add_response(
        "get_object",
        {"Body": StreamingBody(io.BytesIO(PROD_ARCHIVE), len(PROD_ARCHIVE))},
        {"Bucket": "mlops-demo-prod-artifacts-444444444444", "Key": PROD_MODEL_KEY},
    )
    return client, stub


def stubbed_prod(endpoint_status: str) -> tuple[object, Stubber]:
    """A SageMaker client that reports v2 Approved, v2's model and config not yet created, and
    the endpoint serving v1 in `endpoint_status`."""
    client = boto3.Session(
        region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
    ).client("sagemaker")
    stub = Stubber(client)
    stub.add_response(
        "describe_model_package",
        {
            "ModelPackageName": "mlops-demo-prod",
            "ModelPackageArn": PROD_ARN,
            "ModelPackageGroupName": "mlops-demo-prod",
            "ModelPackageVersion": 2,
            "ModelApprovalStatus": "Approved",
            "ModelPackageStatus": "Completed",
            "ModelPackageStatusDetails": {"ValidationStatuses": []},
            "CreationTime": T0,
            "InferenceSpecification": {
                "Containers": [
                    {
                        "Image": "111111111111.dkr.ecr.eu-west-1.amazonaws.com/inference:abc",
                        "ModelDataUrl": "s3://mlops-demo-prod-artifacts-444444444444/"
                        + PROD_MODEL_KEY,
                    }
                ],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["application/json"],
            },
            "CustomerMetadataProperties": {"model_digest": PROD_DIGEST},
        },
        {"ModelPackageName": PROD_ARN},
    )
    stub.add_client_error("describe_model", "ValidationException", "Could not find model")
    stub.add_response(
        "create_model",
        {"ModelArn": f"arn:aws:sagemaker:eu-west-1:444444444444:model/{PROD_V2}"},
        {
            "ModelName": PROD_V2,
            "ExecutionRoleArn": ROLE,
            "PrimaryContainer": {
                "ModelPackageName": PROD_ARN,
                "Environment": {"MODEL_DIGEST": PROD_DIGEST, "MODEL_VERSION": "mlops-demo-prod/2"},
            },
        },
    )
    stub.add_client_error(
        "describe_endpoint_config", "ValidationException", "Could not find endpoint configuration"
    )
    stub.add_response(
        "create_endpoint_config",
        {"EndpointConfigArn": f"arn:aws:sagemaker:{REGION}:444444444444:endpoint-config/x"},
        {
            "EndpointConfigName": PROD_V2,
            "ProductionVariants": [
                {
                    "VariantName": "AllTraffic",
                    "ModelName": PROD_V2,
                    "InitialInstanceCount": 1,
                    "InstanceType": "ml.m5.xlarge",
                }
            ],
        },
    )
    stub.add_response(
        "describe_endpoint",
        {
            "EndpointName": "mlops-demo-prod",
            "EndpointArn": "arn:aws:sagemaker:eu-west-1:444444444444:endpoint/mlops-demo-prod",
            "EndpointConfigName": "mlops-demo-prod-v1-0123abcd",
            "EndpointStatus": endpoint_status,
            "FailureReason": "the new variant never became healthy",
            "CreationTime": T0,
            "LastModifiedTime": T0,
        },
        {"EndpointName": "mlops-demo-prod"},
    )
    return client, stub


def test_a_new_version_replaces_the_served_one_with_update_endpoint():
    # Blue/green under the rollback alarms: the Stubber checks the request against
    # UpdateEndpoint's API model (moto has no UpdateEndpoint).
    alarms = ("mlops-demo-prod-5xx-errors", "mlops-demo-prod-p99-latency")
    client, stub = stubbed_prod("InService")
    endpoint_arn = "arn:aws:sagemaker:eu-west-1:444444444444:endpoint/mlops-demo-prod"
    stub.add_response(
        "update_endpoint",
        {"EndpointArn": "arn:aws:sagemaker:eu-west-1:444444444444:endpoint/mlops-demo-prod"},
        {
            "EndpointName": "mlops-demo-prod",
            "EndpointConfigName": PROD_V2,
            "DeploymentConfig": {
                "BlueGreenUpdatePolicy": {
                    "TrafficRoutingConfiguration": {
                        "Type": "ALL_AT_ONCE",
                        "WaitIntervalInSeconds": 600,
                    },
                    "TerminationWaitInSeconds": 0,
                    "MaximumExecutionTimeoutInSeconds": 3600,
                },
                "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": alarm} for alarm in alarms]},
            },
        },
    )
    # Once SageMaker took it, the config the update is for goes on the endpoint: settle()
    # checks it once the update is over.
    stub.add_response(
        "add_tags",
        {"Tags": [{"Key": "deploying-config", "Value": PROD_V2}]},
        {"ResourceArn": endpoint_arn, "Tags": [{"Key": "deploying-config", "Value": PROD_V2}]},
    )
    s3, s3_stub = stubbed_s3()
    with stub, s3_stub:
        target = dataclasses.replace(PROD, rollback_alarms=alarms)
        deployed = deploy.deploy(client, target, PROD_ARN, s3)
        stub.assert_no_pending_responses()
        s3_stub.assert_no_pending_responses()
    # Not "updated": SageMaker finishes the update, or rolls it back, after this returns.
    assert (deployed.action, deployed.version, deployed.endpoint_config_name) == (
        "updating",
        2,
        PROD_V2,
    )


@pytest.mark.parametrize(
    ("status", "error", "message"),
    [
        ("Updating", deploy.EndpointBusy, "is Updating: .* is deployed once it is InService"),
        ("Creating", deploy.EndpointBusy, "is Creating"),
        ("Failed", deploy.EndpointFailed, "is Failed .*never became healthy.*delete-endpoint"),
    ],
)
def test_an_endpoint_that_cannot_be_updated_now_is_left_alone(status, error, message):
    # No update_endpoint response is queued: the Stubber fails the test if it is called.
    client, stub = stubbed_prod(status)
    s3, s3_stub = stubbed_s3()
    with stub, s3_stub, pytest.raises(error, match=message):
        deploy.deploy(client, PROD, PROD_ARN, s3)


def test_the_newest_approved_version_is_the_one_to_serve(sagemaker, s3, group):
    assert deploy.newest_approved(sagemaker, group) is None
    v1 = register(sagemaker, group, "Approved")
    v2 = register(sagemaker, group, "Approved")
    register(sagemaker, group, "PendingManualApproval")
    assert deploy.newest_approved(sagemaker, group) == v2
    # Rejecting the served version rolls back to the previous Approved one.
    sagemaker.update_model_package(ModelPackageArn=v2, ModelApprovalStatus="Rejected")
    assert deploy.newest_approved(sagemaker, group) == v1


def event(group: str, arn: str, status: str, detail_type: str = "") -> dict:
    return {
        "source": "aws.sagemaker",
        "detail-type": detail_type or "SageMaker Model Package State Change",
        "detail": {
            "ModelPackageGroupName": group,
            "ModelPackageArn": arn,
            "ModelApprovalStatus": status,
        },
    }


def test_the_handler_serves_the_newest_approved_version_after_a_decision(
    sagemaker, group, monkeypatch
):
    target = target_for(group)
    for name, value in {
        "ENDPOINT_NAME": target.endpoint_name,
        "MODEL_PACKAGE_GROUP": group,
        "INSTANCE_TYPE": target.instance_type,
        "EXECUTION_ROLE_ARN": ROLE,
        "KMS_KEY_ARN": "alias/environment",
    }.items():
        monkeypatch.setenv(name, value)
    pending = register(sagemaker, group, "PendingManualApproval")

    # Nothing Approved yet: a rejection leaves the (absent) endpoint alone.
    result = on_approval.handler(event(group, pending, "Rejected"))
    assert result == {
        "deployed": False,
        "reason": "nothing Approved: the endpoint is left as it is",
    }
    approved = register(sagemaker, group, "Approved")
    for ignored in (
        event(group, pending, "PendingManualApproval"),
        event("another-group", approved, "Approved"),
        event(group, approved, "Approved", "SageMaker Endpoint State Change"),
    ):
        assert on_approval.handler(ignored)["deployed"] is False
    assert names(sagemaker, group) == ([], [], [])

    # The event names the pending package; what is served is the newest Approved one.
    result = on_approval.handler(event(group, pending, "Approved"))
    assert result["deployed"] is True and result["action"] == "created"
    assert result["model_package_arn"] == approved
    assert names(sagemaker, group)[2] == [target.endpoint_name]
    assert on_approval.handler(event(group, approved, "Approved"))["action"] == "unchanged"


def test_the_lambda_zip_is_reproducible_and_its_handler_imports(tmp_path, monkeypatch):
    first = lambda_bundle.build(tmp_path / "a")
    # The same sources as another checkout has them: other file times and permissions.
    copies = []
    for source in lambda_bundle.SOURCES:
        copy = tmp_path / "checkout" / source.name
        copy.parent.mkdir(exist_ok=True)
        copy.write_bytes(source.read_bytes())
        copy.chmod(0o600)
        os.utime(copy, (0, source.stat().st_mtime + 86400))
        copies.append(copy)
    monkeypatch.setattr(lambda_bundle, "SOURCES", tuple(copies))
    second = lambda_bundle.build(tmp_path / "b")
    data = (tmp_path / "a" / first).read_bytes()
    assert data == (tmp_path / "b" / second).read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert sorted(archive.namelist()) == ["deploy.py", "integrity.py", "lambda_function.py"]
    # As the Lambda runtime imports it: the zip's top level on sys.path, no `inference` package.
    monkeypatch.syspath_prepend(str(tmp_path / "a" / first))
    for name in ("deploy", "integrity", "lambda_function"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    # The handler Terraform configures, imported as the runtime does.
    function_tf = (REPO / "terraform" / "modules" / "deploy-on-approval" / "main.tf").read_text()
    handler = re.search(r'handler\s*=\s*"(\w+)\.(\w+)"', function_tf)
    module = __import__(handler[1])
    assert callable(getattr(module, handler[2]))
    assert module.__file__.startswith(str(tmp_path / "a"))
    assert module.deploy.__file__.startswith(str(tmp_path / "a"))
    assert module.deploy.integrity.__file__.startswith(str(tmp_path / "a"))
    for name in ("deploy", "integrity", "lambda_function"):
        sys.modules.pop(name, None)


def test_data_capture_records_requests_and_answers_into_the_given_prefix(sagemaker, s3, group):
    arn = register(sagemaker, group, "Approved")
    quiet = target_for(group)
    capturing = dataclasses.replace(
        quiet, capture_percent=20, capture_destination="s3://artifacts/datacapture/m/"
    )
    assert deploy.config_name(capturing, arn, 1) != deploy.config_name(quiet, arn, 1)
    done = deploy.deploy(sagemaker, capturing, arn, s3)
    config = sagemaker.describe_endpoint_config(EndpointConfigName=done.endpoint_config_name)
    assert config["DataCaptureConfig"] == {
        "EnableCapture": True,
        "InitialSamplingPercentage": 20,
        "DestinationS3Uri": "s3://artifacts/datacapture/m/",
        "KmsKeyId": "alias/environment",
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        "CaptureContentTypeHeader": {
            "CsvContentTypes": ["text/csv"],
            "JsonContentTypes": ["application/json"],
        },
    }
    # Without capture, no DataCaptureConfig at all.
    assert deploy.data_capture(quiet) == {}


def test_the_function_reads_capture_and_rollback_alarms_from_its_environment():
    base = {
        "ENDPOINT_NAME": "mlops-demo-prod",
        "MODEL_PACKAGE_GROUP": "mlops-demo-prod",
        "INSTANCE_TYPE": "ml.m5.xlarge",
        "EXECUTION_ROLE_ARN": ROLE,
    }
    plain = on_approval.target_from_environment(base)
    assert (plain.capture_percent, plain.rollback_alarms) == (0, ())
    assert deploy.deployment_config(plain) == {}
    target = on_approval.target_from_environment(
        base
        | {
            "CAPTURE_PERCENT": "20",
            "CAPTURE_DESTINATION": "s3://b/datacapture/mlops-demo-prod/",
            "ROLLBACK_ALARMS": "mlops-demo-prod-5xx-errors,mlops-demo-prod-p99-latency",
        }
    )
    assert target.capture_percent == 20
    assert target.capture_destination == "s3://b/datacapture/mlops-demo-prod/"
    assert target.rollback_alarms == ("mlops-demo-prod-5xx-errors", "mlops-demo-prod-p99-latency")


def test_an_update_that_was_rolled_back_is_reported_as_failed(sagemaker, s3, group, monkeypatch):
    # moto has no UpdateEndpoint: the endpoint is created, then put where an update leaves it
    # (the deploying-config tag deploy() sets), serving the old config or the new one.
    target = target_for(group)
    served = deploy.deploy(sagemaker, target, register(sagemaker, group, "Approved"), s3)
    endpoint = sagemaker.describe_endpoint(EndpointName=target.endpoint_name)
    assert deploy.settle(sagemaker, target.endpoint_name) is None  # no update was started
    newer = f"{target.endpoint_name}-v2-0123abcd"
    tag = [{"Key": deploy.DEPLOYING_TAG, "Value": newer}]
    sagemaker.add_tags(ResourceArn=endpoint["EndpointArn"], Tags=tag)
    for _ in range(2):  # every retry of the event fails alike
        with pytest.raises(
            deploy.DeploymentRolledBack,
            match=rf"to {newer} failed: it is InService and serves {served.endpoint_config_name}",
        ):
            deploy.settle(sagemaker, target.endpoint_name)
    # Through the function: the endpoint's state change makes the run fail.
    for name, value in {
        "ENDPOINT_NAME": target.endpoint_name,
        "MODEL_PACKAGE_GROUP": group,
        "INSTANCE_TYPE": target.instance_type,
        "EXECUTION_ROLE_ARN": ROLE,
    }.items():
        monkeypatch.setenv(name, value)
    state_change = {
        "source": "aws.sagemaker",
        "detail-type": "SageMaker Endpoint State Change",
        "detail": {"EndpointName": target.endpoint_name, "EndpointStatus": "IN_SERVICE"},
    }
    with pytest.raises(deploy.DeploymentRolledBack):
        on_approval.handler(state_change)

    # An update that took: reported once, then forgotten.
    current = [{"Key": deploy.DEPLOYING_TAG, "Value": served.endpoint_config_name}]
    sagemaker.add_tags(ResourceArn=endpoint["EndpointArn"], Tags=current)
    assert on_approval.handler(state_change)["deployed"] is True
    assert sagemaker.list_tags(ResourceArn=endpoint["EndpointArn"])["Tags"] == []
    assert deploy.settle(sagemaker, target.endpoint_name) is None


def test_with_two_instances_or_more_an_update_is_a_canary():
    alarms = ("e-5xx-errors", "e-p99-latency")
    one = deploy.EndpointTarget("e", "g", "ml.m5.large", ROLE, rollback_alarms=alarms)
    two = dataclasses.replace(one, instance_count=2)
    routing = deploy.deployment_config(two)["DeploymentConfig"]["BlueGreenUpdatePolicy"]
    assert routing["TrafficRoutingConfiguration"] == {
        "Type": "CANARY",
        "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1},
        "WaitIntervalInSeconds": 600,
    }
    single = deploy.deployment_config(one)["DeploymentConfig"]["BlueGreenUpdatePolicy"]
    assert single["TrafficRoutingConfiguration"]["Type"] == "ALL_AT_ONCE"
    # The API model accepts both (the Stubber validates the request's shape).
    client = boto3.Session(
        region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
    ).client("sagemaker")
    with Stubber(client) as stub:
        for target in (one, two):
            request = {"EndpointName": "e", "EndpointConfigName": "c"}
            request |= deploy.deployment_config(target)
            arn_e = "arn:aws:sagemaker:eu-west-1:123456789012:endpoint/e"
            stub.add_response("update_endpoint", {"EndpointArn": arn_e}, request)
            client.update_endpoint(**request)
    # Another instance count is another config (names stay as they were for one instance).
    arn = "arn:aws:sagemaker:eu-west-1:1:model-package/g/1"
    assert deploy.config_name(one, arn, 1) != deploy.config_name(two, arn, 1)


def test_a_rejected_rollback_is_forgotten_once_the_old_version_is_served_again(
    sagemaker, s3, group
):
    # After a rollback the bad version is rejected: the function deploys the served version,
    # "unchanged", and the rolled-back update is no longer reported.
    target = target_for(group)
    served = deploy.deploy(sagemaker, target, register(sagemaker, group, "Approved"), s3)
    arn = sagemaker.describe_endpoint(EndpointName=target.endpoint_name)["EndpointArn"]
    sagemaker.add_tags(ResourceArn=arn, Tags=[{"Key": deploy.DEPLOYING_TAG, "Value": "bad"}])
    again = deploy.deploy(sagemaker, target, served.model_package_arn, s3)
    assert again.action == "unchanged"
    assert sagemaker.list_tags(ResourceArn=arn)["Tags"] == []
    assert deploy.settle(sagemaker, target.endpoint_name) is None
    # The CLI compares with the config it started, whether or not the tag is still there.
    assert (
        deploy.settle(sagemaker, target.endpoint_name, wanted=served.endpoint_config_name)
        == "updated"
    )
