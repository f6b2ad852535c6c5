"""inference/serving/dynamic_batching.py: requests that wait together share one model call.

The model is the trained cancer model (tests/inference/conftest.py); ``Recording`` passes every
call through to its real estimator and notes how many rows the call scored.
"""

from __future__ import annotations

import asyncio
import dataclasses
import http.client
import json
import threading

import numpy as np
import pandas as pd
import pytest

from inference.serving import handler
from inference.serving.dynamic_batching import MERGED_BYTES, DynamicBatcher
from inference.serving.parsing import RequestError
from serving_process import free_port, server_command, serving


class Recording:
    """The real estimator, with the row count of every predict_proba call. As a broken model
    would: with ``refuse``, a call holding a row whose first value is ``refuse`` raises
    ``raises``; with ``loses_a_row_above``, a call of more rows returns one score fewer."""

    def __init__(
        self,
        estimator: object,
        refuse: float | None = None,
        raises: type[Exception] = ValueError,
        loses_a_row_above: int | None = None,
    ) -> None:
        self.estimator = estimator
        self.refuse, self.raises = refuse, raises
        self.loses_a_row_above = loses_a_row_above
        self.calls: list[int] = []

    def predict_proba(self, rows: np.ndarray) -> np.ndarray:
        self.calls.append(len(rows))
        if self.refuse is not None and (rows[:, 0] == self.refuse).any():
            raise self.raises("this model cannot score that row")
        scores = self.estimator.predict_proba(rows)
        if self.loses_a_row_above is not None and len(rows) > self.loses_a_row_above:
            return scores[:-1]
        return scores


def recording(model: handler.Model, **broken) -> handler.Model:
    return dataclasses.replace(model, estimator=Recording(model.estimator, **broken))


def alone(model: handler.Model, rows: np.ndarray) -> np.ndarray:
    """What the model gives these rows in a call of their own."""
    frame = pd.DataFrame(rows, columns=list(model.features))
    return model.estimator.predict_proba(frame)[:, model.positive_column]


def parts_of(features: pd.DataFrame, *sizes: int) -> list[np.ndarray]:
    rows = features.to_numpy()
    starts = np.cumsum([0, *sizes])
    return [rows[start:end] for start, end in zip(starts[:-1], starts[1:], strict=True)]


def test_waiting_requests_share_one_call_and_each_gets_exactly_its_own_scores(
    model: handler.Model, features: pd.DataFrame
) -> None:
    watched = recording(model)
    parts = parts_of(features, 3, 7, 1, 20)

    async def requests() -> list[np.ndarray]:
        batcher = DynamicBatcher(watched)
        return await asyncio.gather(*(batcher.score(part) for part in parts))

    scored = asyncio.run(requests())
    assert watched.estimator.calls == [31]
    for part, scores in zip(parts, scored, strict=True):
        assert np.array_equal(scores, alone(model, part))  # bit for bit


def test_a_lone_request_is_scored_at_once_in_its_own_call(model, features) -> None:
    watched = recording(model)
    (part,) = parts_of(features, 5)

    async def one() -> np.ndarray:
        return await DynamicBatcher(watched).score(part)

    assert np.array_equal(asyncio.run(one()), alone(model, part))
    assert watched.estimator.calls == [5]


def test_a_request_still_arriving_is_waited_for(model, features) -> None:
    watched = recording(model)
    first, late = parts_of(features, 4, 6)

    async def requests() -> list[np.ndarray]:
        batcher = DynamicBatcher(watched, arrival_wait_seconds=30)

        async def arriving_late() -> np.ndarray:
            with batcher.arriving():
                for _ in range(3):  # its body comes in over a few turns of the loop
                    await asyncio.sleep(0)
            return await batcher.score(late)

        # Its arrival wakes the scorer: nothing waits out the 30 s.
        both = asyncio.gather(batcher.score(first), arriving_late())
        return await asyncio.wait_for(both, timeout=10)

    scored = asyncio.run(requests())
    assert watched.estimator.calls == [10]
    assert np.array_equal(scored[1], alone(model, late))


def test_a_request_that_never_finishes_arriving_holds_the_others_only_briefly(
    model, features
) -> None:
    watched = recording(model)
    (part,) = parts_of(features, 4)

    async def requests() -> tuple[np.ndarray, bool]:
        batcher = DynamicBatcher(watched, arrival_wait_seconds=0.05)
        stuck = asyncio.Event()

        async def trickling() -> None:
            with batcher.arriving():
                await stuck.wait()

        holder = asyncio.create_task(trickling())
        await asyncio.sleep(0)
        scores = await asyncio.wait_for(batcher.score(part), timeout=5)  # 100x the wait
        still_arriving = not holder.done()
        stuck.set()
        await holder
        return scores, still_arriving

    scores, still_arriving = asyncio.run(requests())
    assert still_arriving and watched.estimator.calls == [4]
    assert np.array_equal(scores, alone(model, part))


def test_a_failing_merged_call_fails_only_the_request_that_caused_it(model, features) -> None:
    parts = parts_of(features, 3, 2, 4)
    refused = parts[1][0, 0]
    assert not (parts[0][:, 0] == refused).any() and not (parts[2][:, 0] == refused).any()
    for raises, reported in [(ValueError, ValueError), (StopIteration, RuntimeError)]:
        # A Future refuses a StopIteration: it comes back as a RuntimeError, not a hang.
        watched = recording(model, refuse=refused, raises=raises)

        async def requests(watched: handler.Model = watched) -> list:
            batcher = DynamicBatcher(watched)
            every = asyncio.gather(*(batcher.score(p) for p in parts), return_exceptions=True)
            return await asyncio.wait_for(every, timeout=10)

        first, failed, third = asyncio.run(requests())
        assert type(failed) is reported
        assert np.array_equal(first, alone(model, parts[0]))
        assert np.array_equal(third, alone(model, parts[2]))
        assert watched.estimator.calls == [9, 3, 2, 4]  # merged, then each alone


def test_a_model_returning_another_count_of_scores_never_shifts_them(model, features) -> None:
    parts = parts_of(features, 3, 2, 4)
    watched = recording(model, loses_a_row_above=5)

    async def requests() -> list[np.ndarray]:
        batcher = DynamicBatcher(watched)
        return await asyncio.gather(*(batcher.score(p) for p in parts))

    for part, scores in zip(parts, asyncio.run(requests()), strict=True):
        assert np.array_equal(scores, alone(model, part))
    assert watched.estimator.calls == [9, 3, 2, 4]


def test_a_request_refused_while_arriving_does_not_hold_the_scorer(model, features) -> None:
    watched = recording(model)
    (part,) = parts_of(features, 4)

    async def requests() -> np.ndarray:
        batcher = DynamicBatcher(watched, arrival_wait_seconds=30)

        async def refused() -> None:
            with batcher.arriving():
                await asyncio.sleep(0)
                raise RequestError("bad body")

        failing = asyncio.create_task(refused())
        await asyncio.sleep(0)
        scores = await asyncio.wait_for(batcher.score(part), timeout=10)
        with pytest.raises(RequestError):
            await failing
        return scores

    assert np.array_equal(asyncio.run(requests()), alone(model, part))


def test_a_merged_call_stays_within_its_bytes(model, features) -> None:
    watched = recording(model)
    cap = MERGED_BYTES // (8 * len(model.features))
    rows = np.tile(features.to_numpy(), (cap // len(features) + 1, 1))
    big, bigger, small, too_big = rows[: cap - 10], rows[: cap // 2], rows[:5], rows[: cap + 1]

    async def requests() -> list[np.ndarray]:
        batcher = DynamicBatcher(watched)
        return await asyncio.gather(*(batcher.score(p) for p in (big, bigger, small, too_big)))

    scored = asyncio.run(requests())
    # The one above the cap never waits: scored at once, before the scorer's first call.
    assert watched.estimator.calls == [cap + 1, cap - 10, cap // 2 + 5]
    assert np.array_equal(scored[2], alone(model, small))
    assert np.array_equal(scored[3], alone(model, too_big))


def test_a_request_whose_client_left_is_not_scored(model, features) -> None:
    watched = recording(model)
    gone, kept = parts_of(features, 8, 2)

    async def requests() -> np.ndarray:
        batcher = DynamicBatcher(watched)
        leaving = asyncio.create_task(batcher.score(gone))
        await asyncio.sleep(0)  # its rows wait; the scorer has not run yet
        leaving.cancel()
        return await batcher.score(kept)

    assert np.array_equal(asyncio.run(requests()), alone(model, kept))
    assert watched.estimator.calls == [2]


def test_concurrent_clients_over_http_each_get_the_models_own_predictions(
    model_dir, model, features
) -> None:
    """One worker, so that the requests queue in it and are merged."""
    clients, port = 8, free_port()
    parts = [features.sample(n=5 + 3 * i, random_state=i) for i in range(clients)]
    answers: list[list] = [[] for _ in range(clients)]
    start = threading.Barrier(clients)

    def client(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        body = parts[index].to_csv(index=False, header=False).encode()
        start.wait()
        for _ in range(20):
            connection.request("POST", "/invocations", body, {"Content-Type": "text/csv"})
            response = connection.getresponse()
            answers[index].append((response.status, json.loads(response.read())))
        connection.close()

    with serving(server_command(model_dir, port, "--workers", "1"), port):
        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    for part, theirs in zip(parts, answers, strict=True):
        own = alone(model, part.to_numpy())
        assert len(theirs) == 20
        for status, answer in theirs:
            assert status == 200
            served = [p["malignant_probability"] for p in answer["predictions"]]
            assert np.array_equal(served, own)
