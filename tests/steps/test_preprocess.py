"""preprocess.py: validation, split, profile, and the script end to end."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from training_pipeline.environment.data import model_schema, write_csv
from training_pipeline.steps import csvio, preprocess
from training_pipeline.steps.errors import DataValidationError

from .conftest import SCHEMA_ARGS

CANCER = model_schema("cancer")


def small(rows: int = 6) -> pd.DataFrame:
    """A tiny valid frame: features 1.0.., labels alternating 0/1, label as read (float)."""
    frame = pd.DataFrame(
        {name: np.arange(rows, dtype="float64") + 1 for name in list(CANCER.features)}
    )
    frame[CANCER.label] = np.arange(rows) % 2 * 1.0
    return frame


# --- validate -------------------------------------------------------------------------


def test_validate_returns_schema_dtypes_and_does_not_touch_its_input(raw) -> None:
    before = raw.copy()
    result = preprocess.validate(raw, CANCER, max_nan_fraction=0.01)
    pd.testing.assert_frame_equal(raw, before)
    assert list(result.frame.columns) == CANCER.columns
    assert result.frame[CANCER.label].dtype == "int64"
    assert (result.frame.dtypes[list(CANCER.features)] == "float64").all()
    assert (result.input_rows, result.dropped_nan) == (569, 0)
    result.frame.loc[0, "mean_radius"] = -1.0  # the result is independent of the input
    pd.testing.assert_frame_equal(raw, before)


def test_validate_reorders_columns_to_the_schema() -> None:
    frame = small()[list(reversed(CANCER.columns))]
    assert list(preprocess.validate(frame, CANCER, 0.0).frame.columns) == CANCER.columns


def test_nan_rows_within_the_limit_are_dropped_and_counted() -> None:
    frame = small(10)
    frame.loc[3, "mean_texture"] = np.nan
    result = preprocess.validate(frame, CANCER, max_nan_fraction=0.1)
    assert result.dropped_nan == 1
    assert result.nan_counts["mean_texture"] == 1
    assert len(result.frame) == 9
    assert 4.0 not in result.frame["mean_texture"].to_list()  # row 3 held the value 4.0


def test_nan_beyond_the_limit_names_column_count_share_and_rows() -> None:
    frame = small(10)
    frame.loc[[2, 7], "mean_radius"] = np.nan
    with pytest.raises(DataValidationError) as caught:
        preprocess.validate(frame, CANCER, max_nan_fraction=0.1)
    assert str(caught.value) == (
        "column 'mean_radius' has 2 NaN values (20%), more than the 10% allowed "
        "(first at row 2, row 7)"
    )


def test_missing_and_unexpected_columns_are_named() -> None:
    frame = small().drop(columns=["worst_area"]).assign(patient_id=1)
    with pytest.raises(DataValidationError) as caught:
        preprocess.validate(frame, CANCER, 0.0)
    message = str(caught.value)
    assert "is missing column(s) 'worst_area'" in message
    assert "unexpected column(s) 'patient_id'" in message


def test_non_numeric_values_name_column_rows_and_values() -> None:
    frame = small().astype({"mean_area": object})
    frame.loc[1, "mean_area"] = "n/a?"
    frame.loc[4, "mean_area"] = "12,5"
    with pytest.raises(DataValidationError) as caught:
        preprocess.validate(frame, CANCER, 0.0)
    assert str(caught.value) == (
        "column 'mean_area' has 2 non-numeric values (first: row 1 = 'n/a?', row 4 = '12,5')"
    )


def test_negative_and_infinite_values_are_rejected() -> None:
    frame = small()
    frame.loc[2, "worst_area"] = -3.5
    frame.loc[5, "worst_area"] = np.inf
    with pytest.raises(DataValidationError) as caught:
        preprocess.validate(frame, CANCER, 0.0)
    message = str(caught.value)
    assert "column 'worst_area' has 1 infinite value (first at row 5)" in message
    assert "column 'worst_area' has 1 value below 0 (first: row 2 = -3.5)" in message


def test_labels_outside_the_allowed_values_or_missing_are_rejected() -> None:
    frame = small()
    frame.loc[1, CANCER.label] = 2.0
    frame.loc[3, CANCER.label] = np.nan
    frame.loc[4, CANCER.label] = 0.5
    with pytest.raises(DataValidationError) as caught:
        preprocess.validate(frame, CANCER, 0.0)
    message = str(caught.value)
    assert "label column 'malignant' has 1 missing value (first at row 3)" in message
    assert (
        "label column 'malignant' has 2 values outside {0, 1} (first: row 1 = 2, row 4 = 0.5)"
    ) in message


def test_text_labels_are_reported_as_non_numeric() -> None:
    frame = small().astype({CANCER.label: object})
    frame.loc[0, CANCER.label] = "yes"
    with pytest.raises(DataValidationError, match="column 'malignant' has 1 non-numeric"):
        preprocess.validate(frame, CANCER, 0.0)


def test_every_problem_is_reported_on_one_line() -> None:
    frame = small(10).drop(columns=["mean_symmetry"])
    frame.loc[0, "mean_radius"] = -1.0
    frame.loc[1, CANCER.label] = 7.0
    with pytest.raises(DataValidationError) as caught:
        preprocess.validate(frame, CANCER, 0.0)
    message = str(caught.value)
    assert "\n" not in message
    assert message.count("; ") == 2
    assert "'mean_symmetry'" in message and "'mean_radius'" in message and "= 7" in message


def test_empty_data_is_rejected() -> None:
    with pytest.raises(DataValidationError, match="header but no rows"):
        preprocess.validate(small().iloc[0:0], CANCER, 0.01)


def test_rows_are_located_by_a_custom_locator() -> None:
    frame = small()
    frame.loc[2, "mean_radius"] = -1.0
    locator = csvio.RowLocator(names=("a.csv", "b.csv"), starts=(0, 2))
    with pytest.raises(DataValidationError, match=r"first: b\.csv:2 = -1"):
        preprocess.validate(frame, CANCER, 0.0, locate=locator.describe)


# --- split ----------------------------------------------------------------------------


def test_split_is_stratified_disjoint_complete_and_sorted(reference) -> None:
    labels = reference[CANCER.label].to_numpy()
    parts = preprocess.split_indices(labels, CANCER, 0.15, 0.15, seed=42)
    together = np.concatenate(list(parts.values()))
    assert sorted(together.tolist()) == list(range(len(labels)))
    assert {k: len(v) for k, v in parts.items()} == {"train": 397, "validation": 86, "test": 86}
    for positions in parts.values():
        assert np.all(np.diff(positions) > 0)
        assert labels[positions].mean() == pytest.approx(labels.mean(), abs=0.02)


def test_split_depends_only_on_data_and_seed(reference) -> None:
    labels = reference[CANCER.label].to_numpy()
    first = preprocess.split_indices(labels, CANCER, 0.15, 0.15, seed=1)
    again = preprocess.split_indices(labels, CANCER, 0.15, 0.15, seed=1)
    other = preprocess.split_indices(labels, CANCER, 0.15, 0.15, seed=2)
    assert all(np.array_equal(first[k], again[k]) for k in first)
    assert not np.array_equal(first["test"], other["test"])


def test_too_few_rows_to_split_says_how_many_and_why() -> None:
    labels = np.array([0, 0, 1, 1])
    with pytest.raises(DataValidationError) as caught:
        preprocess.split_indices(labels, CANCER, 0.15, 0.15, seed=0)
    assert str(caught.value) == (
        "too few rows to split: 4 rows (malignant=0: 2, malignant=1: 2) give train=4, "
        "validation=0, test=0 with validation_fraction=0.15 and test_fraction=0.15; every "
        "split needs rows and train needs both labels 0, 1"
    )


def test_a_single_label_class_says_so() -> None:
    with pytest.raises(DataValidationError) as caught:
        preprocess.split_indices(np.zeros(569, dtype=int), CANCER, 0.2, 0.2, seed=0)
    assert str(caught.value) == (
        "label column 'malignant' is 0 in all 569 rows: a classifier needs examples of each of 0, 1"
    )


def test_split_frames_keep_the_schema(raw) -> None:
    clean = preprocess.validate(raw, CANCER, 0.01).frame
    parts = preprocess.split(clean, CANCER, 0.2, 0.1, seed=0)
    assert sum(len(p) for p in parts.values()) == len(clean)
    assert all(list(p.columns) == CANCER.columns for p in parts.values())
    assert all(list(p.index) == list(range(len(p))) for p in parts.values())


# --- csvio ----------------------------------------------------------------------------


def test_no_csv_files_names_the_folder_and_its_content(tmp_path) -> None:
    (tmp_path / "data.parquet").write_text("")
    with pytest.raises(DataValidationError) as caught:
        csvio.list_csv_files(tmp_path)
    assert str(caught.value) == f"no *.csv files in {tmp_path} (it holds: data.parquet)"


def test_header_problems_are_named_per_file(tmp_path) -> None:
    write_csv(small().drop(columns=["mean_radius"]), tmp_path / "a.csv")
    write_csv(small().assign(extra=0), tmp_path / "b.csv")
    (tmp_path / "c.csv").write_text("")
    with pytest.raises(DataValidationError) as caught:
        csvio.read_csvs(csvio.list_csv_files(tmp_path), CANCER)
    assert str(caught.value) == (
        "a.csv is missing column(s) 'mean_radius'; b.csv has unexpected column(s) 'extra'; "
        "c.csv is empty (no header row)"
    )


# A corpus of broken files as a new user makes them, each with the message it must get.


def test_a_repeated_column_is_named_as_repeated(tmp_path) -> None:
    path = tmp_path / "a.csv"
    frame = small()
    path.write_text(
        ",".join([*CANCER.columns, "mean_radius"])
        + "\n"
        + "\n".join(",".join(f"{v:g}" for v in [*row, row[0]]) for row in frame.to_numpy())
        + "\n"
    )
    with pytest.raises(DataValidationError) as caught:
        csvio.read_csvs([path], CANCER)
    assert str(caught.value) == "a.csv has column(s) 'mean_radius' more than once"


def test_blank_lines_before_the_header_are_skipped_as_pandas_does(tmp_path) -> None:
    path = write_csv(small(), tmp_path / "a.csv")
    path.write_text("\n\n" + path.read_text())
    frame, _ = csvio.read_csvs([path], CANCER)
    assert len(frame) == 6


def test_short_rows_are_reported_at_their_line_in_the_file(tmp_path) -> None:
    path = write_csv(small(), tmp_path / "a.csv")
    lines = path.read_text().splitlines()
    lines[3] = lines[3].rsplit(",", 1)[0]  # the label left out
    path.write_text("\n".join([*lines[:2], "", *lines[2:]]) + "\n")  # a blank line before it
    with pytest.raises(DataValidationError, match=r"\(first at a\.csv:5 \(30 fields\)\)"):
        csvio.read_csvs([path], CANCER)


def test_a_file_without_its_header_row_says_so(tmp_path) -> None:
    path = write_csv(small(), tmp_path / "a.csv")
    path.write_text("\n".join(path.read_text().splitlines()[1:]) + "\n")
    with pytest.raises(DataValidationError) as caught:
        csvio.read_csvs([path], CANCER)
    assert str(caught.value) == "a.csv has no header row (its first line is numbers)"


def test_another_tables_header_gives_a_short_message(tmp_path) -> None:
    other = pd.DataFrame({f"feature_{i}": [1.0, 2.0] for i in range(40)})
    write_csv(other, tmp_path / "a.csv")
    with pytest.raises(DataValidationError) as caught:
        csvio.read_csvs([tmp_path / "a.csv"], CANCER)
    assert str(caught.value) == (
        "a.csv is missing column(s) 'mean_radius', 'mean_texture', 'mean_perimeter', "
        "'mean_area', 'mean_smoothness' and 26 more; a.csv has unexpected column(s) "
        "'feature_0', 'feature_1', 'feature_2', 'feature_3', 'feature_4' and 35 more"
    )


def test_short_rows_are_reported_as_short_rows(tmp_path) -> None:
    path = write_csv(small(), tmp_path / "a.csv")
    lines = path.read_text().splitlines()
    lines[2] = ",".join(lines[2].split(",")[:20])  # line 3: 20 of 31 fields
    lines[5] = lines[5].rsplit(",", 1)[0]  # line 6: the label left out
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataValidationError) as caught:
        csvio.read_csvs([path], CANCER)
    assert str(caught.value) == (
        "a.csv has 2 short row(s), with fewer fields than its header's 31 "
        "(first at a.csv:3 (20 fields), a.csv:6 (30 fields))"
    )


def test_an_empty_label_cell_is_still_a_missing_label(tmp_path) -> None:
    path = write_csv(small(), tmp_path / "a.csv")
    lines = path.read_text().splitlines()
    lines[2] = lines[2].rsplit(",", 1)[0] + ","
    path.write_text("\n".join(lines) + "\n")
    frame, locator = csvio.read_csvs([path], CANCER)
    with pytest.raises(
        DataValidationError, match=r"'malignant' has 1 missing value \(first at a\.csv:3\)"
    ):
        preprocess.validate(frame, CANCER, 0.0, locate=locator.describe)


def test_header_only_input_is_empty_data(tmp_path) -> None:
    (tmp_path / "a.csv").write_text(",".join(CANCER.columns) + "\n")
    with pytest.raises(DataValidationError, match=r"^no data rows: a\.csv has only a header row$"):
        csvio.read_csvs([tmp_path / "a.csv"], CANCER)


def test_non_numeric_cells_are_located_by_file_and_line(tmp_path) -> None:
    write_csv(small(), tmp_path / "a.csv")
    text = small().astype({"mean_texture": object})
    text.loc[3, "mean_texture"] = "abc"
    write_csv(text, tmp_path / "b.csv")
    frame, locator = csvio.read_csvs(csvio.list_csv_files(tmp_path), CANCER)
    assert len(frame) == 12
    with pytest.raises(DataValidationError) as caught:
        preprocess.validate(frame, CANCER, 0.0, locate=locator.describe)
    # row 3 of b.csv is its 5th line (the header is line 1)
    assert (
        str(caught.value)
        == "column 'mean_texture' has 1 non-numeric value (first: b.csv:5 = 'abc')"
    )


# --- main -----------------------------------------------------------------------------


def run_main(input_dir: Path, output_dir: Path, *extra: str) -> dict:
    return preprocess.main(
        ["--input-dir", str(input_dir), "--output-dir", str(output_dir), *SCHEMA_ARGS, *extra]
    )


def test_main_writes_splits_and_profile(tmp_path, reference) -> None:
    source = write_csv(reference, tmp_path / "in" / "data.csv")
    profile = run_main(tmp_path / "in", tmp_path / "out")
    for name in ("train", "validation", "test"):
        split = pd.read_csv(tmp_path / "out" / name / f"{name}.csv")
        assert list(split.columns) == CANCER.columns
        assert len(split) == profile["rows"][name]
    written = json.loads((tmp_path / "out" / "profile" / "profile.json").read_text())
    assert written == profile
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    assert profile["data_fingerprint"] == f"sha256:{digest}"
    assert profile["rows"] == {
        "input": 569, "dropped_nan": 0, "train": 397, "validation": 86, "test": 86
    }  # fmt: skip
    assert profile["label_balance"]["input"] == {"0": 357, "1": 212}
    assert [c["name"] for c in profile["columns"]] == CANCER.columns


def test_main_output_is_byte_identical_for_the_same_input(tmp_path, reference) -> None:
    write_csv(reference, tmp_path / "in" / "data.csv")
    run_main(tmp_path / "in", tmp_path / "one")
    run_main(tmp_path / "in", tmp_path / "two")
    files = sorted(p.relative_to(tmp_path / "one") for p in (tmp_path / "one").rglob("*.*"))
    assert len(files) == 4
    for relative in files:
        assert (tmp_path / "one" / relative).read_bytes() == (
            tmp_path / "two" / relative
        ).read_bytes()


def test_main_keeps_the_input_values_exactly(tmp_path, reference) -> None:
    write_csv(reference, tmp_path / "in" / "data.csv")
    run_main(tmp_path / "in", tmp_path / "out")
    parts = [
        pd.read_csv(tmp_path / "out" / n / f"{n}.csv") for n in ("train", "validation", "test")
    ]
    together = pd.concat(parts).sort_values(CANCER.columns).reset_index(drop=True)
    expected = reference.sort_values(CANCER.columns).reset_index(drop=True)
    pd.testing.assert_frame_equal(together, expected, check_exact=True)


def test_main_drops_nan_rows_and_reports_them(tmp_path, reference) -> None:
    frame = reference.copy()
    frame.loc[[5, 50], "mean_smoothness"] = np.nan
    write_csv(frame, tmp_path / "in" / "data.csv")
    profile = run_main(tmp_path / "in", tmp_path / "out")
    assert profile["rows"]["dropped_nan"] == 2
    assert sum(profile["rows"][n] for n in ("train", "validation", "test")) == 567
    assert profile["columns"][list(CANCER.features).index("mean_smoothness")]["nan_count"] == 2


def test_main_reads_every_csv_in_name_order(tmp_path, reference) -> None:
    write_csv(reference.iloc[300:], tmp_path / "in" / "b.csv")
    write_csv(reference.iloc[:300], tmp_path / "in" / "a.csv")
    profile = run_main(tmp_path / "in", tmp_path / "out")
    assert profile["files"] == ["a.csv", "b.csv"]
    assert profile["rows"]["input"] == 569


def test_main_rejects_fractions_that_leave_no_training_rows(tmp_path) -> None:
    with pytest.raises(SystemExit):
        run_main(
            tmp_path, tmp_path / "out", "--validation-fraction", "0.5", "--test-fraction", "0.5"
        )


def test_script_fails_with_one_clear_last_line(tmp_path, reference, code_dir) -> None:
    frame = reference.copy()
    frame.loc[[3, 17, 40], "mean_radius"] = np.nan
    write_csv(frame, tmp_path / "in" / "data.csv")
    # As the processing job runs it: from inside its code folder, then first on sys.path.
    result = subprocess.run(
        [sys.executable, "preprocess.py", "--input-dir", str(tmp_path / "in"),
         "--output-dir", str(tmp_path / "out"), "--max-nan-fraction", "0.001"],
        cwd=code_dir, capture_output=True, text=True, check=False,
        env={**os.environ, "PYTHONPATH": ""},
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "DataValidationError: column 'mean_radius' has 3 NaN values (0.527%), more than the "
        "0.1% allowed (first at data.csv:5, data.csv:19, data.csv:42)"
    )
    assert not (tmp_path / "out").exists()


def test_a_row_with_surplus_fields_is_a_malformed_csv(tmp_path) -> None:
    path = write_csv(small(), tmp_path / "a.csv")
    lines = path.read_text().splitlines()
    lines[3] += ",9"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataValidationError) as caught:
        csvio.read_csvs([path], CANCER)
    assert str(caught.value).startswith("a.csv is not a well-formed CSV: ")
    assert "line 4" in str(caught.value)
