"""The runner's small parts: retries, cache keys and expiry, names, paths, S3 keys."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from training_pipeline.runner import DefinitionError, LocalRunner
from training_pipeline.runner.cache import cache_key, parse_duration
from training_pipeline.runner.container import ContainerRoot, local_command
from training_pipeline.runner.jobs import job_name
from training_pipeline.runner.process import run_process
from training_pipeline.runner.retry import Retrier
from training_pipeline.runner.s3 import relative_key
from training_pipeline.runner.toolkit import cli_arguments, decode

POLICY = {
    "ExceptionType": ["Step.THROTTLING"],
    "IntervalSeconds": 2,
    "BackoffRate": 3.0,
    "MaxAttempts": 2,
}


def client_error(code: str, status: int = 400) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "Op",
    )


class Flaky:
    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"


def test_retry_policies_retry_matching_errors_with_backoff():
    sleeps: list[float] = []
    retrier = Retrier([POLICY], log=lambda _: None, sleep=sleeps.append)
    flaky = Flaky(client_error("ThrottlingException"), client_error("SlowDown"))
    assert retrier.call(flaky) == "done"
    assert sleeps == [2, 6]


def test_retries_stop_at_max_attempts_and_ignore_other_errors():
    retrier = Retrier([POLICY], log=lambda _: None, sleep=lambda _: None)
    flaky = Flaky(*(client_error("Throttling") for _ in range(3)))
    with pytest.raises(ClientError):
        retrier.call(flaky)
    assert flaky.calls == 3
    fault = Flaky(client_error("InternalError", 500))
    with pytest.raises(ClientError):
        retrier.call(fault)
    assert fault.calls == 1
    service = Retrier(
        [{**POLICY, "ExceptionType": ["Step.SERVICE_FAULT"]}],
        log=lambda _: None,
        sleep=lambda _: None,
    )
    assert service.call(Flaky(client_error("Whatever", 503))) == "done"


def test_unknown_retry_exception_types_are_definition_errors():
    with pytest.raises(DefinitionError, match="Step.NOPE"):
        Retrier([{**POLICY, "ExceptionType": ["Step.NOPE"]}], log=print)


def test_cache_keys_compare_what_a_job_reads_not_where_it_writes():
    arguments = {
        "Environment": {"B": "1", "A": "2"},
        "AppSpecification": {"ContainerEntrypoint": ["python3", "x.py"]},
        "ProcessingOutputConfig": {"Outputs": [{"S3Output": {"S3Uri": "s3://b/run-1"}}]},
    }
    reordered = json.loads(json.dumps(dict(reversed(arguments.items()))))
    elsewhere = {**arguments, "ProcessingOutputConfig": {"Outputs": []}}
    changed = {**arguments, "Environment": {"B": "1", "A": "3"}}
    key = cache_key("Processing", arguments)
    assert key == cache_key("Processing", reordered) == cache_key("Processing", elsewhere)
    assert key != cache_key("Processing", changed)
    assert key != cache_key("Training", arguments)


def test_expire_after_durations():
    assert parse_duration("P30D") == dt.timedelta(days=30)
    assert parse_duration("PT1H30M") == dt.timedelta(hours=1, minutes=30)
    assert parse_duration("P1Y2M1W") == dt.timedelta(days=365 + 60 + 7)
    for bad in ("30D", "P", "PT", "P1H"):
        with pytest.raises(DefinitionError, match="ExpireAfter"):
            parse_duration(bad)


def test_job_names_are_valid_and_bounded():
    name = job_name("abcdefghijkl", "Evaluate_the model" * 5)
    assert len(name) <= 63 and name.startswith("pipelines-abcdefghijkl-Evaluate-the-model")
    assert all(c.isalnum() or c == "-" for c in name)
    assert job_name("abcdefghijkl", "A") != job_name("abcdefghijkl", "a")


def test_container_paths_and_python_are_mapped(tmp_path: Path):
    root = ContainerRoot(tmp_path)
    mapped = local_command(
        ["python3", "/opt/ml/processing/code/run.py"],
        ["--in=/opt/ml/processing/input", "cd /opt/ml && ls", "/opt/mlx", "/var/opt/ml", 3],
        root,
        "/venv/bin/python",
    )
    assert mapped == [
        "/venv/bin/python",
        f"{tmp_path}/opt/ml/processing/code/run.py",
        f"--in={tmp_path}/opt/ml/processing/input",
        f"cd {tmp_path}/opt/ml && ls",
        "/opt/mlx",
        "/var/opt/ml",
        "3",
    ]
    assert root.path("/opt/ml/model") == tmp_path / "opt/ml/model"
    assert local_command(["/bin/bash", "-c", "python x.py"], [], root, "py")[0] == "/bin/bash"


def test_s3_prefix_objects_keep_paths_below_the_prefix():
    assert relative_key("data/", "data/a/b.csv") == "a/b.csv"
    assert relative_key("data", "data/b.csv") == "b.csv"
    assert relative_key("code/train.py", "code/train.py") == "train.py"
    assert relative_key("data/tr", "data/train.csv") == "train.csv"
    assert relative_key("", "x/y.csv") == "x/y.csv"


def test_hyperparameters_reach_scripts_as_the_training_toolkit_passes_them():
    decoded = {k: decode(v) for k, v in {"lr": "0.1", "name": '"x"', "n": "3", "a": "abc"}.items()}
    assert decoded == {"lr": 0.1, "name": "x", "n": 3, "a": "abc"}
    assert cli_arguments(decoded) == ["-a", "abc", "--lr", "0.1", "-n", "3", "--name", "x"]


def test_job_names_can_keep_a_custom_prefix():
    name = job_name("abc", "Step", prefix="my-prefix")
    assert name.startswith("my-prefix-") and len(name) == len("my-prefix-") + 10


def test_processes_log_both_streams_keep_the_last_error_and_time_out(tmp_path: Path):
    code = (
        "import sys; print('out'); print('first', file=sys.stderr); print('last', file=sys.stderr)"
    )
    outcome = run_process(
        [sys.executable, "-c", code + "; sys.exit(3)"],
        env=dict(os.environ),
        cwd=tmp_path,
        log_path=tmp_path / "job.log",
        timeout_s=30,
    )
    assert (outcome.exit_code, outcome.last_error_line, outcome.succeeded) == (3, "last", False)
    assert sorted(outcome.log_path.read_text().split()) == ["first", "last", "out"]

    started = time.monotonic()
    # The shell's child keeps the pipes open: the whole process group must go.
    outcome = run_process(
        ["/bin/sh", "-c", f"{sys.executable} -c 'import time; time.sleep(30)'"],
        env=dict(os.environ),
        cwd=tmp_path,
        log_path=tmp_path / "slow.log",
        timeout_s=0.5,
    )
    assert outcome.timed_out and time.monotonic() - started < 10


def test_the_runner_uses_absolute_paths_for_its_tree_and_interpreter():
    runner = LocalRunner(boto3.Session(region_name="eu-west-1"), work_dir=Path("rel"), python="sh")
    assert runner.work_dir == Path("rel").resolve()
    assert Path(runner.python).is_absolute()
