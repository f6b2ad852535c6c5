"""Run a SageMaker pipeline definition without Docker: local compute, real S3 and SageMaker APIs."""

from .errors import DefinitionError, StepFailure
from .results import ExecutionResult, StepResult
from .runner import LocalRunner

__all__ = ["DefinitionError", "ExecutionResult", "LocalRunner", "StepFailure", "StepResult"]
