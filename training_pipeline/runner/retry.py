"""Step RetryPolicies applied to the AWS calls a step makes.

SageMaker retries a step when its service calls are throttled or hit a service fault
(`Step.THROTTLING`, `Step.SERVICE_FAULT`). Locally those calls are S3 transfers and
registry calls, so each is retried on its own; a script's non-zero exit never is.
`SageMaker.*` job exception types concern managed job infrastructure that does not
exist locally, so they never match.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from .errors import DefinitionError

T = TypeVar("T")

_THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "SlowDown",
        "LimitExceededException",
    }
)
_SERVICE_FAULT_CODES = frozenset(
    {"InternalError", "InternalFailure", "InternalServerError", "ServiceUnavailable"}
)
_KNOWN_TYPES = frozenset(
    {
        "Step.THROTTLING",
        "Step.SERVICE_FAULT",
        "SageMaker.JOB_INTERNAL_ERROR",
        "SageMaker.CAPACITY_ERROR",
        "SageMaker.RESOURCE_LIMIT",
    }
)


def exception_type(error: BaseException) -> str | None:
    """The RetryPolicy ExceptionType an error counts as, if any."""
    if not isinstance(error, ClientError):
        return None
    code = error.response.get("Error", {}).get("Code", "")
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    if code in _THROTTLING_CODES or status == 429:
        return "Step.THROTTLING"
    if code in _SERVICE_FAULT_CODES or status >= 500:
        return "Step.SERVICE_FAULT"
    return None


class Retrier:
    """Calls a function, retrying errors that match one of the step's RetryPolicies."""

    def __init__(
        self,
        policies: list[Mapping[str, Any]],
        log: Callable[[str], None],
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        for policy in policies:
            unknown = set(policy.get("ExceptionType", [])) - _KNOWN_TYPES
            if unknown:
                raise DefinitionError(f"unsupported RetryPolicies ExceptionType {sorted(unknown)}")
        self._policies = policies
        self._log = log
        self._sleep = sleep

    def _policy_for(self, kind: str | None) -> Mapping[str, Any] | None:
        for policy in self._policies:
            if kind in policy.get("ExceptionType", []):
                return policy
        return None

    def call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        started = time.monotonic()
        retries = 0
        while True:
            try:
                return function(*args, **kwargs)
            except ClientError as error:
                kind = exception_type(error)
                policy = self._policy_for(kind)
                if policy is None:
                    raise
                interval = (
                    policy.get("IntervalSeconds", 1) * policy.get("BackoffRate", 2.0) ** retries
                )
                if "MaxAttempts" in policy and retries >= policy["MaxAttempts"]:
                    raise
                expire_s = policy.get("ExpireAfterMin", 0) * 60
                if "ExpireAfterMin" in policy and time.monotonic() - started + interval > expire_s:
                    raise
                retries += 1
                self._log(f"    {kind}: {error}; retry {retries} in {interval:.1f}s")
                self._sleep(interval)
