"""Load `profiles.conf`, the single source of project name, region and account ids.

The format is deliberately plain INI (sections, `key = value`, `#` comments) so that Terraform can
parse the same file with `regexall()`. The loader is strict: every problem is reported with the
file, the line and what to change, because a typo here would deploy to the wrong account.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from training_pipeline.errors import ProfilesError

ENVIRONMENTS = ("dev", "staging", "prod")
APPROVAL_MODES = ("auto", "manual")
DEFAULT_PATH = Path(__file__).resolve().parent.parent / "profiles.conf"

_SECTION = re.compile(r"^\[(?P<name>[^\]]*)\]$")
_ENTRY = re.compile(r"^(?P<key>[A-Za-z_][A-Za-z0-9_]*)\s*=\s*(?P<value>.*)$")
_ACCOUNT_ID = re.compile(r"^\d{12}$")
_PROJECT_NAME = re.compile(r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_INSTANCE_TYPE = re.compile(r"^ml\.[a-z0-9.]+$")
_ENDPOINT = re.compile(r"^(off|ml\.[a-z0-9.]+)$")
_SCHEDULE = re.compile(r"^(off|cron\(.+\)|rate\(\d+ (minute|minutes|hour|hours|day|days)\))$")

_KEYS = {
    "project": ("name", "region", "github_repository"),
    "operations": ("account_id",),
    **{
        env: ("account_id", "approval", "retrain_schedule", "instance_type", "min_auc", "endpoint")
        for env in ENVIRONMENTS
    },
}


@dataclass(frozen=True)
class EnvironmentSettings:
    """One deployment environment (dev, staging or prod) and the account it lives in."""

    name: str
    account_id: str
    approval: str
    retrain_schedule: str
    instance_type: str
    min_auc: float
    endpoint: str  # "off", or the instance type approved models are served on

    @property
    def approval_status(self) -> str:
        """The model package status a model that passed the gate is registered with."""
        return "Approved" if self.approval == "auto" else "PendingManualApproval"


@dataclass(frozen=True)
class Settings:
    """The whole of profiles.conf, validated."""

    path: Path
    project: str
    region: str
    github_repository: str
    accounts: dict[str, str]
    environments: dict[str, EnvironmentSettings]

    def environment(self, name: str) -> EnvironmentSettings:
        """The named environment, or a ProfilesError listing the valid names."""
        try:
            return self.environments[name]
        except KeyError:
            raise ProfilesError(
                f"unknown environment {name!r}: choose one of {', '.join(ENVIRONMENTS)} "
                f"(defined in {self.path})"
            ) from None


def load_settings(path: Path | str | None = None) -> Settings:
    """Read and validate profiles.conf (`$PROFILES_CONF`, else the one at the repository root)."""
    path = Path(path or os.environ.get("PROFILES_CONF") or DEFAULT_PATH)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProfilesError(
            f"{path}: file not found; copy profiles.conf from the template root"
        ) from None
    sections, lines = _parse(path, text)
    for section, keys in _KEYS.items():
        if section not in sections:
            raise ProfilesError(f"{path}: missing section [{section}]")
        for key in keys:
            if key not in sections[section]:
                raise ProfilesError(
                    f"{path}:{lines[section, None]}: section [{section}] lacks {key!r}"
                )

    def check(section: str, key: str, pattern: re.Pattern[str], expected: str) -> str:
        value = sections[section][key]
        if not pattern.match(value):
            raise ProfilesError(
                f"{path}:{lines[section, key]}: [{section}] {key} = {value!r} is not {expected}"
            )
        return value

    accounts = {
        name: check(name, "account_id", _ACCOUNT_ID, "a 12-digit AWS account id")
        for name in ("operations", *ENVIRONMENTS)
    }
    seen: dict[str, str] = {}
    for name, account in accounts.items():
        if account in seen:
            raise ProfilesError(
                f"{path}:{lines[name, 'account_id']}: [{name}] account_id {account} is already "
                f"used by [{seen[account]}]; each environment needs its own account"
            )
        seen[account] = name

    environments = {}
    for env in ENVIRONMENTS:
        approval = sections[env]["approval"]
        if approval not in APPROVAL_MODES:
            raise ProfilesError(
                f"{path}:{lines[env, 'approval']}: [{env}] approval = {approval!r} must be "
                f"one of {', '.join(APPROVAL_MODES)}"
            )
        raw_floor = sections[env]["min_auc"]
        try:
            min_auc = float(raw_floor)
        except ValueError:
            min_auc = -1.0
        if not 0.0 <= min_auc <= 1.0:
            raise ProfilesError(
                f"{path}:{lines[env, 'min_auc']}: [{env}] min_auc = {raw_floor!r} must be a "
                "number between 0 and 1"
            )
        environments[env] = EnvironmentSettings(
            name=env,
            account_id=accounts[env],
            approval=approval,
            retrain_schedule=check(
                env, "retrain_schedule", _SCHEDULE, "off, cron(...) or rate(...)"
            ),
            instance_type=check(env, "instance_type", _INSTANCE_TYPE, "ml.*"),
            min_auc=min_auc,
            endpoint=check(
                env, "endpoint", _ENDPOINT, "off or an instance type such as ml.m5.large"
            ),
        )
    return Settings(
        path=path,
        project=check("project", "name", _PROJECT_NAME, "3-32 lowercase letters, digits, '-'"),
        region=check("project", "region", _REGION, "an AWS region such as eu-west-1"),
        github_repository=check(
            "project",
            "github_repository",
            _REPOSITORY,
            "OWNER/REPO of your GitHub repository",
        ),
        accounts=accounts,
        environments=environments,
    )


def _parse(
    path: Path, text: str
) -> tuple[dict[str, dict[str, str]], dict[tuple[str, str | None], int]]:
    """Sections and their entries, plus the line number of every section and key."""
    sections: dict[str, dict[str, str]] = {}
    lines: dict[tuple[str, str | None], int] = {}
    current: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if match := _SECTION.match(line):
            current = match["name"].strip()
            if current not in _KEYS:
                raise ProfilesError(
                    f"{path}:{number}: unknown section [{current}]; expected one of "
                    + ", ".join(f"[{name}]" for name in _KEYS)
                )
            if current in sections:
                raise ProfilesError(
                    f"{path}:{number}: section [{current}] is defined twice "
                    f"(first on line {lines[current, None]})"
                )
            sections[current] = {}
            lines[current, None] = number
            continue
        match = _ENTRY.match(line)
        if match is None:
            raise ProfilesError(f"{path}:{number}: expected `key = value`, got {line!r}")
        if current is None:
            raise ProfilesError(f"{path}:{number}: {match['key']!r} is outside any [section]")
        key, value = match["key"], match["value"].strip()
        if key not in _KEYS[current]:
            raise ProfilesError(
                f"{path}:{number}: unknown key {key!r} in [{current}]; expected one of "
                + ", ".join(_KEYS[current])
            )
        if key in sections[current]:
            raise ProfilesError(
                f"{path}:{number}: [{current}] {key} is set twice "
                f"(first on line {lines[current, key]})"
            )
        sections[current][key] = value
        lines[current, key] = number
    return sections, lines
