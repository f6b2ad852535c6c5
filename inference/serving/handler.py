"""The model behind the server: load and check the bundle, predict, answer an invocation.

No HTTP here (``app.py`` maps :class:`RequestError` to its status code); request bodies are read
by ``parsing.py``. Responses name the model version that produced them::

    from a classifier   {"model_version": "mlops-demo-prod/3",
                         "predictions": [{"malignant_probability": 0.97, "label": 1}, ...]}
    from a regression   {"model_version": "...", "predictions": [{"disease_progression": 151.2}]}

The version is the registry's ``group/version`` when the deploy code (or ``serve --env``) says
so, and otherwise the digest of the model's files, which names them just as exactly.
"""

import dataclasses
import io
import tarfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import sklearn

from inference import integrity
from inference.serving.parsing import RequestError, check_accept, parse_request, quote_names

MODEL_FILE = "model.joblib"
MODEL_ARCHIVE = "model.tar.gz"
SUPPORTED_FORMATS = (1,)
# Same cut-off as the evaluation step (training_pipeline/steps/evaluate.py), so that the served
# labels are the ones the registered accuracy/precision/recall describe.
THRESHOLD = 0.5
_NO_FEATURE_NAMES = "X does not have valid feature names"

__all__ = [
    "Model",
    "ModelLoadError",
    "RequestError",
    "answer",
    "load_model",
    "request_rows",
    "score",
]


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
    version: str = ""  # what answers name: the registry's group/version, or the files' digest

    @property
    def version_mismatch(self) -> bool:
        """Trained with another scikit-learn: predictions may differ or fail."""
        return self.sklearn_version not in (None, sklearn.__version__)


# ---------------------------------------------------------------------------- loading


def load_model(
    model_dir: str | Path, expected_digest: str | None = None, version: str | None = None
) -> Model:
    """Load ``model.joblib`` from ``model_dir`` or, failing that, from its ``model.tar.gz``.

    SageMaker hosting extracts the archive into /opt/ml/model; reading the archive as well
    lets a local run point straight at a training job's output. With ``expected_digest`` (the
    package's recorded ``model_digest``), the files are checked against it before anything is
    unpickled: a model changed after registration is never loaded.

    ``version`` is what answers name (the registry's ``group/version``); without it, the
    digest of the model's files.

    Raises:
        ModelLoadError: naming the directory and what it holds instead, or the digests that
            differ.
    """
    folder = Path(model_dir)
    if (folder / MODEL_FILE).is_file():
        digest = _digest(folder, expected_digest, f"the model in {folder}")
        model = bundle_to_model(_unpickle(folder / MODEL_FILE), str(folder / MODEL_FILE))
    elif (folder / MODEL_ARCHIVE).is_file():
        digest = _digest(folder / MODEL_ARCHIVE, expected_digest, str(folder / MODEL_ARCHIVE))
        source = f"{folder / MODEL_ARCHIVE}:{MODEL_FILE}"
        model = bundle_to_model(_unpickle_from_archive(folder / MODEL_ARCHIVE), source)
    elif not folder.is_dir():
        raise ModelLoadError(f"model directory {folder} does not exist")
    else:
        found = sorted(path.name for path in folder.iterdir())
        raise ModelLoadError(
            f"no {MODEL_FILE} or {MODEL_ARCHIVE} in {folder} "
            f"(it holds {quote_names(found) or 'nothing'})"
        )
    return dataclasses.replace(model, version=version or digest)


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


def _digest(files: Path, expected: str | None, what: str) -> str:
    """The digest of a model folder or archive, checked against ``expected`` if given: before
    anything is unpickled, so a model changed after registration is never loaded."""
    try:
        found = integrity.of_folder(files) if files.is_dir() else integrity.of_archive(files)
        if expected:
            integrity.check(found, expected, what)
    except (OSError, tarfile.TarError) as error:
        raise ModelLoadError(f"cannot read {files} to check its digest: {error}") from error
    except integrity.DigestMismatch as mismatch:
        raise ModelLoadError(str(mismatch)) from None
    return found


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
                    f"(it holds {quote_names(names) or 'nothing'})"
                )
            payload = tar.extractfile(member).read()
    except (tarfile.TarError, OSError, EOFError) as error:
        raise ModelLoadError(f"cannot read {archive}: {error}") from error
    return _unpickle(io.BytesIO(payload), f"{archive}:{member.name}")


def _is_model_file(name: str) -> bool:
    return name.removeprefix("./") == MODEL_FILE


def _plain(value: object) -> object:
    """numpy scalars as Python ones, so they compare and print like the bundle's values."""
    return value.item() if isinstance(value, np.generic) else value


# ---------------------------------------------------------------------------- predictions


def request_rows(
    model: Model, body: bytes, content_type: str | None, accept: str | None = None
) -> np.ndarray:
    """The instances of one /invocations request, a matrix in the model's feature order.

    Raises:
        RequestError: with the status to answer (400, 406 or 415) and a message for the caller.
    """
    check_accept(accept)
    return parse_request(body, content_type, model.features)


def score(model: Model, rows: np.ndarray) -> np.ndarray:
    """One score per row: the positive label's probability from a classifier, the predicted
    value from a regression."""
    # The rows are a plain matrix in the model's column order (parsing.py put them so, and
    # bundle_to_model checked that order against the one the model was fitted with), and every
    # value is finite: scikit-learn's checks of a DataFrame's names and of finiteness would
    # only repeat that, at half a millisecond a call.
    with warnings.catch_warnings(), sklearn.config_context(assume_finite=True):
        warnings.filterwarnings("ignore", _NO_FEATURE_NAMES, UserWarning)
        if model.label_values is None:
            return model.estimator.predict(rows)
        return model.estimator.predict_proba(rows)[:, model.positive_column]


def answer(model: Model, scores: np.ndarray) -> dict:
    """``{"model_version": ..., "predictions": [...]}``, one prediction per score: from a
    classifier ``{"<label>_probability": p, "label": 0|1}``, from a regression
    ``{"<label>": value}``."""
    if model.label_values is None:
        predictions = [{model.label: value} for value in scores.astype(np.float64).tolist()]
    else:
        negative, positive = model.label_values
        key = f"{model.label}_probability"
        labels = np.where(scores >= THRESHOLD, positive, negative)
        predictions = [
            {key: p, "label": label}
            for p, label in zip(scores.tolist(), labels.tolist(), strict=True)
        ]
    return {"model_version": model.version, "predictions": predictions}
