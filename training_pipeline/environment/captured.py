"""What `serve --capture` recorded, put where the model's endpoint puts its captured traffic.

SageMaker writes an endpoint's capture files under ``{destination}{endpoint}/{variant}/yyyy/mm/
dd/hh/``; a model served on a workstation is the variant ``local``, its lines filed by the hour
of their ``inferenceTime``, so the drift check reads both alike (steps/monitor.py).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from training_pipeline.environment.deployment import Environment

VARIANT = "local"


def upload(target: Environment, folder: Path) -> tuple[int, str]:
    """Upload every capture line under `folder` and remove the files; (lines, where)."""
    bucket, _, prefix = target.names.capture_url.removeprefix("s3://").partition("/")
    s3 = target.session.client("s3")
    count = 0
    for path in sorted(folder.glob("*.jsonl")):
        by_hour: dict[str, list[bytes]] = defaultdict(list)
        for line in path.read_bytes().splitlines():
            if line.strip():
                stamp = json.loads(line)["eventMetadata"]["inferenceTime"]
                by_hour[f"{stamp[:4]}/{stamp[5:7]}/{stamp[8:10]}/{stamp[11:13]}"].append(line)
        for hour, lines in by_hour.items():
            key = f"{prefix}{VARIANT}/{hour}/{path.stem}.jsonl"
            s3.put_object(Bucket=bucket, Key=key, Body=b"\n".join(lines) + b"\n")
            count += len(lines)
        path.unlink()
    return count, f"s3://{bucket}/{prefix}{VARIANT}/"
