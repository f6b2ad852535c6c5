"""Serving: the model server on loopback against the model's own predict_proba, in one run.

    .venv/bin/python benchmarks/serving.py [--single 2000] [--batches 300] [--seconds 5]

A model is trained with the pipeline's default hyperparameters on the reference table and
saved as the training step saves it; the server (`python -m inference.serving.serve`, one worker
per core) serves it on a free loopback port. The clients send a prebuilt request on a raw
keep-alive socket and read each answer by its Content-Length (``_Connection``), so that they
take little of the cores the server is measured on; the table shows what they used under the
batch load. Then, each figure next to its floor:

- single rows: one client on one keep-alive connection, `--single` requests of one CSV row;
  p50 and p99 latency.
- 1,000-row batches as a batch transform sends them: as many requests in flight as the
  server's `/execution-parameters` asks for (`MaxConcurrentTransforms`: four per worker), from
  up to 4 client processes, for `--seconds` (the requests that queue in a worker are scored in
  one call: inference/serving/dynamic_batching.py); rows/s against the floor: one process per
  server worker, each calling the saved model's `predict_proba` on the same 1,000 rows (a
  DataFrame) with one thread, all at once (the server's compute without the server). Also against
  `predict_proba` in this process with scikit-learn's default threads, one per core (what a
  user calling the model gets), for information. They alternate in 5 rounds.
- 1,000-row batches one at a time: one client, `--batches` requests, against `predict_proba`
  with one thread, as a worker scores (information: the latency of one batch, where nothing
  overlaps the parsing with the model and nothing queues to be merged: the server's own cost
  per request).
- concurrency: 16 clients (4 processes of 4 threads, each thread its own connection) sending
  single rows for `--seconds`; requests/s and p99, and the ratio to one client's requests/s.
- memory: under one 6 MB CSV request (just under the limit), the peak resident set (VmHWM) of
  the worker that answered, and the whole server's peak: its processes' proportional set sizes
  (PSS, which splits a page shared by the forked workers among them instead of counting it in
  each) plus what the answering worker held at its peak beyond what it holds now.

Targets (issue 9): batch >= 0.9x the floor; single-row p99 < 5 ms; 16 clients >= 1.6x one
client's throughput on 2 cores with p99 < 50 ms; peak memory under a 6 MB request < 300 MB.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import orjson
import threadpoolctl

# Run as a script (python benchmarks/NAME.py): its folder is on sys.path.
from _common import PYTHON, REPO_ROOT, log, table  # noqa: E402

CLIENTS, CLIENT_PROCESSES = 16, 4
ROUNDS = 5
SIX_MB = 6 * 1024 * 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--single", type=int, default=2000, help="single-row requests")
    parser.add_argument("--batches", type=int, default=300, help="1,000-row requests")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each load run")
    args = parser.parse_args()

    import pandas as pd

    from training_pipeline.environment.data import load_reference_dataset, model_schema
    from training_pipeline.steps import artifacts, train

    schema = model_schema("cancer")
    reference = load_reference_dataset()
    hyperparameters = {"max_iter": 200, "learning_rate": 0.1, "max_depth": 3, "random_state": 42}
    estimator = train.train_model(reference, schema, hyperparameters)
    features = reference[list(schema.features)]
    rows = pd.concat([features] * 2, ignore_index=True).head(1000)
    batch = rows.to_csv(index=False, header=False).encode()
    single = rows.head(1).to_csv(index=False, header=False).encode()

    with tempfile.TemporaryDirectory() as folder:
        artifacts.save_bundle(train.make_bundle(estimator, hyperparameters, schema), folder)
        with _Server(Path(folder)) as server:
            log(f"server up on port {server.port} with {server.workers} workers")
            _check_answer(server.port, batch, len(rows))
            latencies = _sequential(server.port, single, args.single)
            in_flight = server.max_concurrent_transforms()
            # Alternating rounds, so that a change in the machine's load between two
            # measurements moves both figures rather than their ratio.
            floor_seconds, floor_one_seconds, batch_seconds = [], [], []
            transform_rates, workers_rates, client_cores = [], [], []
            for _ in range(ROUNDS):
                workers_rates.append(
                    _workers_floor(Path(folder), rows, server.workers, args.seconds / ROUNDS)
                )
                floor_seconds += _in_process(estimator, rows, args.batches // ROUNDS)
                transform = _load(server.port, batch, in_flight, args.seconds / ROUNDS)
                transform_rates.append(transform.rate * len(rows))
                client_cores.append(transform.client_cores)
                with threadpoolctl.threadpool_limits(1):
                    floor_one_seconds += _in_process(estimator, rows, args.batches // ROUNDS)
                batch_seconds += _sequential(server.port, batch, args.batches // ROUNDS)
            one = _load(server.port, single, clients=1, seconds=args.seconds)
            many = _load(server.port, single, clients=CLIENTS, seconds=args.seconds)
            big = _six_mb(features)
            worker_mb, tree_mb = server.peak_under(big)

    transform_rate = statistics.median(transform_rates)
    workers_floor = statistics.median(workers_rates)
    floor = len(rows) / statistics.median(floor_seconds)
    batch_rate = len(rows) / statistics.median(batch_seconds)
    floor_one = len(rows) / statistics.median(floor_one_seconds)
    print(
        table(
            ["figure", "measured", "floor / reference", "ratio", "target"],
            [
                ["single row p50", _ms(_pct(latencies, 50)), "", "", ""],
                ["single row p99", _ms(_pct(latencies, 99)), "", "", "< 5 ms"],
                [
                    f"1,000-row batches, {in_flight} in flight",
                    f"{transform_rate:,.0f} rows/s",
                    f"{workers_floor:,.0f} rows/s, {server.workers} processes",
                    f"{transform_rate / workers_floor:.2f}x",
                    ">= 0.9x",
                ],
                [
                    "",
                    "",
                    f"{floor:,.0f} rows/s, in process",
                    f"{transform_rate / floor:.2f}x",
                    "",
                ],
                [
                    "  the clients' own CPU",
                    f"{statistics.median(client_cores):.2f} cores",
                    f"of {server.workers}",
                    "",
                    "",
                ],
                [
                    "1,000-row batches, one at a time",
                    f"{batch_rate:,.0f} rows/s",
                    f"{floor_one:,.0f} rows/s, 1 thread",
                    f"{batch_rate / floor_one:.2f}x",
                    "",
                ],
                ["1 client", f"{one.rate:,.0f} req/s", "", "", ""],
                [
                    f"{CLIENTS} clients",
                    f"{many.rate:,.0f} req/s",
                    f"{one.rate:,.0f} req/s (1 client)",
                    f"{many.rate / one.rate:.2f}x",
                    ">= 1.6x",
                ],
                [f"{CLIENTS} clients p99", _ms(_pct(many.latencies, 99)), "", "", "< 50 ms"],
                ["6 MB request, worker peak (RSS)", f"{worker_mb:.0f} MB", "", "", ""],
                ["6 MB request, server peak (PSS)", f"{tree_mb:.0f} MB", "", "", "< 300 MB"],
            ],
        )
    )
    return 0


def _check_answer(port: int, body: bytes, rows: int) -> None:
    """The server answers ``body`` with one prediction per row, before anything is timed."""
    connection = _Connection(port, body)
    predictions = orjson.loads(connection.post())["predictions"]
    connection.close()
    if len(predictions) != rows:
        raise RuntimeError(f"{len(predictions)} predictions for {rows} rows")


def _in_process(estimator, rows, count: int) -> list[float]:
    """Seconds of each of ``count`` predict_proba calls on ``rows`` (a DataFrame, as the model
    was trained) in this process."""
    estimator.predict_proba(rows)
    times = []
    for _ in range(count):
        started = time.perf_counter()
        estimator.predict_proba(rows)
        times.append(time.perf_counter() - started)
    return times


def _workers_floor(model_dir: Path, rows, processes: int, seconds: float) -> float:
    """Rows/s of ``processes`` processes (one per server worker) each calling the saved
    model's predict_proba on ``rows`` with one thread for ``seconds``, all at once: the
    server's compute, without the server."""
    counts = _at_once(processes, _predicting, model_dir, rows, seconds=seconds)
    return sum(counts) * len(rows) / seconds


def _at_once(processes: int, function, *args: object, seconds: float) -> list:
    """``function(*args, start, seconds)`` in ``processes`` fresh processes, whose windows of
    ``seconds`` all begin at the one wall-clock ``start``; their results."""
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        pool.map(time.sleep, [0] * processes)  # every process started and imported
        start = time.time() + 0.5
        return pool.starmap(function, [(*args, start, seconds)] * processes)


def _predicting(model_dir: Path, rows, start: float, seconds: float) -> int:
    import joblib

    estimator = joblib.load(model_dir / "model.joblib")["model"]
    threadpoolctl.threadpool_limits(1)
    estimator.predict_proba(rows)
    time.sleep(max(0.0, start - time.time()))
    deadline, count = time.perf_counter() + seconds, 0
    while time.perf_counter() < deadline:
        estimator.predict_proba(rows)
        count += 1
    return count


def _six_mb(features) -> bytes:
    """Whole CSV rows of ``features``, repeated to just under 6 MB."""
    table = features.to_csv(index=False, header=False).encode()
    body = table * (SIX_MB // len(table) + 1)
    return body[: SIX_MB - 1].rsplit(b"\n", 1)[0] + b"\n"


def _sequential(port: int, body: bytes, count: int) -> list[float]:
    connection = _Connection(port, body)
    times = []
    for _ in range(count):
        started = time.perf_counter()
        connection.post()
        times.append(time.perf_counter() - started)
    connection.close()
    return times


class _Connection:
    """A keep-alive connection that sends one prebuilt ``POST /invocations`` and reads each
    answer by its Content-Length, checking its status.

    The clients share the 2 cores with the server they measure, which the floor has to itself,
    so they are kept lean: http.client parses every answer's headers with the email package,
    0.47 ms of CPU per 1,000-row request, 5% of the cores under the batch load; this takes
    about half of that (the table shows what the clients used)."""

    def __init__(self, port: int, body: bytes) -> None:
        head = f"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        head += f"Content-Type: text/csv\r\nContent-Length: {len(body)}\r\n\r\n"
        self.request = head.encode() + body
        self.socket = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def post(self) -> bytes:
        """Send the request; the answer's body."""
        self.socket.sendall(self.request)
        answer = bytearray()
        while (end := answer.find(b"\r\n\r\n")) < 0:
            answer += self._receive()
        status, *fields = bytes(answer[:end]).decode("latin-1").split("\r\n")
        headers = dict(field.lower().split(":", 1) for field in fields)
        if status.split()[1] != "200" or "content-length" not in headers:
            raise RuntimeError(f"unexpected answer: {status}, headers {sorted(headers)}")
        total = end + 4 + int(headers["content-length"])
        while len(answer) < total:
            answer += self._receive()
        return bytes(answer[end + 4 :])

    def _receive(self) -> bytes:
        chunk = self.socket.recv(1 << 18)
        if not chunk:
            raise RuntimeError("the server closed the connection")
        return chunk

    def close(self) -> None:
        self.socket.close()


class _Load:
    def __init__(self, requests: int, seconds: float, latencies: list[float], cpu: float) -> None:
        self.rate = requests / seconds
        self.latencies = latencies
        self.client_cores = cpu / seconds  # CPU the clients used, in cores


def _load(port: int, body: bytes, clients: int, seconds: float) -> _Load:
    processes = min(clients, CLIENT_PROCESSES)
    threads = clients // processes
    results = _at_once(processes, _client_process, port, body, threads, seconds=seconds)
    latencies = [latency for result, _ in results for latency in result]
    return _Load(len(latencies), seconds, latencies, sum(cpu for _, cpu in results))


def _client_process(
    port: int, body: bytes, threads: int, start: float, seconds: float
) -> tuple[list[float], float]:
    """The latencies of ``threads`` clients sending ``body`` for ``seconds`` from ``start``,
    and the CPU seconds this process spent meanwhile."""
    latencies: list[float] = []

    def client() -> None:
        connection = _Connection(port, body)
        time.sleep(max(0.0, start - time.time()))
        deadline = time.perf_counter() + seconds
        mine = []
        while (started := time.perf_counter()) < deadline:
            connection.post()
            mine.append(time.perf_counter() - started)
        latencies.extend(mine)
        connection.close()

    workers = [threading.Thread(target=client) for _ in range(threads)]
    for worker in workers:
        worker.start()
    time.sleep(max(0.0, start - time.time()))
    cpu = time.process_time()
    for worker in workers:
        worker.join()
    return latencies, time.process_time() - cpu


class _Server:
    """``python -m inference.serving.serve`` on a free loopback port, for the ``with`` block."""

    def __init__(self, model_dir: Path) -> None:
        self.model_dir = model_dir
        self.port = _free_port()
        self.workers = len(os.sched_getaffinity(0))

    def __enter__(self) -> _Server:
        self.process = subprocess.Popen(
            [PYTHON, "-m", "inference.serving.serve", "--model-dir", str(self.model_dir)]
            + ["--host", "127.0.0.1", "--port", str(self.port)],
            cwd=REPO_ROOT,
            # Without this script's OMP_NUM_THREADS: the server sets its own threads.
            env={
                **{k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"},
                "PYTHONPATH": str(REPO_ROOT),
            },
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the server did not start within 60 s")

    def __exit__(self, *_exc: object) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)

    def max_concurrent_transforms(self) -> int:
        """The requests in flight a batch transform keeps, as the server asks for them."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        connection.request("GET", "/execution-parameters")
        hints = orjson.loads(connection.getresponse().read())
        connection.close()
        return int(hints["MaxConcurrentTransforms"])

    def peak_under(self, body: bytes) -> tuple[float, float]:
        """Send ``body``; the peak MB of the worker that answered and of the whole tree."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        connection.request("POST", "/invocations", body, {"Content-Type": "text/csv"})
        response = connection.getresponse()
        response.read()
        assert response.status == 200, response.status
        connection.close()
        workers = _children(self.process.pid)
        worker_peak = max(_status_mb(pid, "VmHWM") for pid in workers)
        # Proportional set sizes share each page among the processes that map it (the workers
        # are forked from the main process, so most of their memory is its pages), plus the
        # part of the answering worker's peak that is no longer resident.
        resident = sum(_pss_mb(pid) for pid in [self.process.pid, *workers])
        transient = max(_status_mb(pid, "VmHWM") - _status_mb(pid, "VmRSS") for pid in workers)
        return worker_peak, resident + transient


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()]


def _status_mb(pid: int, field: str) -> float:
    return _field_mb(Path(f"/proc/{pid}/status"), field)


def _pss_mb(pid: int) -> float:
    return _field_mb(Path(f"/proc/{pid}/smaps_rollup"), "Pss")


def _field_mb(path: Path, field: str) -> float:
    for line in path.read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in {path}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _pct(values: list[float], percent: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * percent / 100))]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


if __name__ == "__main__":
    sys.exit(main())
