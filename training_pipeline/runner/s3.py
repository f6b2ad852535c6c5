"""S3 transfers with the semantics of SageMaker job inputs and outputs."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from s3transfer.utils import S3_RETRYABLE_DOWNLOAD_ERRORS

from .errors import StepFailure
from .retry import Retrier

T = TypeVar("T")
# Below this size one GET or PUT beats the transfer manager, whose set-up (threads, a HEAD
# first) costs more than moving a small object; above it, multipart transfers pay.
SINGLE_REQUEST_BYTES = 8 * 1024 * 1024
# A job's inputs are often many small files (a code folder): moved a few at a time.
PARALLEL_TRANSFERS = 8
# Each large transfer runs the transfer manager's own 10 threads on the shared client.
MAX_POOL_CONNECTIONS = PARALLEL_TRANSFERS * 10
BODY_READ_ATTEMPTS = 5


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


def relative_key(prefix: str, key: str) -> str:
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
        objects = [o for page in pages for o in page.get("Contents", [])]
        objects = [o for o in objects if not o["Key"].endswith("/")]
        if not objects and required:
            raise StepFailure(f"no S3 objects found under {uri}")
        destination.mkdir(parents=True, exist_ok=True)
        _each(
            lambda o: self._download(
                bucket, o["Key"], destination / relative_key(prefix, o["Key"]), o["Size"]
            ),
            objects,
        )
        return len(objects)

    def download_file(self, uri: str, target: Path) -> None:
        bucket, key = split_uri(uri)
        self._download(bucket, key, target, size=None)

    def upload_file(self, source: Path, uri: str, kms_key_id: str | None = None) -> None:
        bucket, key = split_uri(uri)
        extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key_id} if kms_key_id else {}
        if source.stat().st_size <= SINGLE_REQUEST_BYTES:
            body = source.read_bytes()
            self._call(self._client.put_object, Bucket=bucket, Key=key, Body=body, **extra)
        else:
            self._call(self._client.upload_file, str(source), bucket, key, ExtraArgs=extra or None)

    def upload_dir(self, source: Path, uri: str, kms_key_id: str | None = None) -> int:
        """Upload every file under `source` below `uri`, keeping relative paths; the count."""
        files = sorted(path for path in source.rglob("*") if path.is_file())
        _each(
            lambda path: self.upload_file(
                path, join_uri(uri, path.relative_to(source).as_posix()), kms_key_id
            ),
            files,
        )
        return len(files)

    def _download(self, bucket: str, key: str, target: Path, size: int | None) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        if size is not None and size <= SINGLE_REQUEST_BYTES:
            self._call(self._get_object, bucket, key, target)
        else:
            self._call(self._client.download_file, bucket, key, str(target))

    def _get_object(self, bucket: str, key: str, target: Path) -> None:
        # The body is read after the request has succeeded, so botocore's retries do not cover
        # a connection that breaks while reading it; the transfer manager retries those, so
        # this path does too.
        for attempt in range(1, BODY_READ_ATTEMPTS + 1):
            body = self._client.get_object(Bucket=bucket, Key=key)["Body"]
            try:
                with target.open("wb") as file:
                    shutil.copyfileobj(body, file)
                return
            except S3_RETRYABLE_DOWNLOAD_ERRORS:
                if attempt == BODY_READ_ATTEMPTS:
                    raise

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


def _each(transfer: Callable[[T], None], items: Iterable[T]) -> None:
    """`transfer` every item, a few at once; the first error is raised."""
    items = list(items)
    if len(items) <= 1:
        for item in items:
            transfer(item)
        return
    pool = ThreadPoolExecutor(max_workers=PARALLEL_TRANSFERS)
    try:
        for future in [pool.submit(transfer, item) for item in items]:
            future.result()
    except BaseException:
        # A failed transfer (or Ctrl-C) fails the step now: what has not started never will.
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown()
