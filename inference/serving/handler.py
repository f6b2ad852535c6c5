"""Request handling for the model server: load the bundle, parse a request, predict.

Pure functions, no HTTP: ``serve.py`` maps :class:`RequestError` to its status code.

The contract (the model package is registered with ``text/csv`` in, ``application/json`` out)::

    text/csv          one instance per line, the model's features in order, optional header
                      row (a header may list the features in any order; it must name them all)
    application/json  {"instances": [[f1, ..., f30], ...]}  or a bare list of such rows, or
                      rows as objects keyed by feature name: [{"mean_radius": 17.99, ...}, ...]

    response          from a classifier
                          {"predictions": [{"malignant_probability": 0.97, "label": 1}, ...]}
                      from a regression
                          {"predictions": [{"disease_progression": 151.2}, ...]}

Every value must be a finite number (the model was trained without missing values). Errors say
what is wrong and where: CSV by row and line, JSON by path (``instances[2][4]``).
"""

import csv
import io
import json
import math
import tarfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import sklearn

from inference import integrity

MODEL_FILE = "model.joblib"
MODEL_ARCHIVE = "model.tar.gz"
SUPPORTED_FORMATS = (1,)
# Same cut-off as the evaluation step (training_pipeline/steps/evaluate.py), so that the served
# labels are the ones the registered accuracy/precision/recall describe.
THRESHOLD = 0.5

CSV = "text/csv"
JSON = "application/json"
CONTENT_TYPES = (CSV, JSON)
_ACCEPTABLE = {JSON, "application/*", "*/*"}
_SHOWN = 5  # names or values quoted in one message before "... (N more)"


class RequestError(ValueError):
    """The request cannot be served as sent; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class ModelLoadError(RuntimeError):
    """The model directory holds no usable model bundle."""


@dataclass(frozen=True)
class Model:
    """A loaded bundle: the estimator and what a request must provide."""

    estimator: Any
    features: tuple[str, ...]
    label: str
    label_values: tuple[int, int] | None  # (negative, positive); None for a regression
    positive_column: int  # column of the positive label in predict_proba's output
    sklearn_version: str | None  # the version that trained it, if recorded

    @property
    def version_mismatch(self) -> bool:
        """Trained with another scikit-learn: predictions may differ or fail."""
        return self.sklearn_version not in (None, sklearn.__version__)


# ---------------------------------------------------------------------------- loading


def load_model(model_dir: str | Path, expected_digest: str | None = None) -> Model:
    """Load ``model.joblib`` from ``model_dir`` or, failing that, from its ``model.tar.gz``.

    SageMaker hosting extracts the archive into /opt/ml/model; reading the archive as well
    lets a local run point straight at a training job's output. With ``expected_digest`` (the
    package's recorded ``model_digest``), the files are checked against it before anything is
    unpickled: a model changed after registration is never loaded.

    Raises:
        ModelLoadError: naming the directory and what it holds instead, or the digests that
            differ.
    """
    folder = Path(model_dir)
    if expected_digest:
        _check_digest(folder, expected_digest)
    if (folder / MODEL_FILE).is_file():
        return bundle_to_model(_unpickle(folder / MODEL_FILE), str(folder / MODEL_FILE))
    if (folder / MODEL_ARCHIVE).is_file():
        source = f"{folder / MODEL_ARCHIVE}:{MODEL_FILE}"
        return bundle_to_model(_unpickle_from_archive(folder / MODEL_ARCHIVE), source)
    if not folder.is_dir():
        raise ModelLoadError(f"model directory {folder} does not exist")
    found = sorted(path.name for path in folder.iterdir())
    raise ModelLoadError(
        f"no {MODEL_FILE} or {MODEL_ARCHIVE} in {folder} (it holds {_names(found) or 'nothing'})"
    )


def bundle_to_model(bundle: object, source: str = "the bundle") -> Model:
    """Check a bundle dict (see training_pipeline/steps/artifacts.py) and wrap it.

    Raises:
        ModelLoadError: if the bundle could not serve a single request.
    """
    if not isinstance(bundle, dict) or not {"model", "features"} <= bundle.keys():
        raise ModelLoadError(
            f"{source} is not a model bundle: expected a dict with keys model, features, label"
        )
    version = bundle.get("format", 1)
    if version not in SUPPORTED_FORMATS:
        raise ModelLoadError(
            f"{source} has bundle format {version!r}; this server reads format(s) "
            f"{', '.join(map(str, SUPPORTED_FORMATS))}: serve it with the image built from "
            "the commit that trained it"
        )
    estimator, features = bundle["model"], bundle["features"]
    kind = bundle.get("kind", "classification")
    needed = {"classification": "predict_proba", "regression": "predict"}.get(kind)
    if needed is None:
        raise ModelLoadError(f"{source}: kind {kind!r} is neither classification nor regression")
    if not callable(getattr(estimator, needed, None)):
        raise ModelLoadError(f"{source}: the model {type(estimator).__name__} has no {needed}")
    if not features or not all(isinstance(name, str) for name in features):
        raise ModelLoadError(f"{source}: 'features' must be a non-empty list of column names")
    fitted = getattr(estimator, "feature_names_in_", None)
    if fitted is not None and list(fitted) != list(features):
        raise ModelLoadError(f"{source}: 'features' differ from the columns the model was fit on")
    if kind == "regression":
        return Model(
            estimator=estimator,
            features=tuple(features),
            label=str(bundle.get("label", "prediction")),
            label_values=None,
            positive_column=0,
            sklearn_version=bundle.get("sklearn_version"),
        )
    label_values = tuple(bundle.get("label_values", (0, 1)))
    classes = [_plain(value) for value in getattr(estimator, "classes_", label_values)]
    if len(label_values) != 2 or any(value not in classes for value in label_values):
        raise ModelLoadError(
            f"{source}: label_values {list(label_values)} must be two of the model's classes "
            f"{classes}"
        )
    return Model(
        estimator=estimator,
        features=tuple(features),
        label=str(bundle.get("label", "positive")),
        label_values=(label_values[0], label_values[1]),
        positive_column=classes.index(label_values[1]),
        sklearn_version=bundle.get("sklearn_version"),
    )


def _check_digest(folder: Path, expected: str) -> None:
    archive = folder / MODEL_ARCHIVE
    try:
        if (folder / MODEL_FILE).is_file() or not archive.is_file():
            found, what = integrity.of_folder(folder), f"the model in {folder}"
        else:
            found, what = integrity.of_archive(archive), str(archive)
        integrity.check(found, expected, what)
    except (OSError, tarfile.TarError) as error:
        raise ModelLoadError(f"cannot read {folder} to check its digest: {error}") from error
    except integrity.DigestMismatch as mismatch:
        raise ModelLoadError(str(mismatch)) from None


def _unpickle(source: Path | io.BytesIO, name: str | None = None) -> object:
    try:
        return joblib.load(source)
    except Exception as error:  # unpickling raises anything from EOFError to ImportError
        raise ModelLoadError(
            f"cannot load {name or source}: {type(error).__name__}: {error}"
        ) from error


def _unpickle_from_archive(archive: Path) -> object:
    # Read the one member into memory instead of extracting: nothing is written to disk (the
    # container's user may not own any writable folder) and member paths are never followed.
    try:
        with tarfile.open(archive) as tar:
            member = next(
                (m for m in tar.getmembers() if m.isfile() and _is_model_file(m.name)), None
            )
            if member is None:
                names = [m.name for m in tar.getmembers()]
                raise ModelLoadError(
                    f"{archive} holds no {MODEL_FILE} at its root "
                    f"(it holds {_names(names) or 'nothing'})"
                )
            payload = tar.extractfile(member).read()
    except (tarfile.TarError, OSError, EOFError) as error:
        raise ModelLoadError(f"cannot read {archive}: {error}") from error
    return _unpickle(io.BytesIO(payload), f"{archive}:{member.name}")


def _is_model_file(name: str) -> bool:
    return name.removeprefix("./") == MODEL_FILE


# ---------------------------------------------------------------------------- requests


def media_type(header: str | None) -> str:
    """``text/csv; charset=utf-8`` -> ``text/csv``."""
    return (header or "").split(";", 1)[0].strip().lower()


def check_accept(accept: str | None) -> None:
    """Raise a 406 RequestError unless ``accept`` allows application/json (or is absent)."""
    ranges = {media_type(part) for part in (accept or "").split(",")} - {""}
    if ranges and not ranges & _ACCEPTABLE:
        raise RequestError(f"responses are {JSON} only, but the request accepts {accept}", 406)


def parse_request(body: bytes, content_type: str | None, features: Sequence[str]) -> np.ndarray:
    """The instances of a request body as a float64 matrix, columns in ``features`` order.

    Raises:
        RequestError: 415 for an unsupported content type, 400 for a malformed body.
    """
    kind = media_type(content_type)
    if kind not in CONTENT_TYPES:
        shown = f"Content-Type {content_type!r}" if kind else "no Content-Type"
        raise RequestError(f"unsupported {shown}: send {' or '.join(CONTENT_TYPES)}", 415)
    if not body.strip():
        raise RequestError(f"the {kind} request body is empty: send at least one instance")
    try:
        text = body.decode("utf-8-sig")  # -sig: spreadsheets prepend a byte-order mark
    except UnicodeDecodeError as error:
        raise RequestError(
            f"the {kind} request body is not UTF-8 text: byte {error.start} is "
            f"{body[error.start : error.start + 1]!r}"
        ) from None
    return parse_csv(text, features) if kind == CSV else parse_json(text, features)


def parse_csv(text: str, features: Sequence[str]) -> np.ndarray:
    """Rows of ``len(features)`` numbers; a first row without any number is a header."""
    reader = csv.reader(io.StringIO(text, newline=""))
    order: list[int] | None = None  # header position of each feature, if a header was sent
    rows: list[list[float]] = []
    for cells in _csv_records(reader):
        if not cells or (len(cells) == 1 and not cells[0].strip()):
            continue  # blank lines, such as the trailing newline
        line = reader.line_num
        if not rows and order is None and not any(_is_number(cell) for cell in cells):
            order = _header_order(cells, features, line)
            continue
        where = f"text/csv row {len(rows) + 1} (line {line})"
        if len(cells) != len(features):
            raise RequestError(
                f"{where} has {len(cells)} values, expected {len(features)}: the features "
                f"{features[0]}, ..., {features[-1]} in that order"
            )
        if order is not None:
            cells = [cells[index] for index in order]
        rows.append(
            [
                _csv_number(cell, f"{where}, column {column + 1} ({name})")
                for column, (cell, name) in enumerate(zip(cells, features, strict=True))
            ]
        )
    if not rows:
        raise RequestError("the text/csv request body has a header but no rows")
    return np.asarray(rows, dtype=np.float64)


def parse_json(text: str, features: Sequence[str]) -> np.ndarray:
    """``{"instances": rows}`` or a bare list of rows; a row is a list or an object."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise RequestError(
            f"the application/json body is not valid JSON: {error.msg} at line {error.lineno} "
            f"column {error.colno}"
        ) from None
    prefix = "instances"
    if isinstance(document, dict):
        if "instances" not in document:
            raise RequestError(
                'the application/json body must be {"instances": [...]} or a list of instances; '
                f"got an object with keys {_names(list(document)) or 'none'}"
            )
        instances = document["instances"]
    else:
        instances, prefix = document, ""
    if not isinstance(instances, list):
        raise RequestError(
            f"{prefix or 'the JSON body'} must be a list of instances, got {_json_type(instances)}"
        )
    if not instances:
        raise RequestError(f"{prefix or 'the JSON body'} is an empty list: send at least one")
    if all(_is_json_number(value) for value in instances):
        raise RequestError(
            f"{prefix or 'the JSON body'} is a flat list of numbers: wrap each instance in its "
            f"own list, e.g. [[{len(features)} numbers], ...]"
        )
    return np.asarray(
        [_json_row(row, f"{prefix}[{i}]", features) for i, row in enumerate(instances)],
        dtype=np.float64,
    )


def _json_row(row: object, where: str, features: Sequence[str]) -> list[float]:
    if isinstance(row, list):
        if len(row) != len(features):
            raise RequestError(
                f"{where} has {len(row)} values, expected {len(features)}: the features "
                f"{features[0]}, ..., {features[-1]} in that order"
            )
        return [
            _json_number(value, f"{where}[{i}] ({name})")
            for i, (value, name) in enumerate(zip(row, features, strict=True))
        ]
    if isinstance(row, dict):
        missing = [name for name in features if name not in row]
        unknown = [key for key in row if key not in features]
        if missing or unknown:
            problems = [f"missing {_names(missing)}"] if missing else []
            problems += [f"unknown {_names(unknown)}"] if unknown else []
            raise RequestError(f"{where} does not have the model's features: {'; '.join(problems)}")
        return [_json_number(row[name], f'{where}["{name}"]') for name in features]
    raise RequestError(
        f"{where} must be a list of {len(features)} numbers or an object keyed by feature name, "
        f"got {_json_type(row)}"
    )


def _csv_records(reader: Any) -> Iterable[list[str]]:
    try:
        yield from reader
    except csv.Error as error:
        raise RequestError(f"text/csv line {reader.line_num} cannot be parsed: {error}") from None


def _header_order(cells: list[str], features: Sequence[str], line: int) -> list[int]:
    names = [cell.strip() for cell in cells]
    missing = [name for name in features if name not in names]
    unknown = [name for name in names if name not in features]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if missing or unknown or repeated:
        problems = [f"missing {_names(missing)}"] if missing else []
        problems += [f"unknown {_names(unknown)}"] if unknown else []
        problems += [f"repeated {_names(repeated)}"] if repeated else []
        raise RequestError(
            f"text/csv header (line {line}) does not name the model's features: "
            f"{'; '.join(problems)}"
        )
    return [names.index(name) for name in features]


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _csv_number(cell: str, where: str) -> float:
    text = cell.strip()
    if not text:
        raise RequestError(f"{where} is empty: every feature needs a value")
    try:
        value = float(text)
    except ValueError:
        raise RequestError(f"{where}: {_quote(text)} is not a number") from None
    if not math.isfinite(value):
        raise RequestError(f"{where}: {_quote(text)} is not a finite number")
    return value


def _json_number(value: object, where: str) -> float:
    if not _is_json_number(value):
        raise RequestError(f"{where}: {_describe(value)} is not a number")
    try:
        number = float(value)
    except OverflowError:  # integers beyond float range
        number = math.inf
    if not math.isfinite(number):
        raise RequestError(f"{where}: {_quote(value)} is not a finite number")
    return number


def _is_json_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _json_type(value: object) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), "a number" if _is_json_number(value) else type(value).__name__)


def _describe(value: object) -> str:
    if isinstance(value, str):
        return f"the string {_quote(value)}"
    if isinstance(value, bool):
        return json.dumps(value)
    return _json_type(value)


def _quote(value: object, limit: int = 40) -> str:
    text = repr(value) if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _names(names: Iterable[object]) -> str:
    names = [repr(str(name)) for name in names]
    more = f" ... ({len(names) - _SHOWN} more)" if len(names) > _SHOWN else ""
    return ", ".join(names[:_SHOWN]) + more


def _plain(value: object) -> object:
    """numpy scalars as Python ones, so they compare and print like the bundle's values."""
    return value.item() if isinstance(value, np.generic) else value


# ---------------------------------------------------------------------------- predictions


def predict(model: Model, rows: np.ndarray) -> dict:
    """``{"predictions": [{"<label>_probability": p, "label": 0|1}, ...]}`` from a classifier,
    ``{"predictions": [{"<label>": value}, ...]}`` from a regression; one per row."""
    frame = pd.DataFrame(rows, columns=list(model.features))
    if model.label_values is None:
        return {"predictions": [{model.label: float(v)} for v in model.estimator.predict(frame)]}
    probabilities = model.estimator.predict_proba(frame)[:, model.positive_column]
    negative, positive = model.label_values
    key = f"{model.label}_probability"
    return {
        "predictions": [
            {key: float(p), "label": _plain(positive if p >= THRESHOLD else negative)}
            for p in probabilities
        ]
    }


def invoke(
    model: Model, body: bytes, content_type: str | None, accept: str | None = None
) -> tuple[bytes, str]:
    """One /invocations request: the response body and its content type.

    Raises:
        RequestError: with the status to answer (400, 406 or 415) and a message for the caller.
    """
    check_accept(accept)
    rows = parse_request(body, content_type, model.features)
    answer = predict(model, rows)
    return json.dumps(answer, allow_nan=False).encode("utf-8"), JSON
