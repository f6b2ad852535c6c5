"""The dataset contract of one model: its kind, feature columns, label and the values they hold.

Each model's folder (training_pipeline/models/NAME/) holds its contract as ``schema.json``; the
code bundle of that model puts it beside these scripts, where ``load()`` finds it by default::

    {"kind": "classification" | "regression",
     "features": ["mean_radius", ...],          numeric columns, in the model's order
     "label": "malignant",
     "label_values": [0, 1],                    classification only: (negative, positive)
     "feature_min": 0.0}                        optional: the smallest valid feature value
"""

import json
from dataclasses import dataclass
from pathlib import Path

if __package__:  # see steps/__init__.py
    from .errors import DataValidationError
else:
    from errors import DataValidationError

KINDS = ("classification", "regression")
# Gate metrics each kind's evaluation reports, and which way is better.
METRICS = {
    "classification": {
        "roc_auc": "higher",
        "accuracy": "higher",
        "precision": "higher",
        "recall": "higher",
        "f1": "higher",
        "log_loss": "lower",
    },
    "regression": {"rmse": "lower", "mae": "lower", "r2": "higher"},
}
FILE = "schema.json"
# Features are read as float64 (exact round trip of the CSV text); so is the label, so that a
# missing or fractional label can be reported instead of failing the parse.
FEATURE_DTYPE = "float64"


@dataclass(frozen=True)
class Schema:
    """One model's columns and value rules."""

    kind: str
    features: tuple[str, ...]
    label: str
    label_values: tuple[int, ...] = ()
    feature_min: float | None = None

    @property
    def columns(self) -> list[str]:
        return [*self.features, self.label]

    @property
    def classification(self) -> bool:
        return self.kind == "classification"

    @property
    def label_dtype(self) -> str:
        """Class labels are stored as int64 once validated; a regression target stays float64."""
        return "int64" if self.classification else "float64"

    @property
    def metrics(self) -> dict[str, str]:
        """The metrics the evaluation reports for this kind, each with its better direction."""
        return METRICS[self.kind]


def load(path: str | Path | None = None) -> Schema:
    """Read and check a ``schema.json`` (default: the one beside this script)."""
    path = Path(path) if path else Path(__file__).with_name(FILE)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataValidationError(
            f"no model schema at {path}: the code bundle of a model carries its schema.json"
        ) from None
    except json.JSONDecodeError as error:
        raise DataValidationError(f"{path} is not JSON: {error}") from None
    return parse(document, str(path))


def parse(document: object, where: str = "schema") -> Schema:
    """A ``Schema`` from the parsed JSON, or a DataValidationError naming what is wrong."""
    if not isinstance(document, dict):
        raise DataValidationError(f"{where}: expected a JSON object")
    problems = []
    kind = document.get("kind")
    if kind not in KINDS:
        problems.append(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    features = document.get("features")
    if not (isinstance(features, list) and features and all(isinstance(f, str) for f in features)):
        problems.append("features must be a non-empty list of column names")
        features = []
    label = document.get("label")
    if not isinstance(label, str) or not label:
        problems.append("label must be a column name")
    elif label in features:
        problems.append(f"label {label!r} is also a feature")
    if len(set(features)) != len(features):
        problems.append("features name a column more than once")
    values = document.get("label_values", [])
    if kind == "classification" and not (
        isinstance(values, list)
        and len(values) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in values)
        and values[0] != values[1]
    ):
        problems.append("label_values must be two distinct integers (negative, positive)")
    if kind == "regression" and values:
        problems.append("label_values is for classification only")
    feature_min = document.get("feature_min")
    if feature_min is not None and (
        isinstance(feature_min, bool) or not isinstance(feature_min, int | float)
    ):
        problems.append("feature_min must be a number or absent")
    unknown = set(document) - {"kind", "features", "label", "label_values", "feature_min"}
    if unknown:
        problems.append(f"unknown key(s) {', '.join(sorted(unknown))}")
    if problems:
        raise DataValidationError(f"{where}: {'; '.join(problems)}")
    return Schema(
        kind=kind,
        features=tuple(features),
        label=label,
        label_values=tuple(values),
        feature_min=None if feature_min is None else float(feature_min),
    )
