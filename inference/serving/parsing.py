"""Request bodies to a float64 matrix, columns in the model's feature order.

Two parsers per format. The fast one is compiled code only (simdjson for a CSV body of plain
numbers, else pandas' C reader; orjson for JSON) and checks its result as a whole: the shape,
every value finite, no value that was not a number. Whatever it cannot vouch for, it hands to
the precise one, which reads value by value and stops at the first bad one with a message
naming it (CSV by row, line and column, JSON by path such as ``instances[2][4]``). A valid body
thus costs the compiled parsers only, an invalid one gets an exact message, and on every body
a fast parser accepts both agree (tests/inference/serving/test_parsing.py checks that with
hypothesis).

    text/csv          one instance per line, the model's features in order, optional header
                      row (a header may list the features in any order, except in a batch
                      transform, $SAGEMAKER_BATCH; it must name them all)
    application/json  {"instances": [[f1, ..., fn], ...]}  or a bare list of such rows, or
                      rows as objects keyed by feature name: [{"mean_radius": 17.99, ...}, ...]

Every value must be a finite number (the models are trained without missing values).
"""

import csv
import io
import math
import os
import re
import threading
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import orjson
import pandas as pd
import simdjson

CSV = "text/csv"
JSON = "application/json"
CONTENT_TYPES = (CSV, JSON)
_ACCEPTABLE = {JSON, "application/*", "*/*"}
_SHOWN = 5  # names or values quoted in one message before "... (N more)"
# A JSON body holding either literal may hide a boolean among numbers, which numpy would turn
# into 1.0 or 0.0 silently; such bodies take the precise parser, which refuses the boolean.
_BOOLEANS = ("true", "false")
# Below this many characters numpy's loadtxt (C, next to no set-up cost: 8 us for one row)
# parses a CSV body; above it pandas' reader (C, about 0.5 ms to set up, then twice as fast).
_SMALL_CSV = 32 * 1024
# Set by SageMaker in a batch transform's container: a file's header line then arrives with the
# file's first mini-batch only and the later ones are read in the schema's order, so a header
# in any other order would have them scored wrongly without an error.
_BATCH = os.environ.get("SAGEMAKER_BATCH", "").lower() == "true"
# A number as CSV writers write it, in ASCII digits: Python's float() also takes "1_000" and
# other scripts' digits, which the compiled parsers refuse, so the precise parser does too.
_NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?", re.ASCII)
_NOT_FINITE = {"nan", "inf", "infinity"}
# What a CSV body of plain numbers holds besides its commas and line feeds.
_NUMBER_BYTES = b"0123456789.+-eE"
# SageMaker's cap on a real-time request's payload (app.Limits' default body limit); simdjson
# parsers are kept per thread for bodies up to this size (_parser_for).
REAL_TIME_PAYLOAD_BYTES = 6 * 1024 * 1024
_simdjson = threading.local()


class RequestError(ValueError):
    """The request cannot be served as sent; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def media_type(header: str | None) -> str:
    """``text/csv; charset=utf-8`` -> ``text/csv``."""
    return (header or "").split(";", 1)[0].strip().lower()


def check_accept(accept: str | None) -> None:
    """Raise a 406 RequestError unless ``accept`` allows application/json (or is absent)."""
    ranges = {media_type(part) for part in (accept or "").split(",")} - {""}
    if ranges and not ranges & _ACCEPTABLE:
        raise RequestError(f"responses are {JSON} only, but the request accepts {accept}", 406)


def parse_request(body: bytes, content_type: str | None, features: Sequence[str]) -> np.ndarray:
    """The instances of a request body as a float64 matrix, columns in ``features`` order.

    Raises:
        RequestError: 415 for an unsupported content type, 400 for a malformed body.
    """
    kind = media_type(content_type)
    if kind not in CONTENT_TYPES:
        shown = f"Content-Type {content_type!r}" if kind else "no Content-Type"
        raise RequestError(f"unsupported {shown}: send {' or '.join(CONTENT_TYPES)}", 415)
    if not body.strip():
        raise RequestError(f"the {kind} request body is empty: send at least one instance")
    if kind == CSV and (matrix := _plain_csv(body, features)) is not None:
        return matrix
    try:
        text = body.decode("utf-8-sig")  # -sig: spreadsheets prepend a byte-order mark
    except UnicodeDecodeError as error:
        raise RequestError(
            f"the {kind} request body is not UTF-8 text: byte {error.start} is "
            f"{body[error.start : error.start + 1]!r}"
        ) from None
    return parse_csv(text, features) if kind == CSV else parse_json(text, features)


def _plain_csv(body: bytes, features: Sequence[str]) -> np.ndarray | None:
    """A CSV body of nothing but numbers, commas and line feeds, read as one JSON array.

    What a batch transform and pandas' to_csv send. On 1,000 rows of 30 features pandas'
    reader takes 1.3-2 ms, a fifth of the model's own time; this takes 0.5-0.9 ms, checks
    included (simdjson 0.35 ms of it), and rounds every number correctly. The body qualifies
    only if deleting every number byte leaves exactly ``len(features) - 1`` commas then a line
    feed per row, so the array has the matrix's shape. simdjson refuses what JSON does not
    allow (``+1``, ``.5``, ``1.``, ``007``, an empty cell) and numbers beyond float64
    (``1e400``); an integer ``-0`` (JSON's ``0``, where CSV readers give ``-0.0``) is declined
    here. All of those, and headers, quotes, blanks and CRLF, go to the other parsers.
    """
    width = len(features)
    newline = body.find(b"\n")
    first = body if newline < 0 else body[:newline]  # a header or CRLF shows here already
    if first.translate(None, _NUMBER_BYTES + b",") or first.count(b",") != width - 1:
        return None
    ends_line = body.endswith(b"\n")
    separators = body.translate(None, _NUMBER_BYTES)
    rows = (len(separators) + (not ends_line)) // width
    expected = (b"," * (width - 1) + b"\n") * rows
    if separators != (expected if ends_line else expected[:-1]):
        return None
    cells = body.replace(b"\n", b",")  # memchr and copy: a tenth of a translate's time
    # One search for a minus sign (memchr) spares bodies without one the search for -0.
    if b"-" in body and (b"-0," in cells or cells.endswith(b"-0")):
        return None  # also declines 1e-0 and the like, which the other parsers read as well
    end = len(body) - ends_line
    document = b"".join((b"[", memoryview(cells)[:end], b"]"))
    try:
        values = _parser_for(len(body)).parse(document).as_buffer(of_type="d")  # a copy
    except (ValueError, RuntimeError):  # a number JSON refuses; one beyond 64 bits
        return None
    matrix = np.frombuffer(values, dtype=np.float64)
    return _checked(matrix.reshape(rows, width), features) if matrix.size == rows * width else None


def _parser_for(body_bytes: int) -> simdjson.Parser:
    """This thread's parser (one reads one document at a time), or a new one for a body beyond
    SageMaker's 6 MB real-time limit. A new parser's buffers cost 0.5 ms for 1,000 rows, more
    than the parse itself; a reused one keeps them at the size of the largest document it
    read (about 28 MB after 6 MB), and a batch transform may send up to 100 MB."""
    if body_bytes > REAL_TIME_PAYLOAD_BYTES:
        return simdjson.Parser()
    if (parser := getattr(_simdjson, "parser", None)) is None:
        parser = _simdjson.parser = simdjson.Parser()
    return parser


# ---------------------------------------------------------------------------- CSV


def parse_csv(text: str, features: Sequence[str]) -> np.ndarray:
    """Rows of ``len(features)`` numbers; a first row without any number is a header."""
    matrix = _fast_csv(text, features)
    return matrix if matrix is not None else _precise_csv(text, features)


def _fast_csv(text: str, features: Sequence[str]) -> np.ndarray | None:
    end = text.find("\n")
    first = text[: end if end >= 0 else len(text)].rstrip("\r")
    if not first.strip() or "\r" in first:
        return None  # leading blank lines, or lines ended by a bare CR: the precise parser's
    try:
        cells = next(csv.reader([first]))
    except csv.Error:  # a field beyond the csv module's limit: the precise parser says so
        return None
    order = None
    if not any(_is_number(cell) for cell in cells):
        order = _header_order(cells, features, line=1, strict=False)
        if order is None:
            return None
    skip = 1 if order is not None else 0
    try:
        if len(text) < _SMALL_CSV:
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # "input contained no data" is no matrix either
                matrix = np.loadtxt(
                    io.StringIO(text),
                    delimiter=",",
                    quotechar='"',
                    comments=None,
                    skiprows=skip,
                    dtype=np.float64,
                    ndmin=2,
                )
        elif any(text.find(letter, end + 1 if skip else 0) >= 0 for letter in "rRlL"):
            # Pandas' C reader reads "true" and "false" in any case as 1.0 and 0.0, even with
            # dtype float64. No number holds an r or an l: rows that do take the precise
            # parser, which names the cell.
            return None
        else:
            # na_filter=False: an empty or "NA" cell fails the float conversion (and goes to
            # the precise parser) instead of becoming NaN; it is faster too.
            matrix = pd.read_csv(
                io.StringIO(text),
                header=None,
                skiprows=skip,
                dtype=np.float64,
                engine="c",
                na_filter=False,
                low_memory=False,
            ).to_numpy()
    except (ValueError, UserWarning, pd.errors.EmptyDataError):  # ParserError: a ValueError
        return None
    if order is not None and matrix.shape[1] == len(features):
        matrix = matrix[:, order]
    return _checked(matrix, features)


def _precise_csv(text: str, features: Sequence[str]) -> np.ndarray:
    reader = csv.reader(io.StringIO(text, newline=""))
    order: list[int] | None = None  # header position of each feature, if a header was sent
    # Filled in place: a list of Python floats per row would cost ten times the memory.
    matrix = np.empty((text.count("\n") + text.count("\r") + 1, len(features)))
    count = 0
    for cells in _csv_records(reader):
        if not cells or (len(cells) == 1 and not cells[0].strip()):
            continue  # blank lines, such as the trailing newline
        line = reader.line_num
        if not count and order is None and not any(_is_number(cell) for cell in cells):
            order = _header_order(cells, features, line)
            continue
        where = f"text/csv row {count + 1} (line {line})"
        if len(cells) != len(features):
            raise RequestError(
                f"{where} has {len(cells)} values, expected {len(features)}: the features "
                f"{features[0]}, ..., {features[-1]} in that order"
            )
        if order is not None:
            cells = [cells[index] for index in order]
        for column, (cell, name) in enumerate(zip(cells, features, strict=True)):
            matrix[count, column] = _csv_number(cell, f"{where}, column {column + 1} ({name})")
        count += 1
    if not count:
        raise RequestError("the text/csv request body has a header but no rows")
    return matrix[:count]


def _csv_records(reader: Any) -> Iterable[list[str]]:
    try:
        yield from reader
    except csv.Error as error:
        raise RequestError(f"text/csv line {reader.line_num} cannot be parsed: {error}") from None


def _header_order(
    cells: list[str], features: Sequence[str], line: int, strict: bool = True
) -> list[int] | None:
    """Where each feature is in a header row; with ``strict``, a header that does not name them
    all exactly once is a RequestError, otherwise None."""
    names = [cell.strip() for cell in cells]
    counts = Counter(names)  # a set and a Counter keep this linear in a huge header
    known = set(features)
    missing = [name for name in features if name not in counts]
    unknown = [name for name in names if name not in known]
    repeated = sorted(name for name, count in counts.items() if count > 1)
    if missing or unknown or repeated:
        if not strict:
            return None
        problems = [f"missing {quote_names(missing)}"] if missing else []
        problems += [f"unknown {quote_names(unknown)}"] if unknown else []
        problems += [f"repeated {quote_names(repeated)}"] if repeated else []
        raise RequestError(
            f"text/csv header (line {line}) does not name the model's features: "
            f"{'; '.join(problems)}"
        )
    position = {name: index for index, name in enumerate(names)}
    order = [position[name] for name in features]
    if _BATCH and order != list(range(len(features))):
        if not strict:
            return None
        raise RequestError(
            f"text/csv header (line {line}) lists the model's features in another order: in a "
            "batch transform only a file's first mini-batch has the header, so put the columns "
            f"in the model's order ({features[0]}, ..., {features[-1]})"
        )
    return order


def _is_number(cell: str) -> bool:
    text = cell.strip()
    return bool(_NUMBER.fullmatch(text)) or text.lower().lstrip("+-") in _NOT_FINITE


def _csv_number(cell: str, where: str) -> float:
    text = cell.strip()
    if not text:
        raise RequestError(f"{where} is empty: every feature needs a value")
    if text.lower().lstrip("+-") in _NOT_FINITE:
        raise RequestError(f"{where}: {_quote(text)} is not a finite number")
    if not _NUMBER.fullmatch(text):
        raise RequestError(f"{where}: {_quote(text)} is not a number")
    value = float(text)
    if not math.isfinite(value):  # 1e400
        raise RequestError(f"{where}: {_quote(text)} is not a finite number")
    return value


# ---------------------------------------------------------------------------- JSON


def parse_json(text: str, features: Sequence[str]) -> np.ndarray:
    """``{"instances": rows}`` or a bare list of rows; a row is a list or an object."""
    try:
        # orjson refuses what cannot become a float64 (1e999, a 5,000-digit integer, NaN) and
        # nesting deeper than 1,024, instead of building it.
        document = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise RequestError(
            f"the application/json body is not valid JSON: {error.msg} at line {error.lineno} "
            f"column {error.colno}"
        ) from None
    instances, prefix = _instances(document, features)
    matrix = None if any(word in text for word in _BOOLEANS) else _fast_json(instances, features)
    return matrix if matrix is not None else _precise_json(instances, prefix, features)


def _instances(document: object, features: Sequence[str]) -> tuple[list, str]:
    prefix = "instances"
    if isinstance(document, dict):
        if "instances" not in document:
            raise RequestError(
                'the application/json body must be {"instances": [...]} or a list of instances; '
                f"got an object with keys {quote_names(list(document)) or 'none'}"
            )
        instances = document["instances"]
    else:
        instances, prefix = document, ""
    if not isinstance(instances, list):
        raise RequestError(
            f"{prefix or 'the JSON body'} must be a list of instances, got {_json_type(instances)}"
        )
    if not instances:
        raise RequestError(f"{prefix or 'the JSON body'} is an empty list: send at least one")
    if all(_is_json_number(value) for value in instances):
        raise RequestError(
            f"{prefix or 'the JSON body'} is a flat list of numbers: wrap each instance in its "
            f"own list, e.g. [[{len(features)} numbers], ...]"
        )
    return instances, prefix


def _fast_json(instances: list, features: Sequence[str]) -> np.ndarray | None:
    first = type(instances[0])
    if first is list:
        try:
            # No dtype: strings and nulls then give a non-numeric array instead of being
            # converted, and rows of different lengths raise.
            matrix = np.asarray(instances)
        except ValueError:
            return None
    elif all(type(row) is dict for row in instances):
        frame = pd.DataFrame.from_records(instances)
        if set(frame.columns) != set(features) or any(
            kind not in "iuf" for kind in frame.dtypes.map(lambda dtype: dtype.kind)
        ):
            return None
        matrix = frame[list(features)].to_numpy()
    else:
        return None
    if matrix.dtype.kind not in "iuf":
        return None
    return _checked(matrix.astype(np.float64, copy=False), features)


def _precise_json(instances: list, prefix: str, features: Sequence[str]) -> np.ndarray:
    matrix = np.empty((len(instances), len(features)))
    for i, row in enumerate(instances):
        matrix[i] = _json_row(row, f"{prefix}[{i}]", features)
    return matrix


def _json_row(row: object, where: str, features: Sequence[str]) -> list[float]:
    if isinstance(row, list):
        if len(row) != len(features):
            raise RequestError(
                f"{where} has {len(row)} values, expected {len(features)}: the features "
                f"{features[0]}, ..., {features[-1]} in that order"
            )
        return [
            _json_number(value, f"{where}[{i}] ({name})")
            for i, (value, name) in enumerate(zip(row, features, strict=True))
        ]
    if isinstance(row, dict):
        missing = [name for name in features if name not in row]
        unknown = [key for key in row if key not in features]
        if missing or unknown:
            problems = [f"missing {quote_names(missing)}"] if missing else []
            problems += [f"unknown {quote_names(unknown)}"] if unknown else []
            raise RequestError(f"{where} does not have the model's features: {'; '.join(problems)}")
        return [_json_number(row[name], f'{where}["{name}"]') for name in features]
    raise RequestError(
        f"{where} must be a list of {len(features)} numbers or an object keyed by feature name, "
        f"got {_json_type(row)}"
    )


def _json_number(value: object, where: str) -> float:
    if not _is_json_number(value):
        raise RequestError(f"{where}: {_describe(value)} is not a number")
    return float(value)  # finite: orjson has refused NaN, Infinity and numbers beyond float64


def _is_json_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# ---------------------------------------------------------------------------- shared


def _checked(matrix: np.ndarray, features: Sequence[str]) -> np.ndarray | None:
    if matrix.ndim != 2 or matrix.shape[0] == 0 or matrix.shape[1] != len(features):
        return None
    return matrix if np.isfinite(matrix).all() else None


def _json_type(value: object) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), "a number" if _is_json_number(value) else type(value).__name__)


def _describe(value: object) -> str:
    if isinstance(value, str):
        return f"the string {_quote(value)}"
    if isinstance(value, bool):
        return "true" if value else "false"
    return _json_type(value)


def _quote(value: object, limit: int = 40) -> str:
    text = repr(value) if isinstance(value, str) else orjson.dumps(value).decode()
    return text if len(text) <= limit else text[: limit - 3] + "..."


def quote_names(values: Iterable[object]) -> str:
    """``'a', 'b', ... (3 more)``: at most a few names quoted in one message."""
    quoted = [repr(str(value)) for value in values]
    more = f" ... ({len(quoted) - _SHOWN} more)" if len(quoted) > _SHOWN else ""
    return ", ".join(quoted[:_SHOWN]) + more
