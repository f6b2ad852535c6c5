"""What a test does when a tool it needs (Terraform, its provider mirror, checkov) is missing.

Outside CI it skips, with the reason. With ``CI`` set it fails instead: CI must never pass by
skipping the Terraform acceptance tests.
"""

from __future__ import annotations

import os
import shutil

import pytest


def require(condition: object, reason: str) -> None:
    """Skip the test when ``condition`` is false, or fail it loudly when running in CI."""
    if condition:
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but {reason}", pytrace=False)
    pytest.skip(reason)


def require_terraform() -> None:
    """Skip without Terraform and its provider mirror, except in CI, where that is a failure."""
    from training_pipeline.infra import terraform as infra

    missing = []
    if shutil.which("terraform") is None:
        missing.append("the terraform CLI")
    if infra.find_provider_mirror() is None and os.environ.get("TF_PROVIDER_MIRROR") != "none":
        missing.append("a hashicorp/aws provider mirror (TF_PROVIDER_MIRROR)")
    require(not missing, "the Terraform tests need " + " and ".join(missing))
