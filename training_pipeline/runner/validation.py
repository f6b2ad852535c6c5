"""Static checks of a definition: everything the runner can refuse before a step runs."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from . import processing, training, transform
from .cache import parse_duration
from .errors import DefinitionError
from .expressions import EXECUTION_VARIABLES, iter_gets, split_get
from .graph import StepNode
from .jobs import check_keys
from .retry import Retrier

_VALIDATORS: dict[str, Callable[[str, Mapping[str, Any]], None]] = {
    "Processing": processing.validate,
    "Training": training.validate,
    "Transform": transform.validate,
}
STEP_TYPES = {"Processing", "Training", "Transform", "Model", "RegisterModel", "Condition", "Fail"}
# Steps that run a job's process; SageMaker caches exactly these among our types.
JOB_TYPES = {"Processing", "Training", "Transform"}
JOB_NAME_VARIABLE = {"Processing": "ProcessingJobName", "Training": "TrainingJobName"}
# Name fields the SDK keeps only with PipelineDefinitionConfig(use_custom_job_prefix=True).
NAME_FIELDS = {**JOB_NAME_VARIABLE, "Transform": "TransformJobName", "Model": "ModelName"}
_DEFINITION_FIELDS = {
    "Version",
    "Metadata",
    "Parameters",
    "PipelineExperimentConfig",
    "MlflowConfig",
    "Steps",
}
_STEP_FIELDS = {
    "Name",
    "Type",
    "Arguments",
    "DependsOn",
    "DisplayName",
    "Description",
    "RetryPolicies",
    "CacheConfig",
    "PropertyFiles",
}


def load_definition(definition: Mapping[str, Any] | str) -> dict[str, Any]:
    """The definition as a dict, with the top-level fields the runner knows."""
    spec = json.loads(definition) if isinstance(definition, str) else dict(definition)
    check_keys("pipeline definition", spec, _DEFINITION_FIELDS)
    if not isinstance(spec.get("Steps"), list) or not spec["Steps"]:
        raise DefinitionError("pipeline definition has no Steps")
    return spec


def _validate_references(
    node: StepNode, nodes: Mapping[str, StepNode], parameters: set[str]
) -> None:
    arguments = node.spec.get("Arguments", {})
    if node.type == "Condition":
        arguments = arguments.get("Conditions", [])
    for reference in iter_gets(arguments):
        namespace, name, tokens = split_get(reference)
        where = f"step {node.name!r}: Get {reference!r}"
        if namespace == "Parameters" and name not in parameters:
            raise DefinitionError(f"{where} names an undeclared parameter")
        if namespace == "Execution" and (
            name not in EXECUTION_VARIABLES
            or (name.endswith("JobName") and JOB_NAME_VARIABLE.get(node.type) != name)
        ):
            raise DefinitionError(f"{where}: no such execution variable in a {node.type} step")
        if namespace == "Steps" and tokens[:1] == ["PropertyFiles"]:
            declared = {
                p.get("PropertyFileName") for p in nodes[name].spec.get("PropertyFiles", [])
            }
            if len(tokens) != 2 or tokens[1] not in declared:
                raise DefinitionError(f"{where}: step {name!r} declares no such property file")


def validate_step(node: StepNode, nodes: Mapping[str, StepNode], parameters: set[str]) -> None:
    """Reject an unsupported step type, field or reference, naming the step."""
    where = f"step {node.name!r}"
    check_keys(where, dict(node.spec), _STEP_FIELDS)
    if node.type not in STEP_TYPES:
        raise DefinitionError(
            f"{where}: unsupported step type {node.type!r} (supported: {sorted(STEP_TYPES)})"
        )
    arguments = node.spec.get("Arguments", {})
    if node.type == "Condition":
        check_keys(f"{where} Arguments", arguments, {"Conditions", "IfSteps", "ElseSteps"})
    elif node.type == "Fail":
        check_keys(f"{where} Arguments", arguments, {"ErrorMessage"})
    elif node.type in _VALIDATORS:
        _VALIDATORS[node.type](node.name, arguments)
    name_field = NAME_FIELDS.get(node.type)
    if not isinstance(arguments.get(name_field, ""), str):
        raise DefinitionError(f"{where}: {name_field} must be a literal string")
    cache_config = node.spec.get("CacheConfig")
    if cache_config is not None:
        check_keys(f"{where} CacheConfig", cache_config, {"Enabled", "ExpireAfter"})
        if node.type not in JOB_TYPES:
            raise DefinitionError(f"{where}: CacheConfig is not supported for {node.type} steps")
        if cache_config.get("ExpireAfter"):
            parse_duration(cache_config["ExpireAfter"])
    if node.spec.get("PropertyFiles") and node.type != "Processing":
        raise DefinitionError(f"{where}: PropertyFiles are only supported on Processing steps")
    outputs = {
        o.get("OutputName") for o in arguments.get("ProcessingOutputConfig", {}).get("Outputs", [])
    }
    for declaration in node.spec.get("PropertyFiles", []):
        check_keys(
            f"{where} PropertyFiles", declaration, {"PropertyFileName", "OutputName", "FilePath"}
        )
        if declaration.get("OutputName") not in outputs:
            raise DefinitionError(
                f"{where}: property file {declaration.get('PropertyFileName')!r} names "
                f"unknown output {declaration.get('OutputName')!r}"
            )
    Retrier(node.spec.get("RetryPolicies", []), log=lambda _: None)
    _validate_references(node, nodes, parameters)
