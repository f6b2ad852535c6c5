"""Dynamic batching: the requests waiting in one worker are scored in one call of the model.

A call of an ensemble's ``predict_proba`` costs its loop over the trees whatever the rows: for
the cancer model at the pipeline's defaults, 1.2 ms for one row or for 16, 7 ms for 1,000 and
19 ms for 4,000 (not 28). A worker scores one request at a time, so while it scores, others
queue in it (a batch transform keeps four per worker in flight, and concurrent clients do the
same); scoring those together is what Triton and TorchServe call dynamic batching. Nothing
waits for company: a request that finds the model idle and nobody else arriving is scored at
once, alone.

The scorer waits for requests that have arrived but are still being read or parsed, for at
most ``arrival_wait_seconds``, so that a client trickling its body delays the others by no more
than that. Without the wait, measured on 2 cores, the 1,000-row batches ran at 1.02x the floor
instead of 1.07-1.16x and 16 single-row clients at 5.6x one client instead of 7.3-9.0x
(benchmarks/serving.py).

Each row's prediction is the one the model gives it alone: the tree ensembles this template
trains score each row on its own (tests/inference/serving/test_dynamic_batching.py compares
them bit for bit). A model whose arithmetic mixes rows (BLAS kernels may round a row differently
by its place in a block) could differ in the last bit between a merged and a lone call.
"""

import asyncio
import contextlib
from collections.abc import Iterator

import numpy as np

from inference.serving import handler

# The merged matrix is a copy of the requests' rows; this bounds it, and the parsed rows each
# waiting request holds (a larger request is scored at once, alone).
MERGED_BYTES = 4 * 1024 * 1024
ARRIVAL_WAIT_SECONDS = 0.002


class DynamicBatcher:
    """Scores rows for the requests of one worker (one event loop), merging those that wait."""

    def __init__(
        self, model: handler.Model, arrival_wait_seconds: float = ARRIVAL_WAIT_SECONDS
    ) -> None:
        self.model = model
        self.max_rows = max(1, MERGED_BYTES // (8 * len(model.features)))
        self.arrival_wait_seconds = arrival_wait_seconds
        self._waiting: list[tuple[np.ndarray, asyncio.Future]] = []
        self._arriving = 0
        self._arrived = asyncio.Event()
        self._scorer: asyncio.Task | None = None

    @contextlib.contextmanager
    def arriving(self) -> Iterator[None]:
        """Around reading and parsing a request's body: the scorer waits (briefly) for it."""
        self._arriving += 1
        try:
            yield
        finally:
            self._arriving -= 1
            if not self._arriving:
                self._arrived.set()

    async def score(self, rows: np.ndarray) -> np.ndarray:
        """The model's scores for ``rows`` (handler.score), from a call shared with the requests
        waiting beside it. A model that fails on a merged call is called again for each request
        alone, so the error reaches only the request that caused it."""
        if len(rows) >= self.max_rows:
            # Too big to share a call: scored now, so that its matrix does not wait beside
            # the others' (a worker then holds one such matrix at a time, as before merging).
            return _checked(handler.score(self.model, rows), rows)
        future = asyncio.get_running_loop().create_future()
        self._waiting.append((rows, future))
        if self._scorer is None or self._scorer.done():
            self._scorer = asyncio.create_task(self._score_waiting())
        return await future

    async def _score_waiting(self) -> None:
        batch: list[tuple[np.ndarray, asyncio.Future]] = []
        try:
            while self._waiting:
                if self._arriving:
                    self._arrived.clear()
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self.arrival_wait_seconds):
                            await self._arrived.wait()
                batch = self._take()
                self._score(batch)
        finally:
            # Left by an error of our own or the worker's stop: no request may wait forever.
            for _, future in [*batch, *self._waiting]:
                _fail(future, RuntimeError("scoring stopped before this request's turn"))
            self._waiting = []

    def _take(self) -> list[tuple[np.ndarray, asyncio.Future]]:
        """The longest run of waiting requests, oldest first, within ``max_rows`` (at least
        one); requests given up meanwhile (their client left) are dropped."""
        waiting = [entry for entry in self._waiting if not entry[1].done()]
        count, rows = 0, 0
        while count < len(waiting) and (
            not count or rows + len(waiting[count][0]) <= self.max_rows
        ):
            rows += len(waiting[count][0])
            count += 1
        self._waiting = waiting[count:]
        return waiting[:count]

    def _score(self, batch: list[tuple[np.ndarray, asyncio.Future]]) -> None:
        if not batch:
            return
        rows = batch[0][0] if len(batch) == 1 else np.concatenate([part for part, _ in batch])
        try:
            scores = _checked(handler.score(self.model, rows), rows)
        except Exception as error:  # the model's own failure: see score()
            if len(batch) > 1:
                for entry in batch:
                    self._score([entry])
            else:
                _fail(batch[0][1], error)
            return
        start = 0
        for part, future in batch:
            if not future.done():
                future.set_result(scores[start : start + len(part)])
            start += len(part)


def _checked(scores: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``scores``, one per row: a model that returned another count would hand one request's
    scores to its neighbour in a merged call."""
    if len(scores) != len(rows):
        raise RuntimeError(f"the model returned {len(scores)} scores for {len(rows)} rows")
    return scores


def _fail(future: asyncio.Future, error: Exception) -> None:
    if future.done():
        return
    if isinstance(error, StopIteration):  # a Future refuses it (generators end with it)
        error = RuntimeError(f"the model raised {error!r}")
    future.set_exception(error)
