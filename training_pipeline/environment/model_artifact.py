"""A registry version's model, fetched from its environment's own bucket (``serve --env``).

Any version may be fetched, whatever its approval status: the point is to try a model before
approving it. The package's recorded ``model_digest`` comes along, and the server refuses the
files if they do not have it, as it does on an endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from botocore.exceptions import ClientError

from training_pipeline.environment import registry
from training_pipeline.environment.deployment import Environment
from training_pipeline.errors import UserError

ARCHIVE = "model.tar.gz"


@dataclass(frozen=True)
class FetchedModel:
    folder: Path  # holds model.tar.gz
    name: str  # group/version, what the server's answers name
    status: str
    digest: str
    url: str


def fetch(target: Environment, version: int | None, into: Path) -> FetchedModel:
    """Download ``version`` (default: the newest, of any status) of the target's model.

    Raises:
        UserError: the group has no such version, the package records no digest or model, or
            its model cannot be read.
    """
    group = target.names.model_package_group
    versions = registry.list_versions(target.session, group)
    if not versions:
        raise UserError(f"{group} has no versions yet: run the pipeline in {target.env} first")
    chosen = (
        versions[0]
        if version is None
        else next((v for v in versions if v.version == version), None)
    )
    if chosen is None:
        numbers = ", ".join(str(v.version) for v in reversed(versions))
        raise UserError(f"{group} has no version {version} (it has {numbers})")
    package = target.session.client("sagemaker").describe_model_package(ModelPackageName=chosen.arn)
    digest = chosen.metadata.get("model_digest")
    if not digest:
        raise UserError(
            f"{chosen.arn} records no model_digest: it cannot be checked, so not served"
        )
    containers = package.get("InferenceSpecification", {}).get("Containers") or [{}]
    url = containers[0].get("ModelDataUrl")
    if not url:
        raise UserError(f"{chosen.arn} names no model (ModelDataUrl): there is nothing to serve")
    folder = into / f"{group}-v{chosen.version}"
    folder.mkdir(parents=True, exist_ok=True)
    bucket, _, key = url.removeprefix("s3://").partition("/")
    try:
        target.session.client("s3").download_file(bucket, key, str(folder / ARCHIVE))
    except ClientError as error:
        raise UserError(
            f"cannot read the model of {group} version {chosen.version} at {url}: {error}"
        ) from None
    return FetchedModel(folder, f"{group}/{chosen.version}", chosen.status, digest, url)
