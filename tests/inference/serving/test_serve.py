"""inference/serving/serve.py and app.py: the real server (granian, two workers) over loopback.

Every test talks HTTP to a `python -m inference.serving.serve` process, as SageMaker does. The
hostile corpus is the list of requests that once crashed, hung or over-fed the standard
library's server: each must now get a clear 4xx (or a closed connection, for a client that
never finishes its headers) and the server must go on answering /ping.
"""

from __future__ import annotations

import http.client
import json
import signal
import socket
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from inference import integrity
from inference.serving import handler, serve
from serving_process import Served, free_port, server_command, serving
from training_pipeline.steps import artifacts

READ_TIMEOUT = 1.0  # seconds a client has for its headers, then for its body (--read-timeout)


@pytest.fixture(scope="module")
def server(model_dir: Path) -> Iterator[Served]:
    port = free_port()
    args = ["--workers", "2", "--read-timeout", str(READ_TIMEOUT)]
    with serving(server_command(model_dir, port, *args), port) as served:
        yield served


def call(
    served: Served, path: str, body: bytes | None = None, method: str | None = None, **headers
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(served.url + path, data=body, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def csv_body(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False, header=False).encode()


def test_ping_names_the_model_version(server: Served, model_dir: Path) -> None:
    status, headers, body = call(server, "/ping")
    digest = integrity.of_folder(model_dir)
    assert (status, json.loads(body)) == (200, {"status": "healthy", "model_version": digest})
    assert headers["x-model-version"] == digest
    assert headers["content-type"] == "application/json"


def test_csv_predictions_are_the_models_own(
    server: Served, model: handler.Model, features: pd.DataFrame
) -> None:
    status, headers, body = call(
        server, "/invocations", csv_body(features), **{"Content-Type": "text/csv"}
    )
    assert status == 200
    answer = json.loads(body)
    assert answer["model_version"] == headers["x-model-version"] == model.version
    served = [p["malignant_probability"] for p in answer["predictions"]]
    assert np.array_equal(served, model.estimator.predict_proba(features)[:, 1])
    assert [p["label"] for p in answer["predictions"]] == [
        int(p >= handler.THRESHOLD) for p in served
    ]


def test_json_rows_and_records_are_served(server: Served, model, features: pd.DataFrame) -> None:
    head = features.head(3)
    expected = model.estimator.predict_proba(head)[:, 1].tolist()
    for document in [
        {"instances": head.to_numpy().tolist()},
        head.to_dict(orient="records"),
    ]:
        status, _, body = call(
            server,
            "/invocations",
            json.dumps(document).encode(),
            **{"Content-Type": "application/json", "Accept": "application/json"},
        )
        assert status == 200
        predictions = json.loads(body)["predictions"]
        assert [p["malignant_probability"] for p in predictions] == expected


@pytest.mark.parametrize(
    ("headers", "body", "status", "fragment"),
    [
        ({"Content-Type": "text/csv"}, b"1.0,2.0,x\n", 400, "row 1 (line 1) has 3 values"),
        ({"Content-Type": "text/plain"}, b"1", 415, "unsupported Content-Type 'text/plain'"),
        ({"Content-Type": "text/csv", "Accept": "text/csv"}, b"1", 406, "application/json only"),
        ({"Content-Type": "text/csv"}, b"\xff\xfe", 400, "not UTF-8 text: byte 0 is b'\\xff'"),
    ],
)
def test_bad_requests_say_why(server: Served, headers, body, status, fragment) -> None:
    got, answer_headers, answer = call(server, "/invocations", body, **headers)
    assert got == status
    assert fragment in json.loads(answer)["error"]
    assert answer_headers["x-model-version"]


@pytest.mark.parametrize(
    ("method", "path", "status", "allow"),
    [
        ("GET", "/invocations", 405, "POST"),
        ("POST", "/ping", 405, "GET"),
        ("GET", "/nowhere", 404, None),
    ],
)
def test_wrong_paths_and_methods(server: Served, method, path, status, allow) -> None:
    got, headers, body = call(server, path, b"" if method == "POST" else None, method=method)
    assert got == status
    assert headers.get("allow") == allow
    assert path in json.loads(body)["error"]


def test_execution_parameters_for_batch_transform(server: Served) -> None:
    status, _, body = call(server, "/execution-parameters")
    assert (status, json.loads(body)) == (
        200,
        {"MaxConcurrentTransforms": 8, "BatchStrategy": "MULTI_RECORD", "MaxPayloadInMB": 6},
    )


@pytest.mark.parametrize(
    ("workers", "max_body_mb", "in_flight"),
    [("2", "6", 8), ("8", "6", 16), ("2", "50", 2), ("1", "100", 1)],
)
def test_a_transform_keeps_four_requests_per_worker_within_sagemakers_100_mb(
    workers, max_body_mb, in_flight
) -> None:
    # Four per worker, so that no worker is left without a connection; SageMaker refuses a
    # transform whose MaxConcurrentTransforms x MaxPayloadInMB exceeds 100 MB.
    args = serve.parse_args(["--workers", workers, "--max-body-mb", max_body_mb])
    assert serve._limits(args).concurrency == in_flight


def test_openapi_describes_the_models_features(server: Served, model: handler.Model) -> None:
    status, _, body = call(server, "/openapi.json")
    document = json.loads(body)
    assert status == 200
    assert set(document["paths"]) == {
        "/ping",
        "/invocations",
        "/execution-parameters",
        "/openapi.json",
    }
    rows = document["paths"]["/invocations"]["post"]["requestBody"]["content"]["application/json"]
    as_object = rows["schema"]["oneOf"][1]["items"]["oneOf"][1]
    assert as_object["required"] == list(model.features)


def test_keep_alive_connection_survives_an_error(server: Served, features: pd.DataFrame) -> None:
    # SageMaker reuses connections: a 400 must leave the connection usable.
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        for body, expected in [(b"bad", 400), (csv_body(features.head(2)), 200), (b"1", 400)]:
            connection.request("POST", "/invocations", body, {"Content-Type": "text/csv"})
            response = connection.getresponse()
            response.read()
            assert response.status == expected
    finally:
        connection.close()


def test_a_body_just_under_six_megabytes_is_served(server: Served, features) -> None:
    table = csv_body(features)
    body = (table * (6 * 1024 * 1024 // len(table) + 1))[: 6 * 1024 * 1024].rsplit(b"\n", 1)[0]
    status, _, answer = call(server, "/invocations", body, **{"Content-Type": "text/csv"})
    assert status == 200
    assert len(json.loads(answer)["predictions"]) == body.count(b"\n") + 1


# ---------------------------------------------------------------------------- hostile corpus


def exchange(served: Served, request: bytes, pause: float = 0.0) -> tuple[bytes, float]:
    """Send raw bytes (``pause`` seconds between bytes, if set); what came back, and when."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", served.port), timeout=15) as sock:
        try:
            if pause:
                for byte in request:
                    sock.sendall(bytes([byte]))
                    time.sleep(pause)
            else:
                sock.sendall(request)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server refused before the client finished: read what it said
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
                if _complete(received):
                    break
        except ConnectionResetError:
            pass
    return received, time.monotonic() - started


def _complete(data: bytes) -> bool:
    head, found, rest = data.partition(b"\r\n\r\n")
    if not found:
        return False
    length = [line for line in head.lower().split(b"\r\n") if line.startswith(b"content-length")]
    return bool(length) and len(rest) >= int(length[0].split(b":")[1])


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1]) if response.startswith(b"HTTP/1.1 ") else 0


def post(body: bytes, content_type: str = "text/csv", extra: bytes = b"") -> bytes:
    return (
        b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: " + content_type.encode()
        + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n" + extra + b"\r\n" + body
    )  # fmt: skip


HOSTILE = {
    "chunked body": (
        b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n4\r\n1,2\n\r\n0\r\n\r\n",
        411,
    ),
    "no Content-Length": (b"POST /invocations HTTP/1.1\r\nHost: x\r\n\r\n", 411),
    # Only the headers are sent: a 413 proves the limit is checked before reading the body.
    "120 MB declared": (
        b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
        b"Content-Length: 120000000\r\n\r\n",
        413,
    ),
    "body shorter than declared": (
        b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
        b"Content-Length: 100\r\n\r\n1,2,3",
        408,
    ),
    "malformed request line": (b"GARBAGE\r\n\r\n", 400),
    "malformed Content-Length": (
        b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        400,
    ),
    "1 MB header": (
        b"GET /ping HTTP/1.1\r\nHost: x\r\nX-A: " + b"a" * 1_000_000 + b"\r\n\r\n",
        431,
    ),
    "100,000-deep JSON": (post(b"[" * 100_000 + b"]" * 100_000, "application/json"), 400),
    "5,000-digit integer": (post(b"[[" + b"1" * 5000 + b"]]", "application/json"), 400),
    "600 KB header-only CSV": (post(",".join(f"c{i}" for i in range(80_000)).encode()), 400),
    "not UTF-8": (post(b"\xc3\x28,1,2"), 400),
    "JSON with NaN": (post(b"[[NaN]]", "application/json"), 400),
    "6 MB and one byte": (post(b"1" * (6 * 1024 * 1024 + 1)), 413),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_requests_get_a_clear_4xx_and_the_server_serves_on(
    server: Served, name: str
) -> None:
    request, expected = HOSTILE[name]
    response, seconds = exchange(server, request)
    assert status_of(response) == expected, response[:300]
    if expected == 408:
        assert seconds >= READ_TIMEOUT
    assert call(server, "/ping")[0] == 200


def test_a_client_trickling_its_headers_is_cut_off(server: Served) -> None:
    # One byte every 0.2 s would take 10 s to finish these headers; the read timeout (1 s
    # here) closes the connection first, however many bytes keep arriving.
    request = b"GET /ping HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 40 + b"\r\n\r\n"
    response, seconds = exchange(server, request, pause=0.2)
    assert status_of(response) != 200
    assert seconds < len(request) * 0.2
    assert call(server, "/ping")[0] == 200


def test_memory_stays_bounded_after_the_corpus(server: Served) -> None:
    for request, _ in HOSTILE.values():
        exchange(server, request)
    for pid in server.worker_pids():
        peak = _kilobytes(pid, "VmHWM") / 1024
        assert peak < 400, f"worker {pid} peaked at {peak:.0f} MB"


def _kilobytes(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


# ---------------------------------------------------------------------------- the process


def test_a_model_that_fails_to_predict_is_a_500_without_details(
    tmp_path: Path, reference: pd.DataFrame, features: pd.DataFrame
) -> None:
    from training_pipeline.environment.data import model_schema

    schema = model_schema("cancer")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # it need not converge, only load
        broken = LogisticRegression(max_iter=20).fit(features, reference[schema.label])
    broken.coef_ = broken.coef_[:, :5]  # loads and checks fine, cannot multiply 30 features
    bundle = {"model": broken, "features": list(schema.features), "label": schema.label}
    artifacts.save_bundle(bundle, tmp_path)
    port = free_port()
    with serving(server_command(tmp_path, port, "--workers", "1"), port) as served:
        status, _, body = call(
            served, "/invocations", csv_body(features.head(1)), **{"Content-Type": "text/csv"}
        )
        assert (status, json.loads(body)) == (500, {"error": "internal error while predicting"})
        assert call(served, "/ping")[0] == 200
        assert "invocation failed" in served.output()
        # The traceback is in the log, not in the answer.
        assert "size 5 is different from 30" in served.output()


def test_serve_refuses_to_start_without_a_model(tmp_path: Path) -> None:
    import subprocess

    port = free_port()
    finished = subprocess.run(
        server_command(tmp_path, port), capture_output=True, text=True, timeout=120
    )
    assert finished.returncode == 1
    assert (
        finished.stderr.strip()
        .splitlines()[-1]
        .endswith(
            f"ERROR cannot start: no model.joblib or model.tar.gz in {tmp_path} (it holds nothing)"
        )
    )


def test_serve_reads_sagemakers_environment_and_stops_on_sigterm(archive_dir: Path) -> None:
    import sys

    port = free_port()
    environment = {
        "SM_MODEL_DIR": str(archive_dir),
        "SAGEMAKER_BIND_TO_PORT": str(port),
        "SAGEMAKER_MAX_PAYLOAD_IN_MB": "1",  # batch transform's MaxPayloadInMB
        "MODEL_VERSION": "mlops-demo-prod/4",
        "MODEL_DIGEST": integrity.of_archive(archive_dir / artifacts.MODEL_ARCHIVE),
    }
    command = [sys.executable, "-m", "inference.serving.serve", "--host", "127.0.0.1"]
    with serving(command, port, env=environment) as served:
        status, headers, _ = call(served, "/ping")
        assert (status, headers["x-model-version"]) == (200, "mlops-demo-prod/4")
        assert json.loads(call(served, "/execution-parameters")[2])["MaxPayloadInMB"] == 1
        assert (
            call(served, "/invocations", b"1" * (1024 * 1024 + 1), **{"Content-Type": "text/csv"})[
                0
            ]
            == 413
        )
        started = time.monotonic()
        served.process.send_signal(signal.SIGTERM)
        assert served.process.wait(timeout=30) == 0
        assert time.monotonic() - started < 10
        assert f"serving the model in {archive_dir} (version mlops-demo-prod/4)" in served.output()


def test_a_sigterm_while_a_worker_still_starts_stops_the_server(model_dir: Path) -> None:
    # The first /ping answers once one worker serves; the other may still be starting, and
    # granian loses a SIGTERM that reaches it then (its stop handler comes later): without the
    # kill timeout the server never exited, in most stops right after that /ping (asked for
    # closely, so that the SIGTERM comes while the other worker starts).
    for _ in range(2):
        port = free_port()
        command = server_command(model_dir, port, "--workers", "2")
        with serving(command, port, poll_seconds=0.01) as served:
            started = time.monotonic()
            served.process.send_signal(signal.SIGTERM)
            assert served.process.wait(timeout=20) == 0
            assert time.monotonic() - started < serve.WORKERS_KILL_TIMEOUT + 3


def test_with_a_capture_folder_every_answer_is_recorded_as_sagemaker_captures_it(
    model_dir: Path, model: handler.Model, features: pd.DataFrame, tmp_path: Path
) -> None:
    # What the drift check reads from an endpoint, read back the same way from a local server.
    from training_pipeline.steps import drift

    port = free_port()
    command = server_command(model_dir, port, "--workers", "2", "--capture-dir", str(tmp_path))
    sent = [features.iloc[:40], features.iloc[40:70], features.iloc[70:100]]
    with serving(command, port) as served:
        for rows in sent[:2]:
            assert (
                call(served, "/invocations", csv_body(rows), **{"Content-Type": "text/csv"})[0]
                == 200
            )
        body = json.dumps(sent[2].to_dict("records")).encode()
        assert call(served, "/invocations", body, **{"Content-Type": "application/json"})[0] == 200
        # Refused requests are not traffic the model answered: not recorded.
        assert call(served, "/invocations", b"1,2\n", **{"Content-Type": "text/csv"})[0] == 400
    lines = [
        line for path in sorted(tmp_path.glob("*.jsonl")) for line in path.read_bytes().splitlines()
    ]
    assert len(lines) == 3
    record = json.loads(lines[0])
    assert record["eventVersion"] == "0" and record["eventMetadata"]["inferenceTime"].endswith("Z")
    assert record["captureData"]["endpointInput"]["mode"] == "INPUT"

    capture = drift.read_capture(lines, list(features.columns), "malignant_probability")

    assert capture.unreadable == 0
    got = capture.rows.sort_values(list(features.columns)).reset_index(drop=True)
    expected = features.iloc[:100].assign(
        malignant_probability=model.estimator.predict_proba(features.iloc[:100])[:, 1]
    )
    expected = expected.sort_values(list(features.columns)).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
