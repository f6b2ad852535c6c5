"""What the stand-ins did, appended to ``<records>/<name>.jsonl`` for tests to read:
which job got which credentials and which not (tokens), what was built and pushed (docker)."""

from __future__ import annotations

import json
import os
from pathlib import Path


def append(name: str, entry: dict, folder: str | None = None) -> None:
    """Add ``entry`` to the ``name`` log in ``folder`` (default: $OFFLINE_GITHUB_RECORD), if
    there is one."""
    folder = folder or os.environ.get("OFFLINE_GITHUB_RECORD")
    if folder:
        with open(Path(folder) / f"{name}.jsonl", "a", encoding="utf-8") as log:
            log.write(json.dumps(entry) + "\n")
