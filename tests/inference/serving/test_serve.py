"""inference/serving/serve.py: the real HTTP server on a loopback port, and the `serve` process.

Without a loadable model the server refuses to start (exit status 1, one ``cannot start:`` line)
rather than answering /ping with 503: see the module docstring of serve.py.
"""

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from inference.serving import handler, serve

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def url(model: handler.Model) -> Iterator[str]:
    server = serve.make_server(model, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def call(
    url: str, path: str, body: bytes | None = None, **headers: str
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url + path, data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def csv_body(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False, header=False).encode()


def test_ping_is_healthy(url: str) -> None:
    status, headers, body = call(url, "/ping")
    assert (status, json.loads(body)) == (200, {"status": "healthy"})
    assert headers["Content-Type"] == "application/json"


def test_csv_invocation(url: str, model: handler.Model, features: pd.DataFrame) -> None:
    status, headers, body = call(
        url, "/invocations", csv_body(features.head(50)), **{"Content-Type": "text/csv"}
    )
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    served = [p["malignant_probability"] for p in json.loads(body)["predictions"]]
    assert np.array_equal(served, model.estimator.predict_proba(features.head(50))[:, 1])


def test_json_invocation(url: str, features: pd.DataFrame) -> None:
    document = {"instances": features.head(3).to_numpy().tolist()}
    status, _, body = call(
        url,
        "/invocations",
        json.dumps(document).encode(),
        **{"Content-Type": "application/json", "Accept": "application/json"},
    )
    assert status == 200
    assert [set(p) for p in json.loads(body)["predictions"]] == [
        {"malignant_probability", "label"}
    ] * 3


def test_bad_csv_is_400_with_the_reason(url: str) -> None:
    status, headers, body = call(
        url, "/invocations", b"1.0,2.0,x\n", **{"Content-Type": "text/csv"}
    )
    assert status == 400
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body)["error"].startswith("text/csv row 1 (line 1) has 3 values, expected 30")


@pytest.mark.parametrize(
    ("headers", "status", "fragment"),
    [
        ({"Content-Type": "text/plain"}, 415, "unsupported Content-Type 'text/plain'"),
        ({"Content-Type": "text/csv", "Accept": "text/csv"}, 406, "application/json only"),
    ],
)
def test_negotiation_errors(url, features, headers, status, fragment) -> None:
    got, _, body = call(url, "/invocations", csv_body(features.head(1)), **headers)
    assert got == status
    assert fragment in json.loads(body)["error"]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/invocations", 405), ("GET", "/nowhere", 404), ("POST", "/ping", 405)],
)
def test_wrong_paths_and_methods(url: str, method: str, path: str, status: int) -> None:
    body = b"" if method == "POST" else None
    request = urllib.request.Request(url + path, data=body, method=method)
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)
    assert caught.value.code == status
    assert "error" in json.loads(caught.value.read())


def test_execution_parameters_for_batch_transform(url: str) -> None:
    status, _, body = call(url, "/execution-parameters")
    assert status == 200
    assert json.loads(body)["BatchStrategy"] == "MULTI_RECORD"


def test_keep_alive_connection_survives_an_error(url: str, features: pd.DataFrame) -> None:
    # SageMaker reuses connections: a 400 must consume its body and leave the connection usable.
    connection = http.client.HTTPConnection(url.removeprefix("http://"), timeout=10)
    try:
        for body, expected in [(b"bad", 400), (csv_body(features.head(2)), 200), (b"", 400)]:
            connection.request("POST", "/invocations", body, {"Content-Type": "text/csv"})
            response = connection.getresponse()
            response.read()
            assert response.status == expected
    finally:
        connection.close()


def test_chunked_body_is_411(url: str) -> None:
    host, port = url.removeprefix("http://").split(":")
    # The whole request in one write: the server answers 411 as soon as it has read the
    # headers and closes, which a client still writing chunks would meet as a broken pipe.
    request = (
        b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n4\r\n1,2\n\r\n0\r\n\r\n"
    )
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        response = http.client.HTTPResponse(sock)
        response.begin()
        assert response.status == 411
        assert json.loads(response.read()) == {"error": "send a Content-Length (no chunked bodies)"}


def test_oversized_body_is_413(
    url: str, features: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(serve, "MAX_BODY_BYTES", 100)
    status, _, body = call(
        url, "/invocations", csv_body(features.head(5)), **{"Content-Type": "text/csv"}
    )
    assert status == 413
    assert "exceeds 100 bytes: split the batch" in json.loads(body)["error"]


def test_prediction_bug_is_500_without_details(url: str, model, features, monkeypatch) -> None:
    def broken(*_args: object) -> dict:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(handler, "predict", broken)
    status, _, body = call(
        url, "/invocations", csv_body(features.head(1)), **{"Content-Type": "text/csv"}
    )
    assert (status, json.loads(body)) == (500, {"error": "internal error while predicting"})


# ---------------------------------------------------------------------------- the process


def serve_process(model_dir: Path, port: int | str, *args: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "SM_MODEL_DIR": str(model_dir),
        "SAGEMAKER_BIND_TO_PORT": str(port),
        "PYTHONPATH": str(REPO),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "inference.serving.serve", *args],
        cwd=REPO,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_serve_refuses_to_start_without_a_model(tmp_path: Path) -> None:
    process = serve_process(tmp_path, 0, "--host", "127.0.0.1")
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 1
    assert (
        stderr.strip()
        .splitlines()[-1]
        .endswith(
            f"ERROR cannot start: no model.joblib or model.tar.gz in {tmp_path} (it holds nothing)"
        )
    )


def test_serve_process_reads_its_environment_and_stops_on_sigterm(archive_dir: Path) -> None:
    # Port 0 through SAGEMAKER_BIND_TO_PORT: the OS picks a free port, the log line names it.
    process = serve_process(archive_dir, 0, "--host", "127.0.0.1")
    try:
        line = process.stderr.readline()
        found = re.search(r"serving the model in (\S+) on http://127\.0\.0\.1:(\d+)", line)
        assert found, line
        assert found.group(1) == str(archive_dir)
        status, _, _ = call(f"http://127.0.0.1:{found.group(2)}", "/ping")
        assert status == 200
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        assert time.monotonic() - started < 5
        assert "received SIGTERM, stopping" in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
