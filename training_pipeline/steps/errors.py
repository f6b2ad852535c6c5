"""Step exceptions, and the entry point that turns them into one line on stderr.

The local runner and SageMaker report the last stderr line (or the failure file) as the
failure reason, so each message is self-contained: what is wrong and where, on one line.
"""

import os
import sys
from collections.abc import Callable


class StepError(Exception):
    """A problem with the step's inputs that the user can fix; reported without a traceback."""


class DataValidationError(StepError):
    """The input data breaks the schema or the value rules."""


class HyperparameterError(StepError):
    """A hyperparameter is out of its allowed range."""


class ModelArtifactError(StepError):
    """A model artifact is missing, unreadable or does not match the schema."""


class ChampionError(StepError):
    """The champion model package cannot be looked up, fetched or scored."""


def run_as_script(main: Callable[[], object], failure_file: str | None = None) -> None:
    """Run ``main``; on a StepError print ``Name: message`` as the last stderr line, exit 1.

    Any other exception is a bug and keeps its traceback. ``failure_file`` (SageMaker training
    reads /opt/ml/output/failure as the job's FailureReason) is written only when its folder
    exists, so running the script outside a container leaves no stray files.
    """
    try:
        main()
    except StepError as error:
        line = f"{type(error).__name__}: {error}".replace("\n", " ")
        if failure_file and os.path.isdir(os.path.dirname(failure_file)):
            with open(failure_file, "w", encoding="utf-8") as handle:
                handle.write(line)
        print(line, file=sys.stderr, flush=True)
        sys.exit(1)
