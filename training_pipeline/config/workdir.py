"""Where the operator tool keeps what it makes on this machine."""

from __future__ import annotations

import os
from pathlib import Path

WORK_DIR_ENV = "TP_WORK_DIR"


def work_dir(*parts: str) -> Path:
    """``$TP_WORK_DIR`` (else ``.work`` in the current folder), absolute, joined with ``parts``:
    the local runner's jobs, models fetched by ``serve``."""
    return Path(os.environ.get(WORK_DIR_ENV, ".work")).resolve().joinpath(*parts)
