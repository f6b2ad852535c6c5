"""SageMaker's container contract as an ASGI application (Starlette), for one loaded model.

    GET  /ping                  200 {"status": "healthy", "model_version": ...}
    POST /invocations           200 {"model_version": ..., "predictions": [...]}; requests that
                                queue in a worker are scored in one call (dynamic_batching.py)
    GET  /execution-parameters  batch transform's hints, with the body limit in force
    GET  /openapi.json          this contract, with the model's features (contract.py)

Every answer carries ``X-Model-Version`` and every error is ``{"error": "..."}`` saying what is
wrong: 400 malformed body, 404/405 path or method, 406 Accept, 408 body not received in time,
411 no Content-Length, 413 body above the limit, 415 Content-Type, 500 a bug (details in the log
only). The body limit is checked from Content-Length before a byte of the body is read, and the
whole body must arrive within one deadline, so a client trickling bytes cannot hold a worker
longer than that (granian's header timeout does the same for the headers; serve.py).
"""

import asyncio
import logging
from dataclasses import dataclass

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from inference.serving import contract, handler
from inference.serving.capture import CaptureWriter
from inference.serving.dynamic_batching import DynamicBatcher
from inference.serving.parsing import JSON, REAL_TIME_PAYLOAD_BYTES, RequestError

MODEL_VERSION_HEADER = "X-Model-Version"
MEGABYTE = 1024 * 1024

log = logging.getLogger("inference.serving.app")


@dataclass(frozen=True)
class Limits:
    """What one request may cost. SageMaker caps real-time payloads at 6 MB; batch transform
    passes its MaxPayloadInMB to the container (serve.py reads it)."""

    max_body_bytes: int = REAL_TIME_PAYLOAD_BYTES
    body_timeout_seconds: float = 20.0
    concurrency: int = 4  # requests a batch transform keeps in flight (serve.py)


def create_app(
    model: handler.Model, limits: Limits = Limits(), capture: CaptureWriter | None = None
) -> Starlette:
    """The application serving ``model``; with ``capture``, every answered request is recorded
    with its answer (capture.py)."""

    batcher = DynamicBatcher(model)

    def answer(status: int, document: dict, **headers: str) -> Response:
        return _response(status, orjson.dumps(document), model.version, **headers)

    async def ping(_: Request) -> Response:
        return answer(200, {"status": "healthy", "model_version": model.version})

    async def execution_parameters(_: Request) -> Response:
        return answer(
            200,
            {
                "MaxConcurrentTransforms": limits.concurrency,
                "BatchStrategy": "MULTI_RECORD",
                "MaxPayloadInMB": limits.max_body_bytes // MEGABYTE,
            },
        )

    async def openapi(_: Request) -> Response:
        return answer(200, contract.document(model, limits))

    async def invocations(request: Request) -> Response:
        headers = request.headers
        with batcher.arriving():
            try:
                body = await read_body(request, limits)
            except ClientDisconnect:
                return Response(status_code=400)  # nobody is left to read it
            rows = handler.request_rows(
                model, body, headers.get("content-type"), headers.get("accept")
            )
        # Parsing and scoring run on the event loop: the work is CPU-bound and a worker per
        # core already keeps every core busy; a thread pool would only add switches. Requests
        # that queue meanwhile are scored together (dynamic_batching.py).
        payload = orjson.dumps(handler.answer(model, await batcher.score(rows)))
        if capture is not None:
            capture.record(body, headers["content-type"], payload, JSON)
        return _response(200, payload, model.version)

    async def request_error(_: Request, error: Exception) -> Response:
        assert isinstance(error, RequestError)
        # After a refusal the rest of the body may still be on its way: close the connection
        # rather than read it.
        close = {"Connection": "close"} if error.status in (408, 411, 413) else {}
        return answer(error.status, {"error": str(error)}, **close)

    async def http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        if error.status_code == 405:
            allowed = "POST" if request.url.path == "/invocations" else "GET"
            message = f"{request.method} is not allowed on {request.url.path}: use {allowed}"
            return answer(405, {"error": message}, Allow=allowed)
        paths = "/ping, /invocations, /execution-parameters or /openapi.json"
        return answer(error.status_code, {"error": f"no such path {request.url.path}: use {paths}"})

    async def server_error(_: Request, error: Exception) -> Response:
        # A bug or a model that cannot score valid input: the traceback goes to the log, the
        # caller learns only that it was not their fault.
        log.error("invocation failed", exc_info=error)
        return answer(500, {"error": "internal error while predicting"})

    return Starlette(
        routes=[
            Route("/ping", ping, methods=["GET"]),
            Route("/invocations", invocations, methods=["POST"]),
            Route("/execution-parameters", execution_parameters, methods=["GET"]),
            Route("/openapi.json", openapi, methods=["GET"]),
        ],
        exception_handlers={
            RequestError: request_error,
            HTTPException: http_error,
            Exception: server_error,
        },
    )


async def read_body(request: Request, limits: Limits) -> bytes:
    """The request body, refused from its headers alone when it could not be served.

    Raises:
        RequestError: 411 without a Content-Length (chunked), 413 above the limit, 408 if the
            declared body has not fully arrived within the deadline.
    """
    if "chunked" in request.headers.get("transfer-encoding", "").lower():
        raise RequestError("send a Content-Length (no chunked bodies)", 411)
    declared = request.headers.get("content-length")
    if declared is None:
        raise RequestError("send a Content-Length header with the body", 411)
    length = int(declared)  # the HTTP layer (hyper) has refused a malformed one with a 400
    if length > limits.max_body_bytes:
        raise RequestError(
            f"request body of {length} bytes exceeds {limits.max_body_bytes} bytes: "
            "split the batch",
            413,
        )
    chunks: list[bytes] = []  # joined once at the end: one copy of the body, not two
    try:
        async with asyncio.timeout(limits.body_timeout_seconds):
            async for chunk in request.stream():
                chunks.append(chunk)
    except TimeoutError:
        raise RequestError(
            f"the body did not arrive within {limits.body_timeout_seconds:g} s: "
            f"{sum(map(len, chunks))} of its {length} bytes came",
            408,
        ) from None
    return b"".join(chunks)


def _response(
    status: int, body: bytes, version: str, content_type: str = JSON, **headers: str
) -> Response:
    return Response(
        body,
        status_code=status,
        media_type=content_type,
        headers={MODEL_VERSION_HEADER: version, **headers},
    )
