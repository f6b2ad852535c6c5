"""Scale: preprocess and train wall time and peak memory at 10k, 100k and 1M synthetic rows.

    .venv/bin/python benchmarks/scale.py [--rows 10000 100000 1000000] [--repeat 3]
                                         [--quiet-wait 120]

For each size, `make_synthetic(rows, seed=0)` is written to a CSV in a temp dir, then
preprocess.py (validate + split) and train.py (fit on train, score validation, with the
pipeline's default hyperparameters) each run as their own subprocess of this interpreter, from
inside steps/ as the jobs run them. Wall time is measured around each subprocess; peak memory is
the subprocess's own maximum resident set size (ru_maxrss from os.wait4), so each step's peak is
its own. With --repeat N the median time and the largest peak of the N runs are reported.
The machine may be shared (2 cores): before each step the script waits, up to --quiet-wait
seconds, for the CPU to be idle, and a step during which other processes used more than
MAX_FOREIGN_CORES (0.25 cores on average) is measured again (up to 3 times); the progress
lines say how much CPU others used.

Targets: cost linear in rows (1M rows cost about 10x 100k rows); peak memory under 2 GB at 1M.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

# Run as a script (python benchmarks/NAME.py): its folder is on sys.path.
from _common import (
    PYTHON,
    TRAIN_ARGS,
    ChildRun,
    clean_environment,
    load_average,
    log,
    median,
    model_code_dir,
    run_child,
    table,
    undisturbed,
)

DEFAULT_ROWS = (10_000, 100_000, 1_000_000)
PEAK_TARGET_MB = 2048


@dataclass(frozen=True)
class Measure:
    rows: int
    csv_mb: float
    preprocess_s: float
    train_s: float
    train_cpu_s: float
    preprocess_mb: float
    train_mb: float

    @property
    def total_s(self) -> float:
        return self.preprocess_s + self.train_s

    @property
    def peak_mb(self) -> float:
        return max(self.preprocess_mb, self.train_mb)


def write_dataset(rows: int, folder: Path) -> Path:
    """The synthetic CSV, written by a subprocess so this process stays small."""
    csv = folder / "input" / f"synthetic-{rows}.csv"
    run_child(
        [
            PYTHON,
            "-m",
            "training_pipeline.environment.data",
            "--rows",
            str(rows),
            "--output",
            str(csv),
        ],
        env=clean_environment(),
    )
    return csv


def measure(rows: int, scratch: Path, repeat: int, quiet_wait_s: float) -> Measure:
    folder = scratch / f"rows-{rows}"
    csv = write_dataset(rows, folder)
    csv_mb = csv.stat().st_size / 2**20
    log(f"{rows:>9,} rows: CSV {csv_mb:.0f} MB written")
    env = clean_environment()
    runs: list[tuple[float, float, float, float, float]] = []
    split, model, out = folder / "split", folder / "model", folder / "out"
    code = model_code_dir()
    preprocess_command = [
        PYTHON,
        str(code / "preprocess.py"),
        "--input-dir",
        str(csv.parent),
        "--output-dir",
        str(split),
        "--max-nan-fraction",
        "0.01",
    ]
    train_command = [
        PYTHON,
        str(code / "train.py"),
        *TRAIN_ARGS,
        "--train-dir",
        str(split / "train"),
        "--validation-dir",
        str(split / "validation"),
        "--model-dir",
        str(model),
        "--output-data-dir",
        str(out),
    ]

    def step(command: list[str], outputs: tuple[Path, ...]) -> ChildRun:
        for directory in outputs:
            shutil.rmtree(directory, ignore_errors=True)
        return run_child(command, env=env, cwd=code)

    for repetition in range(1, repeat + 1):
        what = f"{rows:>9,} rows #{repetition}"
        preprocess, note = undisturbed(
            lambda: step(preprocess_command, (split,)),
            lambda run: run.foreign_cores,
            what=f"{what} preprocess",
            quiet_wait_s=quiet_wait_s,
        )
        log(
            f"{what}: preprocess {preprocess.seconds:.2f}s (CPU {preprocess.cpu_s:.2f}s), "
            f"peak {preprocess.peak_mb:.0f} MB; {note}"
        )
        train, note = undisturbed(
            lambda: step(train_command, (model, out)),
            lambda run: run.foreign_cores,
            what=f"{what} train",
            quiet_wait_s=quiet_wait_s,
        )
        auc = next(
            (line.split("=", 1)[1] for line in train.stdout.splitlines() if "_auc=" in line), "?"
        )
        log(
            f"{what}: train {train.seconds:.2f}s (CPU {train.cpu_s:.2f}s), "
            f"peak {train.peak_mb:.0f} MB, validation AUC {auc}; {note}"
        )
        runs.append(
            (preprocess.seconds, train.seconds, preprocess.peak_mb, train.peak_mb, train.cpu_s)
        )
    shutil.rmtree(folder, ignore_errors=True)
    return Measure(
        rows=rows,
        csv_mb=csv_mb,
        preprocess_s=median([r[0] for r in runs]),
        train_s=median([r[1] for r in runs]),
        train_cpu_s=median([r[4] for r in runs]),
        preprocess_mb=max(r[2] for r in runs),
        train_mb=max(r[3] for r in runs),
    )


def linearity(measures: list[Measure]) -> list[list[object]]:
    """Each size against the previous one: time and memory ratios next to the row ratio."""
    rows: list[list[object]] = []
    for small, large in zip(measures, measures[1:], strict=False):
        factor = large.rows / small.rows
        marginal = (large.total_s - small.total_s) / (large.rows - small.rows) * 100_000
        rows.append(
            [
                f"{large.rows:,} / {small.rows:,}",
                f"{factor:.0f}x",
                f"{large.preprocess_s / small.preprocess_s:.2f}x",
                f"{large.train_s / small.train_s:.2f}x",
                f"{large.total_s / small.total_s:.2f}x",
                f"{large.peak_mb / small.peak_mb:.2f}x",
                marginal,
                (large.peak_mb - small.peak_mb) / (large.rows - small.rows) * 100_000,
            ]
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=list(DEFAULT_ROWS))
    parser.add_argument("--repeat", type=int, default=3, help="runs per size (median time)")
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=120,
        metavar="SECONDS",
        help="before each step, wait up to this long for other work to leave the CPU idle",
    )
    args = parser.parse_args(argv)

    log(f"{os.cpu_count()} cores, load average {load_average()} at start")
    measures = []
    with tempfile.TemporaryDirectory(prefix="scale-") as temp:
        for rows in sorted(args.rows):
            measures.append(measure(rows, Path(temp), args.repeat, args.quiet_wait))

    print()
    print(
        f"Preprocess + train at scale ({os.cpu_count()} cores; "
        f"{'median of ' + str(args.repeat) if args.repeat > 1 else 'one run'}; "
        f"peak = max RSS of the step's process)"
    )
    print(
        table(
            [
                "rows",
                "CSV MB",
                "preprocess s",
                "train s",
                "train CPU s",
                "preprocess peak MB",
                "train peak MB",
                "s per 100k rows",
            ],
            [
                [
                    f"{m.rows:,}",
                    f"{m.csv_mb:.0f}",
                    m.preprocess_s,
                    m.train_s,
                    m.train_cpu_s,
                    f"{m.preprocess_mb:.0f}",
                    f"{m.train_mb:.0f}",
                    m.total_s / m.rows * 100_000,
                ]
                for m in measures
            ],
        )
    )
    if len(measures) > 1:
        print()
        print(
            "Linearity (ratios between consecutive sizes; linear = the rows ratio once fixed\n"
            "costs are small; marginal = extra cost per extra 100k rows, constant when linear)"
        )
        print(
            table(
                [
                    "rows",
                    "rows ratio",
                    "preprocess",
                    "train",
                    "total",
                    "peak memory",
                    "marginal s per 100k rows",
                    "marginal peak MB per 100k rows",
                ],
                linearity(measures),
            )
        )
    largest = measures[-1]
    verdict = "met" if largest.peak_mb < PEAK_TARGET_MB else "MISSED"
    print()
    print(
        f"Peak memory at {largest.rows:,} rows: {largest.peak_mb:.0f} MB "
        f"(target < {PEAK_TARGET_MB} MB: {verdict})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
