"""Training steps: a CreateTrainingJob request run as a local process.

Two ways to say what runs: `AlgorithmSpecification.ContainerEntrypoint`/`ContainerArguments`,
or the SageMaker training toolkit's script mode, where the hyperparameters
`sagemaker_program` and `sagemaker_submit_directory` name an entry script and its code.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import tarfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .container import ContainerRoot, local_command
from .errors import DefinitionError, StepFailure
from .expressions import to_text
from .jobs import JobContext, check_keys, check_value

_HANDLED = {
    "AlgorithmSpecification",
    "HyperParameters",
    "InputDataConfig",
    "OutputDataConfig",
    "ResourceConfig",
    "StoppingCondition",
    "Environment",
    "CheckpointConfig",
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
_HOST = "algo-1"
_PROGRAM = "sagemaker_program"
_SUBMIT_DIRECTORY = "sagemaker_submit_directory"
# ModelTrainer's `source_code` runs SDK driver scripts whose /opt/ml paths are
# compiled into Python modules; only a real container has them.
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
        if name == _MODEL_TRAINER_DRIVERS:
            raise DefinitionError(
                f"{where}: ModelTrainer source_code jobs run SDK drivers that need a real "
                "container; use script mode (hyperparameters sagemaker_program and "
                "sagemaker_submit_directory) or ContainerEntrypoint instead"
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
    if not algorithm.get("ContainerEntrypoint") and _PROGRAM not in arguments.get(
        "HyperParameters", {}
    ):
        raise DefinitionError(
            f"{where}: nothing to run without Docker; give ContainerEntrypoint in "
            f"AlgorithmSpecification or the script-mode hyperparameters {_PROGRAM} and "
            f"{_SUBMIT_DIRECTORY}"
        )


def _decode(value: str) -> Any:
    """A hyperparameter as the training toolkit sees it: JSON if it parses, else the string."""
    try:
        return json.loads(value)
    except ValueError:
        return value


def _env_value(value: Any) -> str:
    return (
        value
        if isinstance(value, str)
        else json.dumps(value, sort_keys=True, separators=(",", ":"))
    )


def _cli_arguments(hyperparameters: Mapping[str, Any]) -> list[str]:
    """The toolkit's `--name value` list: sorted names, `-x` for one-letter names."""
    arguments: list[str] = []
    for name in sorted(hyperparameters):
        value = hyperparameters[name]
        if isinstance(value, dict):
            value = ",".join(f"{k}={v}" for k, v in sorted(value.items()))
        arguments += [f"--{name}" if len(name) > 1 else f"-{name}", str(value)]
    return arguments


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
            raise StepFailure(f"{_SUBMIT_DIRECTORY} {source!r} does not exist")
    with tarfile.open(archive) as bundle:
        bundle.extractall(code_dir, filter="data")


def _script_command(
    context: JobContext, program: str, code_dir: Path, arguments: list[str]
) -> list[str]:
    script = code_dir / program
    if not script.is_file():
        raise StepFailure(f"{_PROGRAM} {program!r} is not in the submitted code")
    if program.endswith(".py"):
        return [context.python, str(script), *arguments]
    if program.endswith(".sh"):
        return ["/bin/sh", str(script), *arguments]
    return [str(script), *arguments]


def _training_environment(
    context: JobContext,
    root: ContainerRoot,
    hyperparameters: Mapping[str, Any],
    channels: list[str],
    resource_config: Mapping[str, Any],
    input_data_config: Mapping[str, Any],
    program: str | None,
    module_dir: str | None,
) -> dict[str, str]:
    """The SM_* variables the SageMaker training toolkit gives a script."""
    user_hyperparameters = {
        k: v for k, v in hyperparameters.items() if not k.startswith("sagemaker_")
    }
    paths = {
        "model_dir": "/opt/ml/model",
        "input_dir": "/opt/ml/input",
        "input_config_dir": "/opt/ml/input/config",
        "output_dir": "/opt/ml/output",
        "output_data_dir": "/opt/ml/output/data",
        "output_intermediate_dir": "/opt/ml/output/intermediate",
    }
    local = {key: root.map(path) for key, path in paths.items()}
    channel_dirs = {name: root.map(f"/opt/ml/input/data/{name}") for name in channels}
    training_env = {
        **local,
        "channel_input_dirs": channel_dirs,
        "current_host": _HOST,
        "hosts": [_HOST],
        "hyperparameters": user_hyperparameters,
        "input_data_config": input_data_config,
        "resource_config": resource_config,
        "job_name": context.job_name,
        "log_level": 20,
        "module_dir": module_dir or "",
        "module_name": (program or "").removesuffix(".py"),
        "user_entry_point": program or "",
        "network_interface_name": "eth0",
        "num_cpus": os.cpu_count() or 1,
        "num_gpus": 0,
        "framework_module": None,
        "additional_framework_parameters": {},
    }
    variables = {f"SM_{key.upper()}": value for key, value in local.items()}
    variables.update(
        {
            "SM_CHANNELS": json.dumps(sorted(channels)),
            "SM_HPS": json.dumps(user_hyperparameters),
            "SM_USER_ARGS": json.dumps(_cli_arguments(user_hyperparameters)),
            "SM_NUM_CPUS": str(os.cpu_count() or 1),
            "SM_NUM_GPUS": "0",
            "SM_CURRENT_HOST": _HOST,
            "SM_HOSTS": json.dumps([_HOST]),
            "SM_NETWORK_INTERFACE_NAME": "eth0",
            "SM_MODULE_DIR": module_dir or "",
            "SM_MODULE_NAME": training_env["module_name"],
            "SM_USER_ENTRY_POINT": program or "",
            "SM_LOG_LEVEL": "20",
            "SM_FRAMEWORK_PARAMS": "{}",
            "SM_RESOURCE_CONFIG": json.dumps(resource_config),
            "SM_INPUT_DATA_CONFIG": json.dumps(input_data_config),
            "SM_TRAINING_ENV": json.dumps(training_env),
            "TRAINING_JOB_NAME": context.job_name,
            "TRAINING_JOB_ARN": context.arn("training-job", context.job_name),
        }
    )
    variables.update({f"SM_CHANNEL_{name.upper()}": path for name, path in channel_dirs.items()})
    variables.update({f"SM_HP_{k.upper()}": _env_value(v) for k, v in user_hyperparameters.items()})
    return variables


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


def run(context: JobContext, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """Fetch channels and code, run the job, upload the model; DescribeTrainingJob-like result."""
    started = dt.datetime.now(dt.UTC)
    root = context.root
    algorithm = arguments["AlgorithmSpecification"]
    hyperparameters = {k: to_text(v) for k, v in arguments.get("HyperParameters", {}).items()}
    decoded = {k: _decode(v) for k, v in hyperparameters.items()}
    channels = arguments.get("InputDataConfig", [])
    for channel in channels:
        source = channel["DataSource"]["S3DataSource"]
        context.s3.download_prefix(
            source["S3Uri"], root.path(f"/opt/ml/input/data/{channel['ChannelName']}")
        )
    checkpoint = arguments.get("CheckpointConfig")
    checkpoint_dir = (
        root.path(checkpoint.get("LocalPath", "/opt/ml/checkpoints")) if checkpoint else None
    )
    if checkpoint:
        context.s3.download_prefix(checkpoint["S3Uri"], checkpoint_dir, required=False)
    for path in (
        "/opt/ml/model",
        "/opt/ml/output/data",
        "/opt/ml/output/intermediate",
        "/opt/ml/code",
    ):
        root.path(path).mkdir(parents=True, exist_ok=True)

    instance_type = arguments.get("ResourceConfig", {}).get("InstanceType", "local")
    resource_config = {
        "current_host": _HOST,
        "current_instance_type": instance_type,
        "current_group_name": "homogeneousCluster",
        "hosts": [_HOST],
        "instance_groups": [
            {
                "instance_group_name": "homogeneousCluster",
                "instance_type": instance_type,
                "hosts": [_HOST],
            }
        ],
        "network_interface_name": "eth0",
    }
    input_data_config = {
        channel["ChannelName"]: {
            "TrainingInputMode": channel.get(
                "InputMode", algorithm.get("TrainingInputMode", "File")
            ),
            "S3DistributionType": channel["DataSource"]["S3DataSource"].get(
                "S3DataDistributionType", "FullyReplicated"
            ),
            "RecordWrapperType": channel.get("RecordWrapperType", "None"),
            **({"ContentType": channel["ContentType"]} if "ContentType" in channel else {}),
        }
        for channel in channels
    }
    config_dir = root.path("/opt/ml/input/config")
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "hyperparameters.json").write_text(json.dumps(hyperparameters))
    (config_dir / "inputdataconfig.json").write_text(json.dumps(input_data_config))
    (config_dir / "resourceconfig.json").write_text(json.dumps(resource_config))

    program = decoded.get(_PROGRAM)
    module_dir = str(decoded[_SUBMIT_DIRECTORY]) if _SUBMIT_DIRECTORY in decoded else None
    code_dir = root.path("/opt/ml/code")
    if algorithm.get("ContainerEntrypoint"):
        command = local_command(
            algorithm["ContainerEntrypoint"],
            algorithm.get("ContainerArguments", []),
            root,
            context.python,
        )
        cwd = context.job_dir
    else:
        if module_dir:
            _fetch_code(context, module_dir, code_dir)
        if (code_dir / "requirements.txt").is_file():
            context.log(
                "    requirements.txt is not installed: the runner's interpreter must have them"
            )
        user = {k: v for k, v in decoded.items() if not k.startswith("sagemaker_")}
        command = _script_command(context, str(program), code_dir, _cli_arguments(user))
        cwd = code_dir
    variables = _training_environment(
        context,
        root,
        decoded,
        [c["ChannelName"] for c in channels],
        resource_config,
        input_data_config,
        str(program) if program else None,
        module_dir,
    )
    outcome = context.run(
        command,
        {**variables, **arguments.get("Environment", {})},
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
