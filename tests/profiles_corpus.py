"""The profiles.conf files that both parsers (training_pipeline/config/settings.py and
terraform/modules/profiles) must read alike: valid ones they must agree on, broken ones they must
both refuse for the reason on the file's first line (`# refused: ...`)."""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
VALID = DATA / "profiles"
BROKEN = sorted((DATA / "broken_profiles").glob("*.conf"))


def refused_for(path: Path) -> str:
    """The reason a broken file is refused, which both parsers' messages contain."""
    first = path.read_text(encoding="utf-8").splitlines()[0]
    prefix = "# refused: "
    if not first.startswith(prefix):
        raise ValueError(f"{path}:1 must read `{prefix}<the reason both parsers give>`")
    return first.removeprefix(prefix)
