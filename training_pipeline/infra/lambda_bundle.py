"""The zip of the deploy-on-approval Lambda function, built outside Terraform.

Only the hashicorp/aws provider is available (no archive provider), so `infra` builds the zip
into the main root before each plan or apply. It holds the two files of `inference/on_approval/`
(`deploy.py` and `lambda_function.py`) and `inference/integrity.py` at its top level and is
byte-identical for the same sources (fixed timestamps and modes, stored uncompressed so that no
zlib build can change a byte): the function is updated exactly when its code changes.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

SOURCES = (
    *(
        Path(__file__).parents[2] / "inference" / "on_approval" / name
        for name in ("deploy.py", "lambda_function.py")
    ),
    Path(__file__).parents[2] / "inference" / "integrity.py",
)
RELATIVE_PATH = ".build/deploy-on-approval.zip"
_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can hold


def build(root_dir: Path) -> str:
    """Write the zip under the Terraform root `root_dir`; its path relative to that root."""
    target = root_dir / RELATIVE_PATH
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".tmp")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_STORED) as archive:
        for source in SOURCES:
            entry = zipfile.ZipInfo(source.name, date_time=_EPOCH)
            entry.external_attr = 0o644 << 16
            archive.writestr(entry, source.read_bytes())
    partial.replace(target)
    return RELATIVE_PATH


if __name__ == "__main__":
    import sys

    root = Path(sys.argv[1] if len(sys.argv) > 1 else "terraform/main")
    print(f"-var deploy_lambda_zip={build(root)}")
