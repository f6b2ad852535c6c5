"""Step caching in S3, mirroring SageMaker's: same step type and inputs, same result.

An entry is keyed by the SHA-256 of the step type and the resolved values of the
arguments SageMaker compares (its "default cache key attributes": what a job reads,
not where it writes), and stored under `<prefix>/<pipeline name>/`, since SageMaker
scopes its cache to a pipeline. So a step whose outputs go under the execution id is
still a cache hit, and a hit hands on the earlier run's properties and output URIs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from .errors import DefinitionError
from .results import jsonable
from .s3 import join_uri, split_uri

_DURATION = re.compile(
    r"P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?"
)
# ISO 8601 years and months have no fixed length; cache expiry only needs to be rough.
_SECONDS = {
    "years": 365 * 86400,
    "months": 30 * 86400,
    "weeks": 7 * 86400,
    "days": 86400,
    "hours": 3600,
    "minutes": 60,
    "seconds": 1,
}


def parse_duration(text: str) -> dt.timedelta:
    """An ISO 8601 duration such as `P30D` or `PT1H`."""
    match = _DURATION.fullmatch(text or "")
    if not match or text in ("P", "PT") or text.endswith("T"):
        raise DefinitionError(f"CacheConfig ExpireAfter {text!r} is not an ISO 8601 duration")
    return dt.timedelta(
        seconds=sum(int(v) * _SECONDS[k] for k, v in match.groupdict().items() if v)
    )


_KEY_FIELDS = {
    "Processing": ("AppSpecification", "Environment", "ProcessingInputs"),
    "Training": (
        "AlgorithmSpecification",
        "CheckpointConfig",
        "DebugHookConfig",
        "DebugRuleConfigurations",
        "Environment",
        "HyperParameters",
        "InputDataConfig",
    ),
}


def cache_key(step_type: str, arguments: Mapping[str, Any]) -> str:
    """The cache key of a step with these resolved arguments."""
    compared = {field: arguments.get(field) for field in _KEY_FIELDS[step_type]}
    canonical = json.dumps({"Type": step_type, "Arguments": compared}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


class StepCache:
    """Successful step results stored as JSON objects under an S3 prefix."""

    def __init__(self, client: Any, prefix: str, pipeline_name: str) -> None:
        self._client = client
        self._prefix = join_uri(prefix, pipeline_name)
        split_uri(self._prefix)

    def _location(self, key: str) -> tuple[str, str]:
        return split_uri(join_uri(self._prefix, f"{key}.json"))

    def get(self, key: str, expire_after: str | None) -> dict[str, Any] | None:
        """The cached properties for `key`, unless missing or older than `expire_after`."""
        bucket, object_key = self._location(key)
        try:
            body = self._client.get_object(Bucket=bucket, Key=object_key)["Body"].read()
        except ClientError as error:
            if error.response["Error"]["Code"] in ("NoSuchKey", "404"):
                return None
            raise
        entry = json.loads(body)
        created = dt.datetime.fromisoformat(entry["created"])
        if expire_after and dt.datetime.now(dt.UTC) - created > parse_duration(expire_after):
            return None
        return entry["properties"]

    def put(self, key: str, step_type: str, properties: Mapping[str, Any]) -> None:
        bucket, object_key = self._location(key)
        entry = {
            "created": dt.datetime.now(dt.UTC).isoformat(),
            "step_type": step_type,
            "properties": jsonable(properties),
        }
        self._client.put_object(Bucket=bucket, Key=object_key, Body=json.dumps(entry).encode())
