"""LocalRunner: execute a SageMaker pipeline definition with local compute and real AWS APIs."""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
import shutil
import string
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from . import isolation, processing, registry_steps, training, transform
from .cache import StepCache, cache_key
from .conditions import evaluate_all
from .errors import DefinitionError, StepFailure
from .expressions import Scope, to_text
from .graph import StepNode, build_graph
from .jobs import JobContext, job_name
from .parameters import resolve_parameters
from .process import kill_running
from .results import ExecutionResult, StepResult, jsonable
from .retry import Retrier
from .s3 import MAX_POOL_CONNECTIONS, S3, join_uri
from .validation import JOB_NAME_VARIABLE, JOB_TYPES, NAME_FIELDS, load_definition, validate_step

Executor = Callable[[JobContext, Mapping[str, Any]], dict[str, Any]]
_EXECUTORS: dict[str, Executor] = {
    "Processing": processing.run,
    "Training": training.run,
    "Transform": transform.run,
    "Model": registry_steps.run_create_model,
    "RegisterModel": registry_steps.run_register_model,
}
_EXECUTION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,31}")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _usable_cpus() -> int:
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity else os.cpu_count() or 1


class LocalRunner:
    """Runs pipeline definitions: compute as local processes, S3 and SageMaker APIs for real."""

    def __init__(
        self,
        session: boto3.Session,
        *,
        work_dir: Path | None = None,
        python: str = sys.executable,
        log: Callable[[str], None] = print,
        cache_prefix: str | None = None,
        parallel_steps: int | None = None,
    ) -> None:
        """``parallel_steps``: at most this many steps of an execution at once (default: one
        per core this process may use)."""
        self.session = session
        self.parallel_steps = parallel_steps or _usable_cpus()
        # Absolute, because jobs see mapped paths from their own working directory.
        self.work_dir = Path(work_dir or Path(tempfile.gettempdir()) / "local-pipeline-runs")
        self.work_dir = self.work_dir.resolve()
        # Absolute, because the jobs' `python3` wrappers must not find themselves on PATH.
        self.python = shutil.which(python) or python
        self.log = log
        self.cache_prefix = cache_prefix
        self._clients: dict[str, Any] = {}
        # Steps run side by side: clients are thread-safe once made, a session is not.
        self._clients_lock = threading.Lock()

    def client(self, service: str) -> Any:
        """The run's one client of `service`: creating a client costs 20 to 100 ms."""
        with self._clients_lock:
            if service not in self._clients:
                config = Config(max_pool_connections=MAX_POOL_CONNECTIONS)
                self._clients[service] = self.session.client(service, config=config)
            return self._clients[service]

    def run(
        self,
        definition: Mapping[str, Any] | str,
        *,
        parameters: Mapping[str, Any] | None = None,
        pipeline_name: str = "local-pipeline",
        execution_id: str | None = None,
    ) -> ExecutionResult:
        """Execute `definition` (a dict or its JSON text) and return the execution's record.

        Raises DefinitionError/ValueError before anything runs if the definition or the
        parameters are invalid; a failing step makes the result "Failed" instead.
        """
        spec = load_definition(definition)
        nodes = build_graph(spec["Steps"])
        by_name = {node.name: node for node in nodes}
        declared = {p["Name"] for p in spec.get("Parameters", [])}
        for node in nodes:
            validate_step(node, by_name, declared)
        values = resolve_parameters(spec.get("Parameters", []), parameters)
        if execution_id is None:
            alphabet = string.ascii_lowercase + string.digits
            execution_id = "".join(secrets.choice(alphabet) for _ in range(12))
        elif not _EXECUTION_ID.fullmatch(execution_id):
            raise ValueError(f"execution id {execution_id!r}: use up to 32 letters, digits and '-'")
        return _Execution(self, nodes, values, pipeline_name, execution_id).run()


class _Execution:
    """The state of one run: finished steps, condition outcomes, fetched property files."""

    def __init__(
        self,
        runner: LocalRunner,
        nodes: list[StepNode],
        parameters: dict[str, Any],
        pipeline_name: str,
        execution_id: str,
    ) -> None:
        self.runner = runner
        self.nodes = nodes
        self.by_name = {node.name: node for node in nodes}
        self.region = runner.session.region_name
        if not self.region:
            raise ValueError("the boto3 session has no region")
        self.account = runner.client("sts").get_caller_identity()["Account"]
        self.started = _now()
        pipeline_arn = (
            f"arn:aws:sagemaker:{self.region}:{self.account}:pipeline/{pipeline_name.lower()}"
        )
        self.result = ExecutionResult(
            pipeline_name=pipeline_name,
            execution_id=execution_id,
            execution_arn=f"{pipeline_arn}/execution/{execution_id}",
            parameters=parameters,
            start_time=self.started,
        )
        self.variables = {
            "PipelineExecutionId": execution_id,
            "PipelineExecutionArn": self.result.execution_arn,
            "PipelineName": pipeline_name,
            "PipelineArn": pipeline_arn,
            "StartDateTime": self.started.isoformat(),
        }
        self.properties: dict[str, dict[str, Any]] = {}
        self.outcomes: dict[str, bool] = {}
        self.not_reached: set[str] = set()
        self.log_lock = threading.Lock()
        self.property_files: dict[tuple[str, str], Any] = {}
        self.images_noted: set[str] = set()
        self.cache = (
            StepCache(runner.client("s3"), runner.cache_prefix, pipeline_name)
            if runner.cache_prefix
            else None
        )

    def log(self, line: str) -> None:
        with self.log_lock:  # steps running side by side log whole lines
            self.runner.log(line)

    def run(self) -> ExecutionResult:
        self.log(f"Execution {self.result.execution_arn}")
        if any(node.type in JOB_TYPES for node in self.nodes):
            self.log(f"  {isolation.describe()}")
        position = {node.name: index for index, node in enumerate(self.nodes, 1)}
        total = len(self.nodes)
        # As SageMaker does: every step whose dependencies are done starts, so steps that do
        # not depend on each other (evaluating and baselining the same model) run side by side,
        # here at most parallel_steps at once. After a failure nothing new starts; what runs
        # ends.
        with ThreadPoolExecutor(max_workers=self.runner.parallel_steps) as pool:
            running: dict[Future[StepResult], StepNode] = {}
            waiting = list(self.nodes)
            try:
                while True:
                    if not any(step.status == "Failed" for step in self.result.steps):
                        for node in self._ready(waiting):
                            label = f"[{position[node.name]}/{total}] {node.name} ({node.type})"
                            running[pool.submit(self._run_step, node, label)] = node
                    if not running:
                        break
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in done:
                        running.pop(future)
                        self.result.steps.append(future.result())
            except KeyboardInterrupt:
                # The running jobs end now instead of being waited for, as stopping an
                # execution stops its jobs.
                kill_running()
                raise
        self.result.steps.sort(key=lambda step: position[step.name])
        # The first failure in the definition's order, whichever ended first.
        failed = next((step for step in self.result.steps if step.status == "Failed"), None)
        if failed:
            self.result.failure_reason = (
                failed.failure_reason
                if self.by_name[failed.name].type == "Fail"
                else f"Step '{failed.name}' failed: {failed.failure_reason}"
            )
        self.result.status = "Failed" if failed else "Succeeded"
        self.result.end_time = _now()
        summary = f"Execution {self.result.status} in {self.result.duration_s:.1f}s"
        if failed:
            # The step's own line above already gave the reason; the result carries it too.
            summary += f" at step '{failed.name}'"
        if self.not_reached:
            summary += f"; not executed: {', '.join(sorted(self.not_reached))}"
        self.log(summary)
        return self.result

    def _ready(self, waiting: list[StepNode]) -> list[StepNode]:
        """Take from ``waiting`` the steps whose dependencies are all done, in definition
        order; those on a branch not taken are marked not reached (which may ready others)."""
        ready: list[StepNode] = []
        progress = True
        while progress:
            progress = False
            ended = {step.name for step in self.result.steps} | self.not_reached
            for node in list(waiting):
                if not node.dependencies <= ended:
                    continue
                waiting.remove(node)
                if self._reached(node):
                    ready.append(node)
                else:
                    self.not_reached.add(node.name)
                    progress = True
        return ready

    def _reached(self, node: StepNode) -> bool:
        """False for steps on a branch not taken, and for anything depending on them."""
        if node.branch and self.outcomes.get(node.branch[0]) is not node.branch[1]:
            return False
        return not (node.dependencies & self.not_reached)

    def _run_step(self, node: StepNode, label: str) -> StepResult:
        step = StepResult(
            name=node.name, step_type=node.type, status="Executing", start_time=_now()
        )
        self.log(f"{label} ...")
        try:
            if node.type == "Condition":
                step.properties = self._condition(node)
            elif node.type == "Fail":
                message = self._scope(node, None).resolve(
                    node.spec["Arguments"].get("ErrorMessage", "")
                )
                raise StepFailure(to_text(message) or f"Fail step {node.name!r} reached")
            else:
                self._job(node, step)
            step.status = "Succeeded"
        except StepFailure as failure:
            step.status, step.failure_reason = "Failed", str(failure)
        except (ClientError, BotoCoreError) as error:
            step.status, step.failure_reason = "Failed", f"{type(error).__name__}: {error}"
        except DefinitionError as error:
            raise DefinitionError(f"step {node.name!r}: {error}") from error
        finally:
            step.end_time = _now()
        if step.status == "Succeeded":
            self.properties[node.name] = step.properties
        ending = f"{label} {step.status} in {step.duration_s:.1f}s"
        if step.cache_hit:
            ending += " (cached)"
        if step.failure_reason:
            ending += f": {step.failure_reason}"
        if step.log_path:
            ending += f"\n    log: {step.log_path}"
        self.log(ending)
        return step

    def _condition(self, node: StepNode) -> dict[str, Any]:
        scope = self._scope(node, None)
        outcome = evaluate_all(node.spec["Arguments"].get("Conditions", []), scope.resolve)
        self.outcomes[node.name] = outcome
        return {"Outcome": "True" if outcome else "False"}

    def _job(self, node: StepNode, step: StepResult) -> None:
        job_dir = (
            self.runner.work_dir / self.result.execution_id / re.sub(r"[^\w.-]", "_", node.name)
        )
        if node.type in JOB_TYPES:
            # A reused execution id must not upload a previous attempt's files.
            shutil.rmtree(job_dir, ignore_errors=True)
            job_dir.mkdir(parents=True)
        context = JobContext(
            job_name=job_name(self.result.execution_id, node.name, self._job_name_prefix(node)),
            job_dir=job_dir,
            session=self.runner.session,
            clients=self.runner.client,
            region=self.region,
            account=self.account,
            retrier=Retrier(node.spec.get("RetryPolicies", []), self.log),
            python=self.runner.python,
            log=self.log,
        )
        arguments = self._scope(node, context).resolve(node.spec.get("Arguments", {}))
        self._note_image(node, arguments)
        cache_config = node.spec.get("CacheConfig", {})
        cache = self.cache if cache_config.get("Enabled") else None
        if cache:
            key = cache_key(node.type, arguments)
            cached = context.retrier.call(cache.get, key, cache_config.get("ExpireAfter"))
            if cached is not None:
                step.properties, step.cache_hit = cached, True
                return
        if node.type in JOB_TYPES:
            step.log_path = str(job_dir / "job.log")
        # Describe responses carry datetimes; expressions and the cache need plain JSON.
        step.properties = jsonable(_EXECUTORS[node.type](context, arguments))
        if cache:
            context.retrier.call(cache.put, key, node.type, step.properties)

    @staticmethod
    def _job_name_prefix(node: StepNode) -> str | None:
        return node.spec.get("Arguments", {}).get(NAME_FIELDS.get(node.type))

    def _note_image(self, node: StepNode, arguments: Mapping[str, Any]) -> None:
        image = arguments.get("AppSpecification", {}).get("ImageUri") or arguments.get(
            "AlgorithmSpecification", {}
        ).get("TrainingImage")
        if image and image not in self.images_noted:
            self.images_noted.add(image)
            self.log(
                f"    image {image} is not pulled: the job runs locally with {self.runner.python}"
            )

    def _scope(self, node: StepNode, context: JobContext | None) -> Scope:
        variables = {**self.variables, "CurrentDateTime": _now().isoformat()}
        if context is not None and node.type in JOB_NAME_VARIABLE:
            variables[JOB_NAME_VARIABLE[node.type]] = context.job_name
        retrier = (
            context.retrier if context else Retrier(node.spec.get("RetryPolicies", []), self.log)
        )
        s3 = S3(self.runner.client("s3"), retrier)
        return Scope(
            parameters=self.result.parameters,
            execution=variables,
            step_properties=self._step_properties,
            read_property_file=lambda step, name: self._property_file(s3, step, name),
            read_s3_json=s3.read_json,
        )

    def _step_properties(self, name: str) -> Mapping[str, Any]:
        if name not in self.properties:
            raise StepFailure(f"step {name!r} has no properties: it did not succeed")
        return self.properties[name]

    def _property_file(self, s3: S3, step: str, name: str) -> Any:
        if (step, name) not in self.property_files:
            declaration = next(
                p for p in self.by_name[step].spec["PropertyFiles"] if p["PropertyFileName"] == name
            )
            outputs = self._step_properties(step)["ProcessingOutputConfig"]["Outputs"]
            output = next(o for o in outputs if o["OutputName"] == declaration["OutputName"])
            uri = join_uri(output["S3Output"]["S3Uri"], declaration["FilePath"])
            self.property_files[(step, name)] = s3.read_json(uri)
        return self.property_files[(step, name)]
