"""The OpenAPI description of the server (``GET /openapi.json``), for the model it serves.

Written out rather than generated: the contract is SageMaker's and fits in a page, while the
request and response schemas come from the loaded model (its features, its label), so a client
generator or a fuzzer (tests/inference/serving/test_fuzz.py, schemathesis) sees the real shapes.
"""

from typing import TYPE_CHECKING

from inference.serving import handler
from inference.serving.parsing import CSV, JSON

if TYPE_CHECKING:  # app.py imports this module
    from inference.serving.app import Limits

_ERROR = {
    "type": "object",
    "properties": {"error": {"type": "string"}},
    "required": ["error"],
    "additionalProperties": False,
}
_VERSION_HEADER = {
    "X-Model-Version": {
        "description": "the model version that answered: registry group/version, or digest",
        "schema": {"type": "string"},
        "required": True,
    }
}
_ERRORS = {
    "400": "the body is malformed: the message names the row, column or JSON path",
    "406": "the Accept header does not allow application/json",
    "408": "the declared body did not arrive within the deadline",
    "411": "no Content-Length (chunked bodies are refused)",
    "413": "the body is above the limit: split the batch",
    "415": "the Content-Type is neither text/csv nor application/json",
}


def document(model: handler.Model, limits: "Limits") -> dict:
    """OpenAPI 3.0 for the server of ``model`` under ``limits``."""
    number = {"type": "number"}
    features = list(model.features)
    width = len(features)
    as_list = {"type": "array", "items": number, "minItems": width, "maxItems": width}
    as_object = {
        "type": "object",
        "properties": dict.fromkeys(features, number),
        "required": features,
        "additionalProperties": False,
    }
    rows = {"type": "array", "items": {"oneOf": [as_list, as_object]}, "minItems": 1}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "model server",
            "version": model.version,
            "description": "SageMaker's container contract for hosting and batch transform.",
        },
        "paths": {
            "/ping": {"get": _get("healthy once the model is loaded", _ping_schema())},
            "/execution-parameters": {"get": _get("batch transform's hints", {"type": "object"})},
            "/openapi.json": {"get": _get("this description", {"type": "object"})},
            "/invocations": {
                "post": {
                    "summary": "predict, one prediction per instance",
                    "requestBody": {
                        "required": True,
                        "content": {
                            CSV: {
                                "schema": {"type": "string", "pattern": _csv_pattern(width)},
                                "example": ",".join(["0"] * width),
                            },
                            JSON: {
                                "schema": {
                                    "oneOf": [
                                        {
                                            "type": "object",
                                            "properties": {"instances": rows},
                                            "required": ["instances"],
                                        },
                                        rows,
                                    ]
                                }
                            },
                        },
                    },
                    "responses": {
                        "200": _json("predictions", _predictions_schema(model)),
                        **{
                            status: _json(
                                f"{meaning} (at most {limits.max_body_bytes} bytes)"
                                if status == "413"
                                else meaning,
                                _ERROR,
                            )
                            for status, meaning in _ERRORS.items()
                        },
                    },
                }
            },
        },
    }


def _csv_pattern(width: int) -> str:
    """Rows of ``width`` numbers (the optional header row is left out of the pattern)."""
    number = r"-?(0|[1-9][0-9]{0,8})(\.[0-9]{1,8})?([eE][-+]?[0-9]{1,2})?"
    row = f"{number}(,{number}){{{width - 1}}}"
    return f"^{row}(\\r?\\n{row})*(\\r?\\n)?$"


def _predictions_schema(model: handler.Model) -> dict:
    if model.label_values is None:
        prediction = {
            "type": "object",
            "properties": {model.label: {"type": "number"}},
            "required": [model.label],
        }
    else:
        key = f"{model.label}_probability"
        prediction = {
            "type": "object",
            "properties": {
                key: {"type": "number", "minimum": 0, "maximum": 1},
                "label": {"enum": list(model.label_values)},
            },
            "required": [key, "label"],
        }
    return {
        "type": "object",
        "properties": {
            "model_version": {"type": "string"},
            "predictions": {"type": "array", "items": prediction, "minItems": 1},
        },
        "required": ["model_version", "predictions"],
    }


def _ping_schema() -> dict:
    return {
        "type": "object",
        "properties": {"status": {"enum": ["healthy"]}, "model_version": {"type": "string"}},
        "required": ["status", "model_version"],
    }


def _get(summary: str, schema: dict) -> dict:
    return {"summary": summary, "responses": {"200": _json(summary, schema)}}


def _json(description: str, schema: dict) -> dict:
    return {
        "description": description,
        "headers": _VERSION_HEADER,
        "content": {JSON: {"schema": schema}},
    }
