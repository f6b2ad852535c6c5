"""The definition's expression language: `Get`, `Std:Join` and `Std:JsonGet`.

A value in a definition is either plain JSON or a one-key dict naming an expression:
`{"Get": "Parameters.X" | "Execution.Y" | "Steps.Name.Path"}`,
`{"Std:Join": {"On": str, "Values": [...]}}`,
`{"Std:JsonGet": {"PropertyFile": {"Get": "Steps.S.PropertyFiles.F"}, "Path": str}}` or
`{"Std:JsonGet": {"S3Uri": expr, "Path": str}}`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import jmespath
import jmespath.exceptions

from .errors import DefinitionError, StepFailure

GET = "Get"
JOIN = "Std:Join"
JSON_GET = "Std:JsonGet"
EXPRESSION_KEYS = frozenset({GET, JOIN, JSON_GET})
EXECUTION_VARIABLES = frozenset(
    {
        "PipelineExecutionId",
        "PipelineExecutionArn",
        "PipelineName",
        "PipelineArn",
        "StartDateTime",
        "CurrentDateTime",
        "TrainingJobName",
        "ProcessingJobName",
    }
)

Token = str | int
_TOKEN = re.compile(r"""\.([^.\[\]'"]+)|\[(\d+)\]|\['([^']*)'\]|\["([^"]*)"\]""")
_IDENTIFIER = re.compile(r"[A-Za-z0-9_\-]+")


def is_expression(value: Any) -> bool:
    """True if `value` is a one-key dict naming an expression (`Get`, `Std:*`)."""
    if not isinstance(value, dict) or len(value) != 1:
        return False
    (key,) = value
    if key.startswith("Std:") and key not in EXPRESSION_KEYS:
        raise DefinitionError(f"unsupported function {key!r} (supported: Std:Join, Std:JsonGet)")
    return key in EXPRESSION_KEYS


def parse_tokens(path: str) -> list[Token]:
    """Tokens of a property path: `.Outputs['train'].S3Output` -> ['Outputs', 'train', 'S3Output'].

    Integer indexes stay ints, so lists can tell `[0]` from a lookup by name `['0']`.
    """
    tokens: list[Token] = []
    position = 0
    text = path if path.startswith((".", "[")) else "." + path
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match:
            raise DefinitionError(f"cannot parse property path {path!r} at {text[position:]!r}")
        name, index, quoted, double_quoted = match.groups()
        if index is not None:
            tokens.append(int(index))
        else:
            tokens.append(next(t for t in (name, quoted, double_quoted) if t is not None))
        position = match.end()
    return tokens


def split_get(reference: str) -> tuple[str, str, list[Token]]:
    """`Steps.Train.ModelArtifacts.S3ModelArtifacts` -> ('Steps', 'Train', [...])."""
    namespace, _, rest = reference.partition(".")
    match = re.match(r"[^.\[]+", rest)
    if namespace not in ("Steps", "Parameters", "Execution") or not match:
        raise DefinitionError(f"unsupported Get reference {reference!r}")
    name = match.group(0)
    return namespace, name, parse_tokens(rest[match.end() :]) if rest[match.end() :] else []


def iter_gets(value: Any) -> Iterator[str]:
    """Every `Get` reference string in a definition fragment, nested ones included."""
    if isinstance(value, dict):
        if is_expression(value) and GET in value:
            if not isinstance(value[GET], str):
                raise DefinitionError(f"Get expects a string, got {value[GET]!r}")
            yield value[GET]
            return
        for item in value.values():
            yield from iter_gets(item)
    elif isinstance(value, list):
        for item in value:
            yield from iter_gets(item)


def step_references(value: Any) -> set[str]:
    """Names of the steps whose properties or property files `value` reads."""
    return {name for ns, name, _ in map(split_get, iter_gets(value)) if ns == "Steps"}


def lookup(document: Any, tokens: list[Token], where: str) -> Any:
    """Follow `tokens` into a Describe*-like document.

    A string index into a list selects the element whose `...Name` field equals it:
    `Outputs['train']` finds the output with OutputName 'train', as SageMaker does.
    """
    current = document
    for token in tokens:
        if isinstance(current, list) and isinstance(token, str):
            matches = [
                item
                for item in current
                if isinstance(item, dict)
                and any(k.endswith("Name") and v == token for k, v in item.items())
            ]
            if not matches:
                raise StepFailure(f"{where}: no element named {token!r}")
            current = matches[0]
        elif isinstance(current, list) and isinstance(token, int) and token < len(current):
            current = current[token]
        elif isinstance(current, dict) and str(token) in current:
            current = current[str(token)]
        else:
            raise StepFailure(f"{where}: property {token!r} not found")
    return current


def to_text(value: Any) -> str:
    """Render a resolved value the way the service does when it needs a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise StepFailure(f"cannot use {value!r} as a string")


def _jmespath_expression(path: str) -> str:
    """Turn SageMaker's JsonPath-like `a.b['c-d'][0]` into JMESPath with quoted keys.

    Quoting keeps names such as `binary-metrics` valid; paths that are not of that
    simple form are handed to JMESPath unchanged, so its richer syntax still works.
    """
    simple = path[2:] if path.startswith("$.") else path
    try:
        tokens = parse_tokens(simple)
    except DefinitionError:
        return path
    parts: list[str] = []
    for token in tokens:
        if isinstance(token, int):
            parts.append(f"[{token}]")
        else:
            parts.append(("." if parts else "") + json.dumps(token))
    return "".join(parts)


def json_path(document: Any, path: str, where: str) -> Any:
    """Evaluate a JsonGet `Path` on a parsed JSON document."""
    try:
        value = jmespath.search(_jmespath_expression(path), document)
    except jmespath.exceptions.JMESPathError as error:
        raise DefinitionError(f"{where}: invalid JSON path {path!r}: {error}") from error
    if value is None:
        raise StepFailure(f"{where}: nothing at JSON path {path!r}")
    return value


@dataclass(frozen=True)
class Scope:
    """What expressions can see while one step's arguments are being resolved.

    `step_properties(name)` returns a finished step's Describe-like properties;
    `read_property_file(step, file)` and `read_s3_json(uri)` fetch JSON documents.
    """

    parameters: Mapping[str, Any]
    execution: Mapping[str, Any]
    step_properties: Callable[[str], Mapping[str, Any]]
    read_property_file: Callable[[str, str], Any]
    read_s3_json: Callable[[str], Any]

    def resolve(self, value: Any) -> Any:
        """`value` with every expression in it replaced by its current value."""
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if not is_expression(value):
            return {key: self.resolve(item) for key, item in value.items()}
        (key, body), *_ = value.items()
        if key == GET:
            return self._get(body)
        if key == JOIN:
            return self._join(body)
        return self._json_get(body)

    def _get(self, reference: str) -> Any:
        namespace, name, tokens = split_get(reference)
        if namespace == "Parameters":
            if name not in self.parameters:
                raise DefinitionError(f"Get {reference!r}: no parameter {name!r}")
            return lookup(self.parameters[name], tokens, reference)
        if namespace == "Execution":
            if name not in self.execution:
                raise DefinitionError(f"Get {reference!r}: not available in this step")
            return self.execution[name]
        if tokens[:1] == ["PropertyFiles"]:
            raise DefinitionError(f"Get {reference!r}: property files are read with Std:JsonGet")
        return lookup(self.step_properties(name), tokens, reference)

    def _join(self, body: Mapping[str, Any]) -> str:
        separator = self.resolve(body.get("On", ""))
        values = self.resolve(body.get("Values", []))
        if not isinstance(values, list):
            raise DefinitionError(f"Std:Join Values must be a list, got {values!r}")
        return to_text(separator).join(to_text(item) for item in values)

    def _json_get(self, body: Mapping[str, Any]) -> Any:
        path = body.get("Path")
        if not isinstance(path, str):
            raise DefinitionError(f"Std:JsonGet needs a string Path, got {path!r}")
        if "PropertyFile" in body:
            reference = body["PropertyFile"]
            if not (isinstance(reference, dict) and isinstance(reference.get(GET), str)):
                raise DefinitionError(f"Std:JsonGet PropertyFile must be a Get, got {reference!r}")
            namespace, step, tokens = split_get(reference[GET])
            if namespace != "Steps" or len(tokens) != 2 or tokens[0] != "PropertyFiles":
                raise DefinitionError(f"Std:JsonGet: {reference[GET]!r} is not a property file")
            document = self.read_property_file(step, str(tokens[1]))
            return json_path(document, path, f"JsonGet {reference[GET]}")
        if "S3Uri" in body:
            uri = to_text(self.resolve(body["S3Uri"]))
            return json_path(self.read_s3_json(uri), path, f"JsonGet {uri}")
        raise DefinitionError(f"Std:JsonGet needs PropertyFile or S3Uri, got {sorted(body)}")
