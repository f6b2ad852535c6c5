"""Step order from Get references, DependsOn and condition branches."""

from __future__ import annotations

import pytest

from training_pipeline.runner import DefinitionError
from training_pipeline.runner.graph import build_graph


def step(name: str, kind: str = "Processing", **fields) -> dict:
    return {"Name": name, "Type": kind, "Arguments": fields.pop("Arguments", {}), **fields}


def names(steps: list[dict]) -> list[str]:
    return [node.name for node in build_graph(steps)]


def test_references_order_steps_whatever_the_definition_order():
    steps = [
        step("Register", "RegisterModel", Arguments={"Url": {"Get": "Steps.Train.ModelArtifacts"}}),
        step("Train", "Training", Arguments={"In": {"Get": "Steps.Prep.ProcessingJobName"}}),
        step("Prep"),
    ]
    assert names(steps) == ["Prep", "Train", "Register"]


def test_independent_steps_keep_the_definition_order():
    assert names([step("B"), step("A"), step("C", DependsOn=["A"]), step("D")]) == [
        "B",
        "A",
        "C",
        "D",
    ]


def test_branch_steps_follow_their_condition_and_its_inputs():
    gate = step(
        "Gate",
        "Condition",
        Arguments={
            "Conditions": [
                {
                    "Type": "Equals",
                    "LeftValue": {
                        "Std:JsonGet": {
                            "PropertyFile": {"Get": "Steps.Eval.PropertyFiles.R"},
                            "Path": "x",
                        }
                    },
                    "RightValue": 1,
                }
            ],
            "IfSteps": [step("Register", "RegisterModel")],
            "ElseSteps": [step("Stop", "Fail")],
        },
    )
    nodes = build_graph([gate, step("Eval"), step("After", DependsOn=["Register"])])
    assert [n.name for n in nodes] == ["Eval", "Gate", "Register", "Stop", "After"]
    by_name = {n.name: n for n in nodes}
    assert by_name["Register"].branch == ("Gate", True)
    assert by_name["Stop"].branch == ("Gate", False)
    assert by_name["Gate"].dependencies == {"Eval"}
    assert by_name["After"].branch is None


def test_cycles_unknown_references_and_duplicates_are_definition_errors():
    with pytest.raises(DefinitionError, match="cycle among steps: A, B"):
        build_graph([step("A", DependsOn=["B"]), step("B", Arguments={"X": {"Get": "Steps.A.Y"}})])
    with pytest.raises(DefinitionError, match="'A' refers to unknown step.*Ghost"):
        build_graph([step("A", Arguments={"X": {"Get": "Steps.Ghost.Y"}})])
    with pytest.raises(DefinitionError, match="duplicate step names: A"):
        build_graph([step("A"), step("Gate", "Condition", Arguments={"IfSteps": [step("A")]})])
    with pytest.raises(DefinitionError, match="depends on itself"):
        build_graph([step("A", DependsOn=["A"])])
