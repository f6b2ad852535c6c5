"""Processing step: score the challenger and the champion on the test split.

    python3 evaluate.py [--model-dir /opt/ml/processing/model]
                        [--test-dir /opt/ml/processing/test]
                        [--output-dir /opt/ml/processing/evaluation]
                        [--model-package-group NAME] [--inference-image URI]
                        [--gate-metric roc_auc] [--schema schema.json] [--region REGION]

``--model-dir`` holds the training job's ``model.tar.gz``; ``--test-dir`` the ``*.csv`` test
split. The champion is the latest Approved package of ``--model-package-group`` (default: the
``MODEL_PACKAGE_GROUP_NAME`` variable; none given, no champion); its model is downloaded and
re-scored on the same test rows. The metrics are those of the model's kind (its schema.json);
``--gate-metric`` is the one the pipeline's gate compares. Writes to ``--output-dir``:

    evaluation.json     the gate's input (shape in ``build_evaluation``; read with JsonGet),
                        with the model's digest and any registered version it is identical to
    model_quality.json  SageMaker model-quality statistics, attached to the model package
    confusion_matrix.png, roc_curve.png      (a classifier)
    predicted_vs_actual.png                  (a regression)
"""

import argparse
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    log_loss,
    mean_absolute_error,
    precision_score,
    r2_score,
    recall_score,
    roc_auc_score,
    roc_curve,
    root_mean_squared_error,
)

if __package__:  # see steps/__init__.py
    from . import artifacts, champion, csvio, errors, plots, schema
    from .errors import ChampionError, DataValidationError, ModelArtifactError
    from .preprocess import validate
    from .schema import Schema
else:
    import artifacts
    import champion
    import csvio
    import errors
    import plots
    import schema
    from errors import ChampionError, DataValidationError, ModelArtifactError
    from preprocess import validate
    from schema import Schema

DECIMALS = 6
THRESHOLD = 0.5


@dataclass(frozen=True)
class Scores:
    """A model's metrics on one data set, with what the plots need: a classifier's confusion
    matrix and ROC curve, or a regression's predictions."""

    metrics: dict[str, float]
    confusion: np.ndarray | None = None  # [[tn, fp], [fn, tp]]: rows actual, columns predicted
    false_positive_rates: np.ndarray | None = None
    true_positive_rates: np.ndarray | None = None
    actual: np.ndarray | None = None
    predicted: np.ndarray | None = None


def score(bundle: dict, frame: pd.DataFrame, schema: Schema) -> Scores:
    """Score a model bundle (see artifacts.py) on labelled rows.

    Raises:
        ModelArtifactError: if the model needs a feature the data lacks.
        DataValidationError: if the rows do not hold both labels (ROC AUC is undefined).
    """
    features = list(bundle["features"])
    missing = [name for name in features if name not in frame.columns]
    if missing:
        raise ModelArtifactError(
            f"the model needs feature(s) {', '.join(repr(m) for m in missing)} "
            "that the test data lacks"
        )
    labels = frame[schema.label].to_numpy()
    if not schema.classification:
        predicted = bundle["model"].predict(frame[features])
        metrics = {
            "rmse": root_mean_squared_error(labels, predicted),
            "mae": mean_absolute_error(labels, predicted),
            "r2": r2_score(labels, predicted) if len(labels) > 1 else 0.0,
        }
        return Scores(
            metrics={name: _plain(value) for name, value in metrics.items()},
            actual=labels,
            predicted=predicted,
        )
    present = np.unique(labels)
    if present.size < 2:
        raise DataValidationError(
            f"test data ({len(labels)} rows) holds only label(s) {present.tolist()}; "
            "ROC AUC needs both labels"
        )
    probabilities = bundle["model"].predict_proba(frame[features])[:, 1]
    predicted = (probabilities >= THRESHOLD).astype(labels.dtype)
    fpr, tpr, _ = roc_curve(labels, probabilities)
    metrics = {
        "roc_auc": roc_auc_score(labels, probabilities),
        "accuracy": accuracy_score(labels, predicted),
        "precision": precision_score(labels, predicted, zero_division=0),
        "recall": recall_score(labels, predicted, zero_division=0),
        "f1": f1_score(labels, predicted, zero_division=0),
        "log_loss": log_loss(labels, probabilities, labels=list(schema.label_values)),
    }
    return Scores(
        metrics={name: _plain(value) for name, value in metrics.items()},
        confusion=confusion_matrix(labels, predicted, labels=list(schema.label_values)),
        false_positive_rates=fpr,
        true_positive_rates=tpr,
    )


def build_evaluation(
    challenger: Scores,
    test_rows: int,
    gate_metric: str,
    direction: str,
    champion_arn: str = "",
    champion_scores: Scores | None = None,
) -> dict:
    """The ``evaluation.json`` document; its shape is the pipeline gate's contract::

        {"metrics": {"roc_auc": {"value": 0.99}, "accuracy": {...}, ...},   (the kind's)
         "gate": {"metric": "roc_auc", "direction": "higher" | "lower",
                  "value": <challenger's>,
                  "improvement": <how much better than the champion, in the metric's units:
                                  challenger - champion when higher is better, champion -
                                  challenger when lower is; 0.0 if no champion>},
         "champion": {"model_package_arn": "<arn or empty>",
                      "value": <champion's gate metric, 0.0 if none>},
         "comparison": {"has_champion": <bool>},
         "test_rows": <int>}

    Every number is a plain float rounded to 6 decimals; nothing is null or NaN.
    """
    if gate_metric not in challenger.metrics:
        raise ValueError(
            f"gate metric {gate_metric!r} is not one this model reports "
            f"({', '.join(challenger.metrics)})"
        )
    value = challenger.metrics[gate_metric]
    has_champion = champion_scores is not None
    held = champion_scores.metrics[gate_metric] if has_champion else 0.0
    better = value - held if direction == "higher" else held - value
    return {
        "metrics": {name: {"value": number} for name, number in challenger.metrics.items()},
        "gate": {
            "metric": gate_metric,
            "direction": direction,
            "value": value,
            "improvement": _plain(better) if has_champion else 0.0,
        },
        "champion": {
            "model_package_arn": champion_arn if has_champion else "",
            "value": _plain(held),
        },
        "comparison": {"has_champion": has_champion},
        "test_rows": int(test_rows),
    }


def build_registration(digest: str, duplicate: champion.RegisteredModel | None) -> dict:
    """The ``registration`` section of ``evaluation.json``: the model's content digest (recorded
    with the package) and the newest registered version with the same digest and inference
    image, if any::

        {"model_digest": "sha256:...", "duplicate_of_version": <version, 0 if none>,
         "duplicate_of_status": "<its approval status, empty if none>"}

    The pipeline registers a model only when ``duplicate_of_version`` is 0, so re-running the
    same code on the same data (the same tag pushed again) adds no version, while a commit that
    changes only how the model is served (a new inference image) does.
    """
    return {
        "model_digest": digest,
        "duplicate_of_version": duplicate.version if duplicate else 0,
        "duplicate_of_status": duplicate.status if duplicate else "",
    }


def build_model_quality(scores: Scores) -> dict:
    """SageMaker model-quality statistics (binary classification or regression) for the model
    package."""

    def metric(name: str) -> dict:
        return {"value": scores.metrics[name], "standard_deviation": "NaN"}

    if scores.confusion is None:
        return {
            "regression_metrics": {
                "mae": metric("mae"),
                "mse": {
                    "value": _plain(np.mean((scores.actual - scores.predicted) ** 2)),
                    "standard_deviation": "NaN",
                },
                "rmse": metric("rmse"),
                "r2": metric("r2"),
            }
        }

    (tn, fp), (fn, tp) = scores.confusion.tolist()
    return {
        "binary_classification_metrics": {
            "confusion_matrix": {"0": {"0": tn, "1": fp}, "1": {"0": fn, "1": tp}},
            "recall": metric("recall"),
            "precision": metric("precision"),
            "accuracy": metric("accuracy"),
            "f1": metric("f1"),
            "auc": metric("roc_auc"),
            "log_loss": metric("log_loss"),
        }
    }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line; every path defaults to its place in the processing container."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-dir", type=Path, default="/opt/ml/processing/model")
    parser.add_argument("--test-dir", type=Path, default="/opt/ml/processing/test")
    parser.add_argument("--output-dir", type=Path, default="/opt/ml/processing/evaluation")
    parser.add_argument(
        "--model-package-group",
        default=os.environ.get("MODEL_PACKAGE_GROUP_NAME", ""),
        help="group whose latest Approved package is the champion (empty: no champion)",
    )
    parser.add_argument(
        "--inference-image",
        default="",
        help="image the model would be served from: a registered package is the same only "
        "with the same model and the same image",
    )
    parser.add_argument(
        "--gate-metric",
        default="",
        help="the metric the pipeline's gate compares (default: the kind's first metric)",
    )
    parser.add_argument("--schema", type=Path, default=None, help="default: beside this script")
    parser.add_argument("--region", default=None, help="default: the AWS_REGION variables")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> dict:
    """Score challenger and champion; write evaluation.json, model_quality.json, plots."""
    args = parse_args(argv)
    contract = schema.load(args.schema)
    gate_metric = args.gate_metric or next(iter(contract.metrics))
    if gate_metric not in contract.metrics:
        raise DataValidationError(
            f"--gate-metric {gate_metric} is not a {contract.kind} metric: choose one of "
            f"{', '.join(contract.metrics)}"
        )
    frame, locator = csvio.read_csvs(csvio.list_csv_files(args.test_dir), contract)
    test = validate(frame, contract, max_nan_fraction=0.0, locate=locator.describe).frame
    with tempfile.TemporaryDirectory() as scratch:
        bundle = artifacts.load_model_dir(args.model_dir, Path(scratch) / "challenger")
        challenger = score(bundle, test, contract)
        found, champion_scores = _champion(args, test, contract, Path(scratch) / "champion")
    digest = artifacts.content_digest(args.model_dir)
    duplicate = _registered_twin(args, digest)

    arn = found.model_package_arn if found else ""
    evaluation = build_evaluation(
        challenger, len(test), gate_metric, contract.metrics[gate_metric], arn, champion_scores
    )
    evaluation["registration"] = build_registration(digest, duplicate)
    out = args.output_dir
    out.mkdir(parents=True, exist_ok=True)
    _write_json(out / "evaluation.json", evaluation)
    _write_json(out / "model_quality.json", build_model_quality(challenger))
    champion_name = f"champion v{found.version}" if found and champion_scores else None
    _plot(challenger, champion_scores, champion_name, contract, out, len(test))

    for name, value in challenger.metrics.items():
        print(f"test_{name}={value:.6f}")
    if found:
        print(
            f"champion {arn} {gate_metric}={evaluation['champion']['value']:.6f} "
            f"improvement={evaluation['gate']['improvement']:+.6f}"
        )
    else:
        print("no champion: no Approved model package in the group")
    if duplicate:
        print(
            f"model {digest} is identical to registered version {duplicate.version} "
            f"({duplicate.status}): nothing new to register"
        )
    return evaluation


def _registered_twin(args: argparse.Namespace, digest: str) -> champion.RegisteredModel | None:
    if not args.model_package_group:
        return None
    import boto3

    session = boto3.Session(region_name=args.region)
    return champion.find_by_digest(
        session.client("sagemaker"), args.model_package_group, digest, args.inference_image
    )


def _champion(
    args: argparse.Namespace, test: pd.DataFrame, contract: Schema, scratch: Path
) -> tuple[champion.Champion | None, Scores | None]:
    if not args.model_package_group:
        return None, None
    import boto3  # only this path talks to AWS; the rest of the step runs without it

    session = boto3.Session(region_name=args.region)
    found = champion.find_champion(session.client("sagemaker"), args.model_package_group)
    if found is None:
        return None, None
    archive = champion.download_model(session.client("s3"), found, scratch)
    try:
        bundle = artifacts.load_model_dir(archive.parent, scratch / "extracted")
        return found, score(bundle, test, contract)
    except ModelArtifactError as error:
        raise ChampionError(
            f"cannot re-score champion {found.model_package_arn}: {error}; "
            "reject or archive it if the schema has changed on purpose"
        ) from error


def _plot(
    challenger: Scores,
    held: Scores | None,
    champion_name: str | None,
    contract: Schema,
    out: Path,
    rows: int,
) -> None:
    """A classifier's confusion matrix and ROC curves, or a regression's predictions against
    the truth; the champion's beside the challenger's where there is one."""
    shown = {"challenger": challenger, **({champion_name: held} if champion_name else {})}
    if not contract.classification:
        series = {name: (s.actual, s.predicted, s.metrics["rmse"]) for name, s in shown.items()}
        plots.predicted_vs_actual_png(
            series, out / "predicted_vs_actual.png", f"Predictions, {rows} test rows"
        )
        return
    negative, positive = contract.label_values
    plots.confusion_matrix_png(
        challenger.confusion,
        out / "confusion_matrix.png",
        f"Challenger on {rows} test rows",
        (f"{contract.label}={negative}", f"{contract.label}={positive}"),
    )
    curves = {
        name: (s.false_positive_rates, s.true_positive_rates, s.metrics["roc_auc"])
        for name, s in shown.items()
    }
    plots.roc_curve_png(curves, out / "roc_curve.png", f"ROC, {rows} test rows")


def _plain(value: float) -> float:
    return round(float(value), DECIMALS)


def _write_json(path: Path, document: dict) -> None:
    # allow_nan=False: JsonGet readers must never meet NaN; fail here rather than there.
    path.write_text(json.dumps(document, indent=2, allow_nan=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    errors.run_as_script(main)
