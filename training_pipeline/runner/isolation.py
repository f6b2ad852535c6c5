"""Jobs that see `/opt/ml` as in a container, without touching the host's.

On Linux with user namespaces (util-linux `unshare`), each job runs in a mount namespace of its
own where its private tree is bound at `/opt/ml`: scripts that write to hard-coded
`/opt/ml/processing/...` paths, and the SageMaker SDK's ModelTrainer drivers, whose paths are
compiled in, run unchanged, and the host's `/opt/ml` (usually absent) is never created or
written. Where the host has no `/opt/ml`, a tmpfs over `/opt` inside the namespace holds the
mount point, with `/opt`'s own entries bound back.

Elsewhere (macOS, containers without user namespaces, `TP_LOCAL_ISOLATION=off`), jobs keep the
runner's path mapping: `/opt/ml` in entrypoints, arguments and environment is rewritten to the
job's tree, and a hard-coded path in a script's own code is not isolated.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SWITCH = "TP_LOCAL_ISOLATION"
# Arguments: the job's tree to bind at /opt/ml, an empty directory to keep the host's /opt in
# while a tmpfs covers it, then the command.
_BIND_OPT_ML = r"""
set -eu
tree=$1 keep=$2
shift 2
# The job's Environment may set its own PATH; the mounts need the system's tools.
job_path=${PATH-}
PATH=/usr/sbin:/usr/bin:/sbin:/bin
if [ -d /opt/ml ]; then
    mount --bind "$tree" /opt/ml
else
    mount --rbind /opt "$keep"
    mount -t tmpfs -o mode=0755 tmpfs /opt
    for entry in "$keep"/* "$keep"/.[!.]* "$keep"/..?*; do
        [ -e "$entry" ] || [ -L "$entry" ] || continue
        name=${entry##*/}
        if [ -L "$entry" ]; then
            cp -P "$entry" "/opt/$name"
        elif [ -d "$entry" ]; then
            mkdir "/opt/$name" && mount --rbind "$entry" "/opt/$name"
        else
            touch "/opt/$name" && mount --bind "$entry" "/opt/$name"
        fi
    done
    # The job's cwd is its own directory: the host's /opt must not stay reachable from there.
    umount -l "$keep"
    mkdir /opt/ml
    mount --bind "$tree" /opt/ml
fi
PATH=$job_path
exec "$@"
"""


# Found on the runner's PATH once: a job's own PATH (its Environment) must not decide it.
_UNSHARE = shutil.which("unshare") or "unshare"


def wrap(command: list[str], job_dir: Path) -> list[str]:
    """`command` run in a mount namespace where `job_dir/opt/ml` is `/opt/ml`."""
    keep = job_dir / ".host-opt"
    keep.mkdir(exist_ok=True)
    return [
        _UNSHARE,
        "--user",
        "--map-root-user",
        "--mount",
        "--propagation",
        "private",
        "/bin/sh",
        "-c",
        _BIND_OPT_ML,
        "bind-opt-ml",
        str(job_dir / "opt" / "ml"),
        str(keep),
        *command,
    ]


@functools.cache
def available() -> bool:
    """Whether jobs can be isolated here: tried once per process with a throwaway tree (jobs
    then run as root of their own user namespace, which maps to the runner's user)."""
    if os.environ.get(SWITCH, "").lower() in {"off", "0", "false", "no"}:
        return False
    if not sys.platform.startswith("linux") or not Path(_UNSHARE).is_absolute():
        return False
    if not Path("/opt").is_dir():
        return False
    with tempfile.TemporaryDirectory(prefix="isolation-probe-") as probe:
        job_dir = Path(probe)
        (job_dir / "opt" / "ml").mkdir(parents=True)
        marker = job_dir / "opt" / "ml" / "seen"
        try:
            tried = subprocess.run(
                wrap(["/bin/sh", "-c", "touch /opt/ml/seen"], job_dir),
                capture_output=True,
                stdin=subprocess.DEVNULL,
                timeout=30,
            )
        except (OSError, subprocess.TimeoutExpired):
            return False
        return tried.returncode == 0 and marker.is_file()


def describe() -> str:
    """One line for the run's log: how jobs see /opt/ml."""
    if available():
        return "jobs see /opt/ml in a mount namespace of their own (the host's is untouched)"
    return (
        "warning: no mount namespace for jobs here (util-linux unshare with user namespaces, "
        f"or {SWITCH}=off): /opt/ml in commands and environment is mapped to each job's tree, "
        "but a path hard-coded in a script is not isolated"
    )
