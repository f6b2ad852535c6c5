"""evaluate.py: scoring, the evaluation.json contract, plots, and the champion via moto."""

import io
import json
import math
import os
import subprocess
import sys
import tarfile

import boto3
import joblib
import pandas as pd
import pytest
from PIL import Image

from training_pipeline.environment.data import model_schema
from training_pipeline.steps import artifacts, champion, evaluate, train
from training_pipeline.steps.errors import (
    ChampionError,
    DataValidationError,
    ModelArtifactError,
)

from .conftest import SCHEMA_ARGS, pack_model

CANCER = model_schema("cancer")

GROUP = "mlops-demo-dev"
BUCKET = "models-bucket"


def bundle_for(frame: pd.DataFrame, **hyperparameters) -> dict:
    model = train.train_model(frame, CANCER, {"random_state": 0, **hyperparameters})
    return train.make_bundle(model, {"random_state": 0, **hyperparameters}, CANCER)


@pytest.fixture(scope="module")
def test_frame(pipeline_run) -> pd.DataFrame:
    return pd.read_csv(pipeline_run["test_dir"] / "test.csv")


@pytest.fixture(scope="module")
def challenger(pipeline_run) -> dict:
    return artifacts.load_bundle(pipeline_run["model_file"])


# --- scoring and documents ------------------------------------------------------------


def test_score_computes_every_metric(challenger, test_frame) -> None:
    scores = evaluate.score(challenger, test_frame, CANCER)
    assert list(scores.metrics) == list(CANCER.metrics)
    assert 0.9 < scores.metrics["roc_auc"] <= 1.0
    assert all(isinstance(v, float) and round(v, 6) == v for v in scores.metrics.values())
    assert scores.confusion.sum() == len(test_frame)
    (tn, fp), (fn, tp) = scores.confusion
    assert scores.metrics["accuracy"] == pytest.approx((tn + tp) / len(test_frame), abs=1e-6)
    assert scores.metrics["recall"] == pytest.approx(tp / (tp + fn), abs=1e-6)
    assert scores.metrics["precision"] == pytest.approx(tp / (tp + fp), abs=1e-6)


def test_score_names_the_features_the_data_lacks(challenger, test_frame) -> None:
    with pytest.raises(ModelArtifactError, match="feature\\(s\\) 'worst_area' that the test"):
        evaluate.score(challenger, test_frame.drop(columns=["worst_area"]), CANCER)


def test_score_needs_both_labels(challenger, test_frame) -> None:
    benign = test_frame[test_frame[CANCER.label] == 0]
    with pytest.raises(DataValidationError, match=r"holds only label\(s\) \[0\]"):
        evaluate.score(challenger, benign, CANCER)


def test_evaluation_without_champion_has_the_contract_shape(challenger, test_frame) -> None:
    scores = evaluate.score(challenger, test_frame, CANCER)
    document = evaluate.build_evaluation(scores, len(test_frame), "roc_auc", "higher")
    assert document == {
        "metrics": {name: {"value": scores.metrics[name]} for name in CANCER.metrics},
        "gate": {
            "metric": "roc_auc",
            "direction": "higher",
            "value": scores.metrics["roc_auc"],
            "improvement": 0.0,
        },
        "champion": {"model_package_arn": "", "value": 0.0},
        "comparison": {"has_champion": False},
        "test_rows": len(test_frame),
    }
    json.dumps(document, allow_nan=False)


def test_evaluation_with_champion_reports_the_delta(challenger, test_frame, reference) -> None:
    weak = bundle_for(reference, max_iter=1, max_depth=1, learning_rate=0.01)
    scores = evaluate.score(challenger, test_frame, CANCER)
    weak_scores = evaluate.score(weak, test_frame, CANCER)
    document = evaluate.build_evaluation(
        scores, len(test_frame), "roc_auc", "higher", "arn:x", weak_scores
    )
    assert document["champion"] == {
        "model_package_arn": "arn:x",
        "value": weak_scores.metrics["roc_auc"],
    }
    delta = document["gate"]["improvement"]
    assert document["comparison"]["has_champion"] is True
    assert delta == round(scores.metrics["roc_auc"] - weak_scores.metrics["roc_auc"], 6)
    assert delta > 0
    # Lower-is-better metrics count a fall as the improvement: the weak model's log loss is
    # higher, so the challenger improves on it by the difference.
    by_loss = evaluate.build_evaluation(
        scores, len(test_frame), "log_loss", "lower", "arn:x", weak_scores
    )["gate"]
    loss_drop = weak_scores.metrics["log_loss"] - scores.metrics["log_loss"]
    assert by_loss["improvement"] == round(loss_drop, 6) and loss_drop > 0


def test_model_quality_uses_the_sagemaker_statistics_format(challenger, test_frame) -> None:
    scores = evaluate.score(challenger, test_frame, CANCER)
    metrics = evaluate.build_model_quality(scores)["binary_classification_metrics"]
    (tn, fp), (fn, tp) = scores.confusion.tolist()
    assert metrics["confusion_matrix"] == {"0": {"0": tn, "1": fp}, "1": {"0": fn, "1": tp}}
    assert metrics["auc"] == {"value": scores.metrics["roc_auc"], "standard_deviation": "NaN"}
    for name in ("accuracy", "precision", "recall", "f1"):
        assert metrics[name]["value"] == scores.metrics[name]


# --- artifacts ------------------------------------------------------------------------


def test_unsafe_archive_members_are_refused(tmp_path) -> None:
    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("../escape.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    with pytest.raises(ModelArtifactError, match=r"model\.tar\.gz"):
        artifacts.extract_tar(archive, tmp_path / "out")
    assert not (tmp_path / "escape.txt").exists()


def test_a_file_that_is_not_a_bundle_is_refused(tmp_path) -> None:
    joblib.dump({"estimator": 1}, tmp_path / "model.joblib")
    with pytest.raises(ModelArtifactError, match="is not a model bundle"):
        artifacts.load_model_dir(tmp_path, tmp_path / "scratch")


def test_a_missing_model_names_the_folder_content(tmp_path) -> None:
    (tmp_path / "notes.txt").write_text("")
    with pytest.raises(ModelArtifactError) as caught:
        artifacts.load_model_dir(tmp_path, tmp_path / "scratch")
    assert str(caught.value) == (
        f"no model.tar.gz or model.joblib in {tmp_path} (it holds notes.txt)"
    )


# --- main without AWS -----------------------------------------------------------------


def run_evaluate(pipeline_run, output_dir, *extra: str) -> dict:
    return evaluate.main(
        ["--model-dir", str(pipeline_run["model_dir"]),
         "--test-dir", str(pipeline_run["test_dir"]),
         "--output-dir", str(output_dir), *SCHEMA_ARGS, *extra]
    )  # fmt: skip


def test_main_writes_evaluation_quality_and_plots(pipeline_run, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("MODEL_PACKAGE_GROUP_NAME", raising=False)
    result = run_evaluate(pipeline_run, tmp_path / "eval")
    evaluation = json.loads((tmp_path / "eval" / "evaluation.json").read_text())
    assert evaluation == result
    assert evaluation["test_rows"] == 86
    assert evaluation["comparison"] == {"has_champion": False}
    assert evaluation["gate"]["improvement"] == 0.0
    quality = json.loads((tmp_path / "eval" / "model_quality.json").read_text())
    assert (
        quality["binary_classification_metrics"]["auc"]["value"]
        == (evaluation["metrics"]["roc_auc"]["value"])
    )
    for plot in ("confusion_matrix.png", "roc_curve.png"):
        with Image.open(tmp_path / "eval" / plot) as image:
            assert image.format == "PNG" and image.size[0] > 300
            assert "Software" not in image.info


def test_main_output_is_byte_identical_across_runs(pipeline_run, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("MODEL_PACKAGE_GROUP_NAME", raising=False)
    run_evaluate(pipeline_run, tmp_path / "one")
    run_evaluate(pipeline_run, tmp_path / "two")
    for name in ("evaluation.json", "model_quality.json", "confusion_matrix.png", "roc_curve.png"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


def test_script_runs_by_absolute_path_from_elsewhere(pipeline_run, tmp_path, code_dir) -> None:
    # How the processing job starts it: python3 /opt/ml/processing/code/evaluate.py
    result = subprocess.run(
        [sys.executable, str(code_dir / "evaluate.py"),
         "--model-dir", str(pipeline_run["model_dir"]),
         "--test-dir", str(pipeline_run["test_dir"]),
         "--output-dir", str(tmp_path / "eval")],
        cwd=tmp_path, capture_output=True, text=True, check=False,
        env={**os.environ, "PYTHONPATH": "", "MODEL_PACKAGE_GROUP_NAME": ""},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "test_roc_auc=" in result.stdout
    assert json.loads((tmp_path / "eval" / "evaluation.json").read_text())["test_rows"] == 86


# --- champion (moto) ------------------------------------------------------------------


IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/sklearn:1"


def register(model_file, key: str, status: str, metadata: dict | None = None) -> str:
    """Upload a packed model and register it in GROUP with ``status``; returns its ARN."""
    archive = pack_model(model_file, model_file.parent / "packed" / "model.tar.gz")
    boto3.client("s3").upload_file(str(archive), BUCKET, key)
    return boto3.client("sagemaker").create_model_package(
        ModelPackageGroupName=GROUP,
        ModelApprovalStatus=status,
        **({"CustomerMetadataProperties": metadata} if metadata else {}),
        InferenceSpecification={
            "Containers": [
                {
                    "Image": IMAGE,
                    "ModelDataUrl": f"s3://{BUCKET}/{key}",
                }
            ],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )["ModelPackageArn"]


@pytest.fixture
def registry(aws):
    boto3.client("s3").create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    boto3.client("sagemaker").create_model_package_group(ModelPackageGroupName=GROUP)


def test_no_group_or_no_approved_package_means_no_champion(aws, tmp_path, pipeline_run) -> None:
    client = boto3.client("sagemaker")
    assert champion.find_champion(client, "never-created") is None
    client.create_model_package_group(ModelPackageGroupName=GROUP)
    assert champion.find_champion(client, GROUP) is None


def test_the_champion_is_the_latest_approved_package(registry, pipeline_run) -> None:
    model_file = pipeline_run["model_file"]
    register(model_file, "v1/model.tar.gz", "Approved")
    latest = register(model_file, "v2/model.tar.gz", "Approved")
    register(model_file, "v3/model.tar.gz", "Rejected")
    register(model_file, "v4/model.tar.gz", "PendingManualApproval")
    found = champion.find_champion(boto3.client("sagemaker"), GROUP)
    assert found == champion.Champion(latest, 2, f"s3://{BUCKET}/v2/model.tar.gz", None, IMAGE)


def test_main_rescores_the_champion_on_the_same_test_rows(
    registry, pipeline_run, tmp_path, reference
) -> None:
    weak_dir = tmp_path / "weak"
    artifacts.save_bundle(bundle_for(reference, max_iter=1, max_depth=1), weak_dir)
    arn = register(weak_dir / "model.joblib", "weak/model.tar.gz", "Approved")

    result = run_evaluate(pipeline_run, tmp_path / "eval", "--model-package-group", GROUP)

    test_frame = pd.read_csv(pipeline_run["test_dir"] / "test.csv")
    expected = evaluate.score(artifacts.load_bundle(weak_dir / "model.joblib"), test_frame, CANCER)
    assert result["champion"] == {
        "model_package_arn": arn,
        "value": expected.metrics["roc_auc"],
    }
    challenger_auc = result["metrics"]["roc_auc"]["value"]
    assert result["comparison"] == {"has_champion": True}
    assert result["gate"]["improvement"] == round(challenger_auc - expected.metrics["roc_auc"], 6)
    assert result["gate"]["improvement"] > 0


def test_the_same_model_as_champion_gives_a_zero_delta(
    registry, pipeline_run, tmp_path, monkeypatch
) -> None:
    register(pipeline_run["model_file"], "same/model.tar.gz", "Approved")
    monkeypatch.setenv("MODEL_PACKAGE_GROUP_NAME", GROUP)  # the default for the option
    result = run_evaluate(pipeline_run, tmp_path / "eval")
    assert result["comparison"] == {"has_champion": True}
    assert result["gate"]["improvement"] == 0.0
    assert not math.isnan(result["champion"]["value"])


def test_a_champion_whose_artifact_is_gone_fails_clearly(registry, pipeline_run, tmp_path) -> None:
    arn = register(pipeline_run["model_file"], "gone/model.tar.gz", "Approved")
    boto3.client("s3").delete_object(Bucket=BUCKET, Key="gone/model.tar.gz")
    with pytest.raises(ChampionError) as caught:
        run_evaluate(pipeline_run, tmp_path / "eval", "--model-package-group", GROUP)
    message = str(caught.value)
    assert f"s3://{BUCKET}/gone/model.tar.gz" in message and arn in message


def test_a_champion_with_other_features_cannot_be_rescored(
    registry, pipeline_run, tmp_path, reference
) -> None:
    renamed = reference.rename(columns={"worst_area": "worst_area_mm2"})
    model = train.HistGradientBoostingClassifier(max_iter=5).fit(
        renamed.drop(columns=[CANCER.label]), renamed[CANCER.label]
    )
    bundle = {"model": model, "features": list(renamed.columns[:-1]), "label": CANCER.label}
    artifacts.save_bundle(bundle, tmp_path / "old")
    register(tmp_path / "old" / "model.joblib", "old/model.tar.gz", "Approved")
    with pytest.raises(ChampionError, match="'worst_area_mm2' that the test data lacks"):
        run_evaluate(pipeline_run, tmp_path / "eval", "--model-package-group", GROUP)


def test_a_model_data_url_that_is_not_s3_is_refused(tmp_path) -> None:
    bad = champion.Champion("arn:aws:sagemaker:eu-west-1:1:model-package/g/1", 1, "https://x/y")
    with pytest.raises(ChampionError, match="not an s3://bucket/key URL"):
        champion.download_model(object(), bad, tmp_path)


# --- registration: a model identical to a registered version is not registered again -------


def register_with_digest(model_file, key: str, status: str, digest: str) -> str:
    return register(model_file, key, status, {"model_digest": digest})


def test_the_content_digest_ignores_how_the_model_was_packed(pipeline_run, tmp_path) -> None:
    model_file = tmp_path / "model.joblib"
    model_file.write_bytes(pipeline_run["model_file"].read_bytes())
    packed = pack_model(model_file, tmp_path / "a" / "model.tar.gz")
    os.utime(model_file, (1, 1))  # another mtime in the archive, the same model
    repacked = pack_model(model_file, tmp_path / "b" / "model.tar.gz")
    assert packed.read_bytes() != repacked.read_bytes()
    assert artifacts.content_digest(packed.parent) == artifacts.content_digest(repacked.parent)
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "model.joblib").write_bytes(model_file.read_bytes())
    assert artifacts.content_digest(bare) == artifacts.content_digest(packed.parent)
    (bare / "model.joblib").write_bytes(model_file.read_bytes() + b"\0")
    assert artifacts.content_digest(bare) != artifacts.content_digest(packed.parent)
    with pytest.raises(ModelArtifactError, match="no model.tar.gz or model.joblib"):
        artifacts.content_digest(tmp_path / "empty")


def test_a_new_model_is_flagged_for_registration(registry, pipeline_run, tmp_path) -> None:
    result = run_evaluate(pipeline_run, tmp_path / "eval", "--model-package-group", GROUP)
    digest = artifacts.content_digest(pipeline_run["model_dir"])
    assert result["registration"] == {
        "model_digest": digest,
        "duplicate_of_version": 0,
        "duplicate_of_status": "",
    }


@pytest.mark.parametrize("status", ["Approved", "PendingManualApproval", "Rejected"])
def test_a_model_identical_to_any_registered_version_names_that_version(
    registry, pipeline_run, tmp_path, status: str
) -> None:
    digest = artifacts.content_digest(pipeline_run["model_dir"])
    register_with_digest(
        pipeline_run["model_file"], "v1/model.tar.gz", "Approved", "sha256:" + "0" * 64
    )
    register_with_digest(pipeline_run["model_file"], "v2/model.tar.gz", status, digest)
    same_image = ("--model-package-group", GROUP, "--inference-image", IMAGE)
    result = run_evaluate(pipeline_run, tmp_path / "eval", *same_image)
    assert result["registration"] == {
        "model_digest": digest,
        "duplicate_of_version": 2,
        "duplicate_of_status": status,
    }


def test_the_same_model_in_another_inference_image_is_a_new_package(
    registry, pipeline_run, tmp_path
) -> None:
    """A commit that changes only how the model is served still registers, so it ships."""
    digest = artifacts.content_digest(pipeline_run["model_dir"])
    register_with_digest(pipeline_run["model_file"], "v1/model.tar.gz", "Approved", digest)
    other_image = IMAGE.replace(":1", ":2")
    args = ("--model-package-group", GROUP, "--inference-image", other_image)
    result = run_evaluate(pipeline_run, tmp_path / "eval", *args)
    assert result["registration"]["duplicate_of_version"] == 0
