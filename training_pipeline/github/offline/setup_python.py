"""Stand-in for actions/setup-python: the project's interpreter in a virtualenv of the job's own.

The virtualenv (under ``$RUNNER_TEMP``) has no packages of its own; a ``.pth`` file puts the
project virtualenv's site-packages on its path, so requirements installed there are already
satisfied, and whatever the job installs (its checkout of the project, say) lands in the job's
virtualenv, never in the project's. Its ``bin`` goes first on ``$GITHUB_PATH``. Unlike the real
action it downloads nothing: ``python-version`` must be the project interpreter's own
``major.minor``, and fails as the real action fails for a version it cannot find.
"""

from __future__ import annotations

import os
import site
import sys
import venv
from pathlib import Path


def main() -> int:
    wanted = os.environ.get("INPUT_PYTHON_VERSION", "").strip()
    have = f"{sys.version_info.major}.{sys.version_info.minor}"
    if wanted and wanted not in (have, f"{have}.{sys.version_info.micro}"):
        print(
            f"::error::The version '{wanted}' with architecture 'x64' was not found for this "
            f"operating system (the offline stand-in has the project's Python {have} only)."
        )
        return 1
    home = Path(os.environ["RUNNER_TEMP"]) / "setup-python" / "venv"
    venv.EnvBuilder(with_pip=False, symlinks=True, clear=True).create(home)
    packages = next((home / "lib").glob("python*/site-packages"))
    (packages / "project-site-packages.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    with open(os.environ["GITHUB_PATH"], "a", encoding="utf-8") as path:
        path.write(f"{home / 'bin'}\n")
    with open(os.environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as outputs:
        outputs.write(f"python-version={have}.{sys.version_info.micro}\n")
        outputs.write(f"python-path={home / 'bin' / 'python'}\n")
    print(f"Python {have} from {sys.prefix}, in the job's virtualenv {home}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
