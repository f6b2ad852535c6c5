"""The drift job against moto: the served version's baseline, a window of captured traffic,
the report, the metrics, and retraining started only on drift."""

import datetime as dt
import json

import boto3
import pandas as pd
import pytest

from training_pipeline.environment.data import make_synthetic
from training_pipeline.steps import monitor
from training_pipeline.steps.errors import ChampionError

from .test_drift import FEATURES, SHIFTED, record

GROUP = "mlops-demo-staging"
BUCKET = "mlops-demo-staging-artifacts-333333333333"
CAPTURE = f"s3://{BUCKET}/datacapture/{GROUP}/{GROUP}/"
NOW = dt.datetime(2026, 12, 7, 12, 30, tzinfo=dt.UTC)
PIPELINE = f"{GROUP}-training"


@pytest.fixture
def served(aws):
    """An Approved version with a baseline, and the training pipeline drift may start."""
    s3, sagemaker = boto3.client("s3"), boto3.client("sagemaker")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    reference = make_synthetic(2_000, seed=0)[FEATURES].assign(malignant_probability=0.3)
    s3.put_object(
        Bucket=BUCKET, Key="baseline/reference.csv", Body=reference.to_csv(index=False).encode()
    )
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    sagemaker.create_model_package(
        ModelPackageGroupName=GROUP,
        ModelApprovalStatus="Approved",
        CustomerMetadataProperties={"baseline_url": f"s3://{BUCKET}/baseline"},
        InferenceSpecification={
            "Containers": [{"Image": "1.dkr.ecr/i:1", "ModelDataUrl": f"s3://{BUCKET}/m.tar.gz"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
    )
    sagemaker.create_pipeline(
        PipelineName=PIPELINE,
        PipelineDefinition=json.dumps({"Version": "2020-12-01", "Steps": []}),
        RoleArn="arn:aws:iam::123456789012:role/execution",
    )
    return reference


def capture(
    frame: pd.DataFrame, hour: dt.datetime, name: str = "a.jsonl", version: str = f"{GROUP}/1"
) -> None:
    """`frame` as requests of 100 rows that `version` answered, captured in `hour`."""
    lines = []
    for start in range(0, len(frame), 100):
        chunk = frame.iloc[start : start + 100]
        answer = {
            "model_version": version,
            "predictions": [{"malignant_probability": 0.3}] * len(chunk),
        }
        lines.append(record(chunk.to_csv(index=False, header=False), answer))
    key = f"datacapture/{GROUP}/{GROUP}/AllTraffic/{hour:%Y/%m/%d/%H}/{name}"
    boto3.client("s3").put_object(Bucket=BUCKET, Key=key, Body="\n".join(lines).encode())


def run(tmp_path, *extra: str) -> dict:
    return monitor.main(
        ["--capture-url", CAPTURE, "--model-package-group", GROUP, "--now", NOW.isoformat()]
        + ["--training-pipeline", PIPELINE, "--output-dir", str(tmp_path)]
        + list(extra)
    )


def executions() -> list[dict]:
    return boto3.client("sagemaker").list_pipeline_executions(PipelineName=PIPELINE)[
        "PipelineExecutionSummaries"
    ]


def drifted_metric() -> list[float]:
    points = boto3.client("cloudwatch").get_metric_statistics(
        Namespace=monitor.NAMESPACE,
        MetricName="DriftedColumns",
        Dimensions=[{"Name": "ModelPackageGroup", "Value": GROUP}],
        StartTime=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1),
        EndTime=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
        Period=3600,
        Statistics=["Maximum"],
    )["Datapoints"]
    return [point["Maximum"] for point in points]


def test_traffic_like_the_baseline_starts_nothing(served, tmp_path) -> None:
    capture(make_synthetic(1_000, seed=21)[FEATURES], NOW)

    summary = run(tmp_path, "--action", "retrain")

    assert summary["drifted"] == [] and summary["problems"] == []
    assert summary["window_rows"] == 1_000 and summary["served_version"] == 1
    assert summary["retraining"] is None and executions() == []
    assert drifted_metric() == [0.0]
    assert json.loads((tmp_path / "summary.json").read_text()) == json.loads(
        json.dumps(summary, default=str)
    )
    assert "No drift in 31 columns" in (tmp_path / "report.html").read_text()


def test_shifted_traffic_is_reported_and_retrains_that_environment(served, tmp_path) -> None:
    window = make_synthetic(1_000, seed=12)[FEATURES]
    window[SHIFTED] += 0.5 * served[SHIFTED].std()
    capture(window.iloc[:500], NOW)
    capture(window.iloc[500:], NOW - dt.timedelta(hours=5), "b.jsonl")
    # Outside the 24-hour window: not part of the verdict.
    capture(make_synthetic(300, seed=23)[FEATURES], NOW - dt.timedelta(hours=30))

    summary = run(tmp_path, "--action", "retrain", "--report-url", "s3://r/report.html")

    assert summary["drifted"] == SHIFTED and summary["window_rows"] == 1_000
    [execution] = executions()
    assert summary["retraining"] == execution["PipelineExecutionArn"]
    description = boto3.client("sagemaker").describe_pipeline_execution(
        PipelineExecutionArn=execution["PipelineExecutionArn"]
    )["PipelineExecutionDescription"]
    assert description == f"drift in {', '.join(SHIFTED)}: s3://r/report.html"
    parameters = boto3.client("sagemaker").list_pipeline_parameters_for_execution(
        PipelineExecutionArn=execution["PipelineExecutionArn"]
    )["PipelineParameters"]
    assert parameters == [{"Name": "TriggeredBy", "Value": "drift: s3://r/report.html"}]
    assert drifted_metric() == [3.0]
    page = (tmp_path / "report.html").read_text()
    assert "Drift in 3 of 31 columns" in page and page.count("data:image/png") == 3


def test_with_action_alarm_drift_only_raises_the_metric(served, tmp_path) -> None:
    window = make_synthetic(1_000, seed=24)[FEATURES]
    window[SHIFTED] += 0.5 * served[SHIFTED].std()
    capture(window, NOW)
    assert run(tmp_path, "--action", "alarm")["drifted"] == SHIFTED
    assert executions() == [] and drifted_metric() == [3.0]


@pytest.mark.parametrize("trouble", ["empty", "corrupt", "columns"])
def test_a_window_that_cannot_be_judged_is_a_problem_not_drift(served, tmp_path, trouble) -> None:
    key = f"datacapture/{GROUP}/{GROUP}/AllTraffic/{NOW:%Y/%m/%d/%H}/x.jsonl"
    if trouble == "corrupt":
        boto3.client("s3").put_object(Bucket=BUCKET, Key=key, Body=b"{broken\nnot json\n")
    elif trouble == "columns":
        other = make_synthetic(200, seed=25)[FEATURES[:5]]
        answer = {
            "model_version": f"{GROUP}/1",
            "predictions": [{"malignant_probability": 0.3}] * 200,
        }
        body = record(other.to_csv(index=False), answer)
        boto3.client("s3").put_object(Bucket=BUCKET, Key=key, Body=body.encode())

    summary = run(tmp_path, "--action", "retrain")

    assert summary["drifted"] == [] and executions() == []
    assert summary["problems"][0] == "0 captured rows in the window: at least 50 are needed"
    if trouble != "empty":
        assert "capture line(s) could not be read, first: line 1:" in summary["problems"][1]
    assert "No verdict" in (tmp_path / "report.html").read_text()


def test_a_version_without_a_baseline_cannot_be_monitored(aws, tmp_path) -> None:
    sagemaker = boto3.client("sagemaker")
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    arn = sagemaker.create_model_package(
        ModelPackageGroupName=GROUP,
        ModelApprovalStatus="Approved",
        InferenceSpecification={
            "Containers": [{"Image": "1.dkr.ecr/i:1", "ModelDataUrl": "s3://b/m.tar.gz"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
    )["ModelPackageArn"]
    with pytest.raises(ChampionError, match=f"{arn} records no baseline_url"):
        run(tmp_path)


def test_the_window_is_the_hours_up_to_its_end() -> None:
    hours = monitor.window_hours(dt.datetime(2026, 1, 1, 1, 15, tzinfo=dt.UTC), 3)
    assert hours == {"2026/01/01/01", "2026/01/01/00", "2025/12/31/23"}
    assert monitor.in_window("d/mp/mp/AllTraffic/2026/01/01/00/x.jsonl", hours)
    assert not monitor.in_window("d/mp/mp/AllTraffic/2025/12/31/22/x.jsonl", hours)
    assert not monitor.in_window("x.jsonl", hours)


def test_traffic_another_version_answered_is_not_this_versions(served, tmp_path) -> None:
    # Shifted traffic that the previous version answered (a canary's old fleet, say) is left
    # out: the served version's own traffic is like its baseline.
    shifted = make_synthetic(1_000, seed=12)[FEATURES]
    shifted[SHIFTED] += 0.5 * served[SHIFTED].std()
    capture(shifted, NOW, "old.jsonl", version=f"{GROUP}/0")
    capture(make_synthetic(1_000, seed=21)[FEATURES], NOW)

    summary = run(tmp_path, "--action", "retrain")

    assert summary["drifted"] == [] and summary["other_versions"] == 10
    assert summary["window_rows"] == 1_000 and executions() == []


def test_drift_found_beside_unreadable_lines_is_reported_but_not_acted_on(served, tmp_path):
    window = make_synthetic(1_000, seed=12)[FEATURES]
    window[SHIFTED] += 0.5 * served[SHIFTED].std()
    capture(window, NOW)
    key = f"datacapture/{GROUP}/{GROUP}/AllTraffic/{NOW:%Y/%m/%d/%H}/broken.jsonl"
    boto3.client("s3").put_object(Bucket=BUCKET, Key=key, Body=b"{broken\n")

    summary = run(tmp_path, "--action", "retrain")

    assert summary["drifted"] == SHIFTED and summary["retraining"] is None
    assert executions() == []
    assert (
        "not acted on: 1 capture line(s) could not be read"
        in (tmp_path / "report.html").read_text()
    )


def test_a_drift_retrain_is_started_once_per_window(served, tmp_path) -> None:
    # The same data makes the same model: the next hourly check must not start it again.
    window = make_synthetic(1_000, seed=12)[FEATURES]
    window[SHIFTED] += 0.5 * served[SHIFTED].std()
    capture(window, NOW)
    first = run(tmp_path, "--action", "retrain")["retraining"]
    second = run(tmp_path, "--action", "retrain")["retraining"]
    assert first.startswith("arn:aws:sagemaker:") and len(executions()) == 1
    assert second == f"not started: {first} is recent enough"
