"""The SDK validates its config against its JSON schema at every one of the hundreds of lookups
a definition build makes whenever a SageMaker config file is present (the tests set one:
telemetry off), and `jsonschema.validate` checks the schema itself each time: a build takes
4-5 s instead of 0.7 s. The same config always validates the same way, so the tests that build
many definitions validate each distinct config once (an invalid one still raises every time)."""

from __future__ import annotations

import json
from collections.abc import Callable


def validated_once(validate: Callable[[dict | None], None]) -> Callable[[dict | None], None]:
    valid: set[str] = set()

    def validate_once(sagemaker_config: dict | None = None) -> None:
        key = json.dumps(sagemaker_config, sort_keys=True, default=str)
        if key not in valid:
            validate(sagemaker_config)
            valid.add(key)

    return validate_once


def install() -> None:
    """In this process: each distinct SDK config validated once."""
    from sagemaker.core.config.config_manager import SageMakerConfig

    SageMakerConfig.validate_sagemaker_config = staticmethod(
        validated_once(SageMakerConfig.validate_sagemaker_config)
    )
