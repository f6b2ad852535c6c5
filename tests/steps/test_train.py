"""train.py: hyperparameters, fitting, metrics, and the script end to end."""

import json
import os
import re
import subprocess
import sys

import joblib
import numpy as np
import pandas as pd
import pytest

from training_pipeline.environment.data import make_synthetic, model_schema, write_csv
from training_pipeline.steps import train
from training_pipeline.steps.errors import DataValidationError, HyperparameterError

from .conftest import SCHEMA_ARGS

CANCER = model_schema("cancer")

FAST = {"max_iter": 20, "random_state": 0}


def test_defaults_are_used_for_missing_hyperparameters() -> None:
    resolved = train.resolve_hyperparameters({"max_iter": 5})
    assert resolved["max_iter"] == 5
    assert resolved["learning_rate"] == 0.1
    assert set(resolved) == set(train.HYPERPARAMETERS)


def test_integral_floats_are_accepted_for_integer_hyperparameters() -> None:
    resolved = train.resolve_hyperparameters({"max_depth": 4.0, "random_state": np.int64(3)})
    assert resolved["max_depth"] == 4 and isinstance(resolved["max_depth"], int)
    assert resolved["random_state"] == 3


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"max_iter": 0}, "hyperparameter 'max_iter' must be >= 1, got 0"),
        ({"learning_rate": 0.0}, "hyperparameter 'learning_rate' must be > 0, got 0.0"),
        ({"learning_rate": float("inf")}, "hyperparameter 'learning_rate' must be > 0, got inf"),
        ({"max_depth": 2.5}, "hyperparameter 'max_depth' must be an integer, got 2.5"),
        ({"max_iter": "100"}, "hyperparameter 'max_iter' must be an integer, got '100'"),
        ({"l2_regularization": True}, "hyperparameter 'l2_regularization' must be a number"),
        ({"max_leaf_nodes": 1}, "hyperparameter 'max_leaf_nodes' must be >= 2, got 1"),
        ({"n_estimators": 10}, "unknown hyperparameter 'n_estimators' (known: max_iter,"),
    ],
)
def test_bad_hyperparameters_are_named(given: dict, message: str) -> None:
    with pytest.raises(HyperparameterError) as caught:
        train.resolve_hyperparameters(given)
    assert str(caught.value).startswith(message)


def test_all_bad_hyperparameters_are_reported_together() -> None:
    with pytest.raises(HyperparameterError) as caught:
        train.resolve_hyperparameters({"max_iter": 0, "learning_rate": -1})
    assert "'max_iter'" in str(caught.value) and "'learning_rate'" in str(caught.value)


def test_train_model_fits_deterministically_without_touching_its_input(reference) -> None:
    before = reference.copy()
    first = train.train_model(reference, CANCER, FAST)
    second = train.train_model(reference, CANCER, FAST)
    pd.testing.assert_frame_equal(reference, before)
    probabilities = first.predict_proba(reference[list(CANCER.features)])
    assert probabilities.shape == (569, 2)
    assert np.array_equal(probabilities, second.predict_proba(reference[list(CANCER.features)]))
    assert first.max_iter == 20 and first.early_stopping is False


def test_train_model_needs_both_labels(reference) -> None:
    benign = reference[reference[CANCER.label] == 0]
    with pytest.raises(DataValidationError, match=r"must hold both labels \(0, 1\), it has \[0\]"):
        train.train_model(benign, CANCER, FAST)


def test_validation_metrics_are_rounded_and_in_range() -> None:
    model = train.train_model(make_synthetic(3_000, seed=1), CANCER, FAST)
    metrics = train.validation_metrics(model, make_synthetic(1_000, seed=2), CANCER)
    assert set(metrics) == {"auc", "accuracy", "log_loss"}
    assert 0.85 < metrics["auc"] < 1.0
    assert 0.5 < metrics["accuracy"] <= 1.0
    assert metrics["log_loss"] > 0
    assert all(round(v, 6) == v for v in metrics.values())


def test_validation_metrics_need_both_labels(reference) -> None:
    model = train.train_model(reference, CANCER, FAST)
    with pytest.raises(DataValidationError, match="validation data has only label 1"):
        train.validation_metrics(model, reference[reference[CANCER.label] == 1], CANCER)


def test_both_spellings_and_sagemaker_environment_are_accepted(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("SM_CHANNEL_TRAIN", str(tmp_path / "t"))
    monkeypatch.setenv("SM_MODEL_DIR", str(tmp_path / "m"))
    args, unknown = train.parse_args(["--max_iter", "7", "--learning-rate", "0.3", "--x", "1"])
    assert (args.max_iter, args.learning_rate) == (7, 0.3)
    assert args.train_dir == tmp_path / "t" and args.model_dir == tmp_path / "m"
    assert str(args.validation_dir) == "/opt/ml/input/data/validation"
    assert unknown == ["--x", "1"]


def test_main_saves_the_model_bundle_and_prints_metrics(tmp_path, monkeypatch, capsys) -> None:
    write_csv(make_synthetic(800, seed=1), tmp_path / "train" / "train.csv")
    write_csv(make_synthetic(300, seed=2), tmp_path / "validation" / "validation.csv")
    for variable, folder in [
        ("SM_CHANNEL_TRAIN", "train"),
        ("SM_CHANNEL_VALIDATION", "validation"),
        ("SM_MODEL_DIR", "model"),
        ("SM_OUTPUT_DATA_DIR", "output"),
    ]:
        monkeypatch.setenv(variable, str(tmp_path / folder))
    metrics = train.main(
        ["--max_iter", "30", "--max_depth", "2", "--random_state", "1", *SCHEMA_ARGS]
    )

    bundle = joblib.load(tmp_path / "model" / "model.joblib")
    assert bundle["features"] == list(CANCER.features)
    assert bundle["label"] == CANCER.label
    assert bundle["hyperparameters"]["max_iter"] == 30
    assert bundle["model"].max_depth == 2
    report = json.loads((tmp_path / "output" / "metrics.json").read_text())
    assert report["validation"] == metrics
    assert (report["train_rows"], report["validation_rows"]) == (800, 300)
    out = capsys.readouterr().out
    # the pattern a SageMaker metric definition would use
    found = re.search(r"validation_auc=([0-9.]+)", out)
    assert found and float(found.group(1)) == pytest.approx(metrics["auc"])


def test_main_rejects_nan_in_the_training_split(tmp_path, reference) -> None:
    frame = reference.copy()
    frame.loc[4, "mean_area"] = np.nan
    write_csv(frame, tmp_path / "train" / "train.csv")
    write_csv(reference, tmp_path / "validation" / "validation.csv")
    with pytest.raises(DataValidationError, match=r"'mean_area' has 1 NaN value .*train\.csv:6"):
        train.main(
            ["--train-dir", str(tmp_path / "train"), "--validation-dir",
             str(tmp_path / "validation"), "--model-dir", str(tmp_path / "m"),
             "--output-data-dir", str(tmp_path / "o"), *SCHEMA_ARGS]
        )  # fmt: skip


def test_script_failure_is_one_line_and_the_failure_file(tmp_path, code_dir) -> None:
    (tmp_path / "output").mkdir()
    result = subprocess.run(
        [sys.executable, "train.py", "--max_iter", "0"],
        cwd=code_dir, capture_output=True, text=True, check=False,
        env={**os.environ, "PYTHONPATH": "", "SM_OUTPUT_DIR": str(tmp_path / "output")},
    )  # fmt: skip
    expected = "HyperparameterError: hyperparameter 'max_iter' must be >= 1, got 0"
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == expected
    assert (tmp_path / "output" / "failure").read_text() == expected
