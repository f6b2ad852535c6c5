"""Deploying an Approved model package to the endpoint: deploy.py and the Lambda handler.

Against the embedded AWS (moto) for everything moto implements; moto has no UpdateEndpoint, so
replacing the served version is tested against botocore's Stubber, which checks each request
against the SageMaker API model.
"""

from __future__ import annotations

import datetime as dt
import io
import sys
import uuid
import zipfile

import boto3
import pytest
from botocore.stub import Stubber

from inference import deploy, on_approval
from training_pipeline import lambda_bundle

REGION = "eu-west-1"
ROLE = "arn:aws:iam::123456789012:role/models"


@pytest.fixture
def sagemaker(embedded_env):
    return boto3.Session(region_name=REGION).client("sagemaker")


@pytest.fixture
def group(sagemaker) -> str:
    name = f"group-{uuid.uuid4().hex[:8]}"
    sagemaker.create_model_package_group(ModelPackageGroupName=name)
    return name


def register(sagemaker, group: str, status: str) -> str:
    return sagemaker.create_model_package(
        ModelPackageGroupName=group,
        ModelApprovalStatus=status,
        InferenceSpecification={
            "Containers": [
                {
                    "Image": "111111111111.dkr.ecr.eu-west-1.amazonaws.com/inference:abc",
                    "ModelDataUrl": "s3://artifacts/model.tar.gz",
                }
            ],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
    )["ModelPackageArn"]


def target_for(group: str) -> deploy.Target:
    return deploy.Target(
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


def test_an_approved_package_gets_an_endpoint_and_a_repeat_changes_nothing(sagemaker, group):
    arn = register(sagemaker, group, "Approved")
    target = target_for(group)

    first = deploy.deploy(sagemaker, target, arn)
    assert (first.action, first.version, first.endpoint_config_name) == (
        "created",
        1,
        f"{group}-endpoint-v1",
    )
    model = sagemaker.describe_model(ModelName=f"{group}-endpoint-v1")
    assert model["PrimaryContainer"]["ModelPackageName"] == arn
    assert model["ExecutionRoleArn"] == ROLE
    config = sagemaker.describe_endpoint_config(EndpointConfigName=f"{group}-endpoint-v1")
    assert config["KmsKeyId"] == "alias/environment"
    [variant] = config["ProductionVariants"]
    assert (variant["ModelName"], variant["InstanceType"]) == (
        f"{group}-endpoint-v1",
        "ml.m5.large",
    )
    endpoint = sagemaker.describe_endpoint(EndpointName=f"{group}-endpoint")
    assert endpoint["EndpointConfigName"] == f"{group}-endpoint-v1"

    # EventBridge delivers at least once: the same event again finds it all in place.
    assert deploy.deploy(sagemaker, target, arn).action == "unchanged"
    assert names(sagemaker, group) == (
        [f"{group}-endpoint-v1"],
        [f"{group}-endpoint-v1"],
        [f"{group}-endpoint"],
    )


@pytest.mark.parametrize("status", ["PendingManualApproval", "Rejected"])
def test_a_package_that_is_not_approved_creates_nothing(sagemaker, group, status):
    arn = register(sagemaker, group, status)
    with pytest.raises(deploy.DeployRefused, match=f"is {status}, not Approved"):
        deploy.deploy(sagemaker, target_for(group), arn)
    assert names(sagemaker, group) == ([], [], [])


def test_a_package_of_another_group_creates_nothing(sagemaker, group):
    other = f"{group}-other"
    sagemaker.create_model_package_group(ModelPackageGroupName=other)
    arn = register(sagemaker, other, "Approved")
    with pytest.raises(deploy.DeployRefused, match=f"belongs to group {other!r}"):
        deploy.deploy(sagemaker, target_for(group), arn)
    assert names(sagemaker, group) == ([], [], [])


def test_a_new_version_replaces_the_served_one_with_update_endpoint():
    client = boto3.Session(
        region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
    ).client("sagemaker")
    arn = f"arn:aws:sagemaker:{REGION}:444444444444:model-package/mlops-demo-prod/2"
    missing = "ValidationException"
    with Stubber(client) as stub:
        stub.add_response(
            "describe_model_package",
            {
                "ModelPackageName": "mlops-demo-prod",
                "ModelPackageArn": arn,
                "ModelPackageGroupName": "mlops-demo-prod",
                "ModelPackageVersion": 2,
                "ModelApprovalStatus": "Approved",
                "ModelPackageStatus": "Completed",
                "ModelPackageStatusDetails": {"ValidationStatuses": []},
                "CreationTime": dt.datetime(2026, 11, 22, tzinfo=dt.UTC),
            },
            {"ModelPackageName": arn},
        )
        stub.add_client_error("describe_model", missing, "Could not find model")
        stub.add_response(
            "create_model",
            {"ModelArn": "arn:aws:sagemaker:eu-west-1:444444444444:model/mlops-demo-prod-v2"},
            {
                "ModelName": "mlops-demo-prod-v2",
                "ExecutionRoleArn": ROLE,
                "PrimaryContainer": {"ModelPackageName": arn},
            },
        )
        stub.add_client_error(
            "describe_endpoint_config", missing, "Could not find endpoint configuration"
        )
        stub.add_response(
            "create_endpoint_config",
            {"EndpointConfigArn": "arn:aws:sagemaker:eu-west-1:4:endpoint-config/x"},
            {
                "EndpointConfigName": "mlops-demo-prod-v2",
                "ProductionVariants": [
                    {
                        "VariantName": "AllTraffic",
                        "ModelName": "mlops-demo-prod-v2",
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
                "EndpointConfigName": "mlops-demo-prod-v1",
                "EndpointStatus": "InService",
                "CreationTime": dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
                "LastModifiedTime": dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
            },
            {"EndpointName": "mlops-demo-prod"},
        )
        stub.add_response(
            "update_endpoint",
            {"EndpointArn": "arn:aws:sagemaker:eu-west-1:444444444444:endpoint/mlops-demo-prod"},
            {"EndpointName": "mlops-demo-prod", "EndpointConfigName": "mlops-demo-prod-v2"},
        )
        target = deploy.Target("mlops-demo-prod", "mlops-demo-prod", "ml.m5.xlarge", ROLE)
        deployed = deploy.deploy(client, target, arn)
        stub.assert_no_pending_responses()
    assert (deployed.action, deployed.version) == ("updated", 2)


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


def test_the_handler_deploys_only_approved_packages_of_its_group(sagemaker, group, monkeypatch):
    approved = register(sagemaker, group, "Approved")
    target = target_for(group)
    for name, value in {
        "ENDPOINT_NAME": target.endpoint_name,
        "MODEL_PACKAGE_GROUP": group,
        "INSTANCE_TYPE": target.instance_type,
        "EXECUTION_ROLE_ARN": ROLE,
        "KMS_KEY_ARN": "alias/environment",
    }.items():
        monkeypatch.setenv(name, value)

    for ignored in (
        event(group, approved, "Rejected"),
        event(group, approved, "PendingManualApproval"),
        event("another-group", approved, "Approved"),
        event(group, approved, "Approved", "SageMaker Endpoint State Change"),
    ):
        assert on_approval.handler(ignored)["deployed"] is False
    assert names(sagemaker, group) == ([], [], [])

    result = on_approval.handler(event(group, approved, "Approved"))
    assert result["deployed"] is True and result["action"] == "created"
    assert names(sagemaker, group)[2] == [target.endpoint_name]

    # Rejected since the event was sent: refused, reported, not retried.
    rejected = register(sagemaker, group, "Rejected")
    result = on_approval.handler(event(group, rejected, "Approved"))
    assert result == {"deployed": False, "reason": f"{rejected} is Rejected, not Approved"}


def test_the_lambda_zip_is_reproducible_and_its_handler_imports(tmp_path, monkeypatch):
    first = lambda_bundle.build(tmp_path / "a")
    second = lambda_bundle.build(tmp_path / "b")
    data = (tmp_path / "a" / first).read_bytes()
    assert data == (tmp_path / "b" / second).read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert sorted(archive.namelist()) == ["deploy.py", "on_approval.py"]
    # As the Lambda runtime imports it: the zip's top level on sys.path, no `inference` package.
    monkeypatch.syspath_prepend(str(tmp_path / "a" / first))
    for name in ("deploy", "on_approval"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    module = __import__("on_approval")
    assert module.__file__.startswith(str(tmp_path / "a"))
    assert module.deploy.__file__.startswith(str(tmp_path / "a"))
    for name in ("deploy", "on_approval"):
        sys.modules.pop(name, None)
