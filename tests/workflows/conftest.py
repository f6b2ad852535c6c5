"""An embedded AWS of its own, provisioned by the real Terraform, and a throwaway GitHub whose
pushes run the workflow files through act (training_pipeline.github.offline).

``promoted`` plays the promotion once for the module (merge to main, promote staging, promote
prod) and keeps each registry as it stood after each step; the tests then assert on those
snapshots, or push more and compare before with after. A test that moves a promotion tag puts
it back where it found it.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tooling import require, require_terraform
from training_pipeline.aws import embedded
from training_pipeline.config.settings import Settings, load_settings
from training_pipeline.environment import deployment, registry
from training_pipeline.github import promotion
from training_pipeline.github.offline import act
from training_pipeline.github.offline.origin import OfflineGitHub

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Offline:
    """The embedded AWS, the throwaway GitHub and a developer's clone of it."""

    server: embedded.EmbeddedServer
    settings: Settings
    hub: OfflineGitHub
    clone: Path

    def git(self, *args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(self.clone), *args], capture_output=True, text=True, check=True
        ).stdout.strip()

    def push(self, *refspecs: str) -> list[dict[str, Any]]:
        """Push; the runs that the push started (one per pushed ref, oldest first)."""
        before = len(self.hub.runs())
        subprocess.run(
            ["git", "-C", str(self.clone), "push", "--force", "origin", *refspecs], check=True
        )
        return self.hub.runs()[before:]

    def promote(self, env: str, rev: str | None = None) -> list[dict[str, Any]]:
        before = len(self.hub.runs())
        planned = promotion.plan(
            self.clone,
            self.settings,
            env,
            rev,
            validated=lambda name, sha: deployment.validation_problem(
                name, sha, embedded_aws=False
            ),
        )
        promotion.push(self.clone, planned)
        return self.hub.runs()[before:]

    def versions(self, env: str, model: str | None = None) -> list[registry.ModelVersion]:
        target = deployment.connect(env, embedded_aws=False, model=model)
        return registry.list_versions(target.session, target.names.model_package_group)

    def set_tag(self, tag: str, sha: str) -> None:
        """Put a tag back where a test found it, as an admin would, without a push event."""
        subprocess.run(
            ["git", "--git-dir", str(self.hub.origin), "update-ref", f"refs/tags/{tag}", sha],
            check=True,
        )


@dataclass
class Promoted:
    """The merged commit, and every registry after each step of its promotion."""

    sha: str
    after: dict[str, dict[str, list[registry.ModelVersion]]] = field(default_factory=dict)
    runs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


@pytest.fixture(scope="module")
def offline(provision_all, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Offline]:
    try:
        act.act_binary()
    except act.ActError as error:
        require(False, str(error))
    require_terraform()
    settings = load_settings()
    server, _ = provision_all()
    saved = dict(os.environ)
    os.environ.update(server.environ(settings.region))
    try:
        for env in settings.environment_names:  # the operator's part: each environment's own data
            for target in deployment.connect(env, embedded_aws=False).every_model():
                deployment.seed_reference_data(target)
        root = tmp_path_factory.mktemp("offline-github")
        hub = OfflineGitHub.create(
            root / "github",
            repository=settings.github_repository,
            environ={"AWS_ENDPOINT_URL": server.endpoint_url, "AWS_EC2_METADATA_DISABLED": "true"},
        )
        clone = hub.clone(root / "clone", source=REPO_ROOT)
        yield Offline(server, settings, hub, clone)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        embedded.stop_server(server)


@pytest.fixture(scope="module")
def promoted(offline: Offline) -> Promoted:
    result = Promoted(sha=offline.git("rev-parse", "HEAD"))

    def snapshot(step: str) -> None:
        result.after[step] = {
            env: offline.versions(env) for env in offline.settings.environment_names
        }

    result.runs["merge"] = offline.push(offline.settings.main_branch)
    snapshot("merge")
    for env in offline.settings.environment_names[1:]:
        result.runs[env] = offline.promote(env)
        snapshot(env)
    return result
