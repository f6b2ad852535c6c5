"""Processing step: score the challenger and the champion on the test split.

    python3 evaluate.py [--model-dir /opt/ml/processing/model]
                        [--test-dir /opt/ml/processing/test]
                        [--output-dir /opt/ml/processing/evaluation]
                        [--model-package-group NAME] [--inference-image URI]
                        [--region REGION]

``--model-dir`` holds the training job's ``model.tar.gz``; ``--test-dir`` the ``*.csv`` test
split. The champion is the latest Approved package of ``--model-package-group`` (default: the
``MODEL_PACKAGE_GROUP_NAME`` variable; none given, no champion); its model is downloaded and
re-scored on the same test rows. Writes to ``--output-dir``:

    evaluation.json     the gate's input (shape in ``build_evaluation``; read with JsonGet),
                        with the model's digest and any registered version it is identical to
    model_quality.json  SageMaker model-quality statistics, attached to the model package
    confusion_matrix.png, roc_curve.png
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
    precision_score,
    recall_score,
    roc_auc_score,
    roc_curve,
)

if __package__:  # see steps/__init__.py
    from . import artifacts, champion, csvio, errors, plots, schema
    from .errors import ChampionError, DataValidationError, ModelArtifactError
    from .preprocess import validate
else:
    import artifacts
    import champion
    import csvio
    import errors
    import plots
    import schema
    from errors import ChampionError, DataValidationError, ModelArtifactError
    from preprocess import validate

METRICS = ("roc_auc", "accuracy", "precision", "recall", "f1", "log_loss")
DECIMALS = 6
THRESHOLD = 0.5


@dataclass(frozen=True)
class Scores:
    """A model's metrics on one data set, with what the plots need."""

    metrics: dict[str, float]
    confusion: np.ndarray  # [[tn, fp], [fn, tp]]: rows actual, columns predicted
    false_positive_rates: np.ndarray
    true_positive_rates: np.ndarray


def score(bundle: dict, frame: pd.DataFrame) -> Scores:
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
    labels = frame[schema.LABEL].to_numpy()
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
        "log_loss": log_loss(labels, probabilities, labels=list(schema.LABEL_VALUES)),
    }
    return Scores(
        metrics={name: _plain(value) for name, value in metrics.items()},
        confusion=confusion_matrix(labels, predicted, labels=list(schema.LABEL_VALUES)),
        false_positive_rates=fpr,
        true_positive_rates=tpr,
    )


def build_evaluation(
    challenger: Scores,
    test_rows: int,
    champion_arn: str = "",
    champion_scores: Scores | None = None,
) -> dict:
    """The ``evaluation.json`` document; its shape is the pipeline gate's contract::

        {"metrics": {"roc_auc": {"value": 0.99}, "accuracy": {...}, "precision": {...},
                     "recall": {...}, "f1": {...}, "log_loss": {...}},
         "champion": {"model_package_arn": "<arn or empty>", "roc_auc": <float, 0.0 if none>},
         "comparison": {"has_champion": <bool>,
                        "roc_auc_delta": <challenger - champion, 0.0 if none>},
         "test_rows": <int>}

    Every number is a plain float rounded to 6 decimals; nothing is null or NaN.
    """
    has_champion = champion_scores is not None
    champion_auc = champion_scores.metrics["roc_auc"] if has_champion else 0.0
    delta = challenger.metrics["roc_auc"] - champion_auc if has_champion else 0.0
    return {
        "metrics": {name: {"value": challenger.metrics[name]} for name in METRICS},
        "champion": {
            "model_package_arn": champion_arn if has_champion else "",
            "roc_auc": _plain(champion_auc),
        },
        "comparison": {"has_champion": has_champion, "roc_auc_delta": _plain(delta)},
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
    """SageMaker model-quality statistics (binary classification) for the model package."""

    def metric(name: str) -> dict:
        return {"value": scores.metrics[name], "standard_deviation": "NaN"}

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
    parser.add_argument("--region", default=None, help="default: the AWS_REGION variables")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> dict:
    """Score challenger and champion; write evaluation.json, model_quality.json, plots."""
    args = parse_args(argv)
    frame, locator = csvio.read_csvs(csvio.list_csv_files(args.test_dir))
    test = validate(frame, max_nan_fraction=0.0, locate=locator.describe).frame
    with tempfile.TemporaryDirectory() as scratch:
        bundle = artifacts.load_model_dir(args.model_dir, Path(scratch) / "challenger")
        challenger = score(bundle, test)
        found, champion_scores = _champion(args, test, Path(scratch) / "champion")
    digest = artifacts.content_digest(args.model_dir)
    duplicate = _registered_twin(args, digest)

    arn = found.model_package_arn if found else ""
    evaluation = build_evaluation(challenger, len(test), arn, champion_scores)
    evaluation["registration"] = build_registration(digest, duplicate)
    out = args.output_dir
    out.mkdir(parents=True, exist_ok=True)
    _write_json(out / "evaluation.json", evaluation)
    _write_json(out / "model_quality.json", build_model_quality(challenger))
    plots.confusion_matrix_png(
        challenger.confusion,
        out / "confusion_matrix.png",
        f"Challenger on {len(test)} test rows",
    )
    curves = {"challenger": _curve(challenger)}
    if found and champion_scores:
        curves[f"champion v{found.version}"] = _curve(champion_scores)
    plots.roc_curve_png(curves, out / "roc_curve.png", f"ROC, {len(test)} test rows")

    for name in METRICS:
        print(f"test_{name}={challenger.metrics[name]:.6f}")
    if found:
        print(
            f"champion {arn} roc_auc={evaluation['champion']['roc_auc']:.6f} "
            f"delta={evaluation['comparison']['roc_auc_delta']:+.6f}"
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
    args: argparse.Namespace, test: pd.DataFrame, scratch: Path
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
        return found, score(bundle, test)
    except ModelArtifactError as error:
        raise ChampionError(
            f"cannot re-score champion {found.model_package_arn}: {error}; "
            "reject or archive it if the schema has changed on purpose"
        ) from error


def _curve(scores: Scores) -> tuple[np.ndarray, np.ndarray, float]:
    return scores.false_positive_rates, scores.true_positive_rates, scores.metrics["roc_auc"]


def _plain(value: float) -> float:
    return round(float(value), DECIMALS)


def _write_json(path: Path, document: dict) -> None:
    # allow_nan=False: JsonGet readers must never meet NaN; fail here rather than there.
    path.write_text(json.dumps(document, indent=2, allow_nan=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    errors.run_as_script(main)
