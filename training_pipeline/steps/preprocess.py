"""Processing step: validate the input CSVs and split them into train/validation/test.

    python3 preprocess.py [--input-dir DIR] [--output-dir DIR] [--max-nan-fraction 0.01]
                          [--validation-fraction 0.15] [--test-fraction 0.15] [--seed 42]
                          [--schema schema.json]

Reads every ``*.csv`` in ``--input-dir`` (sorted by name, concatenated), checks them against
the model's schema (``schema.json`` beside this script) and writes, under ``--output-dir``::

    train/train.csv  validation/validation.csv  test/test.csv  profile/profile.json

Every problem found is reported in one ``DataValidationError`` line. Rows with a NaN feature
are dropped when each column's NaN share is within ``--max-nan-fraction``. The split is
stratified by label for a classifier, uniform for a regression, and depends only on the data
and ``--seed``: the same input gives byte-identical outputs.
"""

import argparse
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

if __package__:  # see steps/__init__.py
    from . import csvio, errors, schema
    from .errors import DataValidationError
    from .schema import Schema
else:
    import csvio
    import errors
    import schema
    from errors import DataValidationError
    from schema import Schema

SPLITS = ("train", "validation", "test")
# How many offending rows or values a message quotes.
EXAMPLES = 5


@dataclass(frozen=True)
class Validated:
    """The clean frame (schema order and dtypes, NaN rows dropped) and what was dropped."""

    frame: pd.DataFrame
    input_rows: int
    dropped_nan: int
    nan_counts: dict[str, int]


def validate(
    frame: pd.DataFrame,
    schema: Schema,
    max_nan_fraction: float,
    locate: Callable[[Sequence[int]], list[str]] | None = None,
) -> Validated:
    """Check ``frame`` against the schema and return the clean copy.

    Args:
        frame: the raw rows; feature columns may hold strings if the CSV had non-numeric cells.
        schema: the model's columns and value rules.
        max_nan_fraction: the largest share of NaN a feature column may have; such rows are
            dropped.
        locate: turns 0-based row positions into places (e.g. ``data.csv:4``); by default
            rows are named by their index label.

    Returns:
        The validated rows and counts. ``frame`` is not modified.

    Raises:
        DataValidationError: listing every problem found, separated by ``; ``.
    """
    if locate is None:

        def locate(positions: Sequence[int]) -> list[str]:
            return [f"row {label}" for label in frame.index[list(positions)]]

    problems = csvio.column_problems(list(frame.columns), "the data", schema)
    rows = len(frame)
    if rows == 0:
        problems.append("the data has a header but no rows")
        raise DataValidationError("; ".join(problems))

    features, nan_counts = {}, {}
    any_nan = np.zeros(rows, dtype=bool)
    for name in schema.features:
        if name not in frame.columns:
            continue
        column, non_numeric, bad = _numeric(frame[name], name, locate)
        problems += bad
        values = column.to_numpy()
        nan = np.isnan(values) & ~non_numeric
        nan_counts[name] = int(nan.sum())
        any_nan |= nan
        if nan_counts[name] > max_nan_fraction * rows:
            problems.append(
                f"column '{name}' has {_count(nan_counts[name], 'NaN value')} "
                f"({_percent(nan_counts[name] / rows)}), more than the "
                f"{_percent(max_nan_fraction)} allowed (first at {_first(nan, locate)})"
            )
        with np.errstate(invalid="ignore"):
            infinite = np.isinf(values)
            negative = (
                values < schema.feature_min
                if schema.feature_min is not None
                else np.zeros(rows, dtype=bool)
            )
        negative &= ~infinite
        if infinite.any():
            problems.append(
                f"column '{name}' has {_count(infinite.sum(), 'infinite value')} "
                f"(first at {_first(infinite, locate)})"
            )
        if negative.any():
            problems.append(
                f"column '{name}' has {_count(negative.sum(), 'value')} below "
                f"{schema.feature_min:g} (first: {_first(negative, locate, values)})"
            )
        features[name] = column

    if schema.label in frame.columns:
        label_column, non_numeric, bad = _numeric(frame[schema.label], schema.label, locate)
        problems += bad
        label = label_column.to_numpy()
        missing = np.isnan(label) & ~non_numeric
        if missing.any():
            problems.append(
                f"label column '{schema.label}' has {_count(missing.sum(), 'missing value')} "
                f"(first at {_first(missing, locate)})"
            )
        if schema.classification:
            invalid = ~np.isin(label, schema.label_values) & ~np.isnan(label)
            expected = "{" + ", ".join(str(v) for v in schema.label_values) + "}"
        else:
            invalid = np.isinf(label)
            expected = "the finite numbers"
        if invalid.any():
            problems.append(
                f"label column '{schema.label}' has {_count(invalid.sum(), 'value')} outside "
                f"{expected} (first: {_first(invalid, locate, label)})"
            )

    if problems:
        raise DataValidationError("; ".join(problems))

    # Columns that were already float64 are lazy copy-on-write copies: no memory is spent on
    # them unless someone writes to one side.
    clean = pd.DataFrame(features, copy=False)
    clean[schema.label] = label_column.astype(schema.label_dtype)
    dropped = int(any_nan.sum())
    if dropped:
        clean = clean.loc[~any_nan]
    return Validated(clean.reset_index(drop=True), rows, dropped, nan_counts)


def split_indices(
    labels: np.ndarray,
    schema: Schema,
    validation_fraction: float,
    test_fraction: float,
    seed: int,
) -> dict[str, np.ndarray]:
    """Split row positions into train, validation and test: stratified by class for a
    classifier, as one group for a regression.

    Each class (or all rows) is shuffled with ``seed`` and cut so that it keeps (about) its
    share in every split. Positions are returned sorted, so each split keeps the input's row
    order.

    Raises:
        DataValidationError: if a split would be empty or a class would be absent from train.
    """
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {name: [] for name in SPLITS}
    if schema.classification:
        classes, counts = np.unique(labels, return_counts=True)
        groups = [np.flatnonzero(labels == value) for value in classes]
    else:
        classes, counts, groups = np.array([]), np.array([]), [np.arange(len(labels))]
    if schema.classification and classes.size == 1:
        raise DataValidationError(
            f"label column '{schema.label}' is {int(classes[0])} in all {len(labels)} rows: "
            f"a classifier needs examples of each of "
            f"{', '.join(str(v) for v in schema.label_values)}"
        )
    for group in groups:
        members = rng.permutation(group)
        n_test = int(members.size * test_fraction + 0.5)
        n_validation = int(members.size * validation_fraction + 0.5)
        parts["test"].append(members[:n_test])
        parts["validation"].append(members[n_test : n_test + n_validation])
        parts["train"].append(members[n_test + n_validation :])
    result = {name: np.sort(np.concatenate(chunks)) for name, chunks in parts.items()}

    sizes = {name: int(positions.size) for name, positions in result.items()}
    train_classes = set(np.unique(labels[result["train"]]).tolist())
    classes_missing = schema.classification and train_classes != set(schema.label_values)
    if min(sizes.values()) == 0 or classes_missing:
        balance = ", ".join(
            f"{schema.label}={int(v)}: {int(c)}" for v, c in zip(classes, counts, strict=True)
        )
        shape = ", ".join(f"{name}={size}" for name, size in sizes.items())
        need = (
            f" and train needs both labels {', '.join(str(v) for v in schema.label_values)}"
            if schema.classification
            else ""
        )
        raise DataValidationError(
            f"too few rows to split: {len(labels)} rows{f' ({balance})' if balance else ''} "
            f"give {shape} with validation_fraction={validation_fraction:g} and "
            f"test_fraction={test_fraction:g}; every split needs rows{need}"
        )
    return result


def split(
    frame: pd.DataFrame,
    schema: Schema,
    validation_fraction: float,
    test_fraction: float,
    seed: int,
) -> dict[str, pd.DataFrame]:
    """Split validated rows into ``train``, ``validation`` and ``test`` frames."""
    positions = split_indices(
        frame[schema.label].to_numpy(), schema, validation_fraction, test_fraction, seed
    )
    return {name: frame.take(rows).reset_index(drop=True) for name, rows in positions.items()}


def build_profile(
    fingerprint: str,
    validated: Validated,
    splits: dict[str, pd.DataFrame],
    schema: Schema,
    files: Sequence[str] = (),
) -> dict:
    """The ``profile.json`` document: fingerprint, row counts, label balance (a classifier's
    count per class, a regression's mean), column stats."""
    clean = validated.frame

    def balance(frame: pd.DataFrame) -> dict[str, float]:
        if not schema.classification:
            return {"mean": _number(frame[schema.label].mean()) if len(frame) else 0.0}
        counts = frame[schema.label].value_counts()
        return {str(v): int(counts.get(v, 0)) for v in schema.label_values}

    columns = []
    for name in schema.columns:
        values = clean[name]
        columns.append(
            {
                "name": name,
                "role": "label" if name == schema.label else "feature",
                "dtype": str(values.dtype),
                "nan_count": validated.nan_counts.get(name, 0),
                "min": _number(values.min()),
                "max": _number(values.max()),
                "mean": _number(values.mean()),
            }
        )
    return {
        "data_fingerprint": fingerprint,
        "files": list(files),
        "rows": {
            "input": validated.input_rows,
            "dropped_nan": validated.dropped_nan,
            **{name: len(frame) for name, frame in splits.items()},
        },
        "label_balance": {
            "input": balance(clean),
            **{name: balance(frame) for name, frame in splits.items()},
        },
        "columns": columns,
    }


def fingerprint_files(paths: Sequence[Path]) -> str:
    """``sha256:<hex>`` of the raw bytes of ``paths`` concatenated in the given order.

    For one file this equals ``sha256sum file.csv``; file names are not part of the hash.
    """
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as handle:
            while block := handle.read(1 << 20):
                digest.update(block)
    return f"sha256:{digest.hexdigest()}"


def content_digest(paths: Sequence[Path]) -> str:
    """Hex SHA-256 of the files' names and bytes: equal splits, equal digest, whatever made them."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def publish_splits(files: dict[str, Path], destination: str) -> dict[str, str]:
    """Upload the splits under ``destination/<content digest>/<split>/`` and return their URLs.

    Named by content, the URLs stay the same while data, parameters and code give the same
    split, so the training step (whose cache key holds these URLs) is a cache hit exactly then.
    """
    import boto3  # only here: the rest of the step needs no AWS

    bucket, _, prefix = destination.removeprefix("s3://").partition("/")
    base = f"{prefix.strip('/')}/{content_digest(list(files.values()))[:16]}".lstrip("/")
    s3 = boto3.client("s3")
    urls = {}
    for name, path in files.items():
        s3.upload_file(str(path), bucket, f"{base}/{name}/{path.name}")
        urls[name] = f"s3://{bucket}/{base}/{name}/"
    return urls


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line; every path defaults to its place in the processing container."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--input-dir", type=Path, default="/opt/ml/processing/input/data")
    parser.add_argument("--output-dir", type=Path, default="/opt/ml/processing/output")
    parser.add_argument("--max-nan-fraction", type=float, default=0.01)
    parser.add_argument("--validation-fraction", type=float, default=0.15)
    parser.add_argument("--test-fraction", type=float, default=0.15)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--schema", type=Path, default=None, help="default: beside this script")
    parser.add_argument(
        "--publish-to",
        default="",
        help="also upload the splits under this s3:// prefix, named by content (see profile.json)",
    )
    args = parser.parse_args(argv)
    if not 0 <= args.max_nan_fraction < 1:
        parser.error(f"--max-nan-fraction must be in [0, 1), got {args.max_nan_fraction}")
    for option in ("validation_fraction", "test_fraction"):
        if not 0 < getattr(args, option) < 1:
            flag = "--" + option.replace("_", "-")
            parser.error(f"{flag} must be in (0, 1), got {getattr(args, option)}")
    if args.validation_fraction + args.test_fraction >= 1:
        parser.error("--validation-fraction plus --test-fraction must be below 1")
    return args


def main(argv: Sequence[str] | None = None) -> dict:
    """Validate and split the input folder; return the profile written to profile.json."""
    args = parse_args(argv)
    contract = schema.load(args.schema)
    paths = csvio.list_csv_files(args.input_dir)
    fingerprint = fingerprint_files(paths)
    raw, locator = csvio.read_csvs(paths, contract)
    validated = validate(raw, contract, args.max_nan_fraction, locator.describe)
    del raw  # the validated frame shares or replaces its columns; free the rest early
    splits = split(
        validated.frame, contract, args.validation_fraction, args.test_fraction, args.seed
    )
    files = {name: args.output_dir / name / f"{name}.csv" for name in splits}
    for name, frame in splits.items():
        csvio.write_csv(frame, files[name])
    profile = build_profile(fingerprint, validated, splits, contract, [p.name for p in paths])
    if args.publish_to:
        profile["splits"] = publish_splits(files, args.publish_to)
    profile_path = args.output_dir / "profile" / "profile.json"
    profile_path.parent.mkdir(parents=True, exist_ok=True)
    profile_path.write_text(json.dumps(profile, indent=2) + "\n", encoding="utf-8")
    rows = profile["rows"]
    print(
        f"validated {rows['input']} rows from {len(paths)} file(s), dropped "
        f"{rows['dropped_nan']} with NaN; train={rows['train']} "
        f"validation={rows['validation']} test={rows['test']}; {fingerprint}"
    )
    return profile


def _numeric(
    column: pd.Series, name: str, locate: Callable[[Sequence[int]], list[str]]
) -> tuple[pd.Series, np.ndarray, list[str]]:
    """The column as float64 (non-numbers as NaN), the non-number mask, and the problem.

    A column that is already float64 comes back as a lazy copy-on-write copy.
    """
    if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype):
        return column.astype("float64"), np.zeros(len(column), dtype=bool), []
    numbers = pd.to_numeric(column, errors="coerce").astype("float64")
    bad = numbers.isna().to_numpy() & column.notna().to_numpy()
    if not bad.any():
        return numbers, bad, []
    return (
        numbers,
        bad,
        [
            f"column '{name}' has {_count(bad.sum(), 'non-numeric value')} "
            f"(first: {_first(bad, locate, column.to_numpy())})"
        ],
    )


def _first(
    mask: np.ndarray,
    locate: Callable[[Sequence[int]], list[str]],
    values: np.ndarray | None = None,
) -> str:
    positions = np.flatnonzero(mask)[:EXAMPLES].tolist()
    places = locate(positions)
    if values is None:
        return ", ".join(places)
    return ", ".join(
        f"{place} = {values[p]!r}" if isinstance(values[p], str) else f"{place} = {values[p]:g}"
        for place, p in zip(places, positions, strict=True)
    )


def _count(number: int, noun: str) -> str:
    return f"{int(number)} {noun}{'' if number == 1 else 's'}"


def _percent(fraction: float) -> str:
    return f"{fraction * 100:.3g}%"


def _number(value: object) -> float:
    # Six significant digits: a summary, and stable across platforms' summation order.
    return float(f"{float(value):.6g}")


if __name__ == "__main__":
    errors.run_as_script(main)
