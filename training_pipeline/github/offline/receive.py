"""The origin's ``post-receive`` hook: run the workflows that each pushed ref triggers.

git runs it after a push with one ``OLD NEW REF`` line per updated ref on stdin, inside the
bare origin. Deleted refs trigger nothing (the workflows listen to pushes of branches and tags
only). Each run is recorded as ``runs/run-NNNN.json`` next to act's full log.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from training_pipeline.github.offline import act, events

ZERO = "0" * 40


def dispatch(origin: Path, event_name: str, event: dict[str, Any], sha: str, ref: str) -> dict:
    """Run the workflows ``event_name`` triggers at commit ``sha``; the run's record."""
    config = json.loads((origin / "offline-github.json").read_text())
    records = Path(config["records"])
    number = len(list(records.glob("run-*.json"))) + 1
    log_dir = records / f"run-{number:04d}"
    print(f"offline GitHub: {event_name} {ref} at {sha[:12]}", flush=True)
    runs = act.run_event(
        event_name=event_name,
        event=event,
        sha=sha,
        ref=ref,
        origin=origin,
        runner=Path(config["runner"]),
        repository=config["repository"],
        stand_ins_dir=Path(config["stand_ins"]),
        environ=config["environ"],
        log_dir=log_dir,
        log=lambda line: print(line, flush=True),
    )
    if not runs:
        print("  no workflow runs for this event", flush=True)
    for run in runs:
        outcome = "succeeded" if run.succeeded else "failed"
        print(f"  {run.workflow}: {outcome} in {run.seconds:.0f}s", flush=True)
    record = {
        "number": number,
        "event": event_name,
        "ref": ref,
        "sha": sha,
        "workflows": [run.to_dict() for run in runs],
    }
    (records / f"run-{number:04d}.json").write_text(json.dumps(record, indent=2))
    return record


def main() -> int:
    origin = Path(os.environ.get("GIT_DIR", ".")).resolve()
    # git's hook environment names this bare repository; act and the jobs work in clones.
    for name in [k for k in os.environ if k.startswith("GIT_")]:
        del os.environ[name]
    config = json.loads((origin / "offline-github.json").read_text())
    for line in sys.stdin:
        before, after, ref = line.split()
        if after == ZERO:
            continue
        sha = subprocess.run(
            ["git", "--git-dir", str(origin), "rev-parse", f"{after}^{{commit}}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        event = events.push(config, ref=ref, before=before, after=after, sha=sha)
        dispatch(origin, "push", event, sha, ref)
    return 0


if __name__ == "__main__":
    sys.exit(main())
