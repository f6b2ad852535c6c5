"""Transform steps: the model's server started locally, every record sent, answers in S3.

A real model (trained as the pipeline trains it) in moto's S3 and registry, served by the real
inference server the runner starts; the answers must be the model's own predictions.
"""

from __future__ import annotations

import io
import json
import tarfile
import uuid
from pathlib import Path

import boto3
import numpy as np
import pytest

from inference import integrity
from training_pipeline.environment.data import load_reference_dataset, model_schema
from training_pipeline.runner import DefinitionError
from training_pipeline.steps import artifacts, train

CANCER = model_schema("cancer")
HYPERPARAMETERS = {"max_iter": 15, "max_depth": 2, "random_state": 0}


@pytest.fixture(scope="module")
def reference():
    return load_reference_dataset()


@pytest.fixture(scope="module")
def served(session: boto3.Session, bucket: str, reference, tmp_path_factory) -> dict:
    """A registered version and a SageMaker model of it, as the batch pipeline creates one."""
    folder = tmp_path_factory.mktemp("model")
    estimator = train.train_model(reference, CANCER, HYPERPARAMETERS)
    artifacts.save_bundle(train.make_bundle(estimator, HYPERPARAMETERS, CANCER), folder)
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        tar.add(folder / artifacts.MODEL_FILE, arcname=artifacts.MODEL_FILE)
    key = f"models/{uuid.uuid4().hex[:8]}/model.tar.gz"
    session.client("s3").put_object(Bucket=bucket, Key=key, Body=archive.getvalue())
    sagemaker = session.client("sagemaker")
    group = f"batch-{uuid.uuid4().hex[:8]}"
    sagemaker.create_model_package_group(ModelPackageGroupName=group)
    package = sagemaker.create_model_package(
        ModelPackageGroupName=group,
        ModelApprovalStatus="Approved",
        InferenceSpecification={
            "Containers": [
                {"Image": "1.dkr.ecr/inference:1", "ModelDataUrl": f"s3://{bucket}/{key}"}
            ],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
    )["ModelPackageArn"]
    archive.seek(0)
    digest = integrity.of_archive(archive)

    def model(name: str, recorded: str = digest) -> str:
        sagemaker.create_model(
            ModelName=name,
            ExecutionRoleArn="arn:aws:iam::123456789012:role/execution",
            PrimaryContainer={
                "ModelPackageName": package,
                "Environment": {"MODEL_DIGEST": recorded, "MODEL_VERSION": f"{group}/1"},
            },
        )
        return name

    return {"estimator": estimator, "model": model, "version": f"{group}/1"}


def transform_definition(model_name: str, input_uri: str, output_uri: str, **changes) -> dict:
    arguments = {
        "ModelName": model_name,
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": input_uri}},
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        "TransformOutput": {
            "S3OutputPath": output_uri,
            "Accept": "application/json",
            "AssembleWith": "Line",
        },
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
        "BatchStrategy": "MultiRecord",
    }
    for path, value in changes.items():
        *parents, last = path.split(".")
        node = arguments
        for parent in parents:
            node = node[parent]
        node[last] = value
    return {
        "Version": "2020-12-01",
        "Steps": [{"Name": "ScoreBatch", "Type": "Transform", "Arguments": arguments}],
    }


def servers_of(work_dir: Path) -> list[str]:
    """Processes still running a model server on a model under `work_dir`."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            arguments = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue  # gone meanwhile
        if b"inference.serving.serve" in arguments and str(work_dir).encode() in b" ".join(
            arguments
        ):
            found.append(cmdline.parent.name)
    return found


def put_csv(session, bucket: str, key: str, frame, header: bool) -> None:
    body = frame.to_csv(index=False, header=header).encode()
    session.client("s3").put_object(Bucket=bucket, Key=key, Body=body)


def answers(session, bucket: str, key: str) -> list[dict]:
    body = session.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    return [json.loads(line) for line in body.splitlines()]


@pytest.mark.parametrize("strategy", ["MultiRecord", "SingleRecord"])
def test_every_row_is_scored_by_the_model_itself(
    runner, session, bucket, served, reference, strategy
):
    model = served["model"](f"batch-{strategy.lower()}-{uuid.uuid4().hex[:6]}")
    features = reference[list(CANCER.features)]
    run = uuid.uuid4().hex[:8]
    # A file with a header (one record per request would make it a request of its own, which
    # has no rows: only a mini-batch may start with one) and one without (the schema's column
    # order), in a sub-folder.
    header = strategy == "MultiRecord"
    put_csv(session, bucket, f"in-{run}/a.csv", features.iloc[:300], header=header)
    put_csv(session, bucket, f"in-{run}/more/b.csv", features.iloc[300:340], header=False)
    definition = transform_definition(
        model, f"s3://{bucket}/in-{run}/", f"s3://{bucket}/out-{run}", BatchStrategy=strategy
    )

    result = runner.run(definition)

    assert result.status == "Succeeded", result.failure_reason
    # The server and its workers are gone with the job.
    assert not servers_of(runner.work_dir)
    scored = []
    for key in (f"out-{run}/a.csv.out", f"out-{run}/more/b.csv.out"):
        lines = answers(session, bucket, key)
        assert {line["model_version"] for line in lines} == {served["version"]}
        scored += [p["malignant_probability"] for line in lines for p in line["predictions"]]
    # One request per row, or as many rows per request as the server's 6 MB take.
    expected_lines = 300 + 40 if strategy == "SingleRecord" else 2
    assert sum(
        len(answers(session, bucket, f"out-{run}/{k}")) for k in ("a.csv.out", "more/b.csv.out")
    ) == (expected_lines)
    own = served["estimator"].predict_proba(features.iloc[:340])[:, 1]
    np.testing.assert_allclose(scored, own, rtol=0, atol=1e-12)
    properties = result.steps[0].properties
    assert properties["TransformJobStatus"] == "Completed"
    assert properties["TransformOutput"]["S3OutputPath"] == f"s3://{bucket}/out-{run}"


def test_a_bad_row_fails_the_job_naming_the_file_lines_and_the_servers_reason(
    runner, session, bucket, served, reference
):
    model = served["model"](f"batch-bad-{uuid.uuid4().hex[:6]}")
    run = uuid.uuid4().hex[:8]
    rows = reference[list(CANCER.features)].iloc[:5].to_csv(index=False, header=False)
    rows = rows.replace("\n", "\nnot,a,row\n", 1)
    session.client("s3").put_object(Bucket=bucket, Key=f"in-{run}/x.csv", Body=rows.encode())
    definition = transform_definition(
        model,
        f"s3://{bucket}/in-{run}/",
        f"s3://{bucket}/out-{run}",
        BatchStrategy="SingleRecord",
    )

    result = runner.run(definition)

    assert result.status == "Failed"
    assert (
        f"s3://{bucket}/in-{run}/x.csv record 2: the model answered 400:" in result.failure_reason
    )
    listed = session.client("s3").list_objects_v2(Bucket=bucket, Prefix=f"out-{run}")
    assert listed["KeyCount"] == 0  # nothing half-written


def test_a_header_in_another_order_is_refused_not_half_obeyed(
    runner, session, bucket, served, reference
):
    # Past the first mini-batch the header is gone: the server, told it is a batch, refuses it.
    model = served["model"](f"batch-order-{uuid.uuid4().hex[:6]}")
    run = uuid.uuid4().hex[:8]
    features = list(CANCER.features)
    put_csv(session, bucket, f"in-{run}/a.csv", reference[features[::-1]].iloc[:50], True)

    result = runner.run(
        transform_definition(model, f"s3://{bucket}/in-{run}/", f"s3://{bucket}/out-{run}")
    )

    assert result.status == "Failed"
    assert "lists the model's features in another order" in result.failure_reason


def test_a_tampered_model_is_refused_and_nothing_is_scored(
    runner, session, bucket, served, reference
):
    model = served["model"](f"batch-tampered-{uuid.uuid4().hex[:6]}", recorded="sha256:" + "0" * 64)
    run = uuid.uuid4().hex[:8]
    put_csv(session, bucket, f"in-{run}/a.csv", reference[list(CANCER.features)].iloc[:5], True)

    result = runner.run(
        transform_definition(model, f"s3://{bucket}/in-{run}/", f"s3://{bucket}/out-{run}")
    )

    assert result.status == "Failed"
    assert "the model server did not start" in result.failure_reason
    assert "it was changed after registration" in result.failure_reason
    assert not servers_of(runner.work_dir)
    listed = session.client("s3").list_objects_v2(Bucket=bucket, Prefix=f"out-{run}")
    assert listed["KeyCount"] == 0


def test_an_empty_input_prefix_fails_the_job(runner, bucket, served):
    model = served["model"](f"batch-empty-{uuid.uuid4().hex[:6]}")
    result = runner.run(
        transform_definition(model, f"s3://{bucket}/nothing-here/", f"s3://{bucket}/out-empty")
    )
    assert result.status == "Failed"
    assert f"no S3 objects found under s3://{bucket}/nothing-here/" in result.failure_reason


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"TransformInput.SplitType": "RecordIO"}, "'RecordIO' is not supported"),
        ({"TransformInput.CompressionType": "Gzip"}, "'Gzip' is not supported"),
        ({"DataProcessing": {"JoinSource": "Input"}}, "unsupported field(s) ['DataProcessing']"),
    ],
)
def test_what_a_local_transform_cannot_honour_is_refused_before_anything_runs(
    runner, change, message
):
    definition = transform_definition("m", "s3://b/in/", "s3://b/out")
    if "DataProcessing" in change:
        definition["Steps"][0]["Arguments"].update(change)
    else:
        definition = transform_definition("m", "s3://b/in/", "s3://b/out", **change)
    with pytest.raises(DefinitionError) as caught:
        runner.run(definition)
    assert message in str(caught.value) and "ScoreBatch" in str(caught.value)
