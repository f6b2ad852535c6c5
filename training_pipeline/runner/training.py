"""Training steps: a CreateTrainingJob request run as a local process.

Three ways to say what runs: `AlgorithmSpecification.ContainerEntrypoint`/`ContainerArguments`;
SDK v3's ModelTrainer with `source_code`, which is that entrypoint running the SDK's drivers from
the `sm_drivers` channel on the code of the `code` channel; or the SageMaker training toolkit's
script mode, where the hyperparameters `sagemaker_program` and `sagemaker_submit_directory`
name an entry script and its code.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import tarfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import isolation, toolkit
from .container import local_command
from .errors import DefinitionError, StepFailure
from .expressions import to_text
from .jobs import JobContext, check_keys, check_value
from .toolkit import PROGRAM, SUBMIT_DIRECTORY

_HANDLED = {
    "AlgorithmSpecification",
    "HyperParameters",
    "InputDataConfig",
    "OutputDataConfig",
    "ResourceConfig",
    "StoppingCondition",
    "Environment",
    "CheckpointConfig",
    "TrainingJobName",
}
# Managed-infrastructure and observability settings: nothing a local process can use.
_IGNORED = {
    "RoleArn",
    "VpcConfig",
    "Tags",
    "ExperimentConfig",
    "EnableNetworkIsolation",
    "EnableInterContainerTrafficEncryption",
    "EnableManagedSpotTraining",
    "RetryStrategy",
    "DebugHookConfig",
    "DebugRuleConfigurations",
    "ProfilerConfig",
    "ProfilerRuleConfigurations",
    "TensorBoardOutputConfig",
    "InfraCheckConfig",
    "RemoteDebugConfig",
}
_ALGORITHM = {
    "TrainingImage",
    "TrainingInputMode",
    "MetricDefinitions",
    "ContainerEntrypoint",
    "ContainerArguments",
    "EnableSageMakerMetricsTimeSeries",
    "TrainingImageConfig",
}
_CHANNEL = {
    "ChannelName",
    "DataSource",
    "ContentType",
    "CompressionType",
    "RecordWrapperType",
    "InputMode",
}
_S3_SOURCE = {"S3DataType", "S3Uri", "S3DataDistributionType", "InstanceGroupNames"}
# ModelTrainer's `source_code` jobs run the SDK's driver scripts from this channel
# (sm_train.sh, then the drivers, reading sourcecode.json and distributed.json beside them);
# their /opt/ml paths are compiled in, so they run only where jobs see a real /opt/ml.
_MODEL_TRAINER_DRIVERS = "sm_drivers"


def validate(step: str, arguments: Mapping[str, Any]) -> None:
    """Reject, before anything runs, what a local training job cannot honour."""
    where = f"Training step {step!r}"
    check_keys(where, arguments, _HANDLED, _IGNORED)
    algorithm = arguments.get("AlgorithmSpecification")
    check_keys(f"{where} AlgorithmSpecification", algorithm, _ALGORITHM)
    check_value(
        f"{where} TrainingInputMode", algorithm.get("TrainingInputMode"), {"File", "FastFile"}
    )
    for i, channel in enumerate(arguments.get("InputDataConfig", [])):
        name = channel.get("ChannelName")
        check_keys(f"{where} InputDataConfig[{i}]", channel, _CHANNEL)
        if name == _MODEL_TRAINER_DRIVERS and not isolation.available():
            raise DefinitionError(
                f"{where}: ModelTrainer source_code jobs run SDK drivers with /opt/ml paths "
                "compiled in, and jobs cannot be isolated here (util-linux unshare with user "
                f"namespaces, not {isolation.SWITCH}=off); use script mode (hyperparameters "
                "sagemaker_program and sagemaker_submit_directory) or ContainerEntrypoint"
            )
        check_keys(
            f"{where} channel {name} DataSource", channel.get("DataSource"), {"S3DataSource"}
        )
        source = channel["DataSource"].get("S3DataSource")
        check_keys(f"{where} channel {name} S3DataSource", source, _S3_SOURCE)
        check_value(f"{where} channel {name} S3DataType", source.get("S3DataType"), {"S3Prefix"})
        check_value(
            f"{where} channel {name} InputMode", channel.get("InputMode"), {"File", "FastFile"}
        )
        check_value(
            f"{where} channel {name} CompressionType", channel.get("CompressionType"), {"None"}
        )
        check_value(
            f"{where} channel {name} RecordWrapperType", channel.get("RecordWrapperType"), {"None"}
        )
    output = arguments.get("OutputDataConfig")
    check_keys(f"{where} OutputDataConfig", output, {"S3OutputPath", "KmsKeyId", "CompressionType"})
    check_value(
        f"{where} OutputDataConfig.CompressionType", output.get("CompressionType"), {"GZIP", "NONE"}
    )
    check_keys(
        f"{where} CheckpointConfig", arguments.get("CheckpointConfig", {}), {"S3Uri", "LocalPath"}
    )
    check_keys(
        f"{where} StoppingCondition",
        arguments.get("StoppingCondition", {}),
        {"MaxRuntimeInSeconds", "MaxWaitTimeInSeconds", "MaxPendingTimeInSeconds"},
    )
    if not algorithm.get("ContainerEntrypoint") and PROGRAM not in arguments.get(
        "HyperParameters", {}
    ):
        raise DefinitionError(
            f"{where}: nothing to run without Docker; give ContainerEntrypoint in "
            f"AlgorithmSpecification or the script-mode hyperparameters {PROGRAM} and "
            f"{SUBMIT_DIRECTORY}"
        )


def _fetch_code(context: JobContext, source: str, code_dir: Path) -> None:
    """Put the script-mode code (an S3 or local tar.gz, or a local directory) in `code_dir`."""
    if source.startswith("s3://"):
        archive = context.job_dir / "sourcedir.tar.gz"
        context.s3.download_file(source, archive)
    else:
        archive = Path(source.removeprefix("file://"))
        if archive.is_dir():
            shutil.copytree(archive, code_dir, dirs_exist_ok=True)
            return
        if not archive.is_file():
            raise StepFailure(f"{SUBMIT_DIRECTORY} {source!r} does not exist")
    with tarfile.open(archive) as bundle:
        bundle.extractall(code_dir, filter="data")


def _script_command(
    context: JobContext, program: str, code_dir: Path, arguments: list[str]
) -> list[str]:
    script = code_dir / program
    if not script.is_file():
        raise StepFailure(f"{PROGRAM} {program!r} is not in the submitted code")
    if program.endswith(".py"):
        return [context.python, str(script), *arguments]
    if program.endswith(".sh"):
        return ["/bin/sh", str(script), *arguments]
    return [str(script), *arguments]


def _final_metrics(log_path: Path, definitions: list[Mapping[str, str]]) -> list[dict[str, Any]]:
    """Each MetricDefinition's last match in the job's output, as FinalMetricDataList."""
    latest: dict[str, float] = {}
    patterns = [(d["Name"], re.compile(d["Regex"])) for d in definitions]
    for line in log_path.read_text(errors="replace").splitlines():
        for name, pattern in patterns:
            match = pattern.search(line)
            if match:
                try:
                    latest[name] = float(match.group(1))
                except (IndexError, ValueError):
                    continue
    now = dt.datetime.now(dt.UTC).isoformat()
    return [
        {"MetricName": name, "Value": value, "Timestamp": now} for name, value in latest.items()
    ]


def _upload_model(context: JobContext, model_dir: Path, output: Mapping[str, Any]) -> str:
    destination = f"{output['S3OutputPath'].rstrip('/')}/{context.job_name}/output"
    kms_key = output.get("KmsKeyId")
    if output.get("CompressionType") == "NONE":
        context.s3.upload_dir(model_dir, f"{destination}/model/", kms_key)
        return f"{destination}/model/"
    archive = context.job_dir / "model.tar.gz"
    _tar(model_dir, archive)
    context.s3.upload_file(archive, f"{destination}/model.tar.gz", kms_key)
    return f"{destination}/model.tar.gz"


def _tar(directory: Path, archive: Path) -> None:
    with tarfile.open(archive, "w:gz") as bundle:
        for path in sorted(directory.rglob("*")):
            bundle.add(path, arcname=path.relative_to(directory).as_posix(), recursive=False)


def _command(
    context: JobContext, algorithm: Mapping[str, Any], decoded: Mapping[str, Any]
) -> tuple[list[str], Path]:
    """What to run and where: the ContainerEntrypoint, else the script-mode entry script."""
    root = context.root
    if algorithm.get("ContainerEntrypoint"):
        entrypoint = algorithm["ContainerEntrypoint"]
        arguments = algorithm.get("ContainerArguments", [])
        return local_command(entrypoint, arguments, root, context.python), context.job_dir
    code_dir = root.path("/opt/ml/code")
    if SUBMIT_DIRECTORY in decoded:
        _fetch_code(context, str(decoded[SUBMIT_DIRECTORY]), code_dir)
    if (code_dir / "requirements.txt").is_file():
        context.log(
            "    requirements.txt is not installed: the runner's interpreter must have them"
        )
    arguments = toolkit.cli_arguments(toolkit.user_hyperparameters(decoded))
    return _script_command(context, str(decoded[PROGRAM]), code_dir, arguments), code_dir


def run(context: JobContext, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """Fetch channels and code, run the job, upload the model; DescribeTrainingJob-like result."""
    started = dt.datetime.now(dt.UTC)
    root = context.root
    algorithm = arguments["AlgorithmSpecification"]
    # The API takes string hyperparameters; typed pipeline parameters arrive as str too.
    hyperparameters = {k: to_text(v) for k, v in arguments.get("HyperParameters", {}).items()}
    decoded = {k: toolkit.decode(v) for k, v in hyperparameters.items()}
    channels = arguments.get("InputDataConfig", [])
    for channel in channels:
        local = root.path(f"/opt/ml/input/data/{channel['ChannelName']}")
        context.s3.download_prefix(channel["DataSource"]["S3DataSource"]["S3Uri"], local)
    checkpoint = arguments.get("CheckpointConfig")
    if checkpoint:
        checkpoint_dir = root.path(checkpoint.get("LocalPath", "/opt/ml/checkpoints"))
        context.s3.download_prefix(checkpoint["S3Uri"], checkpoint_dir, required=False)
    for path in ("/opt/ml/model", "/opt/ml/output/data", "/opt/ml/output/intermediate"):
        root.path(path).mkdir(parents=True, exist_ok=True)
    root.path("/opt/ml/code").mkdir(parents=True, exist_ok=True)

    resources = toolkit.resource_config(
        arguments.get("ResourceConfig", {}).get("InstanceType", "local")
    )
    data_config = toolkit.input_data_config(channels, algorithm.get("TrainingInputMode", "File"))
    toolkit.write_config(root.path("/opt/ml/input/config"), hyperparameters, data_config, resources)
    command, cwd = _command(context, algorithm, decoded)
    variables = {
        **toolkit.environment(
            root,
            job_name=context.job_name,
            decoded=decoded,
            data_config=data_config,
            resources=resources,
        ),
        "TRAINING_JOB_NAME": context.job_name,
        "TRAINING_JOB_ARN": context.arn("training-job", context.job_name),
        **arguments.get("Environment", {}),
    }
    outcome = context.run(
        command,
        variables,
        cwd=cwd,
        timeout_s=arguments.get("StoppingCondition", {}).get("MaxRuntimeInSeconds"),
    )

    output = arguments["OutputDataConfig"]
    model_uri = _upload_model(context, root.path("/opt/ml/model"), output)
    output_data = root.path("/opt/ml/output/data")
    if any(output_data.iterdir()):
        archive = context.job_dir / "output.tar.gz"
        _tar(output_data, archive)
        context.s3.upload_file(
            archive,
            f"{output['S3OutputPath'].rstrip('/')}/{context.job_name}/output/output.tar.gz",
            output.get("KmsKeyId"),
        )
    if checkpoint:
        context.s3.upload_dir(checkpoint_dir, checkpoint["S3Uri"])
    ended = dt.datetime.now(dt.UTC)
    return {
        **arguments,
        "HyperParameters": hyperparameters,
        "TrainingJobName": context.job_name,
        "TrainingJobArn": context.arn("training-job", context.job_name),
        "TrainingJobStatus": "Completed",
        "SecondaryStatus": "Completed",
        "ModelArtifacts": {"S3ModelArtifacts": model_uri},
        "FinalMetricDataList": _final_metrics(
            outcome.log_path, algorithm.get("MetricDefinitions", [])
        ),
        "CreationTime": started.isoformat(),
        "TrainingStartTime": started.isoformat(),
        "TrainingEndTime": ended.isoformat(),
        "LastModifiedTime": ended.isoformat(),
        "TrainingTimeInSeconds": int((ended - started).total_seconds()),
    }
