"""Provisioning: time to apply backend, operations and dev to a fresh embedded AWS with Terraform.

    .venv/bin/python benchmarks/terraform_apply.py [--repeat 1] [--env dev]

Each repetition starts a fresh moto server and applies the three Terraform roots in bootstrap
order through `training_pipeline.infra.apply` (what `run --env dev --embedded` does the first
time), in a temp work directory. Then, for information, the same three roots are applied again
(no changes: the cost of Terraform's refresh and plan alone). Needs the terraform CLI and the
hashicorp/aws provider (from a local mirror, see infra.py). The server is stopped at the end,
even on errors.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import tempfile
from pathlib import Path

# Run as a script (python benchmarks/NAME.py): its folder is on sys.path.
from _common import load_average, log, median, table, wait_for_quiet

# "aws_s3_bucket.state: Creation complete after 1m0s [id=...]"
_COMPLETE = re.compile(r"^(?P<resource>\S+): \w+ complete after (?:(?P<m>\d+)m)?(?P<s>\d+)s")


def slowest_resources(output: str, count: int = 3) -> list[tuple[str, int]]:
    """The resources Terraform spent longest on, from its "complete after" lines."""
    found = []
    for line in output.splitlines():
        match = _COMPLETE.match(line.strip())
        if match:
            found.append((match["resource"], int(match["m"] or 0) * 60 + int(match["s"])))
    return sorted(found, key=lambda item: -item[1])[:count]


def apply_all(env: str, work: Path, quiet_wait_s: float) -> tuple[dict[str, float], ...]:
    """Fresh server; apply backend, operations, `env`; then apply them again."""
    from training_pipeline import embedded, infra
    from training_pipeline.settings import load_settings

    settings = load_settings()
    quiet = wait_for_quiet(quiet_wait_s)
    log(f"before: {quiet}")
    server = embedded.start_server()
    saved = dict(os.environ)
    try:
        os.environ.update(server.environ(settings.region))
        passes: list[dict[str, float]] = []
        for label in ("fresh", "again (no changes)"):
            seconds: dict[str, float] = {}
            for target in (infra.BACKEND, infra.OPERATIONS, env):
                result = infra.apply(
                    target,
                    settings=settings,
                    embedded=True,
                    endpoint_url=server.endpoint_url,
                    work_dir=work,
                    log=lambda line: None,
                )
                seconds[target] = result.seconds
                slowest = ", ".join(
                    f"{name} {secs}s" for name, secs in slowest_resources(result.output)
                )
                log(
                    f"  {label}: {target} applied in {result.seconds:.1f}s"
                    + (f" (slowest: {slowest})" if slowest else "")
                )
            passes.append(seconds)
        return tuple(passes)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        embedded.stop_server(server)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=1, help="fresh servers to provision")
    parser.add_argument("--env", default="dev", help="environment to apply after operations")
    parser.add_argument("--quiet-wait", type=float, default=120, metavar="SECONDS")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)

    log(f"{os.cpu_count()} cores, load average {load_average()} at start")
    fresh: list[dict[str, float]] = []
    again: list[dict[str, float]] = []
    for repetition in range(1, args.repeat + 1):
        log(f"repetition {repetition}: fresh embedded AWS")
        with tempfile.TemporaryDirectory(prefix="terraform-apply-") as temp:
            first, second = apply_all(args.env, Path(temp), args.quiet_wait)
        fresh.append(first)
        again.append(second)

    targets = list(fresh[0])
    rows: list[list[object]] = []
    for target in targets:
        rows.append(
            [target, median([f[target] for f in fresh]), median([a[target] for a in again])]
        )
    rows.append(
        [
            "total",
            median([sum(f.values()) for f in fresh]),
            median([sum(a.values()) for a in again]),
        ]
    )
    print()
    print(f"Terraform apply on the embedded AWS (seconds, median of {args.repeat})")
    print(table(["root", "fresh apply", "re-apply (no changes)"], rows))
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
