"""Training step (SageMaker script mode): fit a gradient-boosted classifier or regressor.

    python3 train.py [--max_iter 100] [--learning_rate 0.1] [--max_depth 3]
                     [--max_leaf_nodes 31] [--min_samples_leaf 20]
                     [--l2_regularization 0.0] [--random_state 42]

SageMaker passes each hyperparameter as ``--<key> <value>`` with the key verbatim; the
dashed spellings (``--max-iter``) are accepted too. Paths come from the job's environment:

    SM_CHANNEL_TRAIN       /opt/ml/input/data/train        *.csv with the schema's columns
    SM_CHANNEL_VALIDATION  /opt/ml/input/data/validation   *.csv with the schema's columns
    SM_MODEL_DIR           /opt/ml/model                   writes model.joblib (see artifacts.py)
    SM_OUTPUT_DATA_DIR     /opt/ml/output/data             writes metrics.json

and can be overridden with ``--train-dir``, ``--validation-dir``, ``--model-dir`` and
``--output-data-dir``. The model's kind (HistGradientBoostingClassifier or ...Regressor) and
columns come from its ``schema.json`` beside this script (``--schema`` to use another).
Validation metrics are printed as ``validation_auc=0.987654`` lines for the job's metric
definitions.
"""

import argparse
import json
import numbers
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn
from sklearn.base import BaseEstimator
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import (
    accuracy_score,
    log_loss,
    mean_absolute_error,
    r2_score,
    roc_auc_score,
    root_mean_squared_error,
)

if __package__:  # see steps/__init__.py
    from . import artifacts, csvio, errors, schema
    from .errors import DataValidationError, HyperparameterError
    from .preprocess import validate
    from .schema import Schema
else:
    import artifacts
    import csvio
    import errors
    import schema
    from errors import DataValidationError, HyperparameterError
    from preprocess import validate
    from schema import Schema

# name: (type, default, smallest allowed value, whether the smallest value is excluded)
HYPERPARAMETERS: dict[str, tuple[type, int | float, float, bool]] = {
    "max_iter": (int, 100, 1, False),
    "learning_rate": (float, 0.1, 0.0, True),
    "max_depth": (int, 3, 1, False),
    "max_leaf_nodes": (int, 31, 2, False),
    "min_samples_leaf": (int, 20, 1, False),
    "l2_regularization": (float, 0.0, 0.0, False),
    "random_state": (int, 42, 0, False),
}
METRIC_PREFIX = "validation_"


def resolve_hyperparameters(given: Mapping[str, object]) -> dict[str, int | float]:
    """The defaults overridden by ``given``, each checked against its type and range.

    Raises:
        HyperparameterError: naming every unknown or out-of-range hyperparameter.
    """
    problems = [
        f"unknown hyperparameter '{name}' (known: {', '.join(HYPERPARAMETERS)})"
        for name in given
        if name not in HYPERPARAMETERS
    ]
    resolved: dict[str, int | float] = {}
    for name, (kind, default, lowest, exclusive) in HYPERPARAMETERS.items():
        value = given.get(name, default)
        wanted = "an integer" if kind is int else "a number"
        not_number = isinstance(value, bool) or not isinstance(value, numbers.Real)
        if not_number or (kind is int and not float(value).is_integer()):
            problems.append(f"hyperparameter '{name}' must be {wanted}, got {value!r}")
            continue
        value = kind(value)
        too_low = value <= lowest if exclusive else value < lowest
        if too_low or not np.isfinite(value):
            bound = f"> {lowest:g}" if exclusive else f">= {lowest:g}"
            problems.append(f"hyperparameter '{name}' must be {bound}, got {value!r}")
            continue
        resolved[name] = value
    if problems:
        raise HyperparameterError("; ".join(problems))
    return resolved


def train_model(
    train: pd.DataFrame, schema: Schema, hyperparameters: Mapping[str, object]
) -> BaseEstimator:
    """Fit the schema's kind of model on its features of ``train`` (which is not modified)."""
    params = resolve_hyperparameters(hyperparameters)
    if schema.classification:
        labels = set(np.unique(train[schema.label]).tolist())
        if labels != set(schema.label_values):
            raise DataValidationError(
                f"training data must hold both labels {schema.label_values}, "
                f"it has {sorted(labels)} in {len(train)} rows"
            )
    estimator = (
        HistGradientBoostingClassifier if schema.classification else HistGradientBoostingRegressor
    )
    # A fixed number of iterations: early stopping would hold out a size-dependent share of
    # rows ("auto" turns it on above 10,000 rows); the validation channel is the held-out set.
    model = estimator(early_stopping=False, **params)
    return model.fit(train[list(schema.features)], train[schema.label])


def validation_metrics(
    model: BaseEstimator, frame: pd.DataFrame, schema: Schema
) -> dict[str, float]:
    """ROC AUC, accuracy and log loss of a classifier, or RMSE, MAE and R² of a regression, on
    ``frame``, rounded to 6 decimals."""
    labels = frame[schema.label].to_numpy()
    features = frame[list(schema.features)]
    if not schema.classification:
        predicted = model.predict(features)
        return {
            "rmse": round(float(root_mean_squared_error(labels, predicted)), 6),
            "mae": round(float(mean_absolute_error(labels, predicted)), 6),
            "r2": round(float(r2_score(labels, predicted)), 6) if len(labels) > 1 else 0.0,
        }
    if np.unique(labels).size < 2:
        raise DataValidationError(
            f"validation data has only label {labels[0] if len(labels) else 'none'}; "
            "ROC AUC needs both labels"
        )
    scores = model.predict_proba(features)[:, 1]
    return {
        "auc": round(float(roc_auc_score(labels, scores)), 6),
        "accuracy": round(float(accuracy_score(labels, scores >= 0.5)), 6),
        "log_loss": round(float(log_loss(labels, scores, labels=list(schema.label_values))), 6),
    }


def make_bundle(
    model: BaseEstimator, hyperparameters: Mapping[str, object], schema: Schema
) -> dict:
    """The dict saved as model.joblib (see artifacts.py)."""
    return {
        "format": artifacts.FORMAT,
        "kind": schema.kind,
        "model": model,
        "features": list(schema.features),
        "label": schema.label,
        "label_values": list(schema.label_values),
        "hyperparameters": resolve_hyperparameters(hyperparameters),
        "sklearn_version": sklearn.__version__,
    }


def parse_args(argv: Sequence[str] | None = None) -> tuple[argparse.Namespace, list[str]]:
    """Hyperparameters and paths; returns the arguments it did not recognise as well."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for name, (kind, default, _, _) in HYPERPARAMETERS.items():
        dashed = "--" + name.replace("_", "-")
        parser.add_argument(
            f"--{name}", dashed, dest=name, type=kind, default=default, help=f"default {default}"
        )
    env = os.environ.get
    parser.add_argument(
        "--train-dir", type=Path, default=env("SM_CHANNEL_TRAIN", "/opt/ml/input/data/train")
    )
    parser.add_argument(
        "--validation-dir",
        type=Path,
        default=env("SM_CHANNEL_VALIDATION", "/opt/ml/input/data/validation"),
    )
    parser.add_argument("--model-dir", type=Path, default=env("SM_MODEL_DIR", "/opt/ml/model"))
    parser.add_argument(
        "--output-data-dir",
        type=Path,
        default=env("SM_OUTPUT_DATA_DIR", "/opt/ml/output/data"),
    )
    parser.add_argument("--schema", type=Path, default=None, help="default: beside this script")
    return parser.parse_known_args(argv)


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    """Train on the train channel, score the validation channel, save the model."""
    args, unknown = parse_args(argv)
    if unknown:
        # SageMaker or a runner may add arguments of its own; they are not ours to reject.
        print(f"ignoring unknown arguments: {' '.join(unknown)}", file=sys.stderr)
    hyperparameters = resolve_hyperparameters(
        {name: getattr(args, name) for name in HYPERPARAMETERS}
    )
    contract = schema.load(args.schema)
    train = _read(args.train_dir, contract)
    validation = _read(args.validation_dir, contract)
    model = train_model(train, contract, hyperparameters)
    metrics = validation_metrics(model, validation, contract)

    artifacts.save_bundle(make_bundle(model, hyperparameters, contract), args.model_dir)
    args.output_data_dir.mkdir(parents=True, exist_ok=True)
    report = {
        "train_rows": len(train),
        "validation_rows": len(validation),
        "hyperparameters": hyperparameters,
        "validation": metrics,
    }
    (args.output_data_dir / "metrics.json").write_text(
        json.dumps(report, indent=2) + "\n", encoding="utf-8"
    )
    print(f"train_rows={len(train)} validation_rows={len(validation)}")
    for name, value in metrics.items():
        print(f"{METRIC_PREFIX}{name}={value:.6f}")
    return metrics


def _read(directory: Path, contract: Schema) -> pd.DataFrame:
    frame, locator = csvio.read_csvs(csvio.list_csv_files(directory), contract)
    return validate(frame, contract, max_nan_fraction=0.0, locate=locator.describe).frame


if __name__ == "__main__":
    errors.run_as_script(
        main, os.path.join(os.environ.get("SM_OUTPUT_DIR", "/opt/ml/output"), "failure")
    )
