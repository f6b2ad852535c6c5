"""The whole story on the embedded AWS: what `make demo` plays, step by step.

1. The embedded AWS, provisioned by the real Terraform: backend, then operations, dev, staging
   and prod side by side (skipped when this embedded AWS is provisioned already); meanwhile
   the definition templates the deploy jobs need are built into this machine's cache.
2. Each environment's own data in its own data bucket (the operator's part; here the
   reference dataset, on AWS your data).
3. A throwaway GitHub: an origin repository whose pushes run the workflow files through act
   (github/offline), and a developer's clone holding this checkout's files as one commit.
4. A merge to main: on_merge.yml builds and pushes the commit's images and deploys dev, which
   retrains on dev's data.
5. ``promote staging``: on_tag.yml deploys staging, which retrains on staging's data.
6. ``promote prod``: prod retrains on prod's data and registers PendingManualApproval.
7. The approval in prod (a person's decision, here the operator's), and prod's endpoint
   serving that version (what the deploy-on-approval function does; moto runs no Lambda).
8. prod's batch pipelines score its batch/ data with the version just approved (what
   profiles.conf `batch_schedule` runs every day; `predict --env prod` by hand).
9. The three registries side by side: version, status, metrics, commit, data fingerprint.

Nothing in it is specific to the demo: each step calls what a user would run.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from training_pipeline.aws import embedded
from training_pipeline.config.settings import Settings, load_settings
from training_pipeline.config.source import current_revision
from training_pipeline.environment import deployment, predictions, registry
from training_pipeline.github import promotion
from training_pipeline.github.offline.origin import OfflineGitHub
from training_pipeline.infra import terraform as infra
from training_pipeline.tables import format_table

REPO_ROOT = Path(__file__).resolve().parents[2]
# A fixed commit time: the same files make the same commit, so a second run promotes the same
# SHA (its images are then found in ECR and checked, its models found identical).
COMMIT_DATE = "2026-01-01T00:00:00Z"
Log = Callable[[str], None]
T = TypeVar("T")


class StoryFailed(Exception):
    """A step of the story did not end as it must; the message says which."""


@dataclass
class Story:
    """Where the story plays, and how long each chapter took."""

    settings: Settings
    work_dir: Path
    log: Log = print
    seconds: dict[str, float] = field(default_factory=dict)

    def chapter(self, title: str, action: Callable[[], object]) -> object:
        self.log(f"\n== {title}")
        started = time.monotonic()
        result = action()
        self.seconds[title] = time.monotonic() - started
        self.log(f"   ({self.seconds[title]:.0f}s)")
        return result


def play(
    work_dir: Path | None = None,
    *,
    server: embedded.EmbeddedServer | None = None,
    log: Log = print,
) -> Story:
    """Play the whole story on ``server`` (default: the persistent embedded AWS, started if
    needed and left running for what you try next); the Story holds each chapter's time."""
    settings = load_settings()
    story = Story(settings, Path(work_dir or REPO_ROOT / ".work" / "story").resolve(), log)
    started = False
    if server is None:
        server, started = embedded.ensure_server()
    os.environ.update(server.environ(settings.region))
    log(f"embedded AWS {'started' if started else 'running'} at {server.endpoint_url}")

    first, last = settings.environment_names[0], settings.environment_names[-1]
    roots = ", ".join(infra.all_targets(settings))
    story.chapter(f"Terraform: {roots}", lambda: provision(story))
    story.chapter("Each environment's own data", lambda: seed_data(story))
    hub, clone = story.chapter(  # type: ignore[misc]
        "A throwaway GitHub repository", lambda: throwaway_github(story, server.endpoint_url)
    )
    story.chapter(
        f"Merge to {settings.main_branch}: on_merge.yml builds the images, {first} retrains",
        lambda: merge(story, hub, clone),
    )
    for env in settings.environment_names[1:]:
        story.chapter(
            f"promote {env}: on_tag.yml, {env} retrains on its own data",
            lambda env=env: promote(story, hub, clone, env),
        )
    story.chapter(f"The {last} approval, and {last}'s endpoint serving it", lambda: approve(story))
    story.chapter(f"{last}'s batch pipelines score its batch/ data", lambda: score(story))
    log("\n" + registries_table(settings))
    total = sum(story.seconds.values())
    parts = (f"{title.split(':')[0]} {seconds:.0f}s" for title, seconds in story.seconds.items())
    log(f"\nthe whole story in {total:.0f}s: " + ", ".join(parts))
    return story


def _connect(env: str) -> deployment.Environment:
    # play() put the story's server in the environment; embedded_aws=True would switch to the
    # persistent embedded AWS, which need not be that server (a benchmark brings its own).
    return deployment.connect(env, embedded_aws=False, log=lambda line: None)


def provision(story: Story) -> None:
    settings, log = story.settings, story.log
    try:
        for env in settings.environment_names:
            deployment.require_provisioned(_connect(env))
        log("already provisioned: this embedded AWS has every account's buckets")
        return
    except deployment.NotFoundError:
        pass
    started = time.monotonic()
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    log("backend first; operations and the environments as soon as the state bucket is ready")
    # The provider's fixed waits leave the cores idle: meanwhile the definition templates the
    # deploy jobs need are built into this machine's cache, as each environment's first `run`
    # here would build them.
    with ThreadPoolExecutor(max_workers=1) as pool:
        templates = pool.submit(_yielding, deployment.build_templates, settings, current_revision())
        infra.apply_all(
            settings=settings,
            embedded=True,
            endpoint_url=endpoint,
            log=lambda line: None,
            on_done=lambda r: log(f"   {r.target}: applied ({time.monotonic() - started:.0f}s)"),
        )
        log(f"   definition templates of {templates.result()} pipelines in the cache")


def _yielding(function: Callable[..., T], *args: object) -> T:
    """``function(*args)`` in this thread at the lowest CPU priority where the platform sets
    one per thread (Linux): it takes only what the foreground leaves."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
    return function(*args)


def seed_data(story: Story) -> None:
    for env in story.settings.environment_names:
        for target in _connect(env).every_model():
            deployment.seed_reference_data(target, log=lambda line: story.log(f"   {line}"))


def throwaway_github(story: Story, endpoint_url: str) -> tuple[OfflineGitHub, Path]:
    shutil.rmtree(story.work_dir, ignore_errors=True)
    hub = OfflineGitHub.create(
        story.work_dir / "github",
        repository=story.settings.github_repository,
        environ={"AWS_ENDPOINT_URL": endpoint_url, "AWS_EC2_METADATA_DISABLED": "true"},
    )
    clone = hub.clone(story.work_dir / "clone", source=REPO_ROOT, commit_date=COMMIT_DATE)
    story.log(f"   origin {hub.origin} (its pushes run the workflows), clone {clone}")
    return hub, clone


def merge(story: Story, hub: OfflineGitHub, clone: Path) -> None:
    pushed = subprocess.run(["git", "-C", str(clone), "push", "origin", story.settings.main_branch])
    _require_success(hub, pushed.returncode, "the merge to main")


def promote(story: Story, hub: OfflineGitHub, clone: Path, env: str) -> None:
    planned = promotion.plan(
        clone,
        story.settings,
        env,
        None,
        validated=lambda name, sha: deployment.validation_problem(name, sha, embedded_aws=False),
    )
    story.log(f"   moving {planned.describe(clone)}")
    promotion.push(clone, planned)
    _require_success(hub, 0, f"promote {env}")


def approve(story: Story) -> None:
    for target in _connect(story.settings.environment_names[-1]).every_model():
        group = target.names.model_package_group
        versions = registry.list_versions(target.session, group)
        for version in versions:
            if version.status == "PendingManualApproval":
                # As a person would: through the approver role, the only identity that may
                # make a version Approved where approval is manual.
                registry.set_status(
                    target.session,
                    group,
                    version.version,
                    "Approved",
                    "demo",
                    deployment.decider(target),
                )
                story.log(
                    f"   {group} version {version.version}: Approved "
                    f"(as {target.names.approver_role_arn})"
                )
        if target.settings.environment(target.env).endpoint == "off":
            story.log(f"   [{target.env}] endpoint = off: no endpoint serves {target.model}")
            continue
        deployed = deployment.serve(target)
        story.log(
            f"   endpoint {deployed.endpoint_name} {deployed.action}: version {deployed.version}"
        )


def score(story: Story) -> None:
    targets = _connect(story.settings.environment_names[-1]).every_model()
    for target in targets:
        deployment.seed_batch_data(target, log=lambda line: story.log(f"   {line}"))
    # Each model's batch pipeline is an execution of its own: side by side, as on SageMaker.
    with ThreadPoolExecutor(max_workers=len(targets)) as pool:
        records = list(
            pool.map(
                lambda target: deployment.predict(target, log=lambda line: None),
                [target.with_own_session() for target in targets],
            )
        )
    for target, record in zip(targets, records, strict=True):
        if record["status"] != "Succeeded":
            raise StoryFailed(f"{target.names.batch_pipeline_name}: {record['failure_reason']}")
        for found in predictions.read(target.session, record["predictions_url"]):
            file, rows, version = predictions.row(found)
            story.log(f"   {version} scored {rows} rows: {record['predictions_url']}{file}")


def registries_table(settings: Settings) -> str:
    rows = []
    for env in settings.environment_names:
        for target in _connect(env).every_model():
            group = target.names.model_package_group
            for v in registry.list_versions(target.session, group):
                rows.append((env, target.names.account_id, group, *registry.version_row(v)))
    headers = ("env", "account", "model package group", *registry.VERSION_COLUMNS)
    return "Model registries, one per account:\n" + format_table(headers, rows)


def _require_success(hub: OfflineGitHub, returncode: int, what: str) -> None:
    runs = hub.runs()
    last = runs[-1]["workflows"] if runs else []
    failed = [
        f"{w['workflow']} job {name}"
        for w in last
        for name, job in w["jobs"].items()
        if job["result"] not in ("", "success")
    ]
    if returncode or not last or failed:
        raise StoryFailed(f"{what} did not deploy: {', '.join(failed) or 'no workflow ran'}")
