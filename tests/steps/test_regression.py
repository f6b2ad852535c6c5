"""The second reference model, a regression (models/diabetes): the same step scripts, run from
its own code bundle, validate, split, fit, score and gate it by an error metric."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from training_pipeline.environment.data import load_dataset, model_schema, write_csv
from training_pipeline.pipeline.code_bundle import load_bundle
from training_pipeline.steps import evaluate, preprocess, schema, train
from training_pipeline.steps.errors import DataValidationError

DIABETES = model_schema("diabetes")
FAST = {"max_iter": 30, "random_state": 0}


@pytest.fixture(scope="module")
def diabetes() -> pd.DataFrame:
    return load_dataset("sklearn:diabetes", DIABETES)


@pytest.fixture(scope="module")
def code_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("diabetes-code")
    for name, content in load_bundle("diabetes").files.items():
        (folder / name).write_bytes(content)
    return folder


def test_the_shipped_dataset_has_the_models_columns(diabetes) -> None:
    assert DIABETES.kind == "regression"
    assert list(diabetes.columns) == DIABETES.columns
    assert len(diabetes) == 442
    assert diabetes[DIABETES.label].dtype == "float64"
    assert diabetes[DIABETES.label].between(25, 346).all()


def test_a_regression_split_is_uniform_and_reproducible(diabetes) -> None:
    labels = diabetes[DIABETES.label].to_numpy()
    parts = preprocess.split_indices(labels, DIABETES, 0.15, 0.15, seed=42)
    sizes = {name: len(rows) for name, rows in parts.items()}
    assert sizes == {"train": 310, "validation": 66, "test": 66}
    everything = np.sort(np.concatenate(list(parts.values())))
    assert np.array_equal(everything, np.arange(len(labels)))
    again = preprocess.split_indices(labels, DIABETES, 0.15, 0.15, seed=42)
    assert all(np.array_equal(parts[n], again[n]) for n in parts)


def test_a_non_finite_target_is_named(diabetes) -> None:
    frame = diabetes.copy()
    frame.loc[3, DIABETES.label] = np.inf
    with pytest.raises(DataValidationError) as caught:
        preprocess.validate(frame, DIABETES, 0.0)
    assert str(caught.value) == (
        "label column 'disease_progression' has 1 value outside the finite numbers "
        "(first: row 3 = inf)"
    )


def test_too_few_rows_say_so_without_classes() -> None:
    with pytest.raises(DataValidationError) as caught:
        preprocess.split_indices(np.arange(3.0), DIABETES, 0.15, 0.15, seed=0)
    assert str(caught.value) == (
        "too few rows to split: 3 rows give train=3, validation=0, test=0 with "
        "validation_fraction=0.15 and test_fraction=0.15; every split needs rows"
    )


def test_the_regressor_is_scored_by_error_metrics(diabetes) -> None:
    model = train.train_model(diabetes.iloc[:350], DIABETES, FAST)
    assert type(model).__name__ == "HistGradientBoostingRegressor"
    metrics = train.validation_metrics(model, diabetes.iloc[350:], DIABETES)
    assert set(metrics) == {"rmse", "mae", "r2"}
    assert 0 < metrics["mae"] < metrics["rmse"] < diabetes[DIABETES.label].std()
    bundle = train.make_bundle(model, FAST, DIABETES)
    scores = evaluate.score(bundle, diabetes.iloc[350:], DIABETES)
    assert scores.metrics["rmse"] == pytest.approx(metrics["rmse"], abs=1e-6)
    quality = evaluate.build_model_quality(scores)["regression_metrics"]
    assert quality["rmse"]["value"] == scores.metrics["rmse"]
    assert quality["mse"]["value"] == pytest.approx(scores.metrics["rmse"] ** 2, rel=1e-6)


def test_a_worse_regression_has_a_negative_improvement(diabetes) -> None:
    good = train.make_bundle(train.train_model(diabetes, DIABETES, FAST), FAST, DIABETES)
    weak_params = {"max_iter": 2, "learning_rate": 0.01, "max_depth": 1}
    weak = train.make_bundle(
        train.train_model(diabetes, DIABETES, weak_params), weak_params, DIABETES
    )
    good_scores, weak_scores = (evaluate.score(b, diabetes, DIABETES) for b in (good, weak))
    gate = evaluate.build_evaluation(
        weak_scores, len(diabetes), "rmse", "lower", "arn:good", good_scores
    )["gate"]
    # The weak challenger's error is higher than the champion's: a negative improvement.
    assert gate["value"] == weak_scores.metrics["rmse"] > good_scores.metrics["rmse"]
    assert gate["improvement"] == round(good_scores.metrics["rmse"] - gate["value"], 6) < 0


def test_the_scripts_run_the_regression_from_its_bundle(diabetes, code_dir, tmp_path) -> None:
    """As the jobs run them: from the model's code folder, the schema beside the scripts."""
    write_csv(diabetes, tmp_path / "in" / "diabetes.csv")
    env = {**os.environ, "PYTHONPATH": "", "MODEL_PACKAGE_GROUP_NAME": ""}

    def script(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, *args], cwd=code_dir, capture_output=True, text=True, env=env
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    script("preprocess.py", "--input-dir", str(tmp_path / "in"), "--output-dir", str(tmp_path))
    profile = json.loads((tmp_path / "profile" / "profile.json").read_text())
    assert profile["label_balance"]["input"]["mean"] == pytest.approx(152.133, abs=1e-3)
    out = script(
        "train.py",
        "--train-dir", str(tmp_path / "train"),
        "--validation-dir", str(tmp_path / "validation"),
        "--model-dir", str(tmp_path / "model"),
        "--output-data-dir", str(tmp_path / "metrics"),
    )  # fmt: skip
    assert "validation_rmse=" in out
    script(
        "evaluate.py",
        "--model-dir", str(tmp_path / "model"),
        "--test-dir", str(tmp_path / "test"),
        "--output-dir", str(tmp_path / "evaluation"),
        "--gate-metric", "rmse",
    )  # fmt: skip
    evaluation = json.loads((tmp_path / "evaluation" / "evaluation.json").read_text())
    assert evaluation["gate"]["metric"] == "rmse" and evaluation["gate"]["direction"] == "lower"
    assert 40 < evaluation["gate"]["value"] < 70
    with Image.open(tmp_path / "evaluation" / "predicted_vs_actual.png") as image:
        assert image.format == "PNG"
    assert not (tmp_path / "evaluation" / "roc_curve.png").exists()


def test_a_gate_metric_of_another_kind_is_refused(diabetes, code_dir, tmp_path) -> None:
    write_csv(diabetes, tmp_path / "test" / "test.csv")
    done = subprocess.run(
        [sys.executable, "evaluate.py", "--test-dir", str(tmp_path / "test"),
         "--gate-metric", "roc_auc"],
        cwd=code_dir, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": ""},
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "DataValidationError: --gate-metric roc_auc is not a regression metric: choose one of "
        "rmse, mae, r2"
    )


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ({"kind": "ranking", "features": ["a"], "label": "y"}, "kind must be one of"),
        ({"kind": "regression", "features": [], "label": "y"}, "features must be a non-empty"),
        ({"kind": "regression", "features": ["a", "y"], "label": "y"}, "'y' is also a feature"),
        ({"kind": "classification", "features": ["a"], "label": "y"}, "two distinct integers"),
        (
            {"kind": "regression", "features": ["a"], "label": "y", "label_values": [0, 1]},
            "label_values is for classification only",
        ),
        ({"kind": "regression", "features": ["a"], "label": "y", "extra": 1}, "unknown key"),
    ],
)
def test_a_broken_schema_is_refused_with_what_is_wrong(document, problem, tmp_path) -> None:
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(document))
    with pytest.raises(DataValidationError, match=problem) as caught:
        schema.load(path)
    assert str(caught.value).startswith(f"{path}: ")
