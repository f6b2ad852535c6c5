"""Ship one model's step code to S3 under a content-addressed prefix.

A model's code is the shared step scripts (training_pipeline/steps/*.py) with its own folder
(training_pipeline/models/NAME/) laid over them: its schema.json, and any script of its own,
which replaces the shared one of the same name.

SageMaker's own helpers upload code under timestamped keys, which changes the pipeline definition
on every build and defeats step caching. Here the key is the SHA-256 of the files themselves, so
the same code always has the same URL and an unchanged step is a cache hit.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from dataclasses import dataclass
from pathlib import Path

from training_pipeline.errors import NotFoundError

STEPS_DIR = Path(__file__).resolve().parents[1] / "steps"
MODELS_DIR = Path(__file__).resolve().parents[1] / "models"
TARBALL = "sourcedir.tar.gz"


@dataclass(frozen=True)
class CodeBundle:
    """The step scripts, as files and as the tarball script-mode training expects."""

    files: dict[str, bytes]
    digest: str

    def prefix(self, bucket: str) -> str:
        """The S3 prefix holding the scripts (processing jobs mount it as a directory)."""
        return f"s3://{bucket}/code/{self.digest[:16]}/steps/"

    def tarball_url(self, bucket: str) -> str:
        return f"s3://{bucket}/code/{self.digest[:16]}/{TARBALL}"

    def tarball(self) -> bytes:
        """A byte-reproducible tar.gz of the scripts (fixed order, times and owners)."""
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for name, content in self.files.items():
                info = tarfile.TarInfo(name)
                info.size, info.mode, info.mtime = len(content), 0o644, 0
                tar.addfile(info, io.BytesIO(content))
        return gzip.compress(raw.getvalue(), mtime=0)

    def upload(self, s3_client, bucket: str) -> None:
        """Write every script and the tarball, every time: the keys name the content, so what
        is there already is rewritten with the same bytes, and whatever else put objects
        there (an interrupted upload, a hand) is replaced by what the digest says."""
        key_prefix = self.prefix(bucket).removeprefix(f"s3://{bucket}/")
        for name, content in self.files.items():
            s3_client.put_object(Bucket=bucket, Key=key_prefix + name, Body=content)
        tar_key = self.tarball_url(bucket).removeprefix(f"s3://{bucket}/")
        s3_client.put_object(Bucket=bucket, Key=tar_key, Body=self.tarball())


def load_bundle(
    model: str, models_dir: Path = MODELS_DIR, steps_dir: Path = STEPS_DIR
) -> CodeBundle:
    """The code of `model`: every .py file directly in `steps_dir`, then the model folder's
    .py files and schema.json (a name in both is the model's)."""
    folder = models_dir / model
    if not (folder / "schema.json").is_file():
        raise NotFoundError(
            f"{folder}/schema.json not found: each model of profiles.conf ([model {model}]) "
            "needs a folder with its schema.json"
        )
    shared = {path.name: path for path in steps_dir.glob("*.py")}
    # What the jobs read: scripts and the schema, not the builder's defaults nor an editor's
    # leftovers (which would change the digest and ship with the code).
    own = {path.name: path for path in [*folder.glob("*.py"), folder / "schema.json"]}
    files = {name: path.read_bytes() for name, path in sorted({**shared, **own}.items())}
    digest = hashlib.sha256()
    for name, content in files.items():
        digest.update(name.encode() + b"\0" + hashlib.sha256(content).digest())
    return CodeBundle(files=files, digest=digest.hexdigest())
