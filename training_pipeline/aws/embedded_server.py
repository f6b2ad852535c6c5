"""The embedded AWS's server process: moto's server, answering as AWS does where moto does not.

    python -m training_pipeline.aws.embedded_server -H 127.0.0.1 -p PORT   (embedded.py starts it)

Four differences of moto 5.2 matter to this template, and are fixed here rather than worked
around in the code that runs against it:

- ECR ignores ``registryId``: a request always reaches the caller's own account's registry. On
  AWS, ``registryId`` names the registry, so a deploy job in dev (dev's credentials) reads the
  operations account's images, which that registry's repository policy lets dev read. Here a
  request with a ``registryId`` reaches that account's registry. As for every policy, moto
  does not enforce the repository policy; the tests evaluate it (iam_policy.py).
- CloudWatch never evaluates an alarm: its state stays what it was created with. On AWS an alarm
  on a metric goes to ALARM once the period's statistic crosses its threshold. Here an alarm of
  one evaluation period on a plain metric is evaluated when data points of that metric arrive:
  the statistic of its data points of the last period against the threshold sets it to ALARM
  or OK (only when that changes its state), in CloudWatch's words. Alarms of several periods or
  of metric math, and missing data, are left alone: they stay as moto keeps them.
- SageMaker has no UpdateEndpoint: deploying a second approved version to an endpoint (a
  second `make demo` after a change) was a 500. Here it is SageMaker's update once it has
  ended well: the endpoint serves the new config's variants and data capture and reports the
  DeploymentConfig as LastDeploymentConfig. moto runs no fleet, so there is no traffic
  shifting to watch and nothing to roll back; an endpoint that is not InService, or a config
  that does not exist, is refused as SageMaker refuses them.
- Under load moto's server loses answers, which AWS practically never does. The AWS SDKs retry
  a request whose answer they did not get (a connection reset, a 5xx) with the same
  ``amz-sdk-invocation-id`` header and a higher ``amz-sdk-request: attempt=N``, and the retry
  runs again, as it would on AWS. When the lost answer was a create's success, the retry meets
  the created resource: Terraform's provider then stopped with EntityAlreadyExists (IAM),
  AlreadyExistsException (KMS) or, after five minutes of retrying, ResourceConflictException
  (Lambda), for a resource nothing else created. It happened only under load (a CI run, a
  `make demo` beside other work); why the answers get lost then is not known. Reproduced with a
  proxy that drops one answer. Here the 2xx answer to any request but a GET, HEAD or OPTIONS
  (JSON services read by POST too) is kept by its invocation id, and a later attempt of the
  same invocation gets that answer instead of running again; one that arrives while the first
  still runs waits for it. This is the emulator's own behaviour: a client that would execute
  something twice on AWS after a lost answer is not caught here. Each replay is logged, with
  the action, on the server's stderr (`.embedded/moto.log` for `embedded up` and `make demo`).
"""

from __future__ import annotations

import datetime as dt
import json
import operator
import statistics
import sys
import threading
import urllib.parse
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from moto.cloudwatch.models import CloudWatchBackend, MetricDatum
from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.ecr.models import ECRBackend, ecr_backends
from moto.ecr.responses import ECRResponse
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.models import FakeEndpoint
from moto.sagemaker.responses import SageMakerResponse


def _registry_backend(self: ECRResponse) -> ECRBackend:
    registry = self._get_param("registryId") or self.current_account
    return ecr_backends[registry][self.region]


_STATISTICS = {
    "Maximum": max,
    "Minimum": min,
    "Sum": sum,
    "Average": statistics.fmean,
    "SampleCount": len,
}
# Each comparison, and how CloudWatch words it in a state reason.
_COMPARISONS = {
    "GreaterThanOrEqualToThreshold": (operator.ge, "greater than or equal to"),
    "GreaterThanThreshold": (operator.gt, "greater than"),
    "LessThanThreshold": (operator.lt, "less than"),
    "LessThanOrEqualToThreshold": (operator.le, "less than or equal to"),
}
_put_metric_data = CloudWatchBackend.put_metric_data


def _put_and_evaluate(self: CloudWatchBackend, namespace: str, metric_data: list[dict]) -> None:
    _put_metric_data(self, namespace, metric_data)
    arrived = {datum.get("MetricName") for datum in metric_data}
    for alarm in self.alarms.values():
        if (
            alarm.namespace == namespace
            and alarm.metric_name in arrived
            and not alarm.metric_data_queries
            and int(alarm.evaluation_periods) == 1
            and alarm.statistic in _STATISTICS
            and alarm.comparison_operator in _COMPARISONS
        ):
            _evaluate(self, alarm)


def _evaluate(backend: CloudWatchBackend, alarm: Any) -> None:
    """The alarm's state from its metric's data points of the period up to now, as CloudWatch
    evaluates it at the end of the period; changed only when it changes."""
    now = dt.datetime.now(dt.UTC)
    since = now - dt.timedelta(seconds=int(alarm.period))
    wanted = sorted((d.name, d.value) for d in alarm.dimensions)
    values = [
        datum.value
        for datum in backend.metric_data
        if isinstance(datum, MetricDatum)
        and datum.namespace == alarm.namespace
        and datum.name == alarm.metric_name
        and sorted((d.name, d.value) for d in datum.dimensions) == wanted
        and since < _aware(datum.timestamp) <= now
    ]
    if not values:
        return
    value = _STATISTICS[alarm.statistic](values)
    compare, words = _COMPARISONS[alarm.comparison_operator]
    threshold = float(alarm.threshold)
    breaching = compare(value, threshold)
    state = "ALARM" if breaching else "OK"
    if state == alarm.state_value:
        return
    reason = (
        f"Threshold Crossed: 1 datapoint [{value!r} ({now:%d/%m/%y %H:%M:%S})] was "
        f"{'' if breaching else 'not '}{words} the threshold ({threshold!r})."
    )
    data = {
        "version": "1.0",
        "queryDate": now.isoformat(timespec="milliseconds"),
        "statistic": alarm.statistic,
        "period": int(alarm.period),
        "recentDatapoints": [value],
        "threshold": threshold,
        "evaluatedDatapoints": [{"timestamp": now.isoformat(), "value": value}],
    }
    alarm.update_state(reason, json.dumps(data), state)


def _update_endpoint(self: SageMakerResponse) -> ActionResult:
    backend = self.sagemaker_backend
    name, config_name = self._get_param("EndpointName"), self._get_param("EndpointConfigName")
    endpoint = backend.endpoints.get(name)
    if endpoint is None:
        arn = FakeEndpoint.arn_formatter(name, backend.account_id, backend.region_name)
        raise ValidationError(message=f"Could not find endpoint '{arn}'.")
    if endpoint.endpoint_status != "InService":
        raise ValidationError(
            message=f"Cannot update in-progress endpoint '{endpoint.arn}'."
            if endpoint.endpoint_status in ("Creating", "Updating", "SystemUpdating")
            else f"Cannot update endpoint '{endpoint.arn}' in status {endpoint.endpoint_status}."
        )
    config = backend.describe_endpoint_config(config_name)  # ValidationError if missing
    endpoint.endpoint_config_name = config_name
    endpoint.production_variants = endpoint._process_production_variants(
        config["ProductionVariants"]
    )
    endpoint.data_capture_config = config["DataCaptureConfig"]
    endpoint.last_deployment_config = self._get_param("DeploymentConfig")
    endpoint.last_modified_time = utcnow()
    return ActionResult({"EndpointArn": endpoint.arn})


_dispatch = DomainDispatcherApplication.__call__
# Answers kept for retries. An SDK retries within seconds, so recent ones suffice; the bound is
# on their bytes, as JSON services answer reads by POST too (a long listing is kept as well).
_KEPT_ANSWER_BYTES = 16 * 1024 * 1024
_answers: OrderedDict[str, tuple[str, list[tuple[str, str]], bytes]] = OrderedDict()
_kept_bytes = 0
# Invocations whose request is running: a retry that overtakes it waits for its answer.
_running: dict[str, threading.Event] = {}
_LONGEST_WAIT_SECONDS = 300
_answers_lock = threading.Lock()
_READS = frozenset({"GET", "HEAD", "OPTIONS"})


def _attempt(environ: dict[str, Any]) -> int:
    """The attempt number an AWS SDK put in ``amz-sdk-request`` (1 when absent or unreadable)."""
    for part in environ.get("HTTP_AMZ_SDK_REQUEST", "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == "attempt" and value.isdigit():
            return int(value)
    return 1


def _operation(environ: dict[str, Any], body: bytes) -> str:
    """What a request asks for, for the log: its JSON target, query Action, or method and path."""
    if target := environ.get("HTTP_X_AMZ_TARGET"):
        return target
    query = environ.get("QUERY_STRING", "")
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        query += "&" + body.decode("latin-1")
    action = urllib.parse.parse_qs(query).get("Action")
    return action[0] if action else f"{environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')}"


def _answer_once(
    self: DomainDispatcherApplication, environ: dict[str, Any], start_response: Callable
) -> Iterable[bytes]:
    invocation = environ.get("HTTP_AMZ_SDK_INVOCATION_ID")
    if not invocation or environ.get("REQUEST_METHOD") in _READS:
        return _dispatch(self, environ, start_response)
    attempt = _attempt(environ)
    if attempt > 1:
        with _answers_lock:
            running = _running.get(invocation)
        if running is not None:  # the lost answer's request has not ended yet
            running.wait(_LONGEST_WAIT_SECONDS)
        with _answers_lock:
            kept = _answers.get(invocation)
        if kept is not None:
            status, headers, answer = kept
            # Read the body nobody will run, so that a client still sending it is not cut off.
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            print(
                f"embedded AWS: attempt {attempt} of {_operation(environ, body)} "
                f"(invocation {invocation}) gets the first attempt's answer, {status}",
                file=sys.stderr,
                flush=True,
            )
            start_response(status, headers)
            return [answer]
    done = threading.Event()
    with _answers_lock:
        _running[invocation] = done
    try:
        return _run_and_keep(self, environ, start_response, invocation)
    finally:
        with _answers_lock:
            if _running.get(invocation) is done:
                del _running[invocation]
        done.set()


def _run_and_keep(
    app: DomainDispatcherApplication,
    environ: dict[str, Any],
    start_response: Callable,
    invocation: str,
) -> list[bytes]:
    answered: list[Any] = []

    def keep_status(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        answered[:] = [status, headers]
        return start_response(status, headers, exc_info)

    chunks = _dispatch(app, environ, keep_status)
    try:
        body = b"".join(chunks)
    finally:
        if hasattr(chunks, "close"):
            chunks.close()
    if answered and answered[0].startswith("2"):
        with _answers_lock:
            _keep(invocation, (answered[0], list(answered[1]), body))
    return [body]


def _keep(invocation: str, answer: tuple[str, list[tuple[str, str]], bytes]) -> None:
    """Keep ``answer``, dropping the oldest ones beyond the byte bound (call under the lock)."""
    global _kept_bytes
    size = _size(answer)
    if size > _KEPT_ANSWER_BYTES // 16:
        return  # a long listing, not a create's answer
    if (replaced := _answers.pop(invocation, None)) is not None:
        _kept_bytes -= _size(replaced)
    _answers[invocation] = answer
    _kept_bytes += size
    while _kept_bytes > _KEPT_ANSWER_BYTES:
        _, dropped = _answers.popitem(last=False)
        _kept_bytes -= _size(dropped)


def _size(answer: tuple[str, list[tuple[str, str]], bytes]) -> int:
    """An answer's bytes, with what Python spends on its objects (measured: about 3x the text
    of a bodiless answer's headers)."""
    status, headers, body = answer
    text = len(status) + sum(len(name) + len(value) for name, value in headers) + len(body)
    return text + 256 + 64 * len(headers)


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def patch() -> None:
    """Apply the fixes to moto's classes, in this process."""
    ECRResponse.ecr_backend = property(_registry_backend)  # type: ignore[assignment]
    CloudWatchBackend.put_metric_data = _put_and_evaluate  # type: ignore[method-assign]
    SageMakerResponse.update_endpoint = _update_endpoint  # type: ignore[attr-defined]
    DomainDispatcherApplication.__call__ = _answer_once  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> None:
    patch()
    from moto.server import main as moto_main

    moto_main(argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    main()
