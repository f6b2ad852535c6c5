"""Step order: dependencies from Get references, DependsOn and condition branches."""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import DefinitionError
from .expressions import step_references


@dataclass(frozen=True)
class StepNode:
    """A step of the definition, flattened out of any condition branch it sits in.

    `branch` is (condition step name, True for IfSteps / False for ElseSteps).
    """

    name: str
    type: str
    spec: Mapping[str, Any]
    index: int
    branch: tuple[str, bool] | None
    dependencies: frozenset[str]


def _flatten(
    steps: list[Mapping[str, Any]], branch: tuple[str, bool] | None, out: list[tuple]
) -> None:
    for spec in steps:
        if not isinstance(spec, dict) or not isinstance(spec.get("Name"), str):
            raise DefinitionError(f"a step needs a Name: {spec!r}")
        out.append((spec, branch))
        if spec.get("Type") == "Condition":
            arguments = spec.get("Arguments", {})
            _flatten(arguments.get("IfSteps", []), (spec["Name"], True), out)
            _flatten(arguments.get("ElseSteps", []), (spec["Name"], False), out)


def _references(spec: Mapping[str, Any]) -> set[str]:
    arguments = spec.get("Arguments", {})
    if spec.get("Type") == "Condition":
        # The branches are steps of their own; only the conditions are read here.
        arguments = arguments.get("Conditions", [])
    depends_on = spec.get("DependsOn", [])
    if not isinstance(depends_on, list) or not all(isinstance(d, str) for d in depends_on):
        raise DefinitionError(f"step {spec['Name']!r}: DependsOn must be a list of step names")
    return step_references(arguments) | set(depends_on)


def build_graph(steps: list[Mapping[str, Any]]) -> list[StepNode]:
    """All steps, conditions' branches included, in a dependency-respecting order.

    Among steps that are ready at the same time the definition order wins, so the order
    is deterministic.
    """
    flat: list[tuple] = []
    _flatten(steps, None, flat)
    names = [spec["Name"] for spec, _ in flat]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise DefinitionError(f"duplicate step names: {', '.join(duplicates)}")

    nodes: dict[str, StepNode] = {}
    for index, (spec, branch) in enumerate(flat):
        dependencies = _references(spec) | ({branch[0]} if branch else set())
        unknown = sorted(dependencies - set(names))
        if unknown:
            raise DefinitionError(f"step {spec['Name']!r} refers to unknown step(s): {unknown}")
        if spec["Name"] in dependencies:
            raise DefinitionError(f"step {spec['Name']!r} depends on itself")
        nodes[spec["Name"]] = StepNode(
            name=spec["Name"],
            type=str(spec.get("Type")),
            spec=spec,
            index=index,
            branch=branch,
            dependencies=frozenset(dependencies),
        )
    return _topological(nodes)


def _topological(nodes: dict[str, StepNode]) -> list[StepNode]:
    waiting = {name: set(node.dependencies) for name, node in nodes.items()}
    ready = [(node.index, name) for name, node in nodes.items() if not waiting[name]]
    heapq.heapify(ready)
    order: list[StepNode] = []
    while ready:
        _, name = heapq.heappop(ready)
        order.append(nodes[name])
        for other, pending in waiting.items():
            if name in pending:
                pending.discard(name)
                if not pending:
                    heapq.heappush(ready, (nodes[other].index, other))
    if len(order) < len(nodes):
        stuck = sorted(name for name, pending in waiting.items() if pending)
        raise DefinitionError(f"dependency cycle among steps: {', '.join(stuck)}")
    return order
