"""The embedded AWS's server process: moto's server, answering as AWS does where moto does not.

    python -m training_pipeline.aws.embedded_server -H 127.0.0.1 -p PORT   (embedded.py starts it)

Two differences of moto 5.2 matter to this template, and are fixed here rather than worked
around in the code that runs against it:

- ECR ignores ``registryId``: a request always reaches the caller's own account's registry. On
  AWS, ``registryId`` names the registry, so a deploy job in dev (dev's credentials) reads the
  operations account's images, which that registry's repository policy lets dev read. Here a
  request with a ``registryId`` reaches that account's registry. As for every policy, moto
  does not enforce the repository policy; the tests evaluate it (iam_policy.py).
- CloudWatch never evaluates an alarm: its state stays what it was created with. On AWS an alarm
  on a metric goes to ALARM once the period's statistic crosses its threshold. Here an alarm of
  one evaluation period on a plain metric is evaluated when data points of that metric arrive:
  the statistic of the data points of that PutMetricData call (standing for the period: the
  drift check puts one verdict per run) against the threshold sets it to ALARM or OK, with the
  reason CloudWatch would give. Alarms of several periods or of metric math stay unevaluated.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
import sys
from typing import Any

from moto.cloudwatch.models import CloudWatchBackend
from moto.ecr.models import ECRBackend, ecr_backends
from moto.ecr.responses import ECRResponse


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
_COMPARISONS = {
    "GreaterThanOrEqualToThreshold": lambda value, threshold: value >= threshold,
    "GreaterThanThreshold": lambda value, threshold: value > threshold,
    "LessThanThreshold": lambda value, threshold: value < threshold,
    "LessThanOrEqualToThreshold": lambda value, threshold: value <= threshold,
}
_put_metric_data = CloudWatchBackend.put_metric_data


def _put_and_evaluate(self: CloudWatchBackend, namespace: str, metric_data: list[dict]) -> None:
    _put_metric_data(self, namespace, metric_data)
    for alarm in self.alarms.values():
        if (
            alarm.namespace != namespace
            or alarm.metric_data_queries
            or int(alarm.evaluation_periods) != 1
            or alarm.statistic not in _STATISTICS
            or alarm.comparison_operator not in _COMPARISONS
        ):
            continue
        wanted = sorted((d.name, d.value) for d in alarm.dimensions)
        values = [
            float(datum["Value"])
            for datum in metric_data
            if datum.get("MetricName") == alarm.metric_name
            and "Value" in datum
            and sorted((d["Name"], d["Value"]) for d in datum.get("Dimensions", [])) == wanted
        ]
        if values:
            _evaluate(alarm, _STATISTICS[alarm.statistic](values), len(values))


def _evaluate(alarm: Any, value: float, points: int) -> None:
    breaching = _COMPARISONS[alarm.comparison_operator](value, float(alarm.threshold))
    state = "ALARM" if breaching else "OK"
    reason = (
        f"Threshold Crossed: 1 datapoint [{value:g}] was "
        f"{'' if breaching else 'not '}{alarm.comparison_operator} the threshold "
        f"({float(alarm.threshold):g})."
    )
    data = {
        "version": "1.0",
        "queryDate": dt.datetime.now(dt.UTC).isoformat(),
        "statistic": alarm.statistic,
        "period": int(alarm.period),
        "recentDatapoints": [value],
        "threshold": float(alarm.threshold),
        "evaluatedDatapoints": [{"sampleCount": points, "value": value}],
    }
    alarm.update_state(reason, json.dumps(data), state)


def patch() -> None:
    """Apply the fixes to moto's classes, in this process."""
    ECRResponse.ecr_backend = property(_registry_backend)  # type: ignore[assignment]
    CloudWatchBackend.put_metric_data = _put_and_evaluate  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> None:
    patch()
    from moto.server import main as moto_main

    moto_main(argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    main()
