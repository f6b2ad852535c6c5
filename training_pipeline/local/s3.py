"""S3 transfers with the semantics of SageMaker job inputs and outputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .errors import StepFailure
from .retry import Retrier


def split_uri(uri: str) -> tuple[str, str]:
    """`s3://bucket/some/key` -> ('bucket', 'some/key')."""
    if not isinstance(uri, str) or not uri.startswith("s3://"):
        raise StepFailure(f"not an S3 URI: {uri!r}")
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket:
        raise StepFailure(f"S3 URI without a bucket: {uri!r}")
    return bucket, key


def join_uri(uri: str, *parts: str) -> str:
    return "/".join([uri.rstrip("/"), *(part.strip("/") for part in parts)])


def _relative_key(prefix: str, key: str) -> str:
    """Where an object matched by an S3Prefix lands under the local path.

    A prefix naming a "folder" (`data/` or `data` with `data/x.csv` under it) keeps paths
    below it; a prefix naming one object (`code/train.py`) yields its file name.
    """
    if key == prefix:
        return key.rsplit("/", 1)[-1]
    if prefix == "" or prefix.endswith("/") or key[len(prefix)] == "/":
        return key[len(prefix) :].lstrip("/")
    return key[len(prefix.rsplit("/", 1)[0]) + 1 :] if "/" in prefix else key


class S3:
    """An S3 client whose calls follow the step's retry policies."""

    def __init__(self, client: Any, retrier: Retrier) -> None:
        self._client = client
        self._call = retrier.call

    def download_prefix(self, uri: str, destination: Path, *, required: bool = True) -> int:
        """Download every object under an S3Prefix into `destination`; the count.

        Like SageMaker, an input prefix without objects fails the job unless not `required`.
        """
        bucket, prefix = split_uri(uri)
        paginator = self._client.get_paginator("list_objects_v2")
        pages = self._call(lambda: list(paginator.paginate(Bucket=bucket, Prefix=prefix)))
        keys = [o["Key"] for page in pages for o in page.get("Contents", [])]
        keys = [key for key in keys if not key.endswith("/")]
        if not keys and required:
            raise StepFailure(f"no S3 objects found under {uri}")
        destination.mkdir(parents=True, exist_ok=True)
        for key in keys:
            target = destination / _relative_key(prefix, key)
            target.parent.mkdir(parents=True, exist_ok=True)
            self._call(self._client.download_file, bucket, key, str(target))
        return len(keys)

    def download_file(self, uri: str, target: Path) -> None:
        bucket, key = split_uri(uri)
        target.parent.mkdir(parents=True, exist_ok=True)
        self._call(self._client.download_file, bucket, key, str(target))

    def upload_file(self, source: Path, uri: str, kms_key_id: str | None = None) -> None:
        bucket, key = split_uri(uri)
        extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key_id} if kms_key_id else {}
        self._call(self._client.upload_file, str(source), bucket, key, ExtraArgs=extra or None)

    def upload_dir(self, source: Path, uri: str, kms_key_id: str | None = None) -> int:
        """Upload every file under `source` below `uri`, keeping relative paths; the count."""
        files = sorted(path for path in source.rglob("*") if path.is_file())
        for path in files:
            self.upload_file(path, join_uri(uri, path.relative_to(source).as_posix()), kms_key_id)
        return len(files)

    def read_json(self, uri: str) -> Any:
        bucket, key = split_uri(uri)
        try:
            response = self._call(self._client.get_object, Bucket=bucket, Key=key)
        except self._client.exceptions.NoSuchKey:
            raise StepFailure(f"no such S3 object: {uri}") from None
        try:
            return json.loads(response["Body"].read())
        except json.JSONDecodeError as error:
            raise StepFailure(f"{uri} is not valid JSON: {error}") from None
