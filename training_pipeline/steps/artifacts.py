"""The model artifact: ``model.joblib`` holding a plain dict, packed as ``model.tar.gz``.

The dict (a plain dict, so unpickling needs scikit-learn but none of our modules)::

    {"format": 1, "model": <fitted estimator with predict_proba>, "features": [...],
     "label": "malignant", "label_values": [0, 1], "hyperparameters": {...},
     "sklearn_version": "1.9.1"}
"""

import hashlib
import tarfile
from pathlib import Path

import joblib

if __package__:  # see steps/__init__.py
    from .errors import ModelArtifactError
else:
    from errors import ModelArtifactError

MODEL_FILE = "model.joblib"
MODEL_ARCHIVE = "model.tar.gz"
FORMAT = 1
REQUIRED_KEYS = ("model", "features", "label")


def save_bundle(bundle: dict, model_dir: str | Path) -> Path:
    """Write ``bundle`` to ``model_dir/model.joblib``."""
    target = Path(model_dir) / MODEL_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(bundle, target)
    return target


def load_bundle(path: str | Path) -> dict:
    """Load a bundle from ``model.joblib``, checking it has the keys scoring needs."""
    path = Path(path)
    try:
        bundle = joblib.load(path)
    except FileNotFoundError:
        raise ModelArtifactError(f"model file {path} does not exist") from None
    except Exception as error:  # unpickling raises anything from EOFError to ImportError
        raise ModelArtifactError(
            f"cannot load model file {path}: {type(error).__name__}: {error}"
        ) from error
    if not isinstance(bundle, dict) or any(key not in bundle for key in REQUIRED_KEYS):
        raise ModelArtifactError(
            f"model file {path} is not a model bundle: expected a dict with keys "
            f"{', '.join(REQUIRED_KEYS)}"
        )
    return bundle


def load_model_dir(model_dir: str | Path, scratch: str | Path) -> dict:
    """Load the bundle from ``model_dir``: its ``model.tar.gz`` (extracted into ``scratch``)
    or, failing that, a bare ``model.joblib``."""
    folder = Path(model_dir)
    archive = folder / MODEL_ARCHIVE
    if archive.is_file():
        extract_tar(archive, scratch)
        return load_bundle(Path(scratch) / MODEL_FILE)
    if (folder / MODEL_FILE).is_file():
        return load_bundle(folder / MODEL_FILE)
    found = sorted(p.name for p in folder.iterdir())[:5] if folder.is_dir() else None
    where = "does not exist" if found is None else f"holds {', '.join(found) or 'nothing'}"
    raise ModelArtifactError(f"no {MODEL_ARCHIVE} or {MODEL_FILE} in {folder} (it {where})")


def content_digest(model_dir: str | Path) -> str:
    """``sha256:...`` of the model itself: each file's name and bytes, in name order.

    Computed over what ``model.tar.gz`` holds rather than over the archive, whose bytes also
    carry times and owners, so the same model has the same digest however it was packed.
    """
    folder = Path(model_dir)
    digest = hashlib.sha256()
    archive = folder / MODEL_ARCHIVE
    try:
        if archive.is_file():
            with tarfile.open(archive) as tar:
                members = sorted((m for m in tar.getmembers() if m.isfile()), key=lambda m: m.name)
                for member in members:
                    content = tar.extractfile(member).read()
                    _add(digest, member.name.removeprefix("./"), content)
        elif (folder / MODEL_FILE).is_file():
            _add(digest, MODEL_FILE, (folder / MODEL_FILE).read_bytes())
        else:
            raise ModelArtifactError(f"no {MODEL_ARCHIVE} or {MODEL_FILE} in {folder}")
    except (tarfile.TarError, OSError) as error:
        raise ModelArtifactError(f"cannot read {archive}: {error}") from error
    return f"sha256:{digest.hexdigest()}"


def _add(digest, name: str, content: bytes) -> None:
    digest.update(name.encode() + b"\0" + hashlib.sha256(content).digest())


def extract_tar(archive: str | Path, destination: str | Path) -> None:
    """Extract ``archive``, refusing members that would land outside ``destination``."""
    destination = Path(destination)
    destination.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(archive) as tar:
            if hasattr(tarfile, "data_filter"):
                tar.extractall(destination, filter="data")
                return
            # Python < 3.11.4 (older framework containers): check the paths ourselves.
            root = destination.resolve()
            for member in tar.getmembers():
                target = (destination / member.name).resolve()
                if root not in (target, *target.parents) or member.issym() or member.islnk():
                    raise ModelArtifactError(f"{archive} has an unsafe member {member.name!r}")
            tar.extractall(destination)
    except (tarfile.TarError, OSError) as error:
        raise ModelArtifactError(f"cannot extract {archive}: {error}") from error
