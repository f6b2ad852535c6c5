"""The champion: the environment's current approved model, fetched to be re-scored.

The champion is the Approved model package with the highest version in the group. The
functions take boto3 clients, so that the caller decides on region and credentials (boto3
honours ``AWS_ENDPOINT_URL`` and the usual ``AWS_*`` variables) and tests can use moto.
"""

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

if __package__:  # see steps/__init__.py
    from .errors import ChampionError
else:
    from errors import ChampionError


@dataclass(frozen=True)
class Champion:
    """An approved model package and where its model artifact is."""

    model_package_arn: str
    version: int
    model_data_url: str
    # The SHA-256 of the model's files that the registering pipeline recorded (evaluate.py).
    model_digest: str | None = None
    image: str | None = None  # the inference image the version is served from


def find_champion(sagemaker_client: object, group_name: str) -> Champion | None:
    """The latest Approved package of ``group_name``; None if there is none or no group.

    Raises:
        ChampionError: if the registry cannot be read (e.g. access denied), or the package
            has no model artifact.
    """
    from botocore.exceptions import ClientError

    summaries = []
    try:
        paginator = sagemaker_client.get_paginator("list_model_packages")
        pages = paginator.paginate(
            ModelPackageGroupName=group_name,
            ModelApprovalStatus="Approved",
            SortBy="CreationTime",
            SortOrder="Descending",
        )
        for page in pages:
            summaries += page["ModelPackageSummaryList"]
    except ClientError as error:
        if _is_missing_group(error):
            return None  # the first run in an environment: nothing registered yet
        raise ChampionError(
            f"cannot list approved model packages of group '{group_name}': {error}"
        ) from error
    if not summaries:
        return None
    latest = max(summaries, key=lambda s: (s.get("ModelPackageVersion", 0), s.get("CreationTime")))
    arn = latest["ModelPackageArn"]
    try:
        package = sagemaker_client.describe_model_package(ModelPackageName=arn)
    except ClientError as error:
        raise ChampionError(f"cannot describe model package {arn}: {error}") from error
    containers = package.get("InferenceSpecification", {}).get("Containers", [])
    url = containers[0].get("ModelDataUrl") if containers else None
    if not url:
        raise ChampionError(f"approved model package {arn} has no ModelDataUrl to re-score")
    digest = (package.get("CustomerMetadataProperties") or {}).get("model_digest")
    version = int(latest.get("ModelPackageVersion", 0))
    return Champion(arn, version, url, digest, containers[0].get("Image"))


@dataclass(frozen=True)
class RegisteredModel:
    """A model package of the group, whatever its status."""

    model_package_arn: str
    version: int
    status: str


def find_by_digest(
    sagemaker_client: object, group_name: str, digest: str, image: str
) -> RegisteredModel | None:
    """The newest package of ``group_name`` that serves the same model (recorded
    ``model_digest`` is ``digest``) from the same inference ``image``.

    Any status counts: what is identical to a rejected package is not registered again either.
    The same model in another image (a serving fix) is a new package.

    Raises:
        ChampionError: if the registry cannot be read.
    """
    from botocore.exceptions import ClientError

    try:
        paginator = sagemaker_client.get_paginator("list_model_packages")
        pages = paginator.paginate(
            ModelPackageGroupName=group_name, SortBy="CreationTime", SortOrder="Descending"
        )
        summaries = [s for page in pages for s in page["ModelPackageSummaryList"]]
        for summary in sorted(summaries, key=lambda s: -s.get("ModelPackageVersion", 0)):
            arn = summary["ModelPackageArn"]
            package = sagemaker_client.describe_model_package(ModelPackageName=arn)
            containers = (package.get("InferenceSpecification") or {}).get("Containers") or [{}]
            same_model = (package.get("CustomerMetadataProperties") or {}).get("model_digest")
            if same_model == digest and containers[0].get("Image") == image:
                version = int(package.get("ModelPackageVersion", 0))
                return RegisteredModel(arn, version, package.get("ModelApprovalStatus", ""))
    except ClientError as error:
        if _is_missing_group(error):
            return None
        raise ChampionError(
            f"cannot read the model packages of group '{group_name}': {error}"
        ) from error
    return None


def download_model(s3_client: object, champion: Champion, destination: str | Path) -> Path:
    """Download the champion's model.tar.gz into ``destination``; returns the file."""
    from botocore.exceptions import BotoCoreError, ClientError

    parsed = urlparse(champion.model_data_url)
    if parsed.scheme != "s3" or not parsed.netloc or not parsed.path.strip("/"):
        raise ChampionError(
            f"model package {champion.model_package_arn} has ModelDataUrl "
            f"{champion.model_data_url!r}, not an s3://bucket/key URL"
        )
    target = Path(destination) / "model.tar.gz"
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        s3_client.download_file(parsed.netloc, parsed.path.lstrip("/"), str(target))
    except (ClientError, BotoCoreError) as error:
        raise ChampionError(
            f"cannot download the champion model {champion.model_data_url} of "
            f"{champion.model_package_arn}: {error}"
        ) from error
    return target


def _is_missing_group(error: Exception) -> bool:
    response = getattr(error, "response", {})
    code = response.get("Error", {}).get("Code", "")
    message = response.get("Error", {}).get("Message", "").lower()
    return code in {"ValidationException", "ResourceNotFound"} and (
        "not exist" in message or "not found" in message
    )
