"""Pipeline parameters: the definition's declarations, defaults and typed overrides."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_NATIVE: dict[str, tuple[type, ...]] = {
    "String": (str,),
    "Integer": (int,),
    "Float": (int, float),
    "Boolean": (bool,),
}


def _parse(kind: str, text: str) -> Any:
    if kind == "String":
        return text
    if kind == "Boolean":
        if text.lower() not in ("true", "false"):
            raise ValueError(text)
        return text.lower() == "true"
    return int(text) if kind == "Integer" else float(text)


def _coerce(name: str, kind: str, value: Any) -> Any:
    """`value` as the parameter's type.

    Strings are parsed as StartPipelineExecution does (it only takes strings), so a CLI
    can pass its arguments through; native values must already have the right type.
    """
    if kind not in _NATIVE:
        raise ValueError(f"parameter {name!r} has unsupported type {kind!r}")
    problem = f"parameter {name!r} ({kind}) cannot take {value!r}"
    if isinstance(value, bool) and kind != "Boolean":
        raise ValueError(problem)
    if isinstance(value, _NATIVE[kind]):
        return float(value) if kind == "Float" else value
    if not isinstance(value, str):
        raise ValueError(problem)
    try:
        return _parse(kind, value)
    except ValueError:
        raise ValueError(problem) from None


def resolve_parameters(
    declared: list[Mapping[str, Any]], overrides: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Each declared parameter's value: the override if given, else the default."""
    overrides = dict(overrides or {})
    kinds = {p["Name"]: p.get("Type", "String") for p in declared}
    unknown = sorted(set(overrides) - set(kinds))
    if unknown:
        raise ValueError(f"unknown parameter(s) {unknown}; the pipeline declares {sorted(kinds)}")
    values: dict[str, Any] = {}
    for declaration in declared:
        name, kind = declaration["Name"], kinds[declaration["Name"]]
        if name in overrides:
            value = _coerce(name, kind, overrides[name])
        elif "DefaultValue" in declaration:
            value = _coerce(name, kind, declaration["DefaultValue"])
        else:
            raise ValueError(f"parameter {name!r} has no default value and none was given")
        allowed = declaration.get("EnumValues")
        if allowed and value not in allowed:
            raise ValueError(f"parameter {name!r} must be one of {allowed}, got {value!r}")
        values[name] = value
    return values
