"""A model's pipeline defaults: the hyperparameter parameters' default values that suit it.

The pipeline's shape is the same for every model; what differs is kept in the model's folder,
`training_pipeline/models/NAME/pipeline.json` (optional)::

    {"MaxIter": 100, "LearningRate": 0.05, "MaxDepth": 2}

Each value becomes the default of the pipeline parameter of that name (a run, a schedule or
Studio may still pass another); a parameter it leaves out keeps the template's default.
"""

from __future__ import annotations

import json
from pathlib import Path

from training_pipeline.errors import UserError
from training_pipeline.pipeline.code_bundle import MODELS_DIR

FILE = "pipeline.json"
# parameter: (type, template default, smallest allowed value, whether that value is excluded)
PARAMETERS: dict[str, tuple[type, int | float, float, bool]] = {
    "MaxIter": (int, 200, 1, False),
    "LearningRate": (float, 0.1, 0.0, True),
    "MaxDepth": (int, 3, 1, False),
}


def load_defaults(model: str, models_dir: Path = MODELS_DIR) -> dict[str, int | float]:
    """Every tunable parameter's default for `model`, or a UserError naming the file and what
    is wrong in it."""
    path = models_dir / model / FILE
    defaults = {name: default for name, (_, default, _, _) in PARAMETERS.items()}
    if not path.is_file():
        return defaults
    try:
        given = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise UserError(f"{path}:{error.lineno}: not JSON: {error.msg}") from None
    if not isinstance(given, dict):
        raise UserError(f'{path}: expected an object such as {{"MaxIter": 100}}')
    problems = [
        f"unknown parameter {name!r} (known: {', '.join(PARAMETERS)})"
        for name in given
        if name not in PARAMETERS
    ]
    for name, value in given.items():
        if name not in PARAMETERS:
            continue
        kind, _, lowest, exclusive = PARAMETERS[name]
        number = isinstance(value, int | float) and not isinstance(value, bool)
        whole = number and float(value).is_integer()
        too_low = number and (value <= lowest if exclusive else value < lowest)
        if not number or (kind is int and not whole) or too_low:
            bound = f"> {lowest:g}" if exclusive else f">= {lowest:g}"
            wanted = "an integer" if kind is int else "a number"
            problems.append(f"{name} must be {wanted} {bound}, got {value!r}")
            continue
        defaults[name] = kind(value)
    if problems:
        raise UserError(f"{path}: {'; '.join(problems)}")
    return defaults
