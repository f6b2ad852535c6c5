"""Load `profiles.conf`, the single source of project name, region and account ids.

The format is deliberately plain INI (sections, `key = value`, `#` comments) so that Terraform can
parse the same file with `regexall()`. The loader is strict: every problem is reported with the
file, the line and what to change, because a typo here would deploy to the wrong account.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from training_pipeline.errors import ProfilesError
from training_pipeline.steps import schema as step_schema

APPROVAL_MODES = ("auto", "manual")
DEFAULT_PATH = Path(__file__).resolve().parents[2] / "profiles.conf"

# A section name is also part of resource names, tags and GitHub Environments.
_SECTION = re.compile(r"^\[(?P<name>[^\]]*)\][ \t]*$")
_SECTION_NAME = re.compile(r"^[a-z][a-z0-9]{1,9}$")
_ENTRY = re.compile(r"^(?P<key>[A-Za-z_][A-Za-z0-9_]*)[ \t]*=[ \t]*(?P<value>.*)$")
_ACCOUNT_ID = re.compile(r"^[0-9]{12}$")
_PROJECT_NAME = re.compile(r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]$")
_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_INSTANCE_TYPE = re.compile(r"^ml\.[a-z0-9.]+$")
_ENDPOINT = re.compile(r"^(off|ml\.[a-z0-9.]+)$")
_CAPTURE = re.compile(r"^(off|[1-9][0-9]?|100)$")
_INSTANCES = re.compile(r"^([1-9]|10)$")
_DRIFT_ACTION = re.compile(r"^(retrain|alarm|off)$")
_SCHEDULE = re.compile(r"^(off|cron\(.+\)|rate\([0-9]+ (minute|minutes|hour|hours|day|days)\))$")
_BRANCH_REF = re.compile(r"^refs/heads/(?P<branch>[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*)$")
_GITHUB_IDS = re.compile(r"^[0-9]+/[0-9]+$")
_FLOOR = re.compile(r"^[0-9]+(\.[0-9]+)?$")
_DATASET = re.compile(r"^(none|sklearn:[a-z_]+)$")
# A section whose name starts with `model` and a blank is a model: [model NAME].
_MODEL_LIKE = re.compile(r"^model[ \t]")
_MODEL_SECTION = re.compile(r"^model (?P<model>[a-z][a-z0-9]{1,9})$")
# A GitHub user login or an ORG/TEAM slug.
_REVIEWER = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(/[A-Za-z0-9._-]+)?$")

_BLANKS = " \t"
# Every section but these two and the [model NAME] ones is an environment, in promotion order.
_FIXED_SECTIONS = ("project", "operations")
# Names an environment cannot have: a Terraform target (infra --backend), Terraform's own
# workspace (a bare `terraform apply` would pick it).
_RESERVED = ("backend", "default")
# {project}-{env}-artifacts-{account id} is an S3 bucket name: at most 63 characters.
_MAX_PROJECT_AND_ENVIRONMENT = 63 - len("--artifacts-") - 12
# {project}-{env}-{model}-deploy-on-approval names a Lambda function (at most 64 characters).
_MAX_PROJECT_ENVIRONMENT_AND_MODEL = 42
_ENVIRONMENT_KEYS = (
    "account_id",
    "deploy_ref",
    "reviewers",
    "approval",
    "retrain_schedule",
    "instance_type",
    "endpoint",
)
_MODEL_KEYS = ("dataset", "metric", "direction", "floor")
# A model section may also set floor_<ENV> for any environment of the file: that environment's
# floor for the model, instead of `floor`.
_FLOOR_KEY = "floor_"
_KEYS = {"project": ("name", "region", "github_repository"), "operations": ("account_id",)}
# The gate metrics the evaluation step reports (for any kind of model), and which way each is
# better.
METRIC_DIRECTIONS = {
    metric: direction
    for metrics in step_schema.METRICS.values()
    for metric, direction in metrics.items()
}
DIRECTIONS = ("higher", "lower")
# Scores between 0 and 1: a floor above 1 could never be met.
_AT_MOST_ONE = ("roc_auc", "accuracy", "precision", "recall", "f1", "r2")
# Keys that may be left out.
_OPTIONAL = {
    "project": ("github_ids",),
    "environment": (
        "capture",
        "endpoint_instances",
        "batch_schedule",
        "drift_check",
        "drift_action",
    ),
}


@dataclass(frozen=True)
class EnvironmentSettings:
    """One deployment environment (a section of profiles.conf) and the account it lives in."""

    name: str
    account_id: str
    deploy_ref: str  # refs/heads/<main> for the first environment, refs/tags/<name> after it
    reviewers: tuple[str, ...]  # GitHub users or ORG/TEAMs who approve each deployment
    approval: str
    retrain_schedule: str
    instance_type: str
    endpoint: str  # "off", or the instance type approved models are served on
    capture: int = 0  # percentage of the endpoint's requests captured with their answers; 0 off
    endpoint_instances: int = 1  # instances behind each endpoint; 2 or more: canary updates
    batch_schedule: str = "off"  # when each model's batch pipeline scores the batch/ data
    drift_check: str = "off"  # when each model's captured traffic is checked for drift
    drift_action: str = "alarm"  # what drift leads to: retrain, alarm or off

    @property
    def approval_status(self) -> str:
        """The model package status a model that passed the gate is registered with."""
        return "Approved" if self.approval == "auto" else "PendingManualApproval"


@dataclass(frozen=True)
class ModelSettings:
    """One model (a [model NAME] section of profiles.conf), trained in every environment."""

    name: str
    dataset: str  # "none" (the user brings the data) or "sklearn:NAME"
    metric: str  # the gate metric, a key of METRIC_DIRECTIONS
    direction: str  # "higher" or "lower": which way the metric is better
    floor: float  # the challenger must be >= floor (higher) or <= floor (lower)
    # The environments whose floor_<ENV> overrides `floor`, in promotion order.
    floors: dict[str, float] = field(default_factory=dict, hash=False)

    def floor_in(self, env: str) -> float:
        """The floor a challenger must reach in environment `env`: its floor_<env>, else
        `floor`."""
        return self.floors.get(env, self.floor)


@dataclass(frozen=True)
class Settings:
    """The whole of profiles.conf, validated."""

    path: Path
    project: str
    region: str
    github_repository: str
    github_ids: str | None  # OWNER_ID/REPO_ID where GitHub puts them in OIDC subjects
    accounts: dict[str, str]
    environments: dict[str, EnvironmentSettings]
    models: dict[str, ModelSettings]  # in file order: the first one keeps the historic names

    @property
    def environment_names(self) -> tuple[str, ...]:
        """The environments in promotion order (their order in profiles.conf)."""
        return tuple(self.environments)

    @property
    def main_branch(self) -> str:
        """The branch every environment's code comes from (the first environment's ref)."""
        first = self.environments[self.environment_names[0]]
        return first.deploy_ref.removeprefix("refs/heads/")

    @property
    def model_names(self) -> tuple[str, ...]:
        """The models in file order."""
        return tuple(self.models)

    @property
    def first_model(self) -> str:
        """The first model of the file: its resources keep the environment's names
        ({project}-{env}); every later model's add -NAME."""
        return self.model_names[0]

    def model(self, name: str) -> ModelSettings:
        """The named model, or a ProfilesError listing the valid names."""
        try:
            return self.models[name]
        except KeyError:
            raise ProfilesError(
                f"unknown model {name!r}: choose one of {', '.join(self.model_names)} "
                f"(defined in {self.path})"
            ) from None

    def environment_for_ref(self, ref: str) -> str | None:
        """The environment that pushes of `ref` deploy to, if any."""
        return next((e.name for e in self.environments.values() if e.deploy_ref == ref), None)

    def environment(self, name: str) -> EnvironmentSettings:
        """The named environment, or a ProfilesError listing the valid names."""
        try:
            return self.environments[name]
        except KeyError:
            raise ProfilesError(
                f"unknown environment {name!r}: choose one of "
                f"{', '.join(self.environment_names)} "
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
    env_names = [name for name in sections if _kind(name) == "environment"]
    model_sections = [name for name in sections if _kind(name) == "model"]
    for section in _FIXED_SECTIONS:
        if section not in sections:
            raise ProfilesError(f"{path}: missing section [{section}]")
    if not env_names:
        raise ProfilesError(
            f"{path}: no environment section: add [dev] (and the ones it is promoted to)"
        )
    if not model_sections:
        raise ProfilesError(
            f"{path}: no model section: add [model NAME] with its dataset, metric, direction "
            "and floor"
        )
    for section in sections:
        for key in _required_keys(section):
            if key not in sections[section]:
                raise ProfilesError(
                    f"{path}:{lines[section, None]}: section [{section}] lacks {key}"
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
        for name in ("operations", *env_names)
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
    project = check("project", "name", _PROJECT_NAME, "3-32 lowercase letters, digits or '-'")
    first = env_names[0]
    branch = _BRANCH_REF.match(sections[first]["deploy_ref"])
    reserved = (*_RESERVED, *([branch["branch"]] if branch else []))
    for position, env in enumerate(env_names):
        _check_name(path, lines, env, project, first, reserved)
        deploy_ref = _deploy_ref(path, lines, env, sections[env]["deploy_ref"], position, first)
        reviewers = _reviewers(path, lines, env, sections[env]["reviewers"])
        approval = sections[env]["approval"]
        if approval not in APPROVAL_MODES:
            raise ProfilesError(
                f"{path}:{lines[env, 'approval']}: [{env}] approval = {approval!r} must be "
                f"{' or '.join(APPROVAL_MODES)}"
            )
        environments[env] = EnvironmentSettings(
            name=env,
            account_id=accounts[env],
            deploy_ref=deploy_ref,
            reviewers=reviewers,
            approval=approval,
            retrain_schedule=check(
                env, "retrain_schedule", _SCHEDULE, "off, cron(...) or rate(...)"
            ),
            instance_type=check(
                env, "instance_type", _INSTANCE_TYPE, "an instance type such as ml.m5.large"
            ),
            endpoint=check(
                env, "endpoint", _ENDPOINT, "off or an instance type such as ml.m5.large"
            ),
            capture=_capture(path, lines, env, sections[env]),
            endpoint_instances=_endpoint_instances(path, lines, env, sections[env]),
            batch_schedule=(
                check(env, "batch_schedule", _SCHEDULE, "off, cron(...) or rate(...)")
                if "batch_schedule" in sections[env]
                else "off"
            ),
            drift_check=_drift_check(path, lines, env, sections[env]),
            drift_action=(
                check(env, "drift_action", _DRIFT_ACTION, "retrain, alarm or off")
                if "drift_action" in sections[env]
                else "alarm"
            ),
        )
    models = {}
    for section in model_sections:
        model = _model(path, lines, section, sections[section], env_names)
        for env in env_names:
            if len(project) + len(env) + len(model.name) > _MAX_PROJECT_ENVIRONMENT_AND_MODEL:
                raise ProfilesError(
                    f"{path}:{lines[section, None]}: [{section}]: the project, environment and "
                    f"model names together may have at most {_MAX_PROJECT_ENVIRONMENT_AND_MODEL} "
                    f"characters ({project}-{env}-{model.name}-deploy-on-approval is a Lambda "
                    "function name)"
                )
        models[model.name] = model
    return Settings(
        path=path,
        project=project,
        region=check("project", "region", _REGION, "an AWS region such as eu-west-1"),
        github_repository=check(
            "project",
            "github_repository",
            _REPOSITORY,
            "OWNER/REPO of your GitHub repository",
        ),
        github_ids=(
            check("project", "github_ids", _GITHUB_IDS, "OWNER_ID/REPO_ID (two numbers)")
            if "github_ids" in sections["project"]
            else None
        ),
        accounts=accounts,
        environments=environments,
        models=models,
    )


def _model(
    path: Path, lines: dict, section: str, values: dict[str, str], env_names: list[str]
) -> ModelSettings:
    """A [model NAME] section, validated: the same rules as terraform/modules/profiles."""

    def where(key: str) -> str:
        return f"{path}:{lines[section, key]}: [{section}] {key} = {values[key]!r}"

    dataset, metric, direction = (values[key] for key in ("dataset", "metric", "direction"))
    name = _MODEL_SECTION.match(section)["model"]
    if name.startswith("v"):
        raise ProfilesError(
            f"{path}:{lines[section, None]}: [{section}]: a model name may not start with v "
            "(the first model's endpoint configs are {project}-{env}-v<N>-..., and IAM grants "
            "them by that prefix)"
        )
    if not _DATASET.match(dataset):
        raise ProfilesError(
            f"{where('dataset')} is not none or sklearn:NAME (a data set an installed package "
            "ships, such as sklearn:breast_cancer)"
        )
    if metric not in METRIC_DIRECTIONS:
        raise ProfilesError(f"{where('metric')} must be one of {', '.join(METRIC_DIRECTIONS)}")
    if direction not in DIRECTIONS:
        raise ProfilesError(f"{where('direction')} must be higher or lower")
    if direction != METRIC_DIRECTIONS[metric]:
        raise ProfilesError(
            f"{where('direction')} disagrees with its metric: {metric} is better "
            f"{METRIC_DIRECTIONS[metric]}"
        )

    def floor_of(key: str) -> float:
        if not _FLOOR.match(values[key]):
            raise ProfilesError(f"{where(key)} is not a number such as 0.90 or 70")
        floor = float(values[key])
        if metric in _AT_MOST_ONE and floor > 1:
            raise ProfilesError(
                f"{where(key)} must be at most 1 for {metric} (a score between 0 and 1)"
            )
        return floor

    floor = floor_of("floor")
    floors = {env: floor_of(_FLOOR_KEY + env) for env in env_names if _FLOOR_KEY + env in values}
    return ModelSettings(
        name=name, dataset=dataset, metric=metric, direction=direction, floor=floor, floors=floors
    )


def _deploy_ref(path: Path, lines: dict, env: str, value: str, position: int, first: str) -> str:
    """The first environment deploys from a branch (main), every later one from the tag named
    after it: the workflows pass a tag's name as the environment to deploy."""
    where = f"{path}:{lines[env, 'deploy_ref']}: [{env}] deploy_ref = {value!r}"
    if position == 0:
        if not _BRANCH_REF.match(value):
            raise ProfilesError(
                f"{where} must be the branch every environment is promoted from, "
                "such as refs/heads/main"
            )
    elif value != f"refs/tags/{env}":
        raise ProfilesError(
            f"{where} must be the tag named after it, refs/tags/{env}: after [{first}], an "
            f"environment is deployed by moving its tag (git tag -f {env} SHA)"
        )
    return value


def _check_name(
    path: Path, lines: dict, env: str, project: str, first: str, reserved: tuple[str, ...]
) -> None:
    where = f"{path}:{lines[env, None]}: [{env}]"
    if env in reserved:
        raise ProfilesError(
            f"{where}: the environment name {env} is reserved (backend, default and the branch "
            f"[{first}] deploys from are taken)"
        )
    if len(project) + len(env) > _MAX_PROJECT_AND_ENVIRONMENT:
        raise ProfilesError(
            f"{where}: the project name and the environment name together may have at most "
            f"{_MAX_PROJECT_AND_ENVIRONMENT} characters ({project}-{env}-artifacts-<account id> "
            "is an S3 bucket name)"
        )


def _kind(section: str) -> str:
    """project, operations, model or environment."""
    if section in _FIXED_SECTIONS:
        return section
    return "model" if _MODEL_LIKE.match(section) else "environment"


def _capture(path: Path, lines: dict, env: str, values: dict[str, str]) -> int:
    value = values.get("capture", "off")
    if not _CAPTURE.match(value):
        raise ProfilesError(
            f"{path}:{lines[env, 'capture']}: [{env}] capture = {value!r} is not off or a whole "
            "percentage from 1 to 100"
        )
    if value != "off" and values["endpoint"] == "off":
        raise ProfilesError(
            f"{path}:{lines[env, 'capture']}: [{env}] capture needs an endpoint: data capture "
            "records what the endpoint serves, and this environment has endpoint = off"
        )
    return 0 if value == "off" else int(value)


def _drift_check(path: Path, lines: dict, env: str, values: dict[str, str]) -> str:
    value = values.get("drift_check", "off")
    if not _SCHEDULE.match(value):
        raise ProfilesError(
            f"{path}:{lines[env, 'drift_check']}: [{env}] drift_check = {value!r} is not off, "
            "cron(...) or rate(...)"
        )
    if value != "off" and values.get("capture", "off") == "off":
        raise ProfilesError(
            f"{path}:{lines[env, 'drift_check']}: [{env}] drift_check needs captured traffic: "
            "set capture (the share of the endpoint's requests recorded) in this environment"
        )
    return value


def _endpoint_instances(path: Path, lines: dict, env: str, values: dict[str, str]) -> int:
    if "endpoint_instances" not in values:
        return 1
    value = values["endpoint_instances"]
    if not _INSTANCES.match(value):
        raise ProfilesError(
            f"{path}:{lines[env, 'endpoint_instances']}: [{env}] endpoint_instances = {value!r} "
            "is not a whole number of instances from 1 to 10"
        )
    if values["endpoint"] == "off":
        raise ProfilesError(
            f"{path}:{lines[env, 'endpoint_instances']}: [{env}] endpoint_instances needs an "
            "endpoint, and this environment has endpoint = off"
        )
    return int(value)


def _required_keys(section: str) -> tuple[str, ...]:
    kind = _kind(section)
    if kind == "model":
        return _MODEL_KEYS
    return _KEYS.get(kind, _ENVIRONMENT_KEYS)


def _reviewers(path: Path, lines: dict, env: str, value: str) -> tuple[str, ...]:
    if value == "none":
        return ()
    names = tuple(name.strip(_BLANKS) for name in value.split(","))
    bad = [name for name in names if not _REVIEWER.match(name)]
    if bad:
        raise ProfilesError(
            f"{path}:{lines[env, 'reviewers']}: [{env}] reviewers = {value!r}: "
            f"{', '.join(repr(b) for b in bad)} is not a GitHub user or ORG/TEAM; reviewers "
            "must be none or GitHub users or ORG/TEAMs separated by commas"
        )
    return names


def _parse(
    path: Path, text: str
) -> tuple[dict[str, dict[str, str]], dict[tuple[str, str | None], int]]:
    """Sections and their entries, plus the line number of every section and key."""
    sections: dict[str, dict[str, str]] = {}
    lines: dict[tuple[str, str | None], int] = {}
    current: str | None = None
    # floor_<NAME> keys of model sections: allowed once every environment of the file is known.
    floor_keys: list[tuple[int, str, str]] = []
    # Lines end at \n only and blanks are spaces and tabs, as for Terraform's regexes: any other
    # whitespace (a pasted non-breaking space, say) is a character of the value, and refused.
    for number, raw in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        line = raw.strip(_BLANKS)
        if not line or line.startswith("#"):
            continue
        if match := _SECTION.match(raw):
            current = match["name"]
            if _kind(current) == "model":
                if not _MODEL_SECTION.match(current):
                    raise ProfilesError(
                        f"{path}:{number}: section [{current}]: a model section is [model NAME]: "
                        "`model`, one space, a NAME of 2-10 lowercase letters or digits, "
                        "starting with a letter"
                    )
            elif not _SECTION_NAME.match(current):
                raise ProfilesError(
                    f"{path}:{number}: section [{current}]: a section name is 2-10 lowercase "
                    "letters or digits, starting with a letter ([project], [operations], an "
                    "environment such as [qa], or a model: [model NAME])"
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
            raise ProfilesError(
                f"{path}:{number}: a line that is not `key = value`, a [section] (at the start "
                f"of its line) or a # comment: {line!r}"
            )
        if current is None:
            raise ProfilesError(f"{path}:{number}: {match['key']} is outside any [section]")
        key, value = match["key"], match["value"].strip(_BLANKS)
        allowed = _required_keys(current) + _OPTIONAL.get(_kind(current), ())
        if _kind(current) == "model" and key.startswith(_FLOOR_KEY):
            floor_keys.append((number, current, key))
        elif key not in allowed:
            raise ProfilesError(_unknown_key(path, number, key, current, allowed))
        if key in sections[current]:
            raise ProfilesError(
                f"{path}:{number}: [{current}] {key} is set twice "
                f"(first on line {lines[current, key]})"
            )
        sections[current][key] = value
        lines[current, key] = number
    environments = [name for name in sections if _kind(name) == "environment"]
    for number, section, key in floor_keys:
        allowed = _MODEL_KEYS + tuple(_FLOOR_KEY + env for env in environments)
        if key not in allowed:
            raise ProfilesError(_unknown_key(path, number, key, section, allowed))
    return sections, lines


def _unknown_key(path: Path, number: int, key: str, section: str, allowed: tuple) -> str:
    return f"{path}:{number}: unknown key {key} in [{section}]; expected one of " + ", ".join(
        allowed
    )
