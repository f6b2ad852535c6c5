"""Helpers shared by the benchmark scripts: paths, subprocess timing, table printing."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
STEPS_DIR = REPO_ROOT / "training_pipeline" / "steps"
PYTHON = sys.executable

if str(REPO_ROOT) not in sys.path:
    # The project is used from its checkout (it is not installed into the virtualenv).
    sys.path.insert(0, str(REPO_ROOT))

# Host variables that would send a bare step script (or a child) to a real account.
AWS_IDENTITY_VARIABLES = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT_URL",
    "MODEL_PACKAGE_GROUP_NAME",
    "GITHUB_ACTIONS",
    "GITHUB_REF",
    "GITHUB_SHA",
)


@dataclass(frozen=True)
class ChildRun:
    """A finished child process: wall time, peak resident memory and output."""

    seconds: float
    cpu_s: float
    peak_mb: float
    stdout: str
    stderr: str


def clean_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The host environment without AWS identity, with the repo importable, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if k not in AWS_IDENTITY_VARIABLES}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    env.update(extra or {})
    return env


def run_child(command: Sequence[str], *, env: dict[str, str], cwd: Path | None = None) -> ChildRun:
    """Run `command` to completion; its wall time and its own peak RSS (from wait4).

    Raises RuntimeError with the tail of stderr when it exits non-zero.
    """
    with (
        open(os.devnull, "rb") as stdin,
        _TempOutput() as out,
        _TempOutput() as err,
    ):
        started = time.perf_counter()
        process = subprocess.Popen(
            list(command), env=env, cwd=cwd, stdin=stdin, stdout=out.handle, stderr=err.handle
        )
        # wait4 reports the rusage of this child (and of its own waited-for children), so
        # the peak RSS belongs to this step alone, unlike RUSAGE_CHILDREN of the parent.
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        stdout, stderr = out.read(), err.read()
    if process.returncode != 0:
        tail = "\n".join(stderr.strip().splitlines()[-15:])
        raise RuntimeError(f"{' '.join(command)} exited {process.returncode}:\n{tail}")
    # ru_maxrss is in KiB on Linux.
    return ChildRun(
        seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, stdout, stderr
    )


class _TempOutput:
    """A temporary file a child writes to (no pipe to drain while waiting with wait4)."""

    def __enter__(self) -> _TempOutput:
        import tempfile

        self.handle = tempfile.TemporaryFile(mode="w+b")
        return self

    def read(self) -> str:
        self.handle.seek(0)
        return self.handle.read().decode(errors="replace")

    def __exit__(self, *exc: object) -> None:
        self.handle.close()


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table, numbers right-aligned."""
    cells = [[str(h) for h in headers], *[[_cell(v) for v in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for index, row in enumerate(cells):
        lines.append(
            "  ".join(
                cell.rjust(width) if _numeric(cell) else cell.ljust(width)
                for cell, width in zip(row, widths, strict=True)
            ).rstrip()
        )
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def _numeric(text: str) -> bool:
    return text.replace(".", "", 1).replace(",", "").replace("x", "").lstrip("-+").isdigit()


def load_average() -> str:
    """The 1-minute load average: other work on the machine skews wall times."""
    return f"{os.getloadavg()[0]:.2f}"


def cpu_busy(interval_s: float = 1.0) -> float:
    """Share of all cores busy over `interval_s` (from /proc/stat; 0.0 where unavailable)."""

    def sample() -> tuple[int, int]:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
        return sum(fields), fields[3] + fields[4]  # total, idle + iowait

    try:
        total0, idle0 = sample()
        time.sleep(interval_s)
        total1, idle1 = sample()
    except (OSError, ValueError, IndexError):
        return 0.0
    elapsed = total1 - total0
    return 1 - (idle1 - idle0) / elapsed if elapsed else 0.0


def wait_for_quiet(max_wait_s: float, *, busy_below: float = 0.2, samples: int = 3) -> str:
    """Wait (up to `max_wait_s`) until other work leaves the cores idle; say how it went.

    The machine may be shared: a concurrent test run on 2 cores doubles a step's wall time
    (OpenMP threads that lose their core spin), which would make the figures meaningless.
    """
    if max_wait_s <= 0:
        return "not waiting for an idle machine"
    began = time.monotonic()
    quiet, busy = 0, 0.0
    while quiet < samples:
        busy = cpu_busy()
        quiet = quiet + 1 if busy < busy_below else 0
        if time.monotonic() - began > max_wait_s:
            return f"machine still busy ({busy:.0%} CPU) after {max_wait_s:.0f}s, measuring anyway"
    waited = time.monotonic() - began
    return f"idle ({busy:.0%} CPU) after {waited:.0f}s"


def log(line: str) -> None:
    """A progress line, flushed at once (the scripts run for minutes)."""
    print(line, flush=True)
