"""Terraform for the four accounts, driven through python-terraform.

Three Terraform roots live under ``terraform/`` and are applied in this order:

    backend     the state bucket in the operations account (local state: it creates the bucket)
    operations  ECR repositories, GitHub OIDC provider and CI role      (state in the bucket)
    <environment>
                workspaces of ``terraform/main``, one per environment section of
                profiles.conf, one account each                       (state in the bucket)

For each target this module writes, in a temporary directory and for the terraform subprocess
only, a CLI configuration that installs hashicorp/aws from a local provider mirror (when one is
given or found) and a backend configuration derived from profiles.conf (state bucket, key,
region, S3-native locking, and the role to assume in the operations account). It then runs
``init``, ``workspace select -or-create`` for the environments (the workspace names the
environment), and ``plan`` or ``apply``.

Against the embedded AWS (``embedded=True`` plus its endpoint) nothing else is needed: Terraform
gets the endpoint and fixed credentials, assumes ``OrganizationAccountAccessRole`` into each
account of profiles.conf, turns off what moto cannot emulate (the model package group policy,
the Studio domain), and runs on a copy of ``terraform/`` in a work directory, so the checkout never
receives state, lock or ``.terraform`` files.

    from training_pipeline.infra import terraform as infra
    from training_pipeline.config.settings import load_settings

    settings = load_settings()
    for target in infra.all_targets(settings):
        infra.apply(target, settings=settings, embedded=True, endpoint_url=server.endpoint_url)
    print(infra.outputs("staging", settings=settings, embedded=True, endpoint_url=...))
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Required, TypedDict, Unpack

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from python_terraform import IsFlagged, Terraform

from training_pipeline.aws.sessions import ASSUME_ROLE_ENV, DEFAULT_ASSUME_ROLE
from training_pipeline.config.settings import Settings
from training_pipeline.errors import UserError
from training_pipeline.infra import lambda_bundle

TERRAFORM_DIR = Path(__file__).resolve().parents[2] / "terraform"
BACKEND, OPERATIONS, MAIN = "backend", "operations", "main"

AWS_PROVIDER = "registry.terraform.io/hashicorp/aws"
MIRROR_ENV = "TF_PROVIDER_MIRROR"
# Where a provider mirror is looked for when neither --provider-mirror nor $TF_PROVIDER_MIRROR
# names one (the usual places of Terraform's implied local mirrors, plus /opt/tf-plugins).
CONVENTIONAL_MIRRORS = (
    Path("/opt/tf-plugins"),
    Path.home() / ".terraform.d" / "plugins",
    Path.home() / ".local" / "share" / "terraform" / "plugins",
    Path("/usr/local/share/terraform/plugins"),
    Path("/usr/share/terraform/plugins"),
)

EMBEDDED_ASSUME_ROLE = DEFAULT_ASSUME_ROLE  # OrganizationAccountAccessRole, as aws.py uses
EMBEDDED_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "embedded", "AWS_SECRET_ACCESS_KEY": "embedded"}
# What the embedded AWS cannot take: the provider retries the model package group policy's
# HTTP 500 for minutes; CreateDomain fails; moto enforces the buckets' TLS-only Deny while its
# endpoint is plain HTTP; and it applies the state bucket's Deny for every principal but a root's
# state role without evaluating that condition (aws:PrincipalArn), denying everyone. None of them
# is needed to exercise the design offline; the tests evaluate the policies instead.
EMBEDDED_VARIABLES: dict[str, dict[str, Any]] = {
    BACKEND: {
        "deny_insecure_transport": False,
        "force_destroy": True,
        "restrict_state_to_its_role": False,
    },
    OPERATIONS: {},
    MAIN: {
        "create_model_package_group_policy": False,
        "create_studio_domain": False,
        "deny_insecure_transport": False,
        "force_destroy_buckets": True,
    },
}

Log = Callable[[str], None]


class InfraError(UserError):
    """Terraform could not be run, or a Terraform command failed."""


class TerraformNotFoundError(InfraError):
    """The terraform executable is not on PATH."""


class ProviderMirrorError(InfraError):
    """A provider mirror was named but does not hold hashicorp/aws."""


class TerraformCommandError(InfraError):
    """A terraform command exited with an error."""

    def __init__(self, target: TerraformTarget, command: str, returncode: int, output: str) -> None:
        self.target = target
        self.command = command
        self.returncode = returncode
        self.output = output
        tail = "\n".join(output.strip().splitlines()[-40:])
        super().__init__(
            f"`terraform {command}` failed for {target} (exit code {returncode}):\n{tail}"
        )


################################################################################
# Targets
################################################################################


@dataclass(frozen=True)
class TerraformTarget:
    """A Terraform root, and for ``main`` the workspace (= environment)."""

    root: str
    workspace: str | None = None

    @classmethod
    def parse(cls, name: str | TerraformTarget, settings: Settings) -> TerraformTarget:
        """``backend``, ``operations``, or an environment of profiles.conf."""
        if isinstance(name, TerraformTarget):
            return name
        if name in (BACKEND, OPERATIONS):
            return cls(name)
        if name in settings.environments:
            return cls(MAIN, name)
        raise InfraError(
            f"unknown infra target {name!r}: choose one of {', '.join(all_targets(settings))} "
            f"(environments are the sections of {settings.path})"
        )

    @property
    def name(self) -> str:
        return self.workspace or self.root

    @property
    def account(self) -> str:
        """Name of the account in profiles.conf that the target's resources live in."""
        return self.workspace or OPERATIONS

    @property
    def state_key(self) -> str | None:
        """Key of the state object in the state bucket (None: local state)."""
        return {BACKEND: None, OPERATIONS: "operations/terraform.tfstate"}.get(
            self.root, "terraform.tfstate"
        )

    def __str__(self) -> str:
        return f"terraform/{self.root}" + (
            f" (workspace {self.workspace})" if self.workspace else ""
        )


def all_targets(settings: Settings) -> tuple[str, ...]:
    """Every target in bootstrapping order: the state bucket first, then the operations
    account, then the environments in promotion order."""
    return (BACKEND, OPERATIONS, *settings.environment_names)


@dataclass(frozen=True)
class PlanResult:
    """Outcome of ``terraform plan -detailed-exitcode``."""

    target: TerraformTarget
    changes: bool
    output: str
    seconds: float


@dataclass(frozen=True)
class ApplyResult:
    """Outcome of ``terraform apply``, with the root's outputs afterwards."""

    target: TerraformTarget
    outputs: dict[str, Any]
    output: str
    seconds: float


################################################################################
# Provider mirror and configuration files
################################################################################


def find_provider_mirror(explicit: Path | str | None = None) -> Path | None:
    """The filesystem mirror holding hashicorp/aws: ``explicit``, else ``$TF_PROVIDER_MIRROR``,
    else the first conventional place that has it, else None (Terraform then uses the registry).

    A mirror is a directory containing ``registry.terraform.io/hashicorp/aws/<version>/...``
    (unpacked layout) or the provider's zip files (packed layout).
    """
    for source, value in (
        ("--provider-mirror", explicit),
        (MIRROR_ENV, os.environ.get(MIRROR_ENV)),
    ):
        if value:
            path = Path(value).expanduser().resolve()
            if not _holds_aws_provider(path):
                raise ProviderMirrorError(
                    f"{source} {path} holds no {AWS_PROVIDER}: expected "
                    f"{path / AWS_PROVIDER}/<version>/<os>_<arch>/terraform-provider-aws_*"
                )
            return path
    for path in CONVENTIONAL_MIRRORS:
        if _holds_aws_provider(path):
            return path.resolve()
    return None


def _holds_aws_provider(path: Path) -> bool:
    return (path / AWS_PROVIDER).is_dir() and any((path / AWS_PROVIDER).iterdir())


def cli_config(mirror: Path) -> str:
    """A Terraform CLI configuration that installs hashicorp/aws from ``mirror`` only."""
    return (
        "provider_installation {\n"
        "  filesystem_mirror {\n"
        f"    path    = {json.dumps(str(mirror))}\n"
        f"    include = [{json.dumps(AWS_PROVIDER)}]\n"
        "  }\n"
        "  direct {\n"
        f"    exclude = [{json.dumps(AWS_PROVIDER)}]\n"
        "  }\n"
        "}\n"
    )


def backend_config(target: TerraformTarget | str, settings: Settings) -> dict[str, Any] | None:
    """The S3 backend settings of ``target`` (None for the backend root, whose state is local).

    The state bucket is ``<project>-tfstate-<operations account>`` in the operations account,
    reached through the target's own state role there (``state_role_arn``), which only the
    principals of the account the target applies to may assume.
    """
    target = TerraformTarget.parse(target, settings)
    if target.state_key is None:
        return None
    config: dict[str, Any] = {
        "bucket": state_bucket_name(settings),
        "key": target.state_key,
        "region": settings.region,
        "use_lockfile": True,
    }
    if target.root == MAIN:
        # Workspace `dev` is stored at main/dev/terraform.tfstate, and so on.
        config["workspace_key_prefix"] = MAIN
    config["assume_role"] = {
        "role_arn": state_role_arn(settings, target),
        "session_name": f"terraform-{settings.project}-{target.name}",
    }
    return config


def state_bucket_name(settings: Settings) -> str:
    return f"{settings.project}-tfstate-{settings.accounts[OPERATIONS]}"


def state_role_arn(settings: Settings, target: TerraformTarget | str) -> str:
    """The role of the operations account through which ``target`` reads and writes its state
    (terraform/backend: only principals of the target's own account may assume it)."""
    name = TerraformTarget.parse(target, settings).name
    return f"arn:aws:iam::{settings.accounts[OPERATIONS]}:role/{settings.project}-tfstate-{name}"


def _hcl(config: Mapping[str, Any]) -> str:
    """Render a flat backend configuration (strings, bools, one level of objects) as HCL."""

    def value(item: Any) -> str:
        if isinstance(item, Mapping):
            return "{ " + ", ".join(f"{k} = {value(v)}" for k, v in item.items()) + " }"
        return json.dumps(item)

    return "".join(f"{key} = {value(item)}\n" for key, item in config.items())


################################################################################
# Running terraform
################################################################################


class _Terraform(Terraform):
    """python-terraform's command line builder, run with an environment of its own.

    python-terraform hands ``os.environ`` to every subprocess; here each command gets a copy
    with the target's variables (endpoint, credentials, TF_CLI_CONFIG_FILE) instead, so that
    several targets can run at the same time without touching the process's environment.
    """

    def __init__(self, *, working_dir: Path, env: Mapping[str, str | None], binary: str) -> None:
        super().__init__(working_dir=str(working_dir), terraform_bin_path=binary)
        self._env = dict(env)

    def cmd(self, cmd: str, *args: Any, **kwargs: Any) -> tuple[int, str, str]:
        kwargs.pop("capture_output", None)
        command = self.generate_cmd_string(cmd, *args, **kwargs)
        env = {**os.environ, **{k: v for k, v in self._env.items() if v is not None}}
        for key in (k for k, v in self._env.items() if v is None):
            env.pop(key, None)
        try:
            done = subprocess.run(
                command, cwd=self.working_dir, env=env, capture_output=True, text=True
            )
        finally:
            self.temp_var_files.clean_up()
        return done.returncode, done.stdout, done.stderr


@dataclass
class _Session:
    """Everything one plan/apply/outputs call needs: a prepared working directory and env."""

    target: TerraformTarget
    settings: Settings
    root_dir: Path
    variables: dict[str, Any]
    terraform: _Terraform
    log: Log
    backend_file: Path | None = None

    def run(
        self,
        command: str,
        *args: Any,
        quiet: bool = False,
        ok: tuple[int, ...] = (0,),
        **options: Any,
    ) -> tuple[int, str]:
        """Run one terraform command; log it (and its output unless ``quiet``); return the exit
        code and stdout; raise TerraformCommandError for an exit code not in ``ok``.

        Options follow python-terraform: ``foo_bar=IsFlagged`` is ``-foo-bar``, ``foo=value`` is
        ``-foo=value``, and ``var={...}`` becomes a temporary ``-var-file``.
        """
        self.log(f"$ terraform {command} [{self.target}]")
        code, out, err = self.terraform.cmd(command, *args, capture_output=True, **options)
        if code not in ok:
            raise TerraformCommandError(self.target, command, code, (out or "") + (err or ""))
        if not quiet and out:
            self.log(out.rstrip())
        return code, out or ""


def _terraform_binary() -> str:
    binary = shutil.which("terraform")
    if binary is None:
        raise TerraformNotFoundError(
            "terraform is not on PATH: install Terraform >= 1.10 "
            "(https://developer.hashicorp.com/terraform/install) and run again"
        )
    return binary


def default_work_dir(endpoint_url: str) -> Path:
    """Where embedded runs keep their copies of terraform/ (one per target, the backend root's
    local state in its own), one directory per embedded endpoint so that runs against
    different servers never mix."""
    digest = hashlib.sha256(endpoint_url.encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / "training-pipeline-infra" / digest


def _sync_tree(source: Path, destination: Path) -> None:
    """Copy the Terraform sources (``*.tf``, ``*.tfvars``) into ``destination`` and delete the
    ones that no longer exist; state, lock files and ``.terraform`` there are left alone."""
    suffixes = (".tf", ".tfvars")
    for dirpath, dirnames, filenames in os.walk(source):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        target_dir = destination / Path(dirpath).relative_to(source)
        target_dir.mkdir(parents=True, exist_ok=True)
        wanted = {name for name in filenames if name.endswith(suffixes)}
        for name in wanted:
            shutil.copy2(Path(dirpath) / name, target_dir / name)
        for existing in target_dir.iterdir():
            if (
                existing.is_file()
                and existing.name.endswith(suffixes)
                and existing.name not in wanted
            ):
                existing.unlink()


class Options(TypedDict, total=False):
    """Keyword options of plan/apply/outputs; only ``settings`` is required (see ``plan``)."""

    settings: Required[Settings]
    embedded: bool
    endpoint_url: str | None
    provider_mirror: Path | str | None
    assume_role_name: str | None
    work_dir: Path | str | None
    log: Log


@contextmanager
def _session(
    target: TerraformTarget | str,
    *,
    settings: Settings,
    embedded: bool = False,
    endpoint_url: str | None = None,
    provider_mirror: Path | str | None = None,
    assume_role_name: str | None = None,
    work_dir: Path | str | None = None,
    log: Log = print,
) -> Iterator[_Session]:
    target = TerraformTarget.parse(target, settings)
    binary = _terraform_binary()
    if embedded and not endpoint_url:
        raise InfraError(
            "embedded runs need the embedded AWS endpoint (start it with "
            "`python -m training_pipeline embedded up`)"
        )
    # Terraform runs with credentials of the target's own account: its resources are made
    # there, and its state role trusts that account's principals only.
    credentials = _account_credentials(
        settings,
        target.account,
        embedded=embedded,
        endpoint_url=endpoint_url,
        assume_role_name=assume_role_name,
    )
    mirror = find_provider_mirror(provider_mirror)

    if work_dir is None and embedded:
        work_dir = default_work_dir(endpoint_url or "")
    if work_dir is not None:
        # A copy per target: targets applied at the same time never share a .terraform
        # directory, a selected workspace or a lambda zip.
        tree = Path(work_dir) / target.name / "terraform"
        _sync_tree(TERRAFORM_DIR, tree)
    else:
        tree = TERRAFORM_DIR
    root_dir = tree / target.root

    with tempfile.TemporaryDirectory(prefix="tf-config-") as scratch:
        env: dict[str, str | None] = {
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "CHECKPOINT_DISABLE": "1",
            "TF_WORKSPACE": None,  # the workspace is selected explicitly below
        }
        if mirror is not None:
            config_file = Path(scratch) / "terraform.rc"
            config_file.write_text(cli_config(mirror))
            env["TF_CLI_CONFIG_FILE"] = str(config_file)
            log(f"provider mirror: {mirror}")
        if embedded:
            env.update(
                {
                    "AWS_ENDPOINT_URL": endpoint_url,
                    "AWS_REGION": settings.region,
                    "AWS_DEFAULT_REGION": settings.region,
                    "AWS_EC2_METADATA_DISABLED": "true",
                }
            )
        if credentials is not None:
            env.update({"AWS_PROFILE": None, **credentials})

        variables: dict[str, Any] = {"profiles_path": str(Path(settings.path).resolve())}
        if embedded:
            variables.update(EMBEDDED_VARIABLES[target.root])
        if target.root == MAIN:
            variables["deploy_lambda_zip"] = lambda_bundle.build(root_dir)

        session = _Session(
            target=target,
            settings=settings,
            root_dir=root_dir,
            variables=variables,
            terraform=_Terraform(working_dir=root_dir, env=env, binary=binary),
            log=log,
        )
        config = backend_config(target, settings)
        if config is not None:
            session.backend_file = Path(scratch) / "backend.hcl"
            session.backend_file.write_text(_hcl(config))

        _init(session)
        yield session


_COMMON_OPTIONS: dict[str, Any] = {"no_color": IsFlagged, "input": False}


def _init(session: _Session) -> None:
    options = dict(_COMMON_OPTIONS)
    if session.backend_file is not None:
        options["backend_config"] = str(session.backend_file)
    session.run("init", reconfigure=IsFlagged, quiet=True, **options)
    if session.target.workspace:
        session.run("workspace select", session.target.workspace, or_create=True, quiet=True)


def _run_options(session: _Session) -> dict[str, Any]:
    options = dict(_COMMON_OPTIONS)
    options["var"] = session.variables  # python-terraform passes a dict as a temporary -var-file
    options["lock_timeout"] = "120s"
    return options


################################################################################
# Public API
################################################################################


def plan(target: TerraformTarget | str, **options: Unpack[Options]) -> PlanResult:
    """``terraform plan`` of ``target``; ``changes`` is False when the plan is empty.

    ``target`` is ``backend``, ``operations`` or an environment of profiles.conf. Options:
    ``settings`` (profiles.conf); ``embedded`` and ``endpoint_url`` for the embedded AWS;
    ``assume_role_name``: role assumed in the target's account, whose credentials Terraform then
    runs with (embedded default: OrganizationAccountAccessRole; otherwise
    ``$TP_ASSUME_ROLE_NAME``, else None: the ambient credentials, which must belong to the
    target's account). The state is reached through the target's state role (backend_config).
    ``provider_mirror``: filesystem mirror of hashicorp/aws (default: ``$TF_PROVIDER_MIRROR``,
    then the usual places; none found means Terraform's registry). ``work_dir``: run on a copy of
    terraform/ in ``work_dir/<target>`` (embedded default: a directory per endpoint under the
    system temp dir; otherwise terraform/ itself). ``log`` receives each command line and its
    output.
    """
    started = time.monotonic()
    with _session(target, **options) as session:
        code, output = session.run(
            "plan", ok=(0, 2), detailed_exitcode=IsFlagged, **_run_options(session)
        )
        return PlanResult(session.target, code == 2, output, time.monotonic() - started)


def apply(target: TerraformTarget | str, **options: Unpack[Options]) -> ApplyResult:
    """``terraform apply -auto-approve`` of ``target``, then its outputs (options: ``plan``)."""
    started = time.monotonic()
    with _session(target, **options) as session:
        _, output = session.run("apply", auto_approve=IsFlagged, **_run_options(session))
        values = _outputs(session)
        return ApplyResult(session.target, values, output, time.monotonic() - started)


def apply_all(
    targets: Sequence[TerraformTarget | str] | None = None,
    *,
    on_done: Callable[[ApplyResult], None] | None = None,
    **options: Unpack[Options],
) -> dict[str, ApplyResult]:
    """Apply several targets (default: all of them) at once where they allow it; results by
    target name.

    Only the backend root must come first, and only its state bucket and state roles: every
    other root keeps its state there, through its role, and needs nothing else of it. So they
    start as soon as those are usable (the bucket versioned and encrypted, the roles with their
    policies), not when the backend's apply ends, and they run side by side. That overlaps the
    AWS provider's fixed waits: after writing an S3 lifecycle configuration it polls until ten
    answers in a row (five seconds apart, after ten seconds) agree, about 55 s per bucket
    whatever the service answers (terraform-provider-aws, bucket_lifecycle_configuration.go,
    ``waitLifecycleConfigEquals``).

    Every started apply runs to its end; then the first failure, if any, is raised.
    """
    settings = options["settings"]
    parsed = [TerraformTarget.parse(t, settings) for t in targets or all_targets(settings)]
    if not options.get("embedded") and options.get("work_dir") is None:
        # In place (terraform/ itself), the environments share terraform/main and its
        # .terraform directory: one at a time.
        return {t.name: _applied(apply(t, **options), on_done) for t in parsed}
    backend_first = any(t.root == BACKEND for t in parsed)
    others = [t for t in parsed if t.root != BACKEND]
    results: dict[str, ApplyResult] = {}

    def run(target: TerraformTarget) -> ApplyResult:
        return _applied(apply(target, **options), on_done)

    with ThreadPoolExecutor(max_workers=max(1, len(parsed))) as pool:
        futures = {}
        if backend_first:
            backend = pool.submit(run, TerraformTarget(BACKEND))
            futures[BACKEND] = backend
            _wait_for_state_bucket(backend, options, others)
        for target in others:
            futures[target.name] = pool.submit(run, target)
        wait(futures.values())
    failures = [f.exception() for f in futures.values() if f.exception() is not None]
    if failures:
        raise failures[0]
    for name, future in futures.items():
        results[name] = future.result()
    return results


def _applied(result: ApplyResult, on_done: Callable[[ApplyResult], None] | None) -> ApplyResult:
    if on_done is not None:
        on_done(result)
    return result


def _wait_for_state_bucket(backend: Future, options: Options, roots: list[TerraformTarget]) -> None:
    """Block until the state bucket is versioned and encrypted and the state roles of
    ``roots`` have their policies, or the backend apply ended."""
    settings = options["settings"]
    session = _operations_session(options)
    endpoint = options.get("endpoint_url") if options.get("embedded") else None
    s3, iam = (
        session.client("s3", endpoint_url=endpoint),
        session.client("iam", endpoint_url=endpoint),
    )
    bucket = state_bucket_name(settings)
    while not backend.done():
        try:
            ready = s3.get_bucket_versioning(Bucket=bucket).get("Status") == "Enabled"
            ready = ready and bool(s3.get_bucket_encryption(Bucket=bucket))
            for root in roots:
                role = state_role_arn(settings, root).rsplit("/", 1)[1]
                iam.get_role_policy(RoleName=role, PolicyName=f"state-of-{root.name}")
        except ClientError:
            ready = False
        if ready:
            return
        time.sleep(0.5)
    backend.result()  # raises the backend's failure


def _operations_session(options: Options) -> boto3.Session:
    """A session in the operations account, as the backend root reaches it."""
    settings = options["settings"]
    credentials = (
        _account_credentials(
            settings,
            OPERATIONS,
            embedded=options.get("embedded", False),
            endpoint_url=options.get("endpoint_url"),
            assume_role_name=options.get("assume_role_name"),
        )
        or {}
    )
    return boto3.Session(
        region_name=settings.region,
        aws_access_key_id=credentials.get("AWS_ACCESS_KEY_ID"),
        aws_secret_access_key=credentials.get("AWS_SECRET_ACCESS_KEY"),
        aws_session_token=credentials.get("AWS_SESSION_TOKEN"),
    )


def _account_credentials(
    settings: Settings,
    account: str,
    *,
    embedded: bool,
    endpoint_url: str | None,
    assume_role_name: str | None,
) -> dict[str, str] | None:
    """AWS_* variables for ``account``: from assuming ``assume_role_name`` there (embedded
    default: the organisation role of every emulated account; else $TP_ASSUME_ROLE_NAME), or
    None to keep the ambient credentials."""
    role = assume_role_name or (
        EMBEDDED_ASSUME_ROLE if embedded else os.environ.get(ASSUME_ROLE_ENV)
    )
    if not role:
        return None
    base = boto3.Session(
        region_name=settings.region,
        **(
            {
                "aws_access_key_id": EMBEDDED_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                "aws_secret_access_key": EMBEDDED_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            }
            if embedded
            else {}
        ),
    )
    arn = f"arn:aws:iam::{settings.accounts[account]}:role/{role}"
    try:
        assumed = base.client("sts", endpoint_url=endpoint_url if embedded else None).assume_role(
            RoleArn=arn, RoleSessionName=f"terraform-{settings.project}-{account}"
        )["Credentials"]
    except (ClientError, BotoCoreError) as error:
        raise InfraError(f"cannot assume {arn} to run Terraform in [{account}]: {error}") from None
    return {
        "AWS_ACCESS_KEY_ID": assumed["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": assumed["SecretAccessKey"],
        "AWS_SESSION_TOKEN": assumed["SessionToken"],
    }


def outputs(target: TerraformTarget | str, **options: Unpack[Options]) -> dict[str, Any]:
    """The outputs of ``target`` as recorded in its state, ``{name: value}`` (options: ``plan``)."""
    with _session(target, **options) as session:
        return _outputs(session)


def _outputs(session: _Session) -> dict[str, Any]:
    _, out = session.run("output", json=IsFlagged, no_color=IsFlagged, quiet=True)
    raw = json.loads(out or "{}")
    return {name: item.get("value") for name, item in raw.items()}
