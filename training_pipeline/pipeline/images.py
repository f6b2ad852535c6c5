"""The container images of a commit: built once, pushed to the operations account's ECR under
the commit's SHA (an immutable tag), and from then on named by digest.

``publish`` (the images job of on_merge.yml) builds and pushes each image that is not there yet
with ``docker buildx``, annotated with the commit it was built from. An image already tagged
with the SHA is not trusted for its tag: its manifest must hash to the digest ECR reports and
carry this commit's revision annotation, or publishing fails. ``resolve`` performs the same
checks for the deploy job, which then names every image by digest (``REPO@sha256:...``) in the
pipeline definition and the model package, so what runs is exactly what was checked.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from training_pipeline.config.naming import repository_uri
from training_pipeline.config.settings import Settings
from training_pipeline.errors import NotFoundError, UserError

REPO_ROOT = Path(__file__).resolve().parents[2]
# Image name -> Dockerfile, built with the repository root as context.
DOCKERFILES = {
    "training": "training_pipeline/Dockerfile",
    "inference": "inference/serving/Dockerfile",
}
REVISION = "org.opencontainers.image.revision"
SOURCE = "org.opencontainers.image.source"
MANIFEST_TYPES = [
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
]
Log = Callable[[str], None]


class ImageIntegrityError(UserError):
    """An image tagged with a commit is not what that commit's build pushed."""


@dataclass(frozen=True)
class Image:
    """One image of a commit, as ECR holds it."""

    name: str
    repository_uri: str
    sha: str
    digest: str

    @property
    def uri(self) -> str:
        """The image by digest: what the pipeline and the model package name."""
        return f"{self.repository_uri}@{self.digest}"


def resolve(ecr: Any, settings: Settings, sha: str) -> dict[str, Image]:
    """Every image of commit ``sha``, checked (see ``check``); NotFoundError if one is missing."""
    return {name: check(ecr, settings, name, sha) for name in DOCKERFILES}


def check(ecr: Any, settings: Settings, name: str, sha: str) -> Image:
    """The image ``name`` tagged ``sha``, once its manifest has been checked against its digest
    and its revision annotation against ``sha``."""
    uri = repository_uri(settings, name)
    repository = uri.split("/", 1)[1]
    try:
        found = ecr.batch_get_image(
            registryId=settings.accounts["operations"],
            repositoryName=repository,
            imageIds=[{"imageTag": sha}],
            acceptedMediaTypes=MANIFEST_TYPES,
        )
    except ClientError as error:
        raise NotFoundError(
            f"cannot read {uri}:{sha} in the operations account's ECR "
            f"({error.response['Error']['Code']}): merge to main builds it (on_merge.yml)"
        ) from None
    if not found["images"]:
        raise NotFoundError(
            f"image {repository}:{sha} is not in the operations account's ECR: merge to main "
            "builds it (on_merge.yml)"
        )
    image = found["images"][0]
    digest = image["imageId"]["imageDigest"]
    body = image["imageManifest"].encode()
    actual = f"sha256:{hashlib.sha256(body).hexdigest()}"
    if actual != digest:
        raise ImageIntegrityError(
            f"{uri}:{sha}: ECR reports digest {digest} but its manifest hashes to {actual}"
        )
    revision = (json.loads(body).get("annotations") or {}).get(REVISION)
    if revision != sha:
        raise ImageIntegrityError(
            f"{uri}:{sha} (digest {digest}) was built from revision {revision!r}, not {sha}: "
            "refusing an image this commit's build did not push"
        )
    return Image(name, uri, sha, digest)


def publish(
    ecr: Any,
    settings: Settings,
    sha: str,
    *,
    docker: str = "docker",
    context: Path = REPO_ROOT,
    log: Log = print,
) -> dict[str, Image]:
    """Build and push the images of ``sha`` that ECR lacks; check the ones it has."""
    images: dict[str, Image] = {}
    logged_in = False
    for name, dockerfile in DOCKERFILES.items():
        try:
            images[name] = check(ecr, settings, name, sha)
            log(f"{name}: {images[name].uri} exists, manifest and revision checked")
            continue
        except NotFoundError:
            pass
        uri = repository_uri(settings, name)
        if not logged_in:
            _login(ecr, settings, docker)
            logged_in = True
        digest = _build_and_push(docker, context, dockerfile, f"{uri}:{sha}", sha, settings)
        images[name] = check(ecr, settings, name, sha)
        if images[name].digest != digest:
            raise ImageIntegrityError(
                f"{uri}:{sha}: the build pushed {digest} but ECR holds {images[name].digest}"
            )
        log(f"{name}: built and pushed {images[name].uri}")
    return images


def _login(ecr: Any, settings: Settings, docker: str) -> None:
    token = ecr.get_authorization_token(registryIds=[settings.accounts["operations"]])
    data = token["authorizationData"][0]
    user, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
    registry = data["proxyEndpoint"].removeprefix("https://")
    _docker(docker, ["login", "--username", user, "--password-stdin", registry], stdin=password)


def _build_and_push(
    docker: str, context: Path, dockerfile: str, tag: str, sha: str, settings: Settings
) -> str:
    with tempfile.TemporaryDirectory() as scratch:
        metadata = Path(scratch) / "metadata.json"
        source = f"https://github.com/{settings.github_repository}"
        _docker(
            docker,
            [
                "buildx",
                "build",
                "--platform",
                "linux/amd64",
                "--file",
                str(context / dockerfile),
                "--tag",
                tag,
                "--label",
                f"{REVISION}={sha}",
                "--label",
                f"{SOURCE}={source}",
                "--annotation",
                f"manifest:{REVISION}={sha}",
                "--annotation",
                f"manifest:{SOURCE}={source}",
                # One OCI image manifest (not Docker's, which has no annotations; not an index
                # with an attestation): its digest is the one the annotations are checked in.
                "--provenance=false",
                "--output",
                "type=image,push=true,oci-mediatypes=true",
                "--metadata-file",
                str(metadata),
                str(context),
            ],
        )
        return json.loads(metadata.read_text())["containerimage.digest"]


def _docker(docker: str, arguments: list[str], stdin: str | None = None) -> None:
    try:
        result = subprocess.run(
            [docker, *arguments], input=stdin, capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        raise UserError(f"{docker} is not on PATH: the images job needs docker") from None
    if result.returncode != 0:
        output = (result.stderr or result.stdout).strip().splitlines()[-10:]
        raise UserError(
            f"docker {' '.join(arguments[:2])} failed (exit {result.returncode}): "
            + "\n".join(output)
        )
