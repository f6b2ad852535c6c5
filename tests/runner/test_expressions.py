"""Expressions, conditions and parameters on hand-written definition fragments."""

from __future__ import annotations

from typing import Any

import pytest

from training_pipeline.runner import DefinitionError, StepFailure
from training_pipeline.runner.conditions import evaluate, evaluate_all
from training_pipeline.runner.expressions import Scope, parse_tokens, split_get, step_references
from training_pipeline.runner.parameters import resolve_parameters

PROPERTIES = {
    "Prep": {
        "ProcessingJobName": "pipelines-abc-Prep-123",
        "ProcessingOutputConfig": {
            "Outputs": [
                {"OutputName": "train", "S3Output": {"S3Uri": "s3://b/train"}},
                {"OutputName": "report", "S3Output": {"S3Uri": "s3://b/report"}},
            ]
        },
    },
    "Fit": {
        "FinalMetricDataList": [{"MetricName": "auc", "Value": 0.91}],
        "HyperParameters": {"max-depth": "5"},
    },
}
DOCUMENTS = {
    ("Prep", "Report"): {"metrics": {"auc": {"value": 0.93}}, "per-class": [{"f1": 0.5}]},
    "s3://b/other.json": {"count": 7},
}


def scope(**parameters: Any) -> Scope:
    def properties(name: str) -> dict:
        if name not in PROPERTIES:
            raise StepFailure(f"{name} did not run")
        return PROPERTIES[name]

    return Scope(
        parameters={"Bucket": "b", "Depth": 5, "Rate": 0.5, "On": True, **parameters},
        execution={"PipelineExecutionId": "abc123", "PipelineName": "p"},
        step_properties=properties,
        read_property_file=lambda step, name: DOCUMENTS[(step, name)],
        read_s3_json=lambda uri: DOCUMENTS[uri],
    )


def get(reference: str) -> dict:
    return {"Get": reference}


def test_property_paths_parse_names_indexes_and_quoted_keys():
    assert parse_tokens(".Outputs['train'].S3Output.S3Uri") == [
        "Outputs",
        "train",
        "S3Output",
        "S3Uri",
    ]
    assert parse_tokens('.A[0]["b-c"]') == ["A", 0, "b-c"]
    assert split_get("Steps.Fit.ModelArtifacts.S3ModelArtifacts") == (
        "Steps",
        "Fit",
        ["ModelArtifacts", "S3ModelArtifacts"],
    )
    with pytest.raises(DefinitionError, match="Bogus"):
        split_get("Bogus.X")


def test_get_reads_parameters_execution_variables_and_step_properties():
    s = scope()
    assert s.resolve(get("Parameters.Depth")) == 5
    assert s.resolve(get("Execution.PipelineExecutionId")) == "abc123"
    uri = get("Steps.Prep.ProcessingOutputConfig.Outputs['report'].S3Output.S3Uri")
    assert s.resolve(uri) == "s3://b/report"
    assert s.resolve(get("Steps.Prep.ProcessingOutputConfig.Outputs[0].S3Output.S3Uri")) == (
        "s3://b/train"
    )
    assert s.resolve(get("Steps.Fit.FinalMetricDataList['auc'].Value")) == 0.91
    assert s.resolve(get("Steps.Fit.HyperParameters['max-depth']")) == "5"


def test_resolve_walks_nested_json_and_leaves_plain_values_alone():
    value = {"A": [1, get("Parameters.Bucket"), {"B": get("Parameters.On")}], "C": None}
    assert scope().resolve(value) == {"A": [1, "b", {"B": True}], "C": None}


def test_missing_properties_fail_the_step_and_bad_references_the_definition():
    with pytest.raises(StepFailure, match="no element named 'nope'"):
        scope().resolve(get("Steps.Prep.ProcessingOutputConfig.Outputs['nope'].S3Output"))
    with pytest.raises(StepFailure, match="Other did not run"):
        scope().resolve(get("Steps.Other.X"))
    with pytest.raises(DefinitionError, match="Missing"):
        scope().resolve(get("Parameters.Missing"))
    with pytest.raises(DefinitionError, match="Std:Concat"):
        scope().resolve({"Std:Concat": {}})


def test_join_renders_values_like_the_service():
    join = {
        "Std:Join": {
            "On": "/",
            "Values": [
                "s3:/",
                get("Parameters.Bucket"),
                get("Parameters.Depth"),
                get("Parameters.On"),
            ],
        }
    }
    assert scope().resolve(join) == "s3://b/5/true"
    nested = {"Std:Join": {"On": "", "Values": [join, "-", get("Parameters.Rate")]}}
    assert scope().resolve(nested) == "s3://b/5/true-0.5"


def test_json_get_reads_property_files_and_s3_uris():
    s = scope()
    from_file = {
        "Std:JsonGet": {
            "PropertyFile": get("Steps.Prep.PropertyFiles.Report"),
            "Path": "metrics.auc.value",
        }
    }
    assert s.resolve(from_file) == 0.93
    hyphenated = {
        "Std:JsonGet": {
            "PropertyFile": get("Steps.Prep.PropertyFiles.Report"),
            "Path": "per-class[0].f1",
        }
    }
    assert s.resolve(hyphenated) == 0.5
    from_uri = {
        "Std:JsonGet": {
            "S3Uri": {
                "Std:Join": {"On": "/", "Values": ["s3:/", get("Parameters.Bucket"), "other.json"]}
            },
            "Path": "count",
        }
    }
    assert s.resolve(from_uri) == 7
    with pytest.raises(StepFailure, match="nothing at JSON path 'metrics.f1'"):
        s.resolve(
            {
                "Std:JsonGet": {
                    "PropertyFile": get("Steps.Prep.PropertyFiles.Report"),
                    "Path": "metrics.f1",
                }
            }
        )


def test_step_references_include_property_files_inside_functions():
    value = {
        "A": get("Steps.Prep.ProcessingJobName"),
        "B": {"Std:JsonGet": {"PropertyFile": get("Steps.Eval.PropertyFiles.R"), "Path": "x"}},
        "C": get("Parameters.Bucket"),
    }
    assert step_references(value) == {"Prep", "Eval"}


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"Type": "Equals", "LeftValue": get("Parameters.Depth"), "RightValue": 5.0}, True),
        ({"Type": "Equals", "LeftValue": "5", "RightValue": 5}, False),
        ({"Type": "GreaterThan", "LeftValue": get("Parameters.Rate"), "RightValue": 0.5}, False),
        (
            {
                "Type": "GreaterThanOrEqualTo",
                "LeftValue": get("Parameters.Rate"),
                "RightValue": 0.5,
            },
            True,
        ),
        ({"Type": "LessThan", "LeftValue": 1, "RightValue": get("Parameters.Depth")}, True),
        (
            {"Type": "LessThanOrEqualTo", "LeftValue": 6, "RightValue": get("Parameters.Depth")},
            False,
        ),
        ({"Type": "In", "QueryValue": get("Parameters.Bucket"), "Values": ["a", "b"]}, True),
        ({"Type": "Not", "Condition": {"Type": "Equals", "LeftValue": 1, "RightValue": 1}}, False),
        (
            {
                "Type": "Or",
                "Conditions": [
                    {"Type": "Equals", "LeftValue": 1, "RightValue": 2},
                    {"Type": "In", "QueryValue": 3, "Values": [get("Parameters.Depth"), 3]},
                ],
            },
            True,
        ),
    ],
)
def test_conditions(condition, expected):
    assert evaluate(condition, scope().resolve) is expected


def test_a_condition_step_needs_every_condition_and_rejects_bad_ones():
    true = {"Type": "Equals", "LeftValue": 1, "RightValue": 1}
    false = {"Type": "Equals", "LeftValue": 1, "RightValue": 2}
    assert evaluate_all([true, true], scope().resolve) is True
    assert evaluate_all([true, false], scope().resolve) is False
    with pytest.raises(StepFailure, match="cannot compare"):
        evaluate({"Type": "GreaterThan", "LeftValue": "a", "RightValue": 1}, scope().resolve)
    with pytest.raises(DefinitionError, match="Between"):
        evaluate({"Type": "Between"}, scope().resolve)
    with pytest.raises(DefinitionError, match="RightValue"):
        evaluate({"Type": "Equals", "LeftValue": 1}, scope().resolve)


DECLARED = [
    {"Name": "Name", "Type": "String", "DefaultValue": "x", "EnumValues": ["x", "y"]},
    {"Name": "Count", "Type": "Integer", "DefaultValue": 2},
    {"Name": "Rate", "Type": "Float", "DefaultValue": 0.5},
    {"Name": "Flag", "Type": "Boolean", "DefaultValue": False},
]


def test_parameters_take_defaults_and_typed_or_textual_overrides():
    assert resolve_parameters(DECLARED, None) == {
        "Name": "x",
        "Count": 2,
        "Rate": 0.5,
        "Flag": False,
    }
    overrides = {"Name": "y", "Count": "7", "Rate": 1, "Flag": "true"}
    assert resolve_parameters(DECLARED, overrides) == {
        "Name": "y",
        "Count": 7,
        "Rate": 1.0,
        "Flag": True,
    }


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"Other": 1}, "unknown parameter.*Other"),
        ({"Name": "z"}, "'Name' must be one of"),
        ({"Count": 1.5}, "'Count'"),
        ({"Count": True}, "'Count'"),
        ({"Rate": "fast"}, "'Rate'"),
        ({"Flag": 1}, "'Flag'"),
        ({"Name": 3}, "'Name'"),
    ],
)
def test_bad_parameters_name_the_parameter(overrides, message):
    with pytest.raises(ValueError, match=message):
        resolve_parameters(DECLARED, overrides)


def test_a_parameter_without_default_must_be_given():
    with pytest.raises(ValueError, match="'Needed' has no default"):
        resolve_parameters([{"Name": "Needed", "Type": "String"}], {})
