"""The batch pipeline's first step: which version a batch is scored with (moto's registry)."""

import json
import os
import subprocess
import sys

import boto3
import pytest

from training_pipeline.steps import approved_model
from training_pipeline.steps.errors import ChampionError

GROUP = "mlops-demo-staging"
IMAGE = "111111111111.dkr.ecr.eu-west-1.amazonaws.com/mlops-demo-inference:abc"


def register(status: str, digest: str | None = "sha256:0a1b") -> str:
    """A version of GROUP with ``status`` (and a recorded model digest); its ARN."""
    return boto3.client("sagemaker").create_model_package(
        ModelPackageGroupName=GROUP,
        ModelApprovalStatus=status,
        **({"CustomerMetadataProperties": {"model_digest": digest}} if digest else {}),
        InferenceSpecification={
            "Containers": [{"Image": IMAGE, "ModelDataUrl": f"s3://bucket/{status}/model.tar.gz"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
    )["ModelPackageArn"]


@pytest.fixture
def group(aws):
    boto3.client("sagemaker").create_model_package_group(ModelPackageGroupName=GROUP)


def test_the_newest_approved_version_is_written_for_the_create_model_step(group, tmp_path):
    register("Approved", "sha256:old")
    newest = register("Approved", "sha256:new")
    register("PendingManualApproval", "sha256:pending")
    register("Rejected", "sha256:rejected")

    written = approved_model.main(["--output-dir", str(tmp_path), "--model-package-group", GROUP])

    assert (
        json.loads((tmp_path / "approved.json").read_text())
        == written
        == {
            "model_package_arn": newest,
            "version": 2,
            "model_version": f"{GROUP}/2",
            "model_digest": "sha256:new",
            "image": IMAGE,
            "model_data_url": "s3://bucket/Approved/model.tar.gz",
        }
    )


def test_without_an_approved_version_nothing_is_scored(group, tmp_path):
    register("PendingManualApproval")
    with pytest.raises(ChampionError, match=f"{GROUP} has no Approved version"):
        approved_model.main(["--output-dir", str(tmp_path), "--model-package-group", GROUP])
    assert not (tmp_path / "approved.json").exists()


def test_a_version_without_a_recorded_digest_is_not_used(group, tmp_path):
    arn = register("Approved", digest=None)
    with pytest.raises(ChampionError, match=f"{arn} records no model_digest"):
        approved_model.main(["--output-dir", str(tmp_path), "--model-package-group", GROUP])


def test_as_a_job_it_fails_with_one_line_naming_the_group(code_dir, tmp_path, aws):
    # Started as SageMaker starts it, from the code folder, without a group to look in: the
    # job's last stderr line is its failure reason.
    result = subprocess.run(
        [sys.executable, str(code_dir / "approved_model.py"), "--output-dir", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": "", "MODEL_PACKAGE_GROUP_NAME": ""},
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "ChampionError: no model package group: pass --model-package-group"
    )
