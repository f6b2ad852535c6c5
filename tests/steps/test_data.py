"""The reference dataset and the synthetic generator."""

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score

from training_pipeline.environment import data
from training_pipeline.environment.data import model_schema
from training_pipeline.steps import csvio

CANCER = model_schema("cancer")


def test_reference_has_the_schema_columns_dtypes_and_label(reference: pd.DataFrame) -> None:
    assert reference.shape == (569, 31)
    assert list(reference.columns) == [*list(CANCER.features), CANCER.label]
    assert (reference[list(CANCER.features)].dtypes == "float64").all()
    assert reference[CANCER.label].dtype == "int64"
    # sklearn: 212 malignant (target 0) and 357 benign (target 1); our label is 1 = malignant
    assert reference[CANCER.label].value_counts().to_dict() == {0: 357, 1: 212}


def test_reference_mean_radius_is_larger_for_malignant(reference: pd.DataFrame) -> None:
    means = reference.groupby(CANCER.label)["mean_radius"].mean()
    assert means[1] > means[0]


def test_synthetic_matches_the_reference_schema(reference: pd.DataFrame) -> None:
    synthetic = data.make_synthetic(2_000, seed=1)
    assert list(synthetic.columns) == list(reference.columns)
    assert synthetic.dtypes.equals(reference.dtypes)
    values = synthetic[list(CANCER.features)].to_numpy()
    assert np.isfinite(values).all()
    assert (values >= CANCER.feature_min).all()
    assert set(synthetic[CANCER.label].unique()) == set(CANCER.label_values)
    share = synthetic[CANCER.label].mean()
    assert share == pytest.approx(reference[CANCER.label].mean(), abs=0.05)


def test_synthetic_is_deterministic_by_seed() -> None:
    first = data.make_synthetic(500, seed=7)
    pd.testing.assert_frame_equal(first, data.make_synthetic(500, seed=7))
    assert not first.equals(data.make_synthetic(500, seed=8))


def test_synthetic_with_zero_rows_is_an_empty_frame_with_the_schema() -> None:
    empty = data.make_synthetic(0)
    assert len(empty) == 0
    assert list(empty.columns) == CANCER.columns


def test_synthetic_rejects_negative_rows() -> None:
    with pytest.raises(ValueError, match="rows must be >= 0, got -1"):
        data.make_synthetic(-1)


def test_a_model_trained_on_synthetic_data_has_a_realistic_auc() -> None:
    train, test = data.make_synthetic(10_000, seed=1), data.make_synthetic(3_000, seed=2)
    model = HistGradientBoostingClassifier(max_iter=30, max_depth=3, random_state=0)
    model.fit(train[list(CANCER.features)], train[CANCER.label])
    auc = roc_auc_score(test[CANCER.label], model.predict_proba(test[list(CANCER.features)])[:, 1])
    assert 0.9 <= auc <= 0.99


def test_write_csv_round_trips_exactly(tmp_path, reference: pd.DataFrame) -> None:
    synthetic = data.make_synthetic(300, seed=3)
    path = data.write_csv(synthetic, tmp_path / "nested" / "synthetic.csv")
    assert path.read_text().splitlines()[0] == ",".join(CANCER.columns)
    back, _ = csvio.read_csvs([path], CANCER)
    pd.testing.assert_frame_equal(
        back, synthetic.astype({CANCER.label: "float64"}), check_exact=True
    )


def test_main_writes_synthetic_rows(tmp_path, capsys) -> None:
    data.main(["--rows", "25", "--seed", "4", "--output", str(tmp_path / "s.csv")])
    assert len((tmp_path / "s.csv").read_text().splitlines()) == 26
    assert "wrote 25 rows" in capsys.readouterr().out
