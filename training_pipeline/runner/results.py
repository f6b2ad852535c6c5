"""The record of an execution, shaped like SageMaker's execution and step listings."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


def jsonable(value: Any) -> Any:
    """Make boto3 responses and step properties JSON-serialisable (datetimes as ISO 8601)."""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


@dataclass
class StepResult:
    """One executed step, as ListPipelineExecutionSteps would report it."""

    name: str
    step_type: str
    status: str = "Starting"
    start_time: dt.datetime | None = None
    end_time: dt.datetime | None = None
    failure_reason: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    cache_hit: bool = False
    log_path: str | None = None

    @property
    def duration_s(self) -> float | None:
        if self.start_time is None or self.end_time is None:
            return None
        return (self.end_time - self.start_time).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "step_type": self.step_type,
            "status": self.status,
            "start_time": jsonable(self.start_time),
            "end_time": jsonable(self.end_time),
            "duration_s": self.duration_s,
            "failure_reason": self.failure_reason,
            "cache_hit": self.cache_hit,
            "log_path": self.log_path,
            "properties": jsonable(self.properties),
        }


@dataclass
class ExecutionResult:
    """A finished local execution. Steps of branches not taken are not listed, as in SageMaker."""

    pipeline_name: str
    execution_id: str
    execution_arn: str
    parameters: dict[str, Any]
    status: str = "Executing"
    failure_reason: str | None = None
    steps: list[StepResult] = field(default_factory=list)
    start_time: dt.datetime | None = None
    end_time: dt.datetime | None = None

    @property
    def succeeded(self) -> bool:
        return self.status == "Succeeded"

    @property
    def duration_s(self) -> float | None:
        if self.start_time is None or self.end_time is None:
            return None
        return (self.end_time - self.start_time).total_seconds()

    def step(self, name: str) -> StepResult:
        """The result of the step called `name`; KeyError if it did not run."""
        for result in self.steps:
            if result.name == name:
                return result
        raise KeyError(f"step {name!r} did not run in execution {self.execution_id}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "pipeline_name": self.pipeline_name,
            "execution_id": self.execution_id,
            "execution_arn": self.execution_arn,
            "status": self.status,
            "failure_reason": self.failure_reason,
            "parameters": jsonable(self.parameters),
            "start_time": jsonable(self.start_time),
            "end_time": jsonable(self.end_time),
            "duration_s": self.duration_s,
            "steps": [step.to_dict() for step in self.steps],
        }
