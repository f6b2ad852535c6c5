"""Helpers shared by the benchmark scripts: paths, subprocess timing, table printing."""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
REPO_ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

if str(REPO_ROOT) not in sys.path:
    # The project is used from its checkout (it is not installed into the virtualenv).
    sys.path.insert(0, str(REPO_ROOT))


def model_code_dir(model: str = "cancer") -> Path:
    """A model's code as its jobs see it (the step scripts with its schema.json beside them),
    written under .work/benchmarks."""
    from training_pipeline.pipeline.code_bundle import load_bundle

    folder = REPO_ROOT / ".work" / "benchmarks" / f"code-{model}"
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in load_bundle(model).files.items():
        (folder / name).write_bytes(content)
    return folder


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
# The training step's hyperparameters at the pipeline's defaults
# (training_pipeline/pipeline/builder.py).
TRAIN_ARGS = ["--max_iter", "200", "--learning_rate", "0.1", "--max_depth", "3"]
TRAIN_ARGS += ["--random_state", "42"]


# Above this much CPU used by other processes during a measurement (in cores, averaged over the
# run) the figure is not the step's own: on 2 cores one busy neighbour can triple a step's wall
# time (OpenMP threads that lose their core spin-wait). Such measurements are repeated.
MAX_FOREIGN_CORES = 0.25
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class ChildRun:
    """A finished child process: wall time, peak resident memory and output."""

    seconds: float
    cpu_s: float
    peak_mb: float
    stdout: str
    stderr: str
    # CPU used meanwhile by processes that are not part of the measurement (other people's
    # work on a shared machine), in cores on average over the run.
    foreign_cores: float

    @property
    def disturbed(self) -> bool:
        return self.foreign_cores > MAX_FOREIGN_CORES


def clean_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The host environment without AWS identity, with the repo importable, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if k not in AWS_IDENTITY_VARIABLES}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    env.update(extra or {})
    return env


def run_child(
    command: Sequence[str],
    *,
    env: dict[str, str],
    cwd: Path | None = None,
    also_ours: Sequence[int] = (),
) -> ChildRun:
    """Run `command` to completion; its wall time and its own peak RSS (from wait4).

    `also_ours`: other processes whose CPU is part of the measurement (the moto server), so
    not counted as foreign. Raises RuntimeError with the tail of stderr when it exits non-zero.
    """
    busy_before = machine_busy_s()
    ours_before = sum(process_cpu_s(pid) for pid in also_ours)
    self_before = _self_cpu_s()
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
        busy = machine_busy_s() - busy_before
        ours = sum(process_cpu_s(pid) for pid in also_ours) - ours_before
        ours += _self_cpu_s() - self_before
        process.returncode = os.waitstatus_to_exitcode(status)
        stdout, stderr = out.read(), err.read()
    if process.returncode != 0:
        tail = "\n".join(stderr.strip().splitlines()[-15:])
        raise RuntimeError(f"{' '.join(command)} exited {process.returncode}:\n{tail}")
    cpu_s = usage.ru_utime + usage.ru_stime
    foreign = max(0.0, busy - cpu_s - ours) / seconds if busy_before else 0.0
    # ru_maxrss is in KiB on Linux.
    return ChildRun(seconds, cpu_s, usage.ru_maxrss / 1024, stdout, stderr, foreign)


def machine_busy_s() -> float:
    """CPU seconds all cores have been busy since boot (0.0 where /proc is unavailable)."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            user, nice, system, _, _, irq, softirq, steal = (
                int(v) for v in stat.readline().split()[1:9]
            )
    except (OSError, ValueError):
        return 0.0
    return (user + nice + system + irq + softirq + steal) / _CLOCK_TICKS


def process_cpu_s(pid: int) -> float:
    """CPU seconds used by process `pid` so far (0.0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            # The command name (field 2) may hold spaces; fields after ")" are positional.
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS  # utime, stime


def _self_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


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


def undisturbed(
    measure: Callable[[], T],
    foreign_cores: Callable[[T], float],
    *,
    what: str,
    quiet_wait_s: float,
    attempts: int = 3,
) -> tuple[T, str]:
    """`measure()` on an idle machine, again if other processes took CPU meanwhile.

    Returns the result and a note for the progress line (how it waited, what disturbed it).
    After `attempts` disturbed measurements, the least disturbed one is kept and said so.
    """
    tried: list[tuple[float, T, str]] = []
    for attempt in range(1, attempts + 1):
        quiet = wait_for_quiet(quiet_wait_s)
        result = measure()
        foreign = foreign_cores(result)
        note = f"before: {quiet}; other processes meanwhile: {foreign:.2f} cores"
        if foreign <= MAX_FOREIGN_CORES:
            return result, note
        log(f"{what}: disturbed ({note}), attempt {attempt}/{attempts}")
        tried.append((foreign, result, note))
    foreign, result, note = min(tried, key=lambda item: item[0])
    return result, f"{note} (KEPT although disturbed: no quiet attempt in {attempts})"


def log(line: str) -> None:
    """A progress line, flushed at once (the scripts run for minutes)."""
    print(line, flush=True)
