"""Errors of the local runner: a definition it cannot run, and a step that failed."""


class DefinitionError(ValueError):
    """The definition is inconsistent or uses something the runner does not support.

    Raised before any step runs whenever it can be detected statically, so that a bad
    definition never leaves half an execution behind.
    """


class StepFailure(Exception):
    """A step failed at run time; the message is the step's failure reason."""
