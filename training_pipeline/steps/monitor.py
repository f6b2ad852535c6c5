"""Processing step of the monitoring pipeline: drift of the served version's captured traffic.

    python3 monitor.py --capture-url s3://BUCKET/datacapture/MP/MP/ [--window-hours 24]
                       [--model-package-group MP] [--training-pipeline MP-training]
                       [--action retrain|alarm|off] [--report-url s3://...]
                       [--output-dir /opt/ml/processing/report] [--now ISO-TIME]

The served version is the newest Approved one of the group (what the endpoint serves); its
``baseline_url`` (baseline.py) holds the reference sample. The window is every capture file
SageMaker (or ``serve --capture``) wrote under ``--capture-url`` in the last ``--window-hours``
hours (its key layout: ``<variant>/yyyy/mm/dd/hh/<file>.jsonl``). drift.py judges it. Writes
``summary.json`` (the verdict, per column) and ``report.html`` (a plot per drifted column) to
``--output-dir``; puts the verdict in CloudWatch (namespace ``MLOps/Drift``, dimension
``ModelPackageGroup``: ``DriftedColumns``, ``WindowRows``, ``UnreadableLines``), where the
environment's alarm watches ``DriftedColumns``; and with ``--action retrain`` and drift found,
starts the environment's own training pipeline, the report's URL in the execution's
description and its TriggeredBy parameter (which the version it registers records). A window
that cannot be judged (empty, too small, other columns) is a problem in the report, never
drift: nothing is started.
"""

import argparse
import datetime as dt
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

if __package__:  # see steps/__init__.py
    from . import champion, drift, errors
    from .errors import ChampionError
else:
    import champion
    import drift
    import errors
    from errors import ChampionError

NAMESPACE = "MLOps/Drift"
ACTIONS = ("retrain", "alarm", "off")


def window_hours(end: dt.datetime, hours: int) -> set[str]:
    """The ``yyyy/mm/dd/hh`` folders of the `hours` hours up to `end` (UTC)."""
    end = end.astimezone(dt.UTC)
    return {(end - dt.timedelta(hours=back)).strftime("%Y/%m/%d/%H") for back in range(hours)}


def in_window(key: str, hours: set[str]) -> bool:
    """Whether a capture file's key (``.../<variant>/yyyy/mm/dd/hh/<file>``) is in the window."""
    parts = key.split("/")
    return len(parts) >= 5 and "/".join(parts[-5:-1]) in hours


def metrics(verdict: drift.Verdict, unreadable: int, group: str) -> list[dict]:
    """CloudWatch data points of a verdict; none drifted when it could not be judged."""
    dimensions = [{"Name": "ModelPackageGroup", "Value": group}]
    values = {
        "DriftedColumns": len(verdict.drifted),
        "WindowRows": verdict.window_rows,
        "UnreadableLines": unreadable,
    }
    return [
        {"MetricName": name, "Dimensions": dimensions, "Value": float(value), "Unit": "Count"}
        for name, value in values.items()
    ]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line; the output path defaults to its place in the processing container."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--capture-url", required=True, help="s3:// folder of one endpoint")
    parser.add_argument("--window-hours", type=int, default=24)
    parser.add_argument(
        "--model-package-group", default=os.environ.get("MODEL_PACKAGE_GROUP_NAME", "")
    )
    parser.add_argument("--training-pipeline", default="", help="started with --action retrain")
    parser.add_argument("--action", choices=ACTIONS, default="alarm")
    parser.add_argument("--report-url", default="", help="where the report is uploaded")
    parser.add_argument("--output-dir", type=Path, default="/opt/ml/processing/report")
    parser.add_argument("--now", default=None, help="the window's end (default: now)")
    parser.add_argument("--region", default=None, help="default: the AWS_REGION variables")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> dict:
    """Judge the window; write the report; put the metrics; retrain if asked and drifted."""
    args = parse_args(argv)
    if not args.model_package_group:
        raise ChampionError("no model package group: pass --model-package-group")
    if args.window_hours < 1:
        raise ChampionError(f"--window-hours {args.window_hours}: at least 1")
    import boto3

    session = boto3.Session(region_name=args.region)
    version, reference = _served_baseline(session, args.model_package_group)
    end = _utc(args.now)
    # The baseline's columns are the served model's: its features, then its prediction.
    capture = drift.read_capture(
        _capture_lines(session, args.capture_url, window_hours(end, args.window_hours)),
        list(reference.columns[:-1]),
        reference.columns[-1],
        model_version=f"{args.model_package_group}/{version}",
    )
    verdict = drift.compare(reference, capture.rows)
    if capture.unreadable:
        verdict.problems.append(
            f"{capture.unreadable} capture line(s) could not be read, first: "
            + "; ".join(capture.refused)
        )
    summary = {
        "model_package_group": args.model_package_group,
        "served_version": version,
        "window": {"end": end.isoformat(), "hours": args.window_hours, "url": args.capture_url},
        **verdict.summary(),
        "other_versions": capture.other_versions,
        "report_url": args.report_url,
        "action": args.action,
        "retraining": None,
    }
    out = args.output_dir
    out.mkdir(parents=True, exist_ok=True)
    title = f"{args.model_package_group} version {version}: drift of captured traffic"
    (out / "report.html").write_text(drift.html_report(verdict, reference, capture.rows, title))
    if args.action == "retrain" and verdict.actionable and args.training_pipeline:
        summary["retraining"] = _retrain(session, args, verdict.drifted, end)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    session.client("cloudwatch").put_metric_data(
        Namespace=NAMESPACE,
        MetricData=metrics(verdict, capture.unreadable, args.model_package_group),
    )
    verdict_line = ", ".join(verdict.drifted) or "none"
    print(f"{verdict.window_rows} captured rows; drifted: {verdict_line}; {verdict.problems}")
    return summary


def _served_baseline(session, group: str) -> tuple[int, pd.DataFrame]:
    """The served version's number and its baseline's reference sample."""
    sagemaker = session.client("sagemaker")
    found = champion.find_champion(sagemaker, group)
    if found is None:
        raise ChampionError(f"model package group {group} has no Approved version: nothing served")
    package = sagemaker.describe_model_package(ModelPackageName=found.model_package_arn)
    url = (package.get("CustomerMetadataProperties") or {}).get("baseline_url")
    if not url:
        raise ChampionError(
            f"{found.model_package_arn} records no baseline_url: it was registered before "
            "training kept drift baselines; the first version approved after it can be monitored"
        )
    bucket, _, key = url.removeprefix("s3://").partition("/")
    body = session.client("s3").get_object(Bucket=bucket, Key=f"{key}/reference.csv")["Body"]
    return found.version, pd.read_csv(body)


def _utc(text: str | None) -> dt.datetime:
    """--now as an aware UTC time (a time without a zone is UTC, as capture keys are)."""
    if not text:
        return dt.datetime.now(dt.UTC)
    moment = dt.datetime.fromisoformat(text)
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def _capture_lines(session, url: str, hours: set[str]) -> Iterable[bytes]:
    """The lines of the capture files of the window: each variant's hour folders only, not the
    endpoint's whole history."""
    s3 = session.client("s3")
    paginator = s3.get_paginator("list_objects_v2")
    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    variants = [
        common["Prefix"]
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix, Delimiter="/")
        for common in page.get("CommonPrefixes", [])
    ]
    for variant in variants:
        for hour in sorted(hours):
            for page in paginator.paginate(Bucket=bucket, Prefix=f"{variant}{hour}/"):
                for item in page.get("Contents", []):
                    if in_window(item["Key"], hours):
                        body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"]
                        yield from body.iter_lines()


def _retrain(session, args: argparse.Namespace, drifted: list[str], end: dt.datetime) -> str:
    """Start the training pipeline, unless a run is under way or drift already started one in
    this window: on the same data a retrain makes the same model, so an hourly check would only
    start it again and again until new data lands."""
    sagemaker = session.client("sagemaker")
    since = end - dt.timedelta(hours=args.window_hours)
    for execution in sagemaker.list_pipeline_executions(
        PipelineName=args.training_pipeline, SortBy="CreationTime", SortOrder="Descending"
    )["PipelineExecutionSummaries"]:
        started = execution["StartTime"]
        if execution["PipelineExecutionStatus"] == "Executing" or (
            started >= since
            and execution.get("PipelineExecutionDescription", "").startswith("drift in")
        ):
            return f"not started: {execution['PipelineExecutionArn']} is recent enough"
    report = args.report_url or "see the monitoring run"
    description = f"drift in {', '.join(drifted)}: {report}"
    arn = sagemaker.start_pipeline_execution(
        PipelineName=args.training_pipeline,
        PipelineExecutionDescription=description[:3072],
        # Recorded with the version the execution registers (its triggered_by metadata).
        PipelineParameters=[{"Name": "TriggeredBy", "Value": f"drift: {report}"[:256]}],
    )["PipelineExecutionArn"]
    print(f"started {arn}: {description}")
    return arn


if __name__ == "__main__":
    errors.run_as_script(main)
