"""The drift baseline a training run attaches to its model: Model Monitor's statistics and
constraints of the training rows and the model's predictions, and the reference sample."""

import json

import numpy as np
import pandas as pd
import pytest

from training_pipeline.steps import artifacts, baseline, csvio
from training_pipeline.steps.errors import ModelArtifactError
from training_pipeline.steps.schema import load as load_schema

from .conftest import SCHEMA_ARGS

CANCER = load_schema(SCHEMA_ARGS[1])


def test_statistics_follow_model_monitors_schema() -> None:
    frame = pd.DataFrame({"count": [0, 1, 2, 3, np.nan], "size": [0.5, 1.5, -2.0, 4.0, 1.0]})

    stats = baseline.statistics(frame)

    assert stats["version"] == 0.0 and stats["dataset"] == {"item_count": 5}
    count, size = stats["features"]
    assert count["name"] == "count" and count["inferred_type"] == "Integral"
    assert size["inferred_type"] == "Fractional"
    numbers = count["numerical_statistics"]
    assert numbers["common"] == {"num_present": 4, "num_missing": 1}
    assert (numbers["mean"], numbers["sum"], numbers["min"], numbers["max"]) == (1.5, 6.0, 0, 3)
    assert numbers["std_dev"] == pytest.approx(np.std([0, 1, 2, 3]))
    kll = numbers["distribution"]["kll"]
    assert len(kll["buckets"]) == baseline.BUCKETS
    assert sum(bucket["count"] for bucket in kll["buckets"]) == 4
    assert kll["buckets"][0]["lower_bound"] == 0 and kll["buckets"][-1]["upper_bound"] == 3
    assert kll["sketch"] == {"parameters": {"c": 0.64, "k": 2048}, "data": [[0.0, 1.0, 2.0, 3.0]]}


def test_a_long_column_keeps_a_sketch_of_k_values() -> None:
    frame = pd.DataFrame({"x": np.arange(10_000, dtype=float)})
    data = baseline.statistics(frame)["features"][0]["numerical_statistics"]["distribution"]
    (level,) = data["kll"]["sketch"]["data"]
    assert len(level) == baseline.KLL_K and level[0] == 0 and level[-1] == 9_999


def test_constraints_are_what_model_monitor_suggests() -> None:
    stats = baseline.statistics(pd.DataFrame({"a": [0.0, 2.0, np.nan, 1.0], "b": [-1.0, 1, 2, 3]}))

    document = baseline.constraints(stats)

    assert document["features"] == [
        {
            "name": "a",
            "inferred_type": "Integral",
            "completeness": 0.75,
            "num_constraints": {"is_non_negative": True},
        },
        {
            "name": "b",
            "inferred_type": "Integral",
            "completeness": 1.0,
            "num_constraints": {"is_non_negative": False},
        },
    ]
    assert document["monitoring_config"]["distribution_constraints"] == {
        "perform_comparison": "Enabled",
        "comparison_threshold": baseline.COMPARISON_THRESHOLD,
        "comparison_method": "Robust",
    }


def test_main_writes_the_baseline_of_the_training_rows_and_the_models_predictions(
    pipeline_run, tmp_path
) -> None:
    train_dir = pipeline_run["root"] / "pre" / "train"
    out = tmp_path / "baseline"

    stats = baseline.main(
        ["--model-dir", str(pipeline_run["model_dir"]), "--train-dir", str(train_dir)]
        + ["--output-dir", str(out), *SCHEMA_ARGS]
    )

    train, _ = csvio.read_csvs(csvio.list_csv_files(train_dir), CANCER)
    columns = [*CANCER.features, "malignant_probability"]
    assert [f["name"] for f in stats["features"]] == columns
    assert stats["dataset"]["item_count"] == len(train)
    assert json.loads((out / "statistics.json").read_text()) == stats
    constraints = json.loads((out / "constraints.json").read_text())
    assert [f["name"] for f in constraints["features"]] == columns
    reference = pd.read_csv(out / "reference.csv")
    assert list(reference.columns) == columns and len(reference) == len(train)
    model = artifacts.load_bundle(pipeline_run["model_file"])["model"]
    own = model.predict_proba(train[list(CANCER.features)])[:, 1]
    np.testing.assert_allclose(reference["malignant_probability"], own, rtol=1e-12)
    probability = stats["features"][-1]["numerical_statistics"]
    assert 0 <= probability["min"] <= probability["max"] <= 1


def test_a_sample_of_many_rows_is_the_same_sample_each_time() -> None:
    frame = pd.DataFrame({"x": np.arange(25_000)})
    first = baseline.reference_sample(frame)
    assert len(first) == baseline.REFERENCE_ROWS
    assert first.equals(baseline.reference_sample(frame))


def test_a_model_needing_a_feature_the_rows_lack_is_refused(pipeline_run, reference) -> None:
    bundle = artifacts.load_bundle(pipeline_run["model_file"])
    rows = reference.drop(columns=["worst_area"])
    with pytest.raises(ModelArtifactError, match="'worst_area' the training rows lack"):
        baseline.with_predictions(bundle, rows, CANCER)
