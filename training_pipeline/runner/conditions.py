"""ConditionStep conditions: the comparisons, `In`, `Not` and `Or` the SDK emits."""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

from .errors import DefinitionError, StepFailure

_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "GreaterThan": operator.gt,
    "GreaterThanOrEqualTo": operator.ge,
    "LessThan": operator.lt,
    "LessThanOrEqualTo": operator.le,
}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _equal(left: Any, right: Any) -> bool:
    if _is_number(left) and _is_number(right):
        return float(left) == float(right)
    return type(left) is type(right) and left == right


def _ordered(kind: str, left: Any, right: Any) -> bool:
    comparable = (_is_number(left) and _is_number(right)) or (
        isinstance(left, str) and isinstance(right, str)
    )
    if not comparable:
        raise StepFailure(f"{kind}: cannot compare {left!r} with {right!r}")
    return _COMPARISONS[kind](left, right)


def _field(condition: Mapping[str, Any], key: str) -> Any:
    if key not in condition:
        raise DefinitionError(f"{condition.get('Type')} condition without {key}: {condition}")
    return condition[key]


def evaluate(condition: Mapping[str, Any], resolve: Callable[[Any], Any]) -> bool:
    """Whether `condition` holds; `resolve` turns its operands into values."""
    kind = condition.get("Type")
    if kind == "Equals" or kind in _COMPARISONS:
        left = resolve(_field(condition, "LeftValue"))
        right = resolve(_field(condition, "RightValue"))
        return _equal(left, right) if kind == "Equals" else _ordered(kind, left, right)
    if kind == "In":
        query = resolve(_field(condition, "QueryValue"))
        return any(_equal(query, resolve(value)) for value in _field(condition, "Values"))
    if kind == "Not":
        return not evaluate(_field(condition, "Condition"), resolve)
    if kind == "Or":
        return any(evaluate(inner, resolve) for inner in _field(condition, "Conditions"))
    raise DefinitionError(f"unsupported condition type {kind!r}")


def evaluate_all(conditions: list[Mapping[str, Any]], resolve: Callable[[Any], Any]) -> bool:
    """ConditionStep semantics: the step's outcome is true when every condition holds."""
    return all(evaluate(condition, resolve) for condition in conditions)
