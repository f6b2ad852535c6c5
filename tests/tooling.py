"""What a test does when a tool it needs (Terraform, its provider mirror, checkov) is missing.

Outside CI it skips, with the reason. With ``CI`` set it fails instead: CI must never pass by
skipping the Terraform acceptance tests.
"""

from __future__ import annotations

import os

import pytest


def require(condition: object, reason: str) -> None:
    """Skip the test when ``condition`` is false, or fail it loudly when running in CI."""
    if condition:
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but {reason}", pytrace=False)
    pytest.skip(reason)
