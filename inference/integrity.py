"""The digest a model package records of its model (``model_digest``), checked before serving.

The same rule as the training pipeline's (training_pipeline/steps/artifacts.py, which runs in
the training image and cannot be imported here; tests/inference/test_integrity.py checks that
both agree): SHA-256 over each file's name and the SHA-256 of its bytes, in name order. It is
computed over what ``model.tar.gz`` holds, not over the archive, so it is the same for the
archive in S3, the archive read locally and the folder SageMaker extracts it into
(/opt/ml/model). Standard library only: the serving image and the deploy Lambda both carry it.
"""

from __future__ import annotations

import hashlib
import tarfile
from pathlib import Path
from typing import IO


class DigestMismatch(Exception):
    """The model is not the one that was registered; nothing may serve it."""


def of_archive(archive: str | Path | IO[bytes]) -> str:
    """``sha256:...`` of the regular files a model.tar.gz holds."""
    source = {"name": archive} if isinstance(archive, str | Path) else {"fileobj": archive}
    with tarfile.open(**source) as tar:
        members = sorted((m for m in tar.getmembers() if m.isfile()), key=lambda m: m.name)
        return _digest((m.name.removeprefix("./"), tar.extractfile(m).read()) for m in members)


def of_folder(folder: str | Path) -> str:
    """``sha256:...`` of the regular files under ``folder`` (an extracted model.tar.gz)."""
    root = Path(folder)
    files = sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())
    return _digest((p.relative_to(root).as_posix(), p.read_bytes()) for p in files)


def check(found: str, recorded: str, what: str) -> None:
    """Raise DigestMismatch unless ``found`` is the ``recorded`` digest."""
    if found != recorded:
        raise DigestMismatch(
            f"{what} has digest {found}, but its model package records {recorded}: it was "
            "changed after registration (or is another model), so it is not served"
        )


def _digest(files) -> str:
    digest = hashlib.sha256()
    for name, content in files:
        digest.update(name.encode() + b"\0" + hashlib.sha256(content).digest())
    return f"sha256:{digest.hexdigest()}"
