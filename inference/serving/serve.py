"""The model server: SageMaker's container contract (``app.py``) on granian, a worker per core.

    serve                                  # in the image (SageMaker runs `docker run IMAGE serve`)
    python -m inference.serving.serve --model-dir ./model --port 8080 --host 127.0.0.1

The model is loaded (and its digest checked) once, before the port is opened: without a
loadable model the server does not start but exits with status 1 and one ``cannot start: ...``
line, so SageMaker fails the endpoint at once with that line in CloudWatch instead of waiting
out the ping health check. The workers are forked from the process that loaded it; where
processes are spawned instead (macOS), each loads it again from the same settings.

Why granian: of the servers measured for this contract (inference/README.md), it is the one
that bounds the time to read request headers, so a client trickling them cannot hold a worker;
its HTTP layer (hyper) writes each answer in one go and refuses malformed request lines with a
400 itself.

Settings, flags over environment over defaults:
    --model-dir      SM_MODEL_DIR                    /opt/ml/model
    --port           SAGEMAKER_BIND_TO_PORT          8080
    --host                                           0.0.0.0
    --workers        SAGEMAKER_MODEL_SERVER_WORKERS  the CPUs this process may run on
    --model-digest   MODEL_DIGEST                    (the deploy code sets the package's)
    --model-version  MODEL_VERSION                   (the deploy code sets group/version)
    --max-body-mb    SAGEMAKER_MAX_PAYLOAD_IN_MB     6 (batch transform sets its MaxPayloadInMB)
    --read-timeout   MODEL_SERVER_READ_TIMEOUT       20 s for the headers, then for the body
    --capture-dir    CAPTURE_DIR                     (off) record every answered request there,
                                                     as SageMaker's data capture does (capture.py)
"""

import argparse
import logging
import os
import sys
from collections.abc import Sequence

import sklearn
import threadpoolctl
from granian import Granian
from granian.constants import HTTPModes, Interfaces, RuntimeModes
from granian.http import HTTP1Settings
from starlette.applications import Starlette

from inference.serving import handler
from inference.serving.app import MEGABYTE, Limits, create_app
from inference.serving.capture import CaptureWriter

DEFAULT_MODEL_DIR = "/opt/ml/model"
DEFAULT_PORT = 8080
# Requests a worker holds at once; the rest wait in the listen backlog. Scoring runs one call at
# a time per worker, so more would only buffer bodies: this bounds a worker's memory to about
# BACKPRESSURE request bodies, plus the parsed rows of those waiting to be scored together
# (under 4 MB each: a larger request is scored at once; dynamic_batching.py).
BACKPRESSURE = 8
# Seconds a worker gets to finish its requests after SIGTERM before it is killed. Without a
# bound, a SIGTERM that reaches a worker still starting up is lost (granian installs its stop
# handler only once the worker serves) and the server never exits: most stops right after the
# first /ping hung. A worker holds at most BACKPRESSURE requests, and even 8 of 6 MB take
# about 2 s.
WORKERS_KILL_TIMEOUT = 3
# Requests a batch transform keeps in flight per worker (MaxConcurrentTransforms in
# /execution-parameters). The kernel gives each new connection to a worker at random and a
# keep-alive connection stays with it: with one connection per worker, two connections landed
# on the same worker in 11 of 20 tries, leaving the other core idle for the whole transform.
# With four per worker, a worker is left without any with probability workers * (1 -
# 1/workers)^(4 * workers): under 1% for 2 workers. The extra requests wait in the worker
# (within BACKPRESSURE) while it scores, and are then scored together in one call
# (dynamic_batching.py). SageMaker refuses a transform whose MaxConcurrentTransforms times
# MaxPayloadInMB exceeds 100 MB.
IN_FLIGHT_PER_WORKER = 4
TRANSFORM_MB_IN_FLIGHT = 100

# The environment variable of each flag: its default, and what main() exports for the workers.
_ENVIRONMENT = {
    "model_dir": "SM_MODEL_DIR",
    "port": "SAGEMAKER_BIND_TO_PORT",
    "workers": "SAGEMAKER_MODEL_SERVER_WORKERS",
    "model_digest": "MODEL_DIGEST",
    "model_version": "MODEL_VERSION",
    "max_body_mb": "SAGEMAKER_MAX_PAYLOAD_IN_MB",
    "read_timeout": "MODEL_SERVER_READ_TIMEOUT",
    "capture_dir": "CAPTURE_DIR",
}

log = logging.getLogger("inference.serving.serve")

# The loaded model, set by main() before the workers fork, so they share it.
_served: tuple[handler.Model, Limits, str | None] | None = None


def application() -> Starlette:
    """granian's factory, called in each worker."""
    # One scoring thread per worker: the workers already keep every core busy, and OpenMP or
    # BLAS threads on top of them would fight over the same cores (a 1,000-row predict_proba
    # then takes 5 to 20 ms instead of a steady 6).
    threadpoolctl.threadpool_limits(1)
    if _served is None:  # a spawned worker: load from the settings main() exported
        args = parse_args([])
        served = (_load(args), _limits(args), args.capture_dir)
    else:
        served = _served
    model, limits, capture_dir = served
    return create_app(model, limits, CaptureWriter(capture_dir) if capture_dir else None)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model-dir",
        default=env(_ENVIRONMENT["model_dir"]) or DEFAULT_MODEL_DIR,
        help="folder with model.joblib or model.tar.gz (default: $SM_MODEL_DIR or %(default)s)",
    )
    parser.add_argument(
        "--port",
        type=_bounded(int, 1, 65535),
        default=env(_ENVIRONMENT["port"]) or DEFAULT_PORT,
        help="default: $SAGEMAKER_BIND_TO_PORT or 8080",
    )
    parser.add_argument("--host", default="0.0.0.0", help="default: %(default)s (all interfaces)")
    parser.add_argument(
        "--workers",
        type=_bounded(int, 1, 512),
        default=env(_ENVIRONMENT["workers"]) or _usable_cpus(),
        help="worker processes (default: $SAGEMAKER_MODEL_SERVER_WORKERS or one per CPU)",
    )
    parser.add_argument(
        "--model-digest",
        default=env(_ENVIRONMENT["model_digest"]) or None,
        help="refuse to serve a model whose files do not have this digest (default: "
        "$MODEL_DIGEST, which the deploy code sets from the package's model_digest)",
    )
    parser.add_argument(
        "--model-version",
        default=env(_ENVIRONMENT["model_version"]) or None,
        help="what answers name as their model version (default: $MODEL_VERSION, else the "
        "digest of the model's files)",
    )
    parser.add_argument(
        "--max-body-mb",
        type=_bounded(int, 1, 100),
        default=env(_ENVIRONMENT["max_body_mb"]) or 6,
        help="largest request body in MB (default: $SAGEMAKER_MAX_PAYLOAD_IN_MB or 6)",
    )
    parser.add_argument(
        "--read-timeout",
        type=_bounded(float, 0.1, 60),
        default=env(_ENVIRONMENT["read_timeout"]) or 20.0,
        help="seconds a client has to send the headers, and then the body, of a request "
        "(default: $MODEL_SERVER_READ_TIMEOUT or 20)",
    )
    parser.add_argument(
        "--capture-dir",
        default=env(_ENVIRONMENT["capture_dir"]) or None,
        help="record every answered request with its answer in this folder, in SageMaker's "
        "data-capture format (default: $CAPTURE_DIR, else nothing is recorded)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Load the model, then serve until SIGTERM or SIGINT. Returns the exit status."""
    global _served
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s"
    )
    args = parse_args(argv)
    try:
        model = _load(args)
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
    _served = (model, _limits(args), args.capture_dir)
    for name, variable in _ENVIRONMENT.items():
        if getattr(args, name) is not None:
            os.environ[variable] = str(getattr(args, name))
    log.info(
        "serving the model in %s (version %s) on http://%s:%s with %d worker(s)",
        args.model_dir,
        model.version,
        args.host,
        args.port,
        args.workers,
    )
    server = Granian(
        "inference.serving.serve:application",
        address=args.host,
        port=args.port,
        interface=Interfaces.ASGI,
        factory=True,
        workers=args.workers,
        backpressure=BACKPRESSURE,
        workers_kill_timeout=WORKERS_KILL_TIMEOUT,
        http=HTTPModes.http1,
        # One I/O thread per worker: the worker's Python thread needs the rest of its core.
        runtime_mode=RuntimeModes.st,
        websockets=False,
        http1_settings=HTTP1Settings(
            # --read-timeout is at most 60 s, granian's ceiling for this one.
            header_read_timeout=int(args.read_timeout * 1000)
        ),
        # SageMaker pings every few seconds: an access log would be mostly pings.
        log_access=False,
    )
    try:
        server.serve()
    except SystemExit as stopped:  # granian exits non-zero when a worker failed
        return int(stopped.code or 0)
    log.info("stopped")
    return 0


def _usable_cpus() -> int:
    """The CPUs this process may run on (a container's share, on Linux); all of them where the
    platform does not say (macOS)."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity else os.cpu_count() or 1


def _load(args: argparse.Namespace) -> handler.Model:
    return handler.load_model(args.model_dir, args.model_digest, args.model_version)


def _limits(args: argparse.Namespace) -> Limits:
    return Limits(
        max_body_bytes=args.max_body_mb * MEGABYTE,
        body_timeout_seconds=args.read_timeout,
        concurrency=max(
            1,
            min(args.workers * IN_FLIGHT_PER_WORKER, TRANSFORM_MB_IN_FLIGHT // args.max_body_mb),
        ),
    )


def _bounded(kind: type, low: float, high: float):
    def parse(text: str):
        value = kind(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} is not between {low} and {high}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its error message
    return parse


if __name__ == "__main__":
    # Through the importable module, not this __main__ copy: the forked workers find the
    # loaded model in inference.serving.serve, where granian's factory looks.
    from inference.serving import serve

    sys.exit(serve.main())
