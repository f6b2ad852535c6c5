"""The SageMaker training toolkit's conventions: config files, SM_* variables, script arguments.

Framework images (scikit-learn, PyTorch, ...) run user scripts through the toolkit; a
script written for them reads these, so a local training job provides the same.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .container import ContainerRoot

HOST = "algo-1"
PROGRAM = "sagemaker_program"
SUBMIT_DIRECTORY = "sagemaker_submit_directory"
_GROUP = "homogeneousCluster"
_PATHS = {
    "model_dir": "/opt/ml/model",
    "input_dir": "/opt/ml/input",
    "input_config_dir": "/opt/ml/input/config",
    "output_dir": "/opt/ml/output",
    "output_data_dir": "/opt/ml/output/data",
    "output_intermediate_dir": "/opt/ml/output/intermediate",
}


def decode(value: str) -> Any:
    """A hyperparameter as the toolkit sees it: JSON if it parses, else the string itself."""
    try:
        return json.loads(value)
    except ValueError:
        return value


def user_hyperparameters(decoded: Mapping[str, Any]) -> dict[str, Any]:
    """The hyperparameters meant for the script: all but the toolkit's `sagemaker_*` ones."""
    return {k: v for k, v in decoded.items() if not k.startswith("sagemaker_")}


def cli_arguments(hyperparameters: Mapping[str, Any]) -> list[str]:
    """The toolkit's `--name value` list: sorted names, `-x` for one-letter names."""
    arguments: list[str] = []
    for name in sorted(hyperparameters):
        value = hyperparameters[name]
        if isinstance(value, dict):
            value = ",".join(f"{k}={v}" for k, v in sorted(value.items()))
        arguments += [f"--{name}" if len(name) > 1 else f"-{name}", str(value)]
    return arguments


def resource_config(instance_type: str) -> dict[str, Any]:
    """resourceconfig.json of a one-host cluster."""
    return {
        "current_host": HOST,
        "current_instance_type": instance_type,
        "current_group_name": _GROUP,
        "hosts": [HOST],
        "instance_groups": [
            {"instance_group_name": _GROUP, "instance_type": instance_type, "hosts": [HOST]}
        ],
        "network_interface_name": "eth0",
    }


def input_data_config(channels: list[Mapping[str, Any]], default_mode: str) -> dict[str, Any]:
    """inputdataconfig.json: each channel's input mode and data options."""
    return {
        channel["ChannelName"]: {
            "TrainingInputMode": channel.get("InputMode", default_mode),
            "S3DistributionType": channel["DataSource"]["S3DataSource"].get(
                "S3DataDistributionType", "FullyReplicated"
            ),
            "RecordWrapperType": channel.get("RecordWrapperType", "None"),
            **({"ContentType": channel["ContentType"]} if "ContentType" in channel else {}),
        }
        for channel in channels
    }


def write_config(
    config_dir: Path,
    hyperparameters: Mapping[str, str],
    data_config: Mapping[str, Any],
    resources: Mapping[str, Any],
) -> None:
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "hyperparameters.json").write_text(json.dumps(hyperparameters))
    (config_dir / "inputdataconfig.json").write_text(json.dumps(data_config))
    (config_dir / "resourceconfig.json").write_text(json.dumps(resources))


def _env_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def environment(
    root: ContainerRoot,
    *,
    job_name: str,
    decoded: Mapping[str, Any],
    data_config: Mapping[str, Any],
    resources: Mapping[str, Any],
) -> dict[str, str]:
    """The SM_* variables the toolkit gives a script, with paths in the job's tree."""
    hyperparameters = user_hyperparameters(decoded)
    program = str(decoded.get(PROGRAM, ""))
    module_dir = str(decoded.get(SUBMIT_DIRECTORY, ""))
    paths = {key: root.map(path) for key, path in _PATHS.items()}
    channels = {name: root.map(f"/opt/ml/input/data/{name}") for name in data_config}
    cpus = os.cpu_count() or 1
    training_env = {
        **paths,
        "channel_input_dirs": channels,
        "current_host": HOST,
        "hosts": [HOST],
        "hyperparameters": hyperparameters,
        "input_data_config": data_config,
        "resource_config": resources,
        "job_name": job_name,
        "log_level": 20,
        "module_dir": module_dir,
        "module_name": program.removesuffix(".py"),
        "user_entry_point": program,
        "network_interface_name": "eth0",
        "num_cpus": cpus,
        "num_gpus": 0,
        "framework_module": None,
        "additional_framework_parameters": {},
    }
    return {
        **{f"SM_{key.upper()}": path for key, path in paths.items()},
        "SM_CHANNELS": json.dumps(sorted(channels)),
        "SM_HPS": json.dumps(hyperparameters),
        "SM_USER_ARGS": json.dumps(cli_arguments(hyperparameters)),
        "SM_NUM_CPUS": str(cpus),
        "SM_NUM_GPUS": "0",
        "SM_CURRENT_HOST": HOST,
        "SM_HOSTS": json.dumps([HOST]),
        "SM_NETWORK_INTERFACE_NAME": "eth0",
        "SM_MODULE_DIR": module_dir,
        "SM_MODULE_NAME": training_env["module_name"],
        "SM_USER_ENTRY_POINT": program,
        "SM_LOG_LEVEL": "20",
        "SM_FRAMEWORK_PARAMS": "{}",
        "SM_RESOURCE_CONFIG": json.dumps(resources),
        "SM_INPUT_DATA_CONFIG": json.dumps(data_config),
        "SM_TRAINING_ENV": json.dumps(training_env),
        **{f"SM_CHANNEL_{name.upper()}": path for name, path in channels.items()},
        **{f"SM_HP_{k.upper()}": _env_value(v) for k, v in hyperparameters.items()},
    }
