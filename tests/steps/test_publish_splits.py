"""PrepareData's content-addressed copy of the splits (what TrainModel's cache key holds)."""

from pathlib import Path

import boto3
from moto import mock_aws

from training_pipeline.steps import preprocess


def write(tmp_path: Path, contents: dict[str, str]) -> dict[str, Path]:
    files = {}
    for name, text in contents.items():
        path = tmp_path / name / f"{name}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        files[name] = path
    return files


def test_same_content_same_address_other_content_other_address(tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(
            Bucket="art", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        first = write(tmp_path / "a", {"train": "x\n1\n", "test": "x\n2\n"})
        again = write(tmp_path / "b", {"train": "x\n1\n", "test": "x\n2\n"})
        changed = write(tmp_path / "c", {"train": "x\n1\n", "test": "x\n3\n"})
        urls = preprocess.publish_splits(first, "s3://art/datasets")
        assert preprocess.publish_splits(again, "s3://art/datasets") == urls
        other = preprocess.publish_splits(changed, "s3://art/datasets")
        assert other["train"] != urls["train"]  # one split changed: all move together
        prefix = urls["test"].removeprefix("s3://art/")
        body = s3.get_object(Bucket="art", Key=f"{prefix}test.csv")["Body"].read()
        assert body == b"x\n2\n"
        assert urls["train"].startswith("s3://art/datasets/") and urls["train"].endswith("/train/")
