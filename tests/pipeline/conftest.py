"""The pipeline tests build many definitions with the SDK: each distinct SDK config is
validated once per process, not at every lookup (sdk_config.py says why)."""

from __future__ import annotations

import pytest

from .sdk_config import validated_once


@pytest.fixture(autouse=True)
def _config_validated_once_per_content(monkeypatch: pytest.MonkeyPatch) -> None:
    from sagemaker.core.config.config_manager import SageMakerConfig

    once = validated_once(SageMakerConfig.validate_sagemaker_config)
    monkeypatch.setattr(SageMakerConfig, "validate_sagemaker_config", staticmethod(once))
