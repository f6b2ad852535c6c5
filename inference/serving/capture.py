"""Requests and answers recorded as SageMaker's data capture records them, for `serve`.

On an endpoint SageMaker itself captures traffic (profiles.conf `capture`); a model served on a
workstation (`python -m training_pipeline serve --capture`) records the same JSON lines, so the
drift check reads both alike: one line per request,

    {"captureData": {"endpointInput":  {"observedContentType": "text/csv", "mode": "INPUT",
                                        "data": "...", "encoding": "CSV"},
                     "endpointOutput": {"observedContentType": "application/json",
                                        "mode": "OUTPUT", "data": "...", "encoding": "JSON"}},
     "eventMetadata": {"eventId": "...", "inferenceTime": "2026-12-07T12:00:00.123Z"},
     "eventVersion": "0"}

Each worker process appends to a file of its own in the capture folder, a line per answered
request, flushed at once: a stopped server loses nothing it answered.
"""

import base64
import datetime as dt
import os
import uuid
from pathlib import Path

import orjson

_ENCODINGS = {"text/csv": "CSV", "application/json": "JSON"}


class CaptureWriter:
    """Appends capture records to ``folder/<pid>-<random>.jsonl``."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self._file = None

    def record(self, body: bytes, content_type: str, answer: bytes, answer_type: str) -> None:
        line = orjson.dumps(
            {
                "captureData": {
                    "endpointInput": _part(body, content_type, "INPUT"),
                    "endpointOutput": _part(answer, answer_type, "OUTPUT"),
                },
                "eventMetadata": {
                    "eventId": str(uuid.uuid4()),
                    "inferenceTime": dt.datetime.now(dt.UTC)
                    .isoformat(timespec="milliseconds")
                    .replace("+00:00", "Z"),
                },
                "eventVersion": "0",
            }
        )
        if self._file is None:  # opened in the worker that writes, after the fork
            self.folder.mkdir(parents=True, exist_ok=True)
            name = f"{os.getpid()}-{uuid.uuid4().hex[:8]}.jsonl"
            self._file = (self.folder / name).open("ab", buffering=0)
        self._file.write(line + b"\n")


def _part(data: bytes, content_type: str, mode: str) -> dict:
    kind = content_type.split(";", 1)[0].strip().lower()
    encoding = _ENCODINGS.get(kind)
    # Bodies the server accepted are UTF-8 text; anything else would be kept as base64.
    text = data.decode("utf-8-sig") if encoding else None
    if text is None:
        text, encoding = base64.b64encode(data).decode("ascii"), "BASE64"
    return {"observedContentType": content_type, "mode": mode, "data": text, "encoding": encoding}
