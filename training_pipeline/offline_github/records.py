"""What the stand-ins did, appended to ``$OFFLINE_GITHUB_RECORD/<name>.jsonl`` for tests to read:
which job got which credentials and which not (tokens), what was built and pushed (docker)."""

from __future__ import annotations

import json
import os
from pathlib import Path


def append(name: str, entry: dict) -> None:
    """Add ``entry`` to the ``name`` log, if the harness asked for logs."""
    folder = os.environ.get("OFFLINE_GITHUB_RECORD")
    if folder:
        with open(Path(folder) / f"{name}.jsonl", "a", encoding="utf-8") as log:
            log.write(json.dumps(entry) + "\n")
