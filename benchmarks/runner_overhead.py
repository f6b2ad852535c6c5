"""Runner overhead: a pipeline run in dev on the embedded AWS vs the three step scripts run bare.

    .venv/bin/python benchmarks/runner_overhead.py [--repeat 3] [--rows 100000] [--no-cached]
                                                   [--quiet-wait 120]

For each dataset (the 569-row reference table, and `--rows` synthetic rows) and each repetition:

* floor: preprocess.py -> train.py -> evaluate.py run directly, each as a subprocess of the same
  interpreter, on the same CSV, in local temp dirs, with no S3 and no champion (evaluate gets no
  model package group). Their summed wall time is the floor.
* runner: a fresh moto server (so no step-cache hit from an earlier repetition), the dev
  environment's two buckets and model package group created with boto3 (no Terraform: that is
  provisioning, benchmarked elsewhere), then a fresh interpreter does what
  `python -m training_pipeline run --env dev --embedded --data CSV` does: import, connect
  (STS AssumeRole into dev), upload data and code, fill in the definition template (built
  once before the repetitions, as the first run after a change to the pipeline builds it) and
  upsert it, execute it with the local runner, save the record. Three figures:
    - cold: from starting that interpreter to the end of the run (what a user waits for);
    - warm: `deployment.connect` + `deployment.run` only, with the imports done;
    - execution only: the local runner executing the definition (from its first to its last
      log line), i.e. the runner's own overhead without the uploads and the upsert.
  Then, for information, the same process runs the pipeline a second time on the same data
  (cached: PrepareData and TrainModel are step-cache hits; EvaluateModel is never cached and
  now re-scores the champion the first run registered).

Medians over the repetitions are printed with the ratio runner/floor (target: under 1.5x), and
where the runner's time goes. The machine may be shared: before each measurement the script
waits, up to --quiet-wait seconds, for the CPU to be idle, and a measurement during which other
processes used more than 0.25 cores on average is taken again (up to 3 times); the progress
lines say how much CPU others used.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# Run as a script (python benchmarks/NAME.py): its folder is on sys.path.
from _common import (
    PYTHON,
    TRAIN_ARGS,
    clean_environment,
    log,
    median,
    model_code_dir,
    run_child,
    table,
    undisturbed,
)

ENV = "dev"
RESULT_MARKER = "BENCHMARK_RESULT "
# The pipeline's defaults (training_pipeline/pipeline/builder.py), passed to the bare scripts too.
PREPROCESS_ARGS = ["--max-nan-fraction", "0.01"]


@dataclasses.dataclass(frozen=True)
class RunnerTiming:
    cold_s: float
    warm_s: float
    imports_s: float
    phases_s: dict[str, float]
    steps_s: dict[str, float]
    cached_s: float | None
    cached_steps: dict[str, str]
    foreign_cores: float


# --- the floor ------------------------------------------------------------------------------


def bare_scripts(csv: Path, scratch: Path) -> tuple[dict[str, float], float]:
    """Run the three step scripts directly on `csv`: wall seconds per script and in total,
    and the CPU other processes used meanwhile (cores, on average)."""
    root = Path(tempfile.mkdtemp(prefix="bare-", dir=scratch))
    input_dir = root / "input"
    input_dir.mkdir()
    shutil.copy2(csv, input_dir / csv.name)
    out, model, metrics, evaluation = (root / n for n in ("split", "model", "out", "evaluation"))
    env = clean_environment()
    commands = {
        "preprocess": [
            "preprocess.py",
            "--input-dir",
            str(input_dir),
            "--output-dir",
            str(out),
            *PREPROCESS_ARGS,
        ],
        "train": [
            "train.py",
            *TRAIN_ARGS,
            "--train-dir",
            str(out / "train"),
            "--validation-dir",
            str(out / "validation"),
            "--model-dir",
            str(model),
            "--output-data-dir",
            str(metrics),
        ],
        "evaluate": [
            "evaluate.py",
            "--model-dir",
            str(model),
            "--test-dir",
            str(out / "test"),
            "--output-dir",
            str(evaluation),
            "--model-package-group",
            "",
        ],
    }
    seconds, foreign_cpu_s, code = {}, 0.0, model_code_dir()
    for name, (script, *arguments) in commands.items():
        # Started from inside the model's code folder, as the jobs start them (sibling imports).
        run = run_child([PYTHON, str(code / script), *arguments], env=env, cwd=code)
        seconds[name] = run.seconds
        foreign_cpu_s += run.foreign_cores * run.seconds
    seconds["total"] = sum(seconds.values())
    return seconds, foreign_cpu_s / seconds["total"]


# --- the runner -----------------------------------------------------------------------------


def provision(region: str) -> None:
    """Create dev's buckets and model package group with boto3 (os.environ points at moto)."""
    from training_pipeline.aws.sessions import account_session
    from training_pipeline.config.naming import environment_names
    from training_pipeline.config.settings import load_settings

    settings = load_settings()
    names = environment_names(settings, ENV)
    session = account_session(settings, ENV)
    s3 = session.client("s3")
    for bucket in (names.data_bucket, names.artifacts_bucket):
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    session.client("sagemaker").create_model_package_group(
        ModelPackageGroupName=names.model_package_group
    )


@functools.cache
def dev_templates(scratch: Path) -> Path:
    """The cache folder with dev's definition templates (the training, batch and monitoring
    pipelines `run` upserts), built with the SDK once: what every run after the first finds."""
    from training_pipeline.config import source
    from training_pipeline.config.settings import load_settings
    from training_pipeline.environment import deployment
    from training_pipeline.pipeline import definitions

    target = deployment.Environment.named(load_settings(), "dev")
    folder = scratch / "cache"
    for config in deployment.pipeline_configs(target, source.current_revision()):
        definitions.load_or_build(config, folder / "definitions")
    return folder


def runner_repetition(csv: Path, scratch: Path, *, cached: bool) -> RunnerTiming:
    """One fresh embedded AWS, provisioned; a fresh interpreter runs the pipeline in it."""
    from training_pipeline.aws import embedded
    from training_pipeline.config.settings import load_settings

    region = load_settings().region
    server = embedded.start_server()
    saved = dict(os.environ)
    try:
        os.environ.update(server.environ(region))
        provision(region)
        work = Path(tempfile.mkdtemp(prefix="runner-", dir=scratch))
        shutil.copytree(dev_templates(scratch), work / "cache")
        folders = {"TP_WORK_DIR": str(work), "TP_CACHE_DIR": str(work / "cache")}
        env = clean_environment({**server.environ(region), **folders})
        command = [PYTHON, str(Path(__file__).resolve()), "--child", str(csv)]
        if cached:
            command.append("--cached")
        spawned = time.time()
        # The moto server's CPU is part of the runner's cost, not a disturbance.
        child = run_child(command, env=env, cwd=work, also_ours=[server.pid])
        result = _child_result(child.stdout)
        return RunnerTiming(
            cold_s=result["first_done"] - spawned,
            warm_s=result["warm_s"],
            imports_s=result["imports_s"],
            phases_s=result["phases_s"],
            steps_s=result["steps_s"],
            cached_s=result.get("cached_s"),
            cached_steps=result.get("cached_steps", {}),
            foreign_cores=child.foreign_cores,
        )
    finally:
        os.environ.clear()
        os.environ.update(saved)
        embedded.stop_server(server)


def _child_result(stdout: str) -> dict[str, Any]:
    for line in stdout.splitlines():
        if line.startswith(RESULT_MARKER):
            return json.loads(line.removeprefix(RESULT_MARKER))
    raise RuntimeError(f"the runner child printed no result:\n{stdout[-2000:]}")


PHASES = {
    # phase: the log line that ends it (deployment.run and the runner print these)
    "connect + data upload": "uploaded ",
    "code upload + definition + upsert": "upserted ",
    "definition checks + runner setup": "Execution arn:",
    "local execution (all steps)": "Execution Succeeded",
}
EXECUTION = "local execution (all steps)"


def child(csv: Path, cached: bool) -> None:
    """In a fresh interpreter: what `run --env dev --embedded --data CSV` does, timed."""
    started = time.perf_counter()
    # What `python -m training_pipeline run` imports; the SDK only when no template fits.
    from training_pipeline import cli, deployment  # noqa: F401

    imports_s = time.perf_counter() - started

    def run_once() -> tuple[float, dict[str, float], dict[str, Any]]:
        lines: list[tuple[float, str]] = []

        def note(line: str) -> None:
            lines.append((time.perf_counter(), line))

        began = time.perf_counter()
        target = deployment.connect(ENV, embedded_aws=False, log=note)
        record = deployment.run(target, on="local", data=csv, log=note)
        ended = time.perf_counter()
        if record["status"] != "Succeeded":
            raise SystemExit(f"pipeline {record['status']}: {record.get('failure_reason')}")
        phases, previous = {}, began
        for phase, prefix in PHASES.items():
            at = next((t for t, line in lines if line.startswith(prefix)), None)
            if at is not None:
                phases[phase], previous = at - previous, at
        phases["save execution record"] = ended - previous
        return ended - began, phases, record

    warm_s, phases, record = run_once()
    result: dict[str, Any] = {
        "first_done": time.time(),
        "imports_s": imports_s,
        "warm_s": warm_s,
        "phases_s": phases,
        "steps_s": {s["name"]: s["duration_s"] for s in record["steps"]},
    }
    if cached:
        cached_s, _, again = run_once()
        result["cached_s"] = cached_s
        result["cached_steps"] = {
            s["name"]: "hit" if s["cache_hit"] else f"{s['duration_s']:.1f}s"
            for s in again["steps"]
        }
    print(RESULT_MARKER + json.dumps(result), flush=True)


# --- main -----------------------------------------------------------------------------------


def write_datasets(folder: Path, rows: int) -> dict[str, Path]:
    from training_pipeline.environment.data import load_reference_dataset, make_synthetic, write_csv

    return {
        "reference (569 rows)": write_csv(load_reference_dataset(), folder / "reference.csv"),
        f"synthetic ({rows:,} rows)": write_csv(make_synthetic(rows, seed=1), folder / "synth.csv"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="repetitions per dataset")
    parser.add_argument("--rows", type=int, default=100_000, help="synthetic dataset rows")
    parser.add_argument("--no-cached", action="store_true", help="skip the cached re-runs")
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=120,
        metavar="SECONDS",
        help="before each measurement, wait up to this long for other work to leave the CPU idle",
    )
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--cached", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.cached)
        return 0

    # A SIGTERM ends the run like Ctrl-C does, through the `finally` that stops moto servers.
    signal.signal(signal.SIGTERM, _interrupt)
    summary: list[list[object]] = []
    details: list[list[object]] = []
    with tempfile.TemporaryDirectory(prefix="runner-overhead-") as temp:
        scratch = Path(temp)
        datasets = write_datasets(scratch, args.rows)
        for label, csv in datasets.items():
            floors: list[dict[str, float]] = []
            runs: list[RunnerTiming] = []
            for repetition in range(1, args.repeat + 1):
                what = f"{label} #{repetition}"
                (floor, _), note = undisturbed(
                    functools.partial(bare_scripts, csv, scratch),
                    lambda result: result[1],
                    what=f"{what} bare scripts",
                    quiet_wait_s=args.quiet_wait,
                )
                floors.append(floor)
                log(
                    f"{label} #{repetition}: bare scripts {floor['total']:.2f}s "
                    f"(preprocess {floor['preprocess']:.2f}, train {floor['train']:.2f}, "
                    f"evaluate {floor['evaluate']:.2f}); {note}"
                )
                timing, note = undisturbed(
                    functools.partial(runner_repetition, csv, scratch, cached=not args.no_cached),
                    lambda result: result.foreign_cores,
                    what=f"{what} runner",
                    quiet_wait_s=args.quiet_wait,
                )
                runs.append(timing)
                steps = ", ".join(f"{k} {v:.2f}" for k, v in timing.steps_s.items())
                cached = (
                    f"; cached re-run {timing.cached_s:.2f}s ({_steps(timing.cached_steps)})"
                    if timing.cached_s is not None
                    else ""
                )
                log(
                    f"{label} #{repetition}: runner cold {timing.cold_s:.2f}s, "
                    f"warm {timing.warm_s:.2f}s, imports {timing.imports_s:.2f}s "
                    f"(steps: {steps}){cached}; {note}"
                )
            floor_s = median([f["total"] for f in floors])
            cold_s = median([r.cold_s for r in runs])
            warm_s = median([r.warm_s for r in runs])
            execution_s = median([r.phases_s.get(EXECUTION, 0.0) for r in runs])
            cached_values = [r.cached_s for r in runs if r.cached_s is not None]
            summary.append(
                [
                    label,
                    floor_s,
                    cold_s,
                    f"{cold_s / floor_s:.2f}x",
                    warm_s,
                    f"{warm_s / floor_s:.2f}x",
                    execution_s,
                    f"{execution_s / floor_s:.2f}x",
                    median(cached_values) if cached_values else "-",
                ]
            )
            for step in ("preprocess", "train", "evaluate"):
                details.append([label, f"bare {step}.py", median([f[step] for f in floors])])
            details.append([label, "runner: Python start + imports", _cold_rest(runs)])
            for phase in runs[0].phases_s:
                details.append(
                    [label, f"runner: {phase}", median([r.phases_s.get(phase, 0.0) for r in runs])]
                )
                if phase == EXECUTION:
                    for step in runs[0].steps_s:
                        details.append(
                            [label, f"    step {step}", median([r.steps_s[step] for r in runs])]
                        )

    print()
    print(f"Runner overhead, median of {args.repeat} (seconds; target: runner < 1.5x floor)")
    print(
        table(
            [
                "dataset",
                "floor (bare scripts)",
                "runner cold",
                "cold/floor",
                "runner warm",
                "warm/floor",
                "execution only",
                "exec/floor",
                "cached re-run",
            ],
            summary,
        )
    )
    print(
        "cold: fresh interpreter, imports included (as `run --env dev --embedded`); "
        "warm: connect + deployment.run only;\n"
        "execution only: the local runner executing the definition (no uploads, no upsert); "
        "cached re-run: second run, same data, for information."
    )
    print()
    print("Where the time goes (median seconds)")
    print(table(["dataset", "part", "seconds"], details))
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _cold_rest(runs: list[RunnerTiming]) -> float:
    """Median of what the cold figure adds to the warm one: interpreter start and imports."""
    return median([r.cold_s - r.warm_s for r in runs])


def _steps(steps: dict[str, str]) -> str:
    return ", ".join(f"{name} {state}" for name, state in steps.items())


if __name__ == "__main__":
    sys.exit(main())
