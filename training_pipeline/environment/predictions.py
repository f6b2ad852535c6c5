"""What a batch wrote: the predictions under an execution's folder, read back for a summary.

Each input file FILE gives FILE.out, one line per request the batch sent (the model server's
JSON answer to a mini-batch of rows: ``{"model_version": ..., "predictions": [...]}``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import boto3

from training_pipeline.errors import UserError


@dataclass(frozen=True)
class PredictionFile:
    key: str
    rows: int
    model_versions: tuple[str, ...]


COLUMNS = ("file", "rows", "model version")


def read(session: boto3.Session, url: str) -> list[PredictionFile]:
    """Every FILE.out under `url` (an s3:// folder), with its count of predictions."""
    s3 = session.client("s3")
    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    files = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            rows, versions = 0, set()
            for number, line in enumerate(body.splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    answer = json.loads(line)
                    rows += len(answer["predictions"])
                    versions.add(answer["model_version"])
                except (ValueError, KeyError, TypeError):
                    raise UserError(
                        f"s3://{bucket}/{item['Key']}:{number} is not a model server's answer"
                    ) from None
            files.append(PredictionFile(item["Key"], rows, tuple(sorted(versions))))
    return files


def row(found: PredictionFile) -> tuple[str, int, str]:
    return (found.key.rsplit("/", 1)[-1], found.rows, ", ".join(found.model_versions))
