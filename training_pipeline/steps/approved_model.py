"""Processing step of the batch pipeline: which model a batch is scored with.

    python3 approved_model.py [--output-dir /opt/ml/processing/approved]
                              [--model-package-group NAME] [--region REGION]

The model is the newest Approved version of ``--model-package-group`` (default: the
``MODEL_PACKAGE_GROUP_NAME`` variable), looked up when the batch runs, so a scheduled batch
always scores with what the environment serves. Writes ``approved.json``:

    {"model_package_arn": ..., "version": 3, "model_version": "GROUP/3",
     "model_digest": "sha256:...", "image": ..., "model_data_url": "s3://..."}

which the pipeline's CreateModel step reads: the version's own image and artifact, and the
digest for the server, which refuses any other artifact. With no Approved version, or one
without a recorded digest, the step fails and nothing is scored.
"""

import argparse
import json
import os
from collections.abc import Sequence
from pathlib import Path

if __package__:  # see steps/__init__.py
    from . import champion, errors
    from .errors import ChampionError
else:
    import champion
    import errors
    from errors import ChampionError


def approved_model(found: champion.Champion | None, group: str) -> dict:
    """What approved.json holds for the version ``found`` in ``group``.

    Raises:
        ChampionError: no Approved version, or one that records no model digest.
    """
    if found is None:
        raise ChampionError(
            f"model package group {group} has no Approved version: nothing to score the batch "
            "with (approve one first)"
        )
    if not found.model_digest:
        raise ChampionError(
            f"{found.model_package_arn} records no model_digest: its artifact cannot be "
            "checked, so it is not used"
        )
    if not found.image:
        raise ChampionError(f"{found.model_package_arn} names no inference image")
    return {
        "model_package_arn": found.model_package_arn,
        "version": found.version,
        "model_version": f"{group}/{found.version}",
        "model_digest": found.model_digest,
        "image": found.image,
        "model_data_url": found.model_data_url,
    }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line; the output path defaults to its place in the processing container."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output-dir", type=Path, default="/opt/ml/processing/approved")
    parser.add_argument(
        "--model-package-group", default=os.environ.get("MODEL_PACKAGE_GROUP_NAME", "")
    )
    parser.add_argument("--region", default=None, help="default: the AWS_REGION variables")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> dict:
    """Look the model up and write approved.json."""
    args = parse_args(argv)
    if not args.model_package_group:
        raise ChampionError("no model package group: pass --model-package-group")
    import boto3

    sagemaker = boto3.Session(region_name=args.region).client("sagemaker")
    document = approved_model(
        champion.find_champion(sagemaker, args.model_package_group), args.model_package_group
    )
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "approved.json").write_text(json.dumps(document, indent=2) + "\n")
    print(f"scoring with {document['model_version']} ({document['model_package_arn']})")
    return document


if __name__ == "__main__":
    errors.run_as_script(main)
