"""Processing steps: a CreateProcessingJob request run as a local process."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from .container import local_command
from .errors import DefinitionError
from .jobs import JobContext, check_keys, check_value

_HANDLED = {
    "AppSpecification",
    "ProcessingInputs",
    "ProcessingOutputConfig",
    "Environment",
    "StoppingCondition",
    "ProcessingJobName",
}
_IGNORED = {"ProcessingResources", "NetworkConfig", "RoleArn", "Tags", "ExperimentConfig"}
_S3_INPUT = {
    "S3Uri",
    "LocalPath",
    "S3DataType",
    "S3InputMode",
    "S3DataDistributionType",
    "S3CompressionType",
}


def validate(step: str, arguments: Mapping[str, Any]) -> None:
    """Reject, before anything runs, what a local processing job cannot honour."""
    where = f"Processing step {step!r}"
    check_keys(where, arguments, _HANDLED, _IGNORED)
    app = arguments.get("AppSpecification")
    check_keys(
        f"{where} AppSpecification", app, {"ImageUri", "ContainerEntrypoint", "ContainerArguments"}
    )
    if not app.get("ContainerEntrypoint"):
        raise DefinitionError(
            f"{where}: AppSpecification.ContainerEntrypoint is required; "
            "the image's own entrypoint cannot run without Docker"
        )
    for i, item in enumerate(arguments.get("ProcessingInputs", [])):
        check_keys(f"{where} ProcessingInputs[{i}]", item, {"InputName", "S3Input"})
        s3_input = item.get("S3Input")
        check_keys(f"{where} ProcessingInputs[{i}].S3Input", s3_input, _S3_INPUT)
        check_value(
            f"{where} input {item.get('InputName')}", s3_input.get("S3DataType"), {"S3Prefix"}
        )
        check_value(f"{where} input {item.get('InputName')}", s3_input.get("S3InputMode"), {"File"})
        check_value(
            f"{where} input {item.get('InputName')}", s3_input.get("S3CompressionType"), {"None"}
        )
    output_config = arguments.get("ProcessingOutputConfig", {})
    check_keys(f"{where} ProcessingOutputConfig", output_config, {"Outputs", "KmsKeyId"})
    for i, item in enumerate(output_config.get("Outputs", [])):
        check_keys(f"{where} Outputs[{i}]", item, {"OutputName", "S3Output"})
        s3_output = item.get("S3Output")
        check_keys(
            f"{where} Outputs[{i}].S3Output", s3_output, {"S3Uri", "LocalPath", "S3UploadMode"}
        )
        # Continuous uploads end with the same objects as EndOfJob, which is all a
        # later step can observe.
        check_value(
            f"{where} output {item.get('OutputName')}",
            s3_output.get("S3UploadMode"),
            {"EndOfJob", "Continuous"},
        )
    check_keys(
        f"{where} StoppingCondition",
        arguments.get("StoppingCondition", {}),
        {"MaxRuntimeInSeconds"},
    )


def run(context: JobContext, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """Download inputs, run the entrypoint, upload outputs; DescribeProcessingJob-like result."""
    started = dt.datetime.now(dt.UTC)
    root = context.root
    instances = (
        arguments.get("ProcessingResources", {}).get("ClusterConfig", {}).get("InstanceCount", 1)
    )
    if instances != 1:
        context.log(f"    InstanceCount {instances}: runs as one local process")
    for item in arguments.get("ProcessingInputs", []):
        s3_input = item["S3Input"]
        context.s3.download_prefix(s3_input["S3Uri"], root.path(s3_input["LocalPath"]))
    output_config = arguments.get("ProcessingOutputConfig", {})
    outputs = output_config.get("Outputs", [])
    for item in outputs:
        root.path(item["S3Output"]["LocalPath"]).mkdir(parents=True, exist_ok=True)

    request = {**arguments, "ProcessingJobName": context.job_name}
    config_dir = root.path("/opt/ml/config")
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "processingjobconfig.json").write_text(json.dumps(request, indent=2))
    (config_dir / "resourceconfig.json").write_text(
        json.dumps({"current_host": "algo-1", "hosts": ["algo-1"]})
    )

    app = arguments["AppSpecification"]
    command = local_command(
        app["ContainerEntrypoint"], app.get("ContainerArguments", []), root, context.python
    )
    context.run(
        command,
        arguments.get("Environment", {}),
        cwd=context.job_dir,
        timeout_s=arguments.get("StoppingCondition", {}).get("MaxRuntimeInSeconds"),
    )
    for item in outputs:
        s3_output = item["S3Output"]
        context.s3.upload_dir(
            root.path(s3_output["LocalPath"]), s3_output["S3Uri"], output_config.get("KmsKeyId")
        )
    ended = dt.datetime.now(dt.UTC).isoformat()
    return {
        **request,
        "ProcessingJobArn": context.arn("processing-job", context.job_name),
        "ProcessingJobStatus": "Completed",
        "CreationTime": started.isoformat(),
        "ProcessingStartTime": started.isoformat(),
        "ProcessingEndTime": ended,
        "LastModifiedTime": ended,
    }
