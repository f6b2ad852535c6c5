"""The `infra` command and the embedded run's first-time provisioning, over infra.py."""

from __future__ import annotations

import argparse
import os

from training_pipeline.aws import embedded
from training_pipeline.config.settings import Settings, load_settings
from training_pipeline.infra import terraform as infra


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    target = "backend" if args.backend else "operations" if args.operations else args.env
    endpoint = _embedded_endpoint(settings) if args.embedded else None
    options = dict(
        settings=settings,
        embedded=args.embedded,
        endpoint_url=endpoint,
        provider_mirror=args.provider_mirror,
    )
    if args.action == "plan":
        result = infra.plan(target, **options)  # streams Terraform's output as it runs
        print(f"{result.target}: {'changes pending' if result.changes else 'no changes'}")
        return 0
    result = infra.apply(target, **options)
    print(f"{result.target}: applied in {result.seconds:.0f}s")
    for name, value in sorted(result.outputs.items()):
        print(f"  {name} = {value}")
    return 0


def provision_embedded(settings: Settings, env: str) -> None:
    """Apply backend, operations and `env` to the embedded AWS, as a user would on AWS."""
    endpoint = _embedded_endpoint(settings)
    print(f"provisioning the embedded accounts with Terraform: backend, operations, {env}")
    for target in ("backend", "operations", env):
        result = infra.apply(
            target, settings=settings, embedded=True, endpoint_url=endpoint, log=_summary
        )
        print(f"  {result.target}: applied in {result.seconds:.0f}s")


def _summary(text: str) -> None:
    """Terraform's commands and its one-line summaries; the full plan is for `infra plan`."""
    for line in text.splitlines():
        if line.startswith(("$ terraform", "Apply complete!", "No changes.")):
            print(f"  {line}")


def _embedded_endpoint(settings: Settings) -> str:
    server, started = embedded.ensure_server()
    os.environ.update(server.environ(settings.region))
    if started:
        print(f"embedded AWS started at {server.endpoint_url} (stop: `embedded down`)")
    return server.endpoint_url
