"""Stand-in for the docker CLI where no Docker engine runs: builds are recorded, pushes are real.

    docker login --username AWS --password-stdin REGISTRY
    docker buildx build --file F --tag REPO:TAG [--label K=V]... [--annotation manifest:K=V]...
                        [--platform P] [--provenance=false] [--metadata-file M]
                        (--push | --output type=image,push=true[,oci-mediatypes=true]) CONTEXT

``build`` does not run the Dockerfile. It checks what docker would check before running
anything (the Dockerfile exists, every ``COPY`` source is in the context), and describes the
image by content: one layer whose digest covers the Dockerfile and the files it copies. With
``--push`` it puts an OCI image manifest (with the annotations, and a config blob holding the
labels) into the ECR repository of the tag, with the caller's AWS credentials, exactly as a push
of that manifest would: so "the images of this commit exist" is real ECR state, addressed by
the manifest's SHA-256 digest. A push needs a ``login`` to that registry first, as with docker.
Every build, login and push is appended to ``$OFFLINE_GITHUB_RECORD/docker.jsonl``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shlex
import sys
from pathlib import Path

import boto3
from botocore.exceptions import ClientError

from training_pipeline.github.offline import records

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
_REGISTRY = re.compile(r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com$")


class DockerError(Exception):
    """What docker itself would refuse."""


def copied_sources(dockerfile: str) -> list[str]:
    """The context paths a Dockerfile's ``COPY``/``ADD`` instructions read (not ``--from``)."""
    sources = []
    for line in dockerfile.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True) if line.strip() else []
        if not words or words[0].upper() not in ("COPY", "ADD"):
            continue
        arguments = [w for w in words[1:] if not w.startswith("--")]
        if any(w.startswith("--from") for w in words[1:]):
            continue
        sources += arguments[:-1]
    return sources


def describe_build(context: Path, dockerfile: Path) -> str:
    """The layer digest: the Dockerfile and every file it copies, by content."""
    if not dockerfile.is_file():
        raise DockerError(f"failed to read dockerfile: open {dockerfile}: no such file")
    digest = hashlib.sha256(dockerfile.read_bytes())
    for source in copied_sources(dockerfile.read_text()):
        path = context / source
        if not path.exists():
            raise DockerError(f'failed to compute cache key: "/{source}": not found')
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            digest.update(str(file.relative_to(context)).encode() + b"\0" + file.read_bytes())
    return f"sha256:{digest.hexdigest()}"


def manifest(layer: str, labels: dict[str, str], annotations: dict[str, str], platform: str):
    """The image manifest (bytes, as pushed) of one linux image."""
    os_name, _, architecture = platform.partition("/")
    config = json.dumps(
        {"architecture": architecture, "os": os_name, "config": {"Labels": labels}},
        sort_keys=True,
    ).encode()
    document = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": f"sha256:{hashlib.sha256(config).hexdigest()}",
            "size": len(config),
        },
        "layers": [
            {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer, "size": 0}
        ],
        "annotations": annotations,
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def push(tag: str, body: bytes) -> str:
    """PutImage of ``body`` under ``tag`` (REGISTRY/REPOSITORY:TAG); returns the digest."""
    registry, _, rest = tag.partition("/")
    repository, _, image_tag = rest.rpartition(":")
    match = _REGISTRY.match(registry)
    if match is None or not repository:
        raise DockerError(f"{tag}: the stand-in pushes to ECR repositories only")
    if registry not in _logins():
        raise DockerError(f"push access denied for {registry}: no basic auth credentials")
    digest = f"sha256:{hashlib.sha256(body).hexdigest()}"
    ecr = boto3.Session(region_name=match["region"]).client("ecr")
    try:
        ecr.put_image(
            registryId=match["account"],
            repositoryName=repository,
            imageManifest=body.decode(),
            imageManifestMediaType=OCI_MANIFEST,
            imageTag=image_tag,
            imageDigest=digest,
        )
    except ClientError as error:
        raise DockerError(f"failed to push {tag}: {error}") from None
    return digest


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv[:1] == ["login"]:
            return _login(argv[1:])
        if argv[:2] == ["buildx", "build"]:
            return _build(argv[2:])
        if argv[:1] in (["version"], ["buildx"]):
            print("offline docker stand-in (training_pipeline.github.offline.docker)")
            return 0
    except DockerError as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 1
    print(f"the offline stand-in does not implement: docker {' '.join(argv)}", file=sys.stderr)
    return 2


def _login(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="docker login")
    parser.add_argument("--username", "-u", required=True)
    parser.add_argument("--password-stdin", action="store_true", required=True)
    parser.add_argument("registry")
    args = parser.parse_args(argv)
    if not sys.stdin.read().strip():
        raise DockerError("Cannot perform an interactive login from a non TTY device")
    records.append(
        "docker", {"action": "login", "registry": args.registry, "username": args.username}
    )
    # Like docker's own config file, a login lasts for the job (a fresh runner each time).
    logins = _logins() | {args.registry}
    _logins_file().write_text(json.dumps(sorted(logins)))
    print("Login Succeeded")
    return 0


def _build(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="docker buildx build")
    parser.add_argument("--file", "-f", type=Path)
    parser.add_argument("--tag", "-t", action="append", default=[])
    parser.add_argument("--label", action="append", default=[])
    parser.add_argument("--annotation", action="append", default=[])
    parser.add_argument("--platform", default="linux/amd64")
    parser.add_argument("--provenance", default="true")
    parser.add_argument("--metadata-file", type=Path)
    parser.add_argument("--push", action="store_true")
    parser.add_argument("--output", default="")
    parser.add_argument("context", type=Path)
    args = parser.parse_args(argv)
    context = args.context.resolve()
    dockerfile = (args.file or context / "Dockerfile").resolve()
    layer = describe_build(context, dockerfile)
    labels = dict(item.split("=", 1) for item in args.label)
    annotations = dict(item.removeprefix("manifest:").split("=", 1) for item in args.annotation)
    body = manifest(layer, labels, annotations, args.platform)
    records.append(
        "docker",
        {"action": "build", "dockerfile": str(dockerfile), "tags": args.tag, "layer": layer},
    )
    digest = f"sha256:{hashlib.sha256(body).hexdigest()}"
    output = dict(item.split("=", 1) for item in args.output.split(",") if "=" in item)
    if args.push or output.get("push") == "true":
        for tag in args.tag:
            digest = push(tag, body)
            records.append("docker", {"action": "push", "tag": tag, "digest": digest})
            print(f"pushed {tag}@{digest}")
    if args.metadata_file:
        args.metadata_file.write_text(
            json.dumps({"containerimage.digest": digest, "image.name": ",".join(args.tag)})
        )
    return 0


def _logins_file() -> Path:
    return Path(os.environ.get("RUNNER_TEMP", ".")) / "offline-docker-logins.json"


def _logins() -> set[str]:
    path = _logins_file()
    return set(json.loads(path.read_text())) if path.exists() else set()


if __name__ == "__main__":
    sys.exit(main())
