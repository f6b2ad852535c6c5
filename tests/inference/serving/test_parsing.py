"""inference/serving/parsing.py: the compiled fast parsers agree with the precise ones, and the
bodies that used to cost a 500 or minutes of CPU are clear 400s.

The fast parsers may decline a body (it then goes to the precise one, whose message names the
bad value); whenever they accept one, the matrix must be exactly what the precise parser reads.
Hypothesis draws the bodies: numbers written every way a client might, cells that are not
numbers, ragged rows, headers, blank lines, quoting, booleans and nulls among JSON numbers.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inference.serving import parsing
from inference.serving.parsing import RequestError

FEATURES = ("a", "b", "c")

_finite = st.floats(allow_nan=False, allow_infinity=False)
_number_text = st.one_of(
    _finite.map(repr),
    _finite.map(lambda x: f"{x:.6g}"),
    _finite.map(lambda x: f"{x:e}"),
    st.integers(-(10**20), 10**20).map(str),
    _finite.map(lambda x: f" {x!r} "),
    _finite.map(lambda x: f'"{x!r}"'),
    st.sampled_from(["+1", ".5", "1.", "-0", "007", "1_000", "1e5", "1E-3", "+.5e+2"]),
)
_not_a_number = st.sampled_from(
    ["", " ", "nan", "NaN", "inf", "-Infinity", "NA", "null", "abc", "1e400", "0x10", "1,5",
     "True", "tRUE", "FALSE", '"', "1.2.3", "#1", "--1", "١"]
)  # fmt: skip
_cell = st.one_of(_number_text, _number_text, _number_text, _not_a_number)
_row = st.one_of(
    st.lists(_cell, min_size=3, max_size=3),
    st.lists(_cell, min_size=3, max_size=3),
    st.lists(_cell, min_size=0, max_size=5),
)
_header = st.permutations(FEATURES).map(list) | st.just(["a", "b", "x"]) | st.just([" a", "b", "c"])


@st.composite
def csv_bodies(draw: st.DrawFn) -> str:
    lines = [",".join(row) for row in draw(st.lists(_row, min_size=1, max_size=6))]
    if draw(st.booleans()):
        lines.insert(0, ",".join(draw(_header)))
    if draw(st.booleans()):
        lines.insert(draw(st.integers(0, len(lines))), "")
    text = draw(st.sampled_from(["\n", "\r\n"])).join(lines) + draw(st.sampled_from(["", "\n"]))
    # Repeated past 32 KB the same rows take pandas' reader instead of numpy's.
    return text if draw(st.booleans()) else _repeated(text)


def _repeated(text: str) -> str:
    header, _, rest = text.partition("\n")
    first = header if not any(parsing._is_number(c) for c in header.split(",")) else ""
    body = rest if first else text
    copies = 40_000 // max(len(body), 1) + 1
    return (first + "\n" if first else "") + (body.rstrip("\r\n") + "\n") * copies


def _outcome(parse, *args):
    try:
        return parse(*args)
    except RequestError as error:
        return error


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(csv_bodies())
def test_fast_csv_accepts_only_what_the_precise_parser_reads_the_same(text: str) -> None:
    for fast in [parsing._plain_csv(text.encode(), FEATURES), parsing._fast_csv(text, FEATURES)]:
        if fast is not None:
            precise = _outcome(parsing._precise_csv, text, FEATURES)
            assert isinstance(precise, np.ndarray), precise
            assert np.array_equal(fast, precise)
            assert fast.dtype == np.float64


_plain_number = st.one_of(
    _finite.map(repr),
    _finite.map(lambda x: f"{x:e}"),
    _finite.map(lambda x: f"{x:.17E}"),
    st.integers(-(2**64), 2**65).map(str),
    st.sampled_from(
        ["-0", "0", "-0.0", "1e-0", "1E+5", "5e-324", "1e400", "+1", ".5", "1.", "007"]
    ),
)


@st.composite
def plain_bodies(draw: st.DrawFn) -> tuple[tuple[str, ...], str]:
    """Rows of numbers as a batch transform or to_csv sends them, some JSON would refuse."""
    features = FEATURES[: draw(st.sampled_from([1, 3]))]
    shape = st.lists(_plain_number, min_size=len(features), max_size=len(features))
    rows = draw(st.lists(shape, min_size=1, max_size=8))
    return features, "\n".join(map(",".join, rows)) + draw(st.sampled_from(["", "\n"]))


@settings(max_examples=400, deadline=None)
@given(plain_bodies())
def test_simdjson_reads_plain_numbers_bit_for_bit_as_the_precise_parser(case) -> None:
    features, text = case
    fast = parsing._plain_csv(text.encode(), features)
    if fast is not None:
        precise = _outcome(parsing._precise_csv, text, features)
        assert isinstance(precise, np.ndarray), precise
        assert fast.tobytes() == precise.tobytes()  # -0.0 and 0.0 differ here


_json_value = st.one_of(
    _finite,
    st.integers(-(2**63), 2**64 - 1),
    _finite,
    st.booleans(),
    st.none(),
    st.text(max_size=3),
    st.lists(_finite, max_size=2),
)


@st.composite
def json_bodies(draw: st.DrawFn) -> str:
    objects = draw(st.sampled_from([True, False, None]))  # None: a mix of rows and records
    rows = []
    for _ in range(draw(st.integers(1, 5))):
        values = draw(st.lists(_json_value, min_size=2, max_size=4))
        if objects or (objects is None and draw(st.booleans())):
            names = draw(st.permutations(FEATURES + ("z",)))
            rows.append(dict(zip(names, values, strict=False)))
        else:
            rows.append(values)
    document = {"instances": rows} if draw(st.booleans()) else rows
    return json.dumps(document)


@settings(max_examples=400, deadline=None)
@given(json_bodies())
def test_fast_json_accepts_only_what_the_precise_parser_reads_the_same(text: str) -> None:
    served = _outcome(parsing.parse_json, text, FEATURES)
    instances, prefix = parsing._instances(json.loads(text), FEATURES)
    precise = _outcome(parsing._precise_json, instances, prefix, FEATURES)
    if isinstance(precise, RequestError):
        assert isinstance(served, RequestError)
        assert str(served) == str(precise)
    else:
        assert np.array_equal(served, precise)


# ---------------------------------------------------------------------------- hostile bodies


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[" * 100_000 + "]" * 100_000, "not valid JSON: depth limit exceeded"),
        ("[[" + "1" * 5000 + "]]", "not valid JSON: number is infinity when parsed as double"),
        ("[[1e999, 1, 2]]", "not valid JSON: number is infinity when parsed as double"),
        ("[[NaN, 1, 2]]", "not valid JSON: unexpected character"),
        ("[[true, 1, 2], [1, 2, 3]]", "[0][0] (a): true is not a number"),
        ('[{"a": 1, "b": 2, "c": false}]', '[0]["c"]: false is not a number'),
        ('{"instances": [[1, 2, 3], [1, 2]]}', "instances[1] has 2 values, expected 3"),
    ],
)
def test_hostile_json_is_a_clear_400(body: str, message: str) -> None:
    with pytest.raises(RequestError) as caught:
        parsing.parse_request(body.encode(), "application/json", FEATURES)
    assert caught.value.status == 400
    assert message in str(caught.value)


@pytest.mark.parametrize("rows", [1, 2_000])  # numpy's reader, and pandas' past 32 KB
def test_in_a_batch_transform_a_header_must_follow_the_models_order(monkeypatch, rows) -> None:
    # Only a file's first mini-batch carries its header: the others are read in the model's
    # order, so a header in another order is refused rather than obeyed for one mini-batch.
    reordered = ("c,a,b\n" + "3,1,2\n" * rows).encode()
    in_order = ("a,b,c\n" + "1,2,3\n" * rows).encode()
    assert parsing.parse_request(reordered, "text/csv", FEATURES)[0].tolist() == [1, 2, 3]
    monkeypatch.setattr(parsing, "_BATCH", True)
    with pytest.raises(RequestError) as caught:
        parsing.parse_request(reordered, "text/csv", FEATURES)
    assert caught.value.status == 400
    assert "lists the model's features in another order: in a batch transform" in str(caught.value)
    assert parsing.parse_request(in_order, "text/csv", FEATURES)[0].tolist() == [1, 2, 3]


def test_a_huge_header_only_csv_is_refused_at_once() -> None:
    # 600 KB of column names: the header check used to compare every name with every other.
    header = ",".join(f"column_{i}" for i in range(60_000)).encode()
    with pytest.raises(RequestError) as caught:
        parsing.parse_request(header, "text/csv", FEATURES)
    assert str(caught.value) == (
        "text/csv header (line 1) does not name the model's features: missing 'a', 'b', 'c'; "
        "unknown 'column_0', 'column_1', 'column_2', 'column_3', 'column_4' ... (59995 more)"
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("1,2,3\n4,,6\n", "text/csv row 2 (line 2), column 2 (b) is empty"),
        ("1,2,3\n4,NA,6\n", "text/csv row 2 (line 2), column 2 (b): 'NA' is not a number"),
        ("1,2,3\n4,inf,6\n", "column 2 (b): 'inf' is not a finite number"),
        ("1,2,3\n4,5,6,7\n", "text/csv row 2 (line 2) has 4 values, expected 3"),
        ("1,2,3\n" * 20_000 + "4,x,6\n", "text/csv row 20001 (line 20001), column 2 (b): 'x'"),
        # float() would take these; the compiled parsers do not, nor does the precise one.
        ("1,2,3\n4,1_000,6\n", "row 2 (line 2), column 2 (b): '1_000' is not a number"),
        ("1,2,3\n4,\u0661,6\n", "row 2 (line 2), column 2 (b): '\u0661' is not a number"),
        # The first line's field beyond the csv module's limit: a 400, not a crash.
        ("1," + "9" * 200_000 + ",3\n", "text/csv line 1 cannot be parsed: field larger than"),
    ],
)
def test_the_precise_parser_names_what_the_fast_one_declined(body: str, message: str) -> None:
    with pytest.raises(RequestError) as caught:
        parsing.parse_request(body.encode(), "text/csv", FEATURES)
    assert message in str(caught.value)


def test_the_usual_bodies_take_the_compiled_parsers() -> None:
    # What clients send (pandas' to_csv, a header, CRLF, JSON rows or records) must never fall
    # back to the per-value parser: that is what made batches cost twice the model.
    rows = np.arange(3 * 400, dtype=np.float64).reshape(400, 3) / 7
    lines = [",".join(map(repr, row)) for row in rows.tolist()]
    for text in [
        "\n".join(lines[:1]),
        "c,a,b\r\n" + "\r\n".join(lines[:5]) + "\r\n",
        "\n".join(lines * 20) + "\n",  # past 32 KB: pandas' reader
    ]:
        assert parsing._fast_csv(text, FEATURES) is not None, text[:40]
    # Plain numbers as pandas and a batch transform write them: simdjson, not even pandas,
    # also right after bodies simdjson refused (its parser is reused).
    for refused in [b"1,2,1e999\n", b"1,2," + b"9" * 30 + b"\n", b"1,+2,3\n"]:
        assert parsing._plain_csv(refused, FEATURES) is None
    frame = pd.DataFrame(rows * [1, -1e-9, 1e12], columns=list(FEATURES))
    for body in [
        frame.head(1).to_csv(index=False, header=False),
        frame.to_csv(index=False, header=False),
    ]:
        assert parsing._plain_csv(body.encode(), FEATURES) is not None, body[:40]
        assert parsing._plain_csv(body.rstrip("\n").encode(), FEATURES) is not None
    records = [dict(zip(FEATURES, row, strict=True)) for row in rows.tolist()]
    for instances in [rows.tolist(), records, [[1, 2, 3]]]:
        assert parsing._fast_json(instances, FEATURES) is not None


def test_a_column_of_booleans_in_a_large_csv_body_is_refused_not_read_as_numbers() -> None:
    # Pandas' C reader turns a column of "True" (in any case) into 1.0 even with dtype
    # float64: a body past 32 KB that it read used to be scored with the boolean as a feature.
    body = b"1,tRUE,3\n" * 10_000
    with pytest.raises(RequestError, match=r"row 1 \(line 1\), column 2 \(b\): 'tRUE'"):
        parsing.parse_request(body, "text/csv", FEATURES)


def test_lines_ended_by_a_bare_carriage_return_are_read() -> None:
    # Old Mac line endings: the fast parser declines them, the precise one reads them.
    matrix = parsing.parse_request(b"1,2,3\r4,5,6\r", "text/csv", FEATURES)
    assert matrix.tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
