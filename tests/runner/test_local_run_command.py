"""`local-run DEFINITION.json`: any SDK-built definition, run by the CLI against moto's server."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import boto3
import pytest

from tooling import require
from training_pipeline import cli
from training_pipeline.runner import isolation

from . import sdk_pipelines


@pytest.fixture
def definition_file(session: boto3.Session, bucket: str, tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv("TP_WORK_DIR", str(tmp_path / "work"))
    session.client("s3").put_object(
        Bucket=bucket, Key="raw/part-1.csv", Body=b"x,y\n1,0\n2,1\n3,0\n"
    )
    path = tmp_path / "container-style.json"
    path.write_text(json.dumps(sdk_pipelines.container_style_pipeline(bucket, tmp_path)))
    return path


def model_json(session: boto3.Session, package_arn: str) -> dict:
    sagemaker, s3 = session.client("sagemaker"), session.client("s3")
    package = sagemaker.describe_model_package(ModelPackageName=package_arn)
    uri = package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    archive = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(archive)) as bundle:
        return json.loads(bundle.extractfile("model.json").read())


def test_a_container_style_sdk_pipeline_runs_and_registers(session, definition_file, capsys):
    require(isolation.available(), "jobs cannot be isolated here (util-linux unshare)")
    group = "local-run-group"
    session.client("sagemaker").create_model_package_group(ModelPackageGroupName=group)

    status = cli.main(
        [
            "local-run",
            str(definition_file),
            "--param",
            "Label=from-cli",
            "--param",
            f"Group={group}",
        ]
    )

    out = capsys.readouterr().out
    assert status == 0, out
    for step in ("Prepare", "Learn", "Publish"):
        assert any(line.startswith(step) and "Succeeded" in line for line in out.splitlines())
    packages = session.client("sagemaker").list_model_packages(ModelPackageGroupName=group)
    (package,) = packages["ModelPackageSummaryList"]
    model = model_json(session, package["ModelPackageArn"])
    assert (model["label"], model["rows"], model["epochs"]) == ("from-cli", 3, 2)
    assert not Path("/opt/ml").exists()


def test_an_unknown_parameter_is_named_and_nothing_runs(session, definition_file, capsys):
    status = cli.main(["local-run", str(definition_file), "--param", "Labl=x"])

    err = capsys.readouterr().err
    assert status == 1
    assert str(definition_file) in err and "Labl" in err
    assert not (Path(definition_file).parent / "work" / "local-run").exists()


@pytest.mark.parametrize(("text", "problem"), [("{", ":1: not JSON"), ('{"Steps": 3}', "Steps")])
def test_a_broken_definition_file_is_named(tmp_path, text, problem, capsys, aws_env):
    path = tmp_path / "broken.json"
    path.write_text(text)

    assert cli.main(["local-run", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"Error: {path}") and problem in err


def test_a_missing_definition_file_is_named(tmp_path, capsys):
    assert cli.main(["local-run", str(tmp_path / "nope.json")]) == 1
    assert f"{tmp_path / 'nope.json'}: cannot read it" in capsys.readouterr().err


def test_credentials_that_do_not_work_are_an_error_not_a_traceback(tmp_path, capsys, monkeypatch):
    path = tmp_path / "pipeline.json"
    path.write_text('{"Version": "2020-12-01", "Steps": []}')
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_PROFILE", "nobody")

    assert cli.main(["local-run", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: cannot reach AWS with these credentials")
    assert "nobody" in err and "--embedded" in err
