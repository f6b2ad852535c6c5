"""inference/serving/handler.py: loading the bundle, parsing CSV and JSON requests, predictions,
errors."""

import io
import json
import tarfile
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest

from inference import integrity
from inference.serving import handler, parsing
from inference.serving.parsing import RequestError
from training_pipeline.environment.data import model_schema

CANCER = model_schema("cancer")

N = len(list(CANCER.features))


def csv_body(frame: pd.DataFrame, header: bool = False) -> bytes:
    return frame.to_csv(index=False, header=header).encode()


def expected(model: handler.Model, frame: pd.DataFrame) -> np.ndarray:
    return model.estimator.predict_proba(frame[list(model.features)])[:, 1]


def predict(model: handler.Model, rows: np.ndarray) -> dict:
    return handler.answer(model, handler.score(model, rows))


def invoke(model: handler.Model, body: bytes, content_type: str, accept: str | None = None) -> dict:
    """What the app answers a request (the app serialises it with orjson)."""
    return predict(model, handler.request_rows(model, body, content_type, accept))


def probabilities(answer: dict) -> np.ndarray:
    return np.array([p["malignant_probability"] for p in answer["predictions"]])


def request_error(body: bytes | str, content_type: str, model: handler.Model) -> RequestError:
    data = body.encode() if isinstance(body, str) else body
    with pytest.raises(RequestError) as caught:
        parsing.parse_request(data, content_type, model.features)
    return caught.value


# ---------------------------------------------------------------------------- loading


def test_model_loads_from_model_joblib(model_dir: Path) -> None:
    model = handler.load_model(model_dir)
    assert model.features == tuple(list(CANCER.features))
    assert (model.label, model.label_values) == ("malignant", (0, 1))
    assert not model.version_mismatch


def test_model_loads_straight_from_model_tar_gz(archive_dir: Path, features: pd.DataFrame) -> None:
    from_archive = handler.load_model(archive_dir)
    assert sorted(p.name for p in archive_dir.iterdir()) == ["model.tar.gz"]  # nothing extracted
    rows = features.head(5).to_numpy()
    assert predict(from_archive, rows)["predictions"]


def test_empty_model_dir_is_reported_with_its_contents(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(handler.ModelLoadError) as caught:
        handler.load_model(tmp_path)
    assert str(caught.value) == (
        f"no model.joblib or model.tar.gz in {tmp_path} (it holds 'notes.txt')"
    )


def test_missing_model_dir_is_reported(tmp_path: Path) -> None:
    with pytest.raises(handler.ModelLoadError, match="model directory .*/absent does not exist"):
        handler.load_model(tmp_path / "absent")


def test_archive_without_model_file_is_reported(tmp_path: Path) -> None:
    with tarfile.open(tmp_path / "model.tar.gz", "w:gz") as tar:
        info = tarfile.TarInfo("nested/model.joblib")
        tar.addfile(info, io.BytesIO(b""))
    with pytest.raises(handler.ModelLoadError, match=r"holds no model.joblib at its root .*nested"):
        handler.load_model(tmp_path)


def test_corrupt_model_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / "model.joblib").write_bytes(b"not a pickle")
    with pytest.raises(handler.ModelLoadError, match=r"cannot load .*model.joblib: \w+"):
        handler.load_model(tmp_path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda b: ["a list"], "is not a model bundle"),
        (lambda b: {**b, "format": 2}, "bundle format 2; this server reads format"),
        (lambda b: {**b, "model": object()}, "the model object has no predict_proba"),
        (lambda b: {**b, "features": b["features"][::-1]}, "differ from the columns"),
        (lambda b: {**b, "label_values": [0, 2]}, r"label_values \[0, 2\] must be two of"),
    ],
)
def test_unusable_bundles_are_refused(model_dir: Path, tmp_path: Path, change, message) -> None:
    bundle = joblib.load(model_dir / "model.joblib")
    joblib.dump(change(bundle), tmp_path / "model.joblib")
    with pytest.raises(handler.ModelLoadError, match=message):
        handler.load_model(tmp_path)


def test_a_bundle_from_another_scikit_learn_is_flagged(model_dir: Path) -> None:
    bundle = joblib.load(model_dir / "model.joblib")
    model = handler.bundle_to_model({**bundle, "sklearn_version": "0.0.1"})
    assert model.version_mismatch


# ---------------------------------------------------------------------------- predictions


def test_csv_rows_are_scored_like_the_estimator(model, features: pd.DataFrame) -> None:
    rows = parsing.parse_request(csv_body(features), "text/csv", model.features)
    answer = predict(model, rows)
    assert np.allclose(probabilities(answer), expected(model, features), rtol=0, atol=0)
    assert len(answer["predictions"]) == len(features)


def test_a_regression_bundle_answers_its_predicted_values() -> None:
    from training_pipeline.environment.data import load_dataset
    from training_pipeline.steps import train

    diabetes_schema = model_schema("diabetes")
    frame = load_dataset("sklearn:diabetes", diabetes_schema)
    fast = {"max_iter": 20, "random_state": 0}
    estimator = train.train_model(frame, diabetes_schema, fast)
    regression = handler.bundle_to_model(train.make_bundle(estimator, fast, diabetes_schema))
    features = frame[list(diabetes_schema.features)].head(50)
    body = features.to_csv(index=False).encode()
    rows = parsing.parse_request(body, "text/csv", regression.features)
    answer = predict(regression, rows)
    values = [p["disease_progression"] for p in answer["predictions"]]
    assert values == estimator.predict(features).tolist()
    assert all(set(p) == {"disease_progression"} for p in answer["predictions"])


def test_labels_use_the_evaluation_threshold(model, features: pd.DataFrame) -> None:
    answer = predict(model, features.to_numpy())
    scores = probabilities(answer)
    labels = [p["label"] for p in answer["predictions"]]
    assert labels == [1 if p >= 0.5 else 0 for p in scores]
    assert {0, 1} <= set(labels)  # the fixture model separates the classes
    assert all(type(label) is int for label in labels)


def test_csv_header_is_optional_and_may_reorder_columns(model, features: pd.DataFrame) -> None:
    head = features.head(20)
    plain = parsing.parse_request(csv_body(head), "text/csv", model.features)
    with_header = parsing.parse_request(csv_body(head, header=True), "text/csv", model.features)
    shuffled = head[list(reversed(list(CANCER.features)))]
    reordered = parsing.parse_request(csv_body(shuffled, True), "text/csv", model.features)
    assert np.array_equal(plain, with_header)
    assert np.array_equal(plain, reordered)


def test_csv_tolerates_crlf_bom_blank_lines_and_charset(model, features: pd.DataFrame) -> None:
    lines = [",".join(repr(float(v)) for v in row) for row in features.head(3).to_numpy()]
    text = "\r\n\r\n".join(lines)
    body = b"\xef\xbb\xbf" + text.encode() + b"\r\n\r\n"
    rows = parsing.parse_request(body, "Text/CSV; charset=utf-8", model.features)
    assert np.array_equal(rows, features.head(3).to_numpy())


def test_json_forms_give_the_same_rows(model, features: pd.DataFrame) -> None:
    head = features.head(7)
    lists = head.to_numpy().tolist()
    objects = head.to_dict(orient="records")
    bodies = [{"instances": lists}, lists, {"instances": objects}, objects]
    parsed = [
        parsing.parse_request(json.dumps(body).encode(), "application/json", model.features)
        for body in bodies
    ]
    for rows in parsed:
        assert np.array_equal(rows, head.to_numpy())


def test_answers_name_the_model_version(model, model_dir: Path, features: pd.DataFrame) -> None:
    answer = invoke(model, csv_body(features.head(2)), "text/csv", "*/*")
    assert list(answer) == ["model_version", "predictions"]
    assert set(answer["predictions"][0]) == {"malignant_probability", "label"}
    # Without a registry version the answers name the digest of the model's files.
    assert answer["model_version"] == model.version == integrity.of_folder(model_dir)


def test_answers_name_the_version_they_were_given(model_dir: Path, features) -> None:
    model = handler.load_model(model_dir, version="mlops-demo-prod/7")
    answer = invoke(model, csv_body(features.head(1)), "text/csv")
    assert answer["model_version"] == "mlops-demo-prod/7"


@pytest.mark.parametrize("accept", [None, "", "application/json", "*/*", "text/html, */*;q=0.8"])
def test_accept_headers_allowing_json_are_served(model, features, accept) -> None:
    invoke(model, csv_body(features.head(1)), "text/csv", accept)


def test_accept_without_json_is_406(model, features: pd.DataFrame) -> None:
    with pytest.raises(RequestError) as caught:
        invoke(model, csv_body(features.head(1)), "text/csv", "text/csv")
    assert caught.value.status == 406
    assert (
        str(caught.value) == "responses are application/json only, but the request accepts text/csv"
    )


# ---------------------------------------------------------------------------- request errors


@pytest.mark.parametrize(
    ("content_type", "message"),
    [
        ("application/x-www-form-urlencoded", "unsupported Content-Type 'application/x-www-form"),
        (None, "unsupported no Content-Type: send text/csv or application/json"),
    ],
)
def test_unsupported_content_types_are_415(model, content_type, message) -> None:
    error = request_error("1,2", content_type, model)
    assert error.status == 415
    assert str(error).startswith(message)


def test_empty_body_is_400(model) -> None:
    error = request_error(" \n", "text/csv", model)
    assert (error.status, str(error)) == (
        400,
        "the text/csv request body is empty: send at least one instance",
    )


def test_non_utf8_body_names_the_byte(model) -> None:
    assert str(request_error(b"1,2\xff", "text/csv", model)) == (
        "the text/csv request body is not UTF-8 text: byte 3 is b'\\xff'"
    )


def good_line(features: pd.DataFrame, index: int = 0) -> str:
    return ",".join(repr(float(value)) for value in features.iloc[index])


def test_csv_wrong_column_count_names_row_and_line(model, features: pd.DataFrame) -> None:
    short = ",".join(good_line(features).split(",")[:-1])
    body = "\n".join([",".join(list(CANCER.features)), good_line(features), short])
    assert str(request_error(body, "text/csv", model)) == (
        f"text/csv row 2 (line 3) has {N - 1} values, expected {N}: the features "
        "mean_radius, ..., worst_fractal_dimension in that order"
    )


def test_csv_non_numeric_value_names_row_column_and_value(model, features) -> None:
    cells = good_line(features).split(",")
    cells[4] = "abc"
    body = "\n".join([good_line(features), ",".join(cells)])
    assert str(request_error(body, "text/csv", model)) == (
        "text/csv row 2 (line 2), column 5 (mean_smoothness): 'abc' is not a number"
    )


@pytest.mark.parametrize(
    ("cell", "problem"),
    [("", "is empty: every feature needs a value"), ("nan", "'nan' is not a finite number")],
)
def test_csv_missing_and_non_finite_values_are_refused(model, features, cell, problem) -> None:
    cells = good_line(features).split(",")
    cells[-1] = cell
    message = str(request_error(",".join(cells), "text/csv", model))
    assert message.startswith(f"text/csv row 1 (line 1), column {N} (worst_fractal_dimension)")
    assert message.endswith(problem)


def test_csv_header_with_the_label_column_is_explained(model, features: pd.DataFrame) -> None:
    body = ",".join([*list(CANCER.features), "malignant"]) + "\n" + good_line(features) + ",1\n"
    assert str(request_error(body, "text/csv", model)) == (
        "text/csv header (line 1) does not name the model's features: unknown 'malignant'"
    )


def test_csv_header_missing_columns_lists_them(model) -> None:
    body = ",".join(list(CANCER.features)[:-7]) + "\n"
    message = str(request_error(body, "text/csv", model))
    assert message.startswith("text/csv header (line 1) does not name the model's features: ")
    assert message.endswith(
        "missing 'worst_area', 'worst_smoothness', 'worst_compactness', 'worst_concavity', "
        "'worst_concave_points' ... (2 more)"
    )


def test_csv_header_alone_is_refused(model) -> None:
    assert str(request_error(",".join(list(CANCER.features)), "text/csv", model)) == (
        "the text/csv request body has a header but no rows"
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            '{"instances": [[1, 2]',
            "the application/json body is not valid JSON: unexpected end of data at line 1 "
            "column 22",
        ),
        (
            '{"rows": []}',
            "must be {\"instances\": [...]} or a list of instances; got an object with keys 'rows'",
        ),  # fmt: skip
        ('{"instances": {"a": 1}}', "instances must be a list of instances, got an object"),
        ('{"instances": []}', "instances is an empty list: send at least one"),
        ("[1.0, 2.0]", "the JSON body is a flat list of numbers: wrap each instance in its own"),
        ('"text"', "the JSON body must be a list of instances, got a string"),
        ('{"instances": [[1, 2]]}', f"instances[0] has 2 values, expected {N}"),
        ('{"instances": ["1,2"]}', "instances[0] must be a list of 30 numbers or an object"),
    ],
)
def test_json_shape_errors(model, body: str, message: str) -> None:
    error = request_error(body, "application/json", model)
    assert error.status == 400
    assert message in str(error)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ('"13.5"', "the string '13.5' is not a number"),
        ("true", "true is not a number"),
        ("null", "null is not a number"),
    ],
)
def test_json_bad_values_name_their_path(model, features, value: str, problem: str) -> None:
    cells = good_line(features).split(",")
    cells[3] = value
    body = f'{{"instances": [[{good_line(features, 1)}], [{",".join(cells)}]]}}'
    message = str(request_error(body, "application/json", model))
    assert message == f"instances[1][3] (mean_area): {problem}"


def test_json_objects_with_wrong_keys_list_them(model, features: pd.DataFrame) -> None:
    record = features.iloc[0].to_dict()
    del record["mean_area"]
    record["malignant"] = 1
    assert str(request_error(json.dumps([record]), "application/json", model)) == (
        "[0] does not have the model's features: missing 'mean_area'; unknown 'malignant'"
    )
    record = features.iloc[0].to_dict() | {"mean_area": "big"}
    assert str(request_error(json.dumps({"instances": [record]}), "application/json", model)) == (
        "instances[0][\"mean_area\"]: the string 'big' is not a number"
    )
