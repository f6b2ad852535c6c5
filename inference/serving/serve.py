"""SageMaker-compatible model server on the standard library's ``ThreadingHTTPServer``.

    serve                                  # in the image (SageMaker runs `docker run IMAGE serve`)
    python -m inference.serving.serve --model-dir ./model --port 8080 --host 127.0.0.1

Endpoints (the container contract of SageMaker hosting and batch transform):

    GET  /ping                   200 {"status": "healthy"}
    POST /invocations            200 {"predictions": [...]}; 400/406/413/415 {"error": "..."}
    GET  /execution-parameters   batch transform's tuning hints

The model is loaded once, before the port is opened: without a loadable model the server does
not start but exits with status 1 and one ``cannot start: ...`` line saying what the model
directory holds. SageMaker then fails the endpoint (or transform job) at once, with that line in
the container's CloudWatch log, instead of waiting out the ping health check.

Settings, flags over environment over defaults:
    --model-dir  SM_MODEL_DIR            /opt/ml/model
    --port       SAGEMAKER_BIND_TO_PORT  8080
    --host                               0.0.0.0
"""

import argparse
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import sklearn

from inference.serving import handler

DEFAULT_MODEL_DIR = "/opt/ml/model"
DEFAULT_PORT = 8080
# Batch transform's largest MaxPayloadInMB; real-time endpoints are capped at 6 MB upstream.
MAX_BODY_BYTES = 100 * 1024 * 1024
# An idle keep-alive connection holds a thread; SageMaker's invocation timeout is 60 s.
IDLE_TIMEOUT_SECONDS = 75

log = logging.getLogger("inference.serving.serve")


class InferenceServer(ThreadingHTTPServer):
    """An HTTP server holding one loaded model, shared read-only by the request threads."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], model: handler.Model) -> None:
        self.model = model
        super().__init__(address, RequestHandler)


class RequestHandler(BaseHTTPRequestHandler):
    # HTTP/1.1 keeps SageMaker's connections open between invocations; every response
    # therefore carries a Content-Length (see _reply).
    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT_SECONDS
    server_version = "model-server"  # not BaseHTTP's default, which names the Python version
    sys_version = ""
    server: InferenceServer

    def do_GET(self) -> None:
        path = self._path()
        if path == "/ping":
            self._reply(HTTPStatus.OK, {"status": "healthy"})
        elif path == "/execution-parameters":
            self._reply(
                HTTPStatus.OK,
                {
                    "MaxConcurrentTransforms": os.cpu_count() or 1,
                    "BatchStrategy": "MULTI_RECORD",
                    "MaxPayloadInMB": 6,
                },
            )
        elif path == "/invocations":
            self._error(HTTPStatus.METHOD_NOT_ALLOWED, "use POST /invocations", allow="POST")
        else:
            self._error(HTTPStatus.NOT_FOUND, f"no such path {path}: use /ping or /invocations")

    def do_POST(self) -> None:
        path = self._path()
        body = self._read_body(keep=path == "/invocations")
        if body is None:
            return  # _read_body has answered
        if path != "/invocations":
            status = HTTPStatus.METHOD_NOT_ALLOWED if path == "/ping" else HTTPStatus.NOT_FOUND
            self._error(status, f"no POST on {path}: use POST /invocations")
            return
        try:
            payload, content_type = handler.invoke(
                self.server.model,
                body,
                self.headers.get("Content-Type"),
                self.headers.get("Accept"),
            )
        except handler.RequestError as error:
            self._error(HTTPStatus(error.status), str(error))
            return
        except Exception:
            # A bug or a model that cannot score valid input: keep the traceback in the log,
            # tell the caller only that it was not their fault.
            log.exception("invocation failed")
            self._error(HTTPStatus.INTERNAL_SERVER_ERROR, "internal error while predicting")
            return
        self._send(HTTPStatus.OK, payload, content_type)

    # ------------------------------------------------------------------ helpers

    def _path(self) -> str:
        return self.path.split("?", 1)[0]

    def _read_body(self, keep: bool = True) -> bytes | None:
        """The request body (b"" unless ``keep``), or None after answering with an error.

        Bodies are always read to their end, even when refused: the connection is then ready
        for the next request, and the client is not cut off with a reset while still sending.
        """
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True  # its end cannot be found without decoding chunks
            self._error(HTTPStatus.LENGTH_REQUIRED, "send a Content-Length (no chunked bodies)")
            return None
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            self._error(HTTPStatus.BAD_REQUEST, "Content-Length is not a non-negative integer")
            return None
        if length > MAX_BODY_BYTES or not keep:
            self._drain(length)
            if length > MAX_BODY_BYTES:
                self._error(
                    HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                    f"request body of {length} bytes exceeds {MAX_BODY_BYTES} bytes: "
                    "split the batch",
                )
                return None
            return b""
        return self.rfile.read(length)

    def _drain(self, length: int) -> None:
        while length > 0:
            chunk = self.rfile.read(min(length, 1 << 16))
            if not chunk:
                break
            length -= len(chunk)

    def _error(self, status: HTTPStatus, message: str, *, allow: str | None = None) -> None:
        extra = {"Allow": allow} if allow else {}
        self._reply(status, {"error": message}, **extra)

    def _reply(self, status: HTTPStatus, document: dict, **headers: str) -> None:
        body = json.dumps(document).encode("utf-8")
        self._send(status, body, handler.JSON, **headers)

    def _send(self, status: HTTPStatus, body: bytes, content_type: str, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # SageMaker pings every few seconds; logging each healthy ping would bury the rest.
        if self._path() == "/ping" and str(code) == "200":
            return
        super().log_request(code, size)

    def log_message(self, format: str, *args: object) -> None:
        log.info("%s %s", self.address_string(), format % args)


def make_server(
    model: handler.Model, host: str = "0.0.0.0", port: int = DEFAULT_PORT
) -> InferenceServer:
    """A server bound to ``host:port`` (0 picks a free port), not yet serving."""
    return InferenceServer((host, port), model)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model-dir",
        default=os.environ.get("SM_MODEL_DIR") or DEFAULT_MODEL_DIR,
        help="folder with model.joblib or model.tar.gz (default: $SM_MODEL_DIR or %(default)s)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=os.environ.get("SAGEMAKER_BIND_TO_PORT") or DEFAULT_PORT,
        help="default: $SAGEMAKER_BIND_TO_PORT or 8080",
    )
    parser.add_argument("--host", default="0.0.0.0", help="default: %(default)s (all interfaces)")
    parser.add_argument(
        "--model-digest",
        default=os.environ.get("MODEL_DIGEST") or None,
        help="refuse to serve a model whose files do not have this digest (default: "
        "$MODEL_DIGEST, which the deploy code sets from the package's model_digest)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Load the model, then serve until SIGTERM or SIGINT. Returns the exit status."""
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s"
    )
    args = parse_args(argv)
    try:
        model = handler.load_model(args.model_dir, args.model_digest)
    except handler.ModelLoadError as error:
        log.error("cannot start: %s", error)
        return 1
    if model.version_mismatch:
        log.warning(
            "model trained with scikit-learn %s, serving with %s: rebuild the image from the "
            "commit that trained it",
            model.sklearn_version,
            sklearn.__version__,
        )
    try:
        server = make_server(model, args.host, args.port)
    except OSError as error:
        log.error("cannot start: cannot listen on %s:%s: %s", args.host, args.port, error)
        return 1
    _stop_on_signals(server)
    host, port = server.server_address[:2]
    log.info("serving the model in %s on http://%s:%s", args.model_dir, host, port)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    log.info("stopped")
    return 0


def _stop_on_signals(server: InferenceServer) -> None:
    # As PID 1 in a container the process ignores SIGTERM unless it handles it, so `docker
    # stop` and SageMaker would wait for SIGKILL. shutdown() blocks until serve_forever returns
    # and serve_forever runs in this (the main) thread, hence the helper thread.
    def stop(signum: int, _frame: object) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


if __name__ == "__main__":
    sys.exit(main())
