"""Job inputs and outputs moved through S3 (moto): small and large objects, many at once."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from training_pipeline.runner import s3 as s3_module
from training_pipeline.runner.errors import StepFailure
from training_pipeline.runner.retry import Retrier


@pytest.fixture
def transfers(session: boto3.Session) -> s3_module.S3:
    return s3_module.S3(session.client("s3"), Retrier([], print))


def tree(root: Path, files: dict[str, bytes]) -> Path:
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(content)
    return root


def read_tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("single_request_bytes", [8 * 1024 * 1024, 1024], ids=["small", "large"])
def test_a_folder_round_trips_byte_for_byte(
    transfers, bucket, tmp_path, monkeypatch, single_request_bytes
):
    # With a 1 KB threshold the 3 KB files take the transfer manager's path instead.
    monkeypatch.setattr(s3_module, "SINGLE_REQUEST_BYTES", single_request_bytes)
    files = {f"part-{i:02d}.csv": bytes([i]) * (i * 150) for i in range(1, 21)}
    files["nested/deeper/model.bin"] = b"\x00\xff" * 1500
    prefix = f"s3://{bucket}/round-trip-{single_request_bytes}/"

    assert transfers.upload_dir(tree(tmp_path / "out", files), prefix) == len(files)
    assert transfers.download_prefix(prefix, tmp_path / "in") == len(files)
    assert read_tree(tmp_path / "in") == files


@pytest.mark.parametrize("single_request_bytes", [8 * 1024 * 1024, 0], ids=["put", "transfer"])
def test_outputs_are_encrypted_with_the_jobs_kms_key(
    transfers, session, bucket, tmp_path, monkeypatch, single_request_bytes
):
    monkeypatch.setattr(s3_module, "SINGLE_REQUEST_BYTES", single_request_bytes)
    key_id = session.client("kms").create_key()["KeyMetadata"]["KeyId"]
    source = tree(tmp_path, {"evaluation.json": b"{}"})
    transfers.upload_dir(source, f"s3://{bucket}/encrypted-{single_request_bytes}/", key_id)
    head = session.client("s3").head_object(
        Bucket=bucket, Key=f"encrypted-{single_request_bytes}/evaluation.json"
    )
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"].endswith(key_id)


def test_an_empty_input_prefix_fails_the_job_unless_optional(transfers, bucket, tmp_path):
    with pytest.raises(StepFailure, match="no S3 objects found under"):
        transfers.download_prefix(f"s3://{bucket}/nothing-here/", tmp_path)
    assert transfers.download_prefix(f"s3://{bucket}/nothing-here/", tmp_path, required=False) == 0


class FailingOn:
    """An S3 client that refuses one key and counts the uploads it lets through."""

    def __init__(self, client, key: str) -> None:
        self._client, self._key, self.uploaded = client, key, []

    def put_object(self, **request):
        if request["Key"].endswith(self._key):
            raise ConnectionError(f"refused {request['Key']}")
        self.uploaded.append(request["Key"])
        return self._client.put_object(**request)


def test_a_failed_transfer_fails_at_once_and_starts_no_more(session, bucket, tmp_path):
    files = {f"f{i:03d}.txt": b"x" for i in range(200)}
    client = FailingOn(session.client("s3"), "f000.txt")
    transfers = s3_module.S3(client, Retrier([], print))
    with pytest.raises(ConnectionError, match="refused .*f000.txt"):
        transfers.upload_dir(tree(tmp_path, files), f"s3://{bucket}/partial/")
    # Those already running finish; the queued ones never start.
    assert len(client.uploaded) < 100
