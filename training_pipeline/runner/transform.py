"""Transform steps: a CreateTransformJob request served by the model's server, run locally.

SageMaker starts the model's container (`docker run IMAGE serve`) with the model extracted into
/opt/ml/model, waits for `GET /ping`, asks `GET /execution-parameters`, then sends each input
object's records to `POST /invocations` in mini-batches and writes each object's answers to
`<object>.out` under S3OutputPath. The runner does the same with the container's `serve` run as
a local process. Without Docker no image can be pulled, so every model is served by this
checkout's inference server (`python -m inference.serving.serve`, what the inference image's
`serve` runs: inference/serving/Dockerfile), as processing and training jobs run their scripts
with the runner's interpreter instead of their images.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.client
import json
import os
import signal
import socket
import subprocess
import tarfile
import threading
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .container import job_environment, python_shim
from .errors import StepFailure
from .jobs import JobContext, check_keys, check_value
from .process import tracked
from .s3 import join_uri, relative_key, split_uri

# The checkout whose inference server stands in for the model's image.
SOURCE_ROOT = Path(__file__).resolve().parents[2]
SERVER_MODULE = "inference.serving.serve"
STARTUP_SECONDS = 120.0
MEGABYTE = 1024 * 1024
# SageMaker's defaults when neither the request nor the container says.
DEFAULT_MAX_PAYLOAD_MB = 6

_HANDLED = {
    "ModelName",
    "TransformInput",
    "TransformOutput",
    "TransformResources",
    "BatchStrategy",
    "MaxPayloadInMB",
    "MaxConcurrentTransforms",
    "Environment",
    "TransformJobName",
}
_IGNORED = {"Tags", "ExperimentConfig"}


def validate(step: str, arguments: Mapping[str, Any]) -> None:
    """Reject, before anything runs, what a local transform job cannot honour."""
    where = f"Transform step {step!r}"
    check_keys(where, arguments, _HANDLED, _IGNORED)
    transform_input = arguments.get("TransformInput")
    check_keys(
        f"{where} TransformInput",
        transform_input,
        {"DataSource", "ContentType", "SplitType", "CompressionType"},
    )
    source = transform_input.get("DataSource")
    check_keys(f"{where} TransformInput.DataSource", source, {"S3DataSource"})
    check_keys(
        f"{where} TransformInput.DataSource.S3DataSource",
        source.get("S3DataSource"),
        {"S3DataType", "S3Uri"},
    )
    check_value(f"{where} S3DataType", source["S3DataSource"].get("S3DataType"), {"S3Prefix"})
    check_value(f"{where} SplitType", transform_input.get("SplitType"), {"None", "Line"})
    check_value(f"{where} CompressionType", transform_input.get("CompressionType"), {"None"})
    output = arguments.get("TransformOutput")
    check_keys(
        f"{where} TransformOutput", output, {"S3OutputPath", "Accept", "AssembleWith", "KmsKeyId"}
    )
    check_value(f"{where} AssembleWith", output.get("AssembleWith"), {"None", "Line"})
    check_value(
        f"{where} BatchStrategy", arguments.get("BatchStrategy"), {"MultiRecord", "SingleRecord"}
    )


def run(context: JobContext, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """Serve the model, send it every record, upload the answers; DescribeTransformJob-like."""
    started = dt.datetime.now(dt.UTC)
    container = _container(context, arguments["ModelName"])
    context.log(
        f"    image {container.get('Image')} is not pulled: its `serve` runs locally as "
        f"{SERVER_MODULE}"
    )
    model_dir = context.root.path("/opt/ml/model")
    _extract_model(context, container.get("ModelDataUrl"), model_dir)
    instances = arguments.get("TransformResources", {}).get("InstanceCount", 1)
    if instances != 1:
        context.log(f"    InstanceCount {instances}: one local server scores every object")
    max_payload = arguments.get("MaxPayloadInMB")
    environment = {
        **container.get("Environment", {}),
        **arguments.get("Environment", {}),
        "SAGEMAKER_BATCH": "true",
    }
    if max_payload is not None:
        environment["SAGEMAKER_MAX_PAYLOAD_IN_MB"] = str(max_payload)
    with _Server(context, model_dir, environment) as server:
        hints = server.execution_parameters()
        try:
            plan = _plan(arguments, hints)
        except (TypeError, ValueError) as error:
            raise StepFailure(
                f"the model server's /execution-parameters are unusable: {error}"
            ) from None
        counts = _transform_objects(context, server, plan, arguments)
    context.log(f"    {counts['records']} records of {counts['objects']} object(s) transformed")
    ended = dt.datetime.now(dt.UTC).isoformat()
    return {
        **arguments,
        "TransformJobName": context.job_name,
        "TransformJobArn": context.arn("transform-job", context.job_name),
        "TransformJobStatus": "Completed",
        "CreationTime": started.isoformat(),
        "TransformStartTime": started.isoformat(),
        "TransformEndTime": ended,
    }


def _plan(arguments: Mapping[str, Any], hints: Mapping[str, Any]) -> _Plan:
    """The request's settings, else the container's hints, else SageMaker's defaults."""
    max_payload = arguments.get("MaxPayloadInMB")
    return _Plan(
        content_type=arguments["TransformInput"].get("ContentType"),
        accept=arguments["TransformOutput"].get("Accept"),
        split=arguments["TransformInput"].get("SplitType", "None"),
        single=(arguments.get("BatchStrategy") or _strategy(hints)) == "SingleRecord",
        max_bytes=int(max_payload or hints.get("MaxPayloadInMB") or DEFAULT_MAX_PAYLOAD_MB)
        * MEGABYTE,
        concurrency=int(
            arguments.get("MaxConcurrentTransforms") or hints.get("MaxConcurrentTransforms") or 1
        ),
        joiner=b"\n" if arguments["TransformOutput"].get("AssembleWith") == "Line" else b"",
    )


def _strategy(hints: Mapping[str, Any]) -> str:
    # The container says MULTI_RECORD / SINGLE_RECORD; the API says MultiRecord / SingleRecord.
    return "SingleRecord" if hints.get("BatchStrategy") == "SINGLE_RECORD" else "MultiRecord"


def _container(context: JobContext, model_name: str) -> dict[str, Any]:
    """The model's container, with a model package's image and artifact filled in."""
    sagemaker = context.client("sagemaker")
    model = context.retrier.call(sagemaker.describe_model, ModelName=model_name)
    container = dict(model.get("PrimaryContainer") or (model.get("Containers") or [{}])[0])
    package = container.get("ModelPackageName")
    if package:
        described = context.retrier.call(sagemaker.describe_model_package, ModelPackageName=package)
        packaged = (described.get("InferenceSpecification") or {}).get("Containers") or [{}]
        container = {**packaged[0], **container}
    if not container.get("ModelDataUrl"):
        raise StepFailure(f"model {model_name} has no ModelDataUrl: there is nothing to serve")
    return container


def _extract_model(context: JobContext, url: str, model_dir: Path) -> None:
    archive = context.job_dir / "model.tar.gz"
    context.s3.download_file(url, archive)
    model_dir.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(model_dir, filter="data")  # no paths outside, no devices
    except (tarfile.TarError, OSError) as error:
        raise StepFailure(f"cannot extract the model {url}: {error}") from None
    archive.unlink()


@dataclass(frozen=True)
class _Plan:
    """How records are cut into requests and answers put together."""

    content_type: str | None
    accept: str | None
    split: str  # "Line": a record per line; "None": the whole object is one
    single: bool  # one record per request (SingleRecord), else as many as max_bytes allow
    max_bytes: int
    concurrency: int  # requests in flight at once
    joiner: bytes  # between answers in FILE.out (AssembleWith Line: a newline)

    def requests(self, body: bytes) -> Iterator[tuple[int, int, bytes]]:
        """(first record, last record, request body) of one object: records are its non-blank
        lines, numbered from 1."""
        if self.split == "None":
            yield 1, 1, body
            return
        records = [line for line in body.splitlines(keepends=True) if line.strip()]
        start, size = 0, 0
        for index, record in enumerate(records):
            if len(record) > self.max_bytes:
                raise StepFailure(
                    f"record {index + 1} is {len(record)} bytes, above MaxPayloadInMB "
                    f"({self.max_bytes // MEGABYTE} MB)"
                )
            if index > start and (self.single or size + len(record) > self.max_bytes):
                yield start + 1, index, b"".join(records[start:index])
                start, size = index, 0
            size += len(record)
        if start < len(records):
            yield start + 1, len(records), b"".join(records[start:])


def _transform_objects(
    context: JobContext, server: _Server, plan: _Plan, arguments: Mapping[str, Any]
) -> dict[str, int]:
    source = arguments["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"]
    bucket, prefix = split_uri(source)
    s3 = context.client("s3")
    paginator = s3.get_paginator("list_objects_v2")
    pages = context.retrier.call(lambda: list(paginator.paginate(Bucket=bucket, Prefix=prefix)))
    keys = sorted(o["Key"] for page in pages for o in page.get("Contents", []))
    keys = [key for key in keys if not key.endswith("/")]
    if not keys:
        raise StepFailure(f"no S3 objects found under {source}: nothing to transform")
    output = arguments["TransformOutput"]
    records = 0
    local = context.job_dir / "output"
    with ThreadPoolExecutor(max_workers=plan.concurrency) as pool:
        for key in keys:
            body = context.retrier.call(
                lambda k=key: s3.get_object(Bucket=bucket, Key=k)["Body"].read()
            )
            where = f"s3://{bucket}/{key}"
            requests = list(plan.requests(body))
            answers = pool.map(lambda r, w=where: server.invoke(w, r, plan), requests)
            target = local / f"{relative_key(prefix, key)}.out"
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(plan.joiner.join(answers) + (plan.joiner if requests else b""))
            except OSError as error:
                raise StepFailure(f"cannot keep the answers to {where}: {error}") from None
            context.s3.upload_file(
                target,
                join_uri(output["S3OutputPath"], target.relative_to(local).as_posix()),
                output.get("KmsKeyId"),
            )
            records += requests[-1][1] if requests else 0
    return {"objects": len(keys), "records": records}


class _Server:
    """The model's server as a local process, for the length of the job."""

    def __init__(self, context: JobContext, model_dir: Path, environment: Mapping[str, str]):
        self.context = context
        self.model_dir = model_dir
        self.environment = environment
        self.port = _free_port()
        self.process: subprocess.Popen | None = None
        self.tracking = contextlib.ExitStack()
        self.local = threading.local()
        self.connections: list[http.client.HTTPConnection] = []

    def __enter__(self) -> _Server:
        variables = {
            **self.environment,
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(SOURCE_ROOT), os.environ.get("PYTHONPATH")])
            ),
        }
        env = job_environment(
            self.context.session,
            variables,
            self.context.root,
            python_shim(self.context.job_dir / "bin", self.context.python),
        )
        command = [
            self.context.python,
            "-m",
            SERVER_MODULE,
            "--model-dir",
            str(self.model_dir),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]
        self.log_path = self.context.job_dir / "job.log"
        try:
            with self.log_path.open("ab") as log:
                # A session of its own: the server and the workers it forks stop together.
                self.process = subprocess.Popen(
                    command,
                    env=env,
                    cwd=self.context.job_dir,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
        except OSError as error:
            raise StepFailure(f"cannot start the model server: {error}") from None
        # Counted among the running jobs until it is stopped: an interrupted runner ends it.
        self.tracking.enter_context(tracked(self.process))
        try:
            self._await_ping()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        for connection in self.connections:
            connection.close()
        if self.process is None:
            return
        # The whole group: the server's workers too, even when the server itself has exited.
        self._signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=15)
        self._signal(signal.SIGKILL)
        self.process.wait()
        self.tracking.close()

    def _signal(self, number: int) -> None:
        with contextlib.suppress(ProcessLookupError):  # nothing of the group is left
            os.killpg(self.process.pid, number)

    def _await_ping(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise StepFailure(f"the model server did not start: {self._last_log_line()}")
            try:
                if self._request("GET", "/ping")[0] == 200:
                    return
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(0.1)
        raise StepFailure(f"the model server did not answer /ping within {STARTUP_SECONDS:g}s")

    def execution_parameters(self) -> dict[str, Any]:
        """The container's hints; none when it offers none (the path is optional)."""
        try:
            status, body = self._request("GET", "/execution-parameters")
            hints = json.loads(body) if status == 200 else {}
        except (OSError, http.client.HTTPException, ValueError):
            return {}
        return hints if isinstance(hints, dict) else {}

    def invoke(self, where: str, request: tuple[int, int, bytes], plan: _Plan) -> bytes:
        first, last, body = request
        headers = {"Content-Type": plan.content_type or "", "Accept": plan.accept or "*/*"}
        try:
            status, answer = self._request("POST", "/invocations", body, headers)
        except (OSError, http.client.HTTPException) as error:
            raise StepFailure(
                f"{where}: the model server stopped answering ({error}): {self._last_log_line()}"
            ) from None
        if status != 200:
            try:
                message = json.loads(answer)["error"]
            except (ValueError, KeyError, TypeError):
                message = answer[:300].decode("utf-8", "replace")
            records = f"record {first}" if first == last else f"records {first}-{last}"
            raise StepFailure(f"{where} {records}: the model answered {status}: {message}")
        return answer

    def _request(
        self, method: str, path: str, body: bytes | None = None, headers: dict | None = None
    ) -> tuple[int, bytes]:
        # One keep-alive connection per thread of the pool.
        connection = getattr(self.local, "connection", None)
        if connection is None:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            self.local.connection = connection
            self.connections.append(connection)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException):
            connection.close()
            self.local.connection = None
            raise

    def _last_log_line(self) -> str:
        lines = self.log_path.read_text(errors="replace").strip().splitlines()
        return lines[-1] if lines else f"it exited with status {self.process.returncode}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
