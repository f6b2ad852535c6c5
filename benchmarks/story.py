"""The whole story and its Terraform, cold and warm, on a fresh embedded AWS.

    .venv/bin/python benchmarks/story.py [--repeat 1]

Cold: a fresh moto server and an empty definition template cache, then `story.play` (what
`make demo` runs): Terraform for the five roots, each environment's data, a throwaway GitHub,
merge to main, promote staging, promote prod, the prod approval. Warm: the same story again
on the same server (Terraform is skipped, images are found by digest, the models are found
identical, the templates are cached). Then Terraform's five roots again on that server (an
apply with no changes). Targets: the five roots in at most 60 s, the whole story in
at most 3 minutes cold on 2 cores.

Floor of the five roots: on a second fresh server, the backend root is applied first
(untimed), then one environment root alone is timed. The five roots cannot take less than
that one root (its AWS provider waits are fixed, see infra.apply_all), plus the time until
the backend's state bucket is usable. The servers are stopped at the end, even on errors.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from _common import load_average, log, median, table, wait_for_quiet

TERRAFORM = "Terraform: backend, operations, dev, staging, prod"
TARGETS = {"Terraform, five roots": 60.0, "whole story": 180.0}
FLOOR = "floor: one environment root alone"


def one_root_alone(settings) -> float:
    """Seconds to apply dev's root alone, on a fresh server whose backend is already applied."""
    from training_pipeline.aws import embedded
    from training_pipeline.infra import terraform as infra

    server = embedded.start_server()
    saved = dict(os.environ)
    try:
        os.environ.update(server.environ(settings.region))
        with tempfile.TemporaryDirectory(prefix="story-floor-") as work:
            options = dict(
                settings=settings,
                embedded=True,
                endpoint_url=server.endpoint_url,
                work_dir=Path(work),
                log=lambda line: None,
            )
            infra.apply_all([infra.BACKEND], **options)
            started = time.monotonic()
            infra.apply_all(["dev"], **options)
            return time.monotonic() - started
    finally:
        os.environ.clear()
        os.environ.update(saved)
        embedded.stop_server(server)


def measure(quiet_wait_s: float) -> dict[str, tuple[float, float]]:
    from training_pipeline.aws import embedded
    from training_pipeline.config.settings import load_settings
    from training_pipeline.demo import story
    from training_pipeline.infra import terraform as infra

    settings = load_settings()
    log(f"before: {wait_for_quiet(quiet_wait_s)}")
    server = embedded.start_server()
    saved = dict(os.environ)
    quiet = lambda line: None  # noqa: E731
    try:
        with tempfile.TemporaryDirectory(prefix="story-bench-") as work:
            # Cold is a machine's first story: no definition template cached yet (the act jobs
            # see TP_CACHE_DIR too). Warm finds the templates cold left there.
            os.environ["TP_CACHE_DIR"] = str(Path(work) / "cache")
            cold = story.play(Path(work) / "cold", server=server, log=quiet)
            log(f"  cold story {sum(cold.seconds.values()):.0f}s")
            warm = story.play(Path(work) / "warm", server=server, log=quiet)
            log(f"  warm story {sum(warm.seconds.values()):.0f}s")
            started = time.monotonic()
            infra.apply_all(
                settings=settings,
                embedded=True,
                endpoint_url=server.endpoint_url,
                log=quiet,
            )
            again = time.monotonic() - started
            log(f"  Terraform again (no changes) {again:.0f}s")
    finally:
        os.environ.clear()
        os.environ.update(saved)
        embedded.stop_server(server)
    log(f"before the floor: {wait_for_quiet(quiet_wait_s)}")
    floor = one_root_alone(settings)
    log(f"  one environment root alone {floor:.0f}s")
    return {
        "Terraform, five roots": (cold.seconds[TERRAFORM], again),
        "whole story": (sum(cold.seconds.values()), sum(warm.seconds.values())),
        FLOOR: (floor, floor),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=1, help="fresh servers to measure on")
    parser.add_argument("--quiet-wait", type=float, default=120, metavar="SECONDS")
    args = parser.parse_args(argv)
    log(f"{os.cpu_count()} cores, load average {load_average()} at start")
    runs = [measure(args.quiet_wait) for _ in range(args.repeat)]
    floor = median([run[FLOOR][0] for run in runs])
    rows = []
    for name, target in TARGETS.items():
        cold = median([run[name][0] for run in runs])
        warm = median([run[name][1] for run in runs])
        against_floor = f"{cold / floor:.2f}x" if name.startswith("Terraform") else ""
        rows.append([name, cold, warm, target, f"{cold / target:.2f}x", against_floor])
    rows.append([FLOOR, floor, "", "", "", "1.00x"])
    print()
    print(f"The promotion story on the embedded AWS (seconds, median of {args.repeat})")
    print(table(["", "cold", "warm", "target", "cold / target", "cold / floor"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
