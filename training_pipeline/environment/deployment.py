"""One environment, ready to use: its account session, its resource names, its data and code.

This is the glue between profiles.conf, the embedded AWS, the pipeline builder and the two ways
of executing a pipeline (the local runner, or SageMaker itself).
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

from training_pipeline.aws import embedded, sessions
from training_pipeline.aws.sessions import account_session
from training_pipeline.config.naming import EnvironmentNames, environment_names, image_uri
from training_pipeline.config.settings import Settings, load_settings
from training_pipeline.config.source import Revision, current_revision
from training_pipeline.config.workdir import work_dir
from training_pipeline.errors import NotFoundError, ProfilesError, UserError
from training_pipeline.pipeline import images
from training_pipeline.pipeline.code_bundle import load_bundle
from training_pipeline.steps import schema as step_schema

UPLOADS_PREFIX = "uploads/"
Log = Callable[[str], None]


@dataclass(frozen=True)
class Environment:
    """A model of profiles.conf in one of its environments, reached in that environment's
    account."""

    settings: Settings
    env: str
    names: EnvironmentNames
    session: boto3.Session
    embedded: bool

    @property
    def model(self) -> str:
        return self.names.model

    def for_model(self, model: str) -> Environment:
        """The same environment and session, for another model of profiles.conf."""
        names = environment_names(self.settings, self.env, model)
        return dataclasses.replace(self, names=names)

    def every_model(self) -> list[Environment]:
        """This environment once per model of profiles.conf, in the file's order."""
        return [self.for_model(model) for model in self.settings.model_names]

    def models(self, only: str | None) -> list[Environment]:
        """This environment for `only` that model, or (None) for every model."""
        return [self.for_model(only)] if only else self.every_model()

    @classmethod
    def named(cls, settings: Settings, env: str, model: str | None = None) -> Environment:
        """`model` (default: the first) in `env`, its names only, no session: what the pure
        config functions need (pipeline_configs)."""
        names = environment_names(settings, env, model)
        return cls(settings=settings, env=env, names=names, session=None, embedded=False)

    def with_own_session(self) -> Environment:
        """The same target in a session of its own, for use in another thread: boto3 sessions
        are not thread-safe."""
        return dataclasses.replace(self, session=account_session(self.settings, self.env))


def await_update(
    target: Environment, deployed: Any, log: Log = print, poll_seconds: float = 30
) -> str:
    """Wait until the update serve() started is over: "updated", or a UserError when SageMaker
    rolled it back (an alarm went off while it baked, or the new fleet never became healthy)."""
    from inference.on_approval import deploy

    sagemaker = target.session.client("sagemaker")
    deadline = time.monotonic() + deploy.MAX_UPDATE_SECONDS + deploy.BAKE_SECONDS
    while time.monotonic() < deadline:
        try:
            outcome = deploy.settle(
                sagemaker, deployed.endpoint_name, wanted=deployed.endpoint_config_name
            )
        except deploy.DeploymentRolledBack as rolled_back:
            raise UserError(str(rolled_back)) from None
        if outcome:
            return outcome
        status = sagemaker.describe_endpoint(EndpointName=deployed.endpoint_name)["EndpointStatus"]
        log(f"   {deployed.endpoint_name}: {status}")
        time.sleep(poll_seconds)
    raise UserError(
        f"endpoint {deployed.endpoint_name} is still updating; see its events in the console"
    )


def decider(target: Environment) -> boto3.Session:
    """The session that approves or rejects the target's versions: where profiles.conf says
    `approval = manual`, the environment's approver role (Terraform's model_approver, the only
    identity there that may make a version Approved), assumed from the caller's session;
    elsewhere the caller's session itself."""
    if target.settings.environment(target.env).approval != "manual":
        return target.session
    return sessions.assume(
        target.session,
        target.names.approver_role_arn,
        f"{target.settings.project}-{target.env}-approver",
        f"to approve in [{target.env}] (approval = manual)",
        "ask for sts:AssumeRole on it: approving is a person's decision there",
    )


def connect(
    env: str, *, embedded_aws: bool, model: str | None = None, log: Log = print
) -> Environment:
    """Resolve `env` (and `model`, default the first) and open a session in its account
    (starting the embedded AWS if asked)."""
    settings = load_settings()
    settings.environment(env)
    if embedded_aws:
        server, started = embedded.ensure_server()
        os.environ.update(server.environ(settings.region))
        if started:
            log(f"embedded AWS started at {server.endpoint_url} (stop: `embedded down`)")
    return Environment(
        settings=settings,
        env=env,
        names=environment_names(settings, env, model),
        session=account_session(settings, env),
        embedded=embedded_aws,
    )


def on_embedded_aws(target: Environment) -> bool:
    """Whether the target is on the embedded AWS (asked for, or what AWS_ENDPOINT_URL names)."""
    return target.embedded or embedded.answers(os.environ.get("AWS_ENDPOINT_URL"))


def require_provisioned(target: Environment) -> None:
    """Fail early, and say what to do, when Terraform has not created the environment yet."""
    try:
        target.session.client("s3").head_bucket(Bucket=target.names.artifacts_bucket)
    except ClientError:
        flag = " --embedded" if target.embedded else ""
        raise NotFoundError(
            f"bucket {target.names.artifacts_bucket} does not exist in account "
            f"{target.names.account_id}: provision it first with `python -m training_pipeline "
            f"infra apply` --backend, then --operations, then --env {target.env}{flag}"
        ) from None


def training_data_url(target: Environment, data: Path | None, *, log: Log = print) -> str:
    """The S3 prefix to train on: the environment's own data of the model, or an uploaded CSV."""
    s3 = target.session.client("s3")
    bucket, prefix = target.names.data_bucket, target.names.training_prefix
    if data is not None:
        try:
            content = data.read_bytes()
        except OSError as error:
            raise UserError(f"cannot read --data {data}: {error.strerror}") from None
        key = f"{UPLOADS_PREFIX}{hashlib.sha256(content).hexdigest()[:16]}/{data.name}"
        s3.put_object(Bucket=bucket, Key=key, Body=content)
        log(f"uploaded {data} to s3://{bucket}/{key}")
        return f"s3://{bucket}/{key.rsplit('/', 1)[0]}/"
    if target.embedded:
        seed_reference_data(target, log=log)
    if not s3.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1).get("KeyCount"):
        raise NotFoundError(
            f"no training data for model {target.model} under s3://{bucket}/{prefix}: each "
            "environment trains on its own data, so put its CSV files there (or pass --data FILE)"
        )
    return f"s3://{bucket}/{prefix}"


def seed_reference_data(target: Environment, *, log: Log = print) -> None:
    """Give the model's empty data prefix the environment's own sample of the model's dataset
    (profiles.conf `dataset`): for the embedded AWS only, since on AWS an environment's data is
    its own and nothing public is mixed into it. Each environment draws a different 90% of the
    rows, so that its data, its fingerprint and its model are visibly its own, as on real
    accounts."""
    s3 = target.session.client("s3")
    bucket, prefix = target.names.data_bucket, target.names.training_prefix
    dataset = target.settings.model(target.model).dataset
    if dataset == "none":
        return
    if s3.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1).get("KeyCount"):
        return
    from training_pipeline.environment.data import load_dataset, model_schema

    reference = load_dataset(dataset, model_schema(target.model))
    own = reference.sample(frac=0.9, random_state=zlib.crc32(target.env.encode())).sort_index()
    buffer = io.StringIO()
    own.to_csv(buffer, index=False)
    key = f"{prefix}{dataset.partition(':')[2]}.csv"
    s3.put_object(Bucket=bucket, Key=key, Body=buffer.getvalue().encode())
    log(f"seeded s3://{bucket}/{key} with {target.env}'s {len(own)} of the reference rows")


def commit_images(target: Environment, revision: Revision, *, required: bool, log: Log = print):
    """Image URIs of this commit by digest, once checked (images.py); with ``required`` False
    and no images in ECR, the tags (the local runner runs the scripts itself, not the images)."""
    ecr = target.session.client("ecr")
    try:
        found = images.resolve(ecr, target.settings, revision.sha)
    except NotFoundError:
        if required:
            raise
        log(f"no images of {revision.short_sha} in ECR: the definition names them by tag")
        return None
    return {name: image.uri for name, image in found.items()}


def pipeline_config(
    settings: Settings,
    env: str,
    revision: Revision,
    input_data_url: str | None = None,
    image_uris: Mapping[str, str] | None = None,
    model: str | None = None,
):
    """The PipelineConfig of `model` (default: the first) in `env` at `revision`: pure, nothing
    is read from AWS. Images are ``image_uris`` (by digest, see commit_images), else tagged
    with the commit's SHA."""
    from training_pipeline.environment.data import model_schema
    from training_pipeline.pipeline.config import PipelineConfig
    from training_pipeline.pipeline.model_defaults import load_defaults

    names = environment_names(settings, env, model)
    environment, gate = settings.environment(env), settings.model(names.model)
    bundle = load_bundle(names.model)
    kind = model_schema(names.model).kind
    if gate.metric not in step_schema.METRICS[kind]:
        raise ProfilesError(
            f"{settings.path}: [model {names.model}] metric = {gate.metric} is not a {kind} "
            f"metric (training_pipeline/models/{names.model}/schema.json): choose one of "
            f"{', '.join(step_schema.METRICS[kind])}"
        )
    defaults = load_defaults(names.model)
    return PipelineConfig(
        pipeline_name=names.pipeline_name,
        region=settings.region,
        role_arn=names.execution_role_arn,
        artifacts_bucket=names.artifacts_bucket,
        input_data_url=input_data_url or f"s3://{names.data_bucket}/{names.training_prefix}",
        model_package_group=names.model_package_group,
        training_image=(image_uris or {}).get("training")
        or image_uri(settings, "training", revision.sha),
        inference_image=(image_uris or {}).get("inference")
        or image_uri(settings, "inference", revision.sha),
        code_prefix=bundle.prefix(names.artifacts_bucket),
        code_tarball_url=bundle.tarball_url(names.artifacts_bucket),
        git_sha=revision.sha,
        git_ref=revision.ref,
        instance_type=environment.instance_type,
        approval_status=environment.approval_status,
        gate_metric=gate.metric,
        gate_direction=gate.direction,
        gate_floor=gate.floor_in(env),
        max_iter=defaults["MaxIter"],
        learning_rate=defaults["LearningRate"],
        max_depth=defaults["MaxDepth"],
    )


def upsert(session: boto3.Session, config, definition: str, *, description: str) -> str:
    """Create or update the pipeline with exactly `definition`; returns its ARN.

    The same JSON is what the local runner executes, so a local run is what SageMaker holds.
    """
    sagemaker = session.client("sagemaker")
    request = {
        "PipelineName": config.pipeline_name,
        "PipelineDefinition": definition,
        "PipelineDescription": description,
        "RoleArn": config.role_arn,
    }
    token = hashlib.sha256(definition.encode()).hexdigest()[:64]
    try:
        return sagemaker.create_pipeline(**request, ClientRequestToken=token)["PipelineArn"]
    except ClientError as error:
        if "already exists" not in str(error):
            raise
    return sagemaker.update_pipeline(**request)["PipelineArn"]


@dataclass(frozen=True)
class Upserted:
    """A model's pipelines as `upsert_pipelines` left them: the training one, ready to run."""

    definition: str
    pipeline_name: str
    parameters: dict[str, Any]
    revision: Revision


def run(
    target: Environment,
    *,
    on: str = "local",
    parameters: Mapping[str, Any] | None = None,
    data: Path | None = None,
    log: Log = print,
) -> dict:
    """Upload data and code, upsert the pipelines, execute the training one, and return the
    execution record."""
    upserted = upsert_pipelines(target, on=on, parameters=parameters, data=data, log=log)
    return execute_upserted(target, upserted, on=on, log=log)


def upsert_pipelines(
    target: Environment,
    *,
    on: str = "local",
    parameters: Mapping[str, Any] | None = None,
    data: Path | None = None,
    log: Log = print,
) -> Upserted:
    """Upload data and code and upsert the model's training pipeline, with its batch and
    monitoring pipelines: they move between environments together, by the same deployments."""
    revision, image_uris = _prepare(target, on, log)
    params = dict(parameters or {})
    data_url = training_data_url(target, data, log=log)
    if data is not None:
        params["InputDataUrl"] = data_url
    # An uploaded CSV is this execution's parameter, never the upserted default: scheduled and
    # Studio runs keep training on the environment's own data.
    config, batch, monitoring = pipeline_configs(target, revision, image_uris)
    load_bundle(target.model).upload(target.session.client("s3"), target.names.artifacts_bucket)
    definition = _build_and_upsert(target, config, revision, "training", log)
    _build_and_upsert(target, batch, revision, "batch scoring", log)
    _build_and_upsert(target, monitoring, revision, "drift check", log)
    return Upserted(definition, config.pipeline_name, params, revision)


def pipeline_configs(
    target: Environment, revision: Revision, image_uris: Mapping[str, str] | None = None
) -> tuple:
    """The configs of the target model's training, batch and monitoring pipelines at
    `revision`, the three `run` upserts: pure, nothing is read from AWS."""
    return (
        pipeline_config(
            target.settings, target.env, revision, image_uris=image_uris, model=target.model
        ),
        batch_config(target, revision, image_uris),
        monitor_config(target, revision, image_uris),
    )


def build_templates(settings: Settings, revision: Revision) -> int:
    """Build the definition templates of every model's pipelines in every environment that
    this machine's cache lacks, as each one's first `run` here would; how many configs."""
    from training_pipeline.pipeline import definitions

    configs = [
        config
        for env in settings.environment_names
        for model in settings.model_names
        for config in pipeline_configs(Environment.named(settings, env, model), revision)
    ]
    for config in configs:
        definitions.load_or_build(config)
    return len(configs)


def execute_upserted(
    target: Environment, upserted: Upserted, *, on: str = "local", log: Log = print
) -> dict:
    """Execute the training pipeline `upsert_pipelines` upserted; the execution record, with
    the model's outcome, stored with the environment's records."""
    record = _execute(
        target,
        upserted.definition,
        upserted.pipeline_name,
        upserted.parameters,
        on,
        log,
        description=_about(upserted.revision),
    )
    record.update(git_sha=upserted.revision.sha, git_ref=upserted.revision.ref)
    record["model"] = model_outcome(target, record)
    return _saved(target, record)


def predict(
    target: Environment, input_url: str | None = None, *, on: str = "local", log: Log = print
) -> dict:
    """Score `input_url` (default: the model's batch/ data) with the newest Approved version,
    through the model's batch pipeline as deployed (what the environment's tag last promoted:
    `run`, the deploy job, upserts it); the execution record, with `predictions_url`."""
    require_provisioned(target)
    url = batch_input_url(target, input_url, log=log)
    name = target.names.batch_pipeline_name
    params = {"InputDataUrl": url} if input_url else {}
    record = _execute(target, _deployed(target, name), name, params, on, log)
    record["predictions_url"] = f"{target.names.predictions_prefix}{record['execution_id']}/"
    return _saved(target, record)


def monitor(
    target: Environment, window_hours: int | None = None, *, on: str = "local", log: Log = print
) -> dict:
    """Check the served version's captured traffic of the last `window_hours` (default: the
    pipeline's, 24) for drift, through the model's monitoring pipeline as deployed; the
    execution record, with `report_url` and the job's `summary` when it ran."""
    require_provisioned(target)
    definition = _deployed(target, target.names.monitor_pipeline_name)
    params = {"WindowHours": window_hours} if window_hours else {}
    record = _execute(target, definition, target.names.monitor_pipeline_name, params, on, log)
    folder = (
        f"s3://{target.names.artifacts_bucket}/pipelines/{target.names.monitor_pipeline_name}/"
        f"{record['execution_id']}/check/report"
    )
    record["report_url"] = f"{folder}/report.html"
    if record["status"] == "Succeeded":
        bucket, _, key = folder.removeprefix("s3://").partition("/")
        body = target.session.client("s3").get_object(Bucket=bucket, Key=f"{key}/summary.json")
        record["summary"] = json.loads(body["Body"].read())
    return _saved(target, record)


def monitor_config(
    target: Environment, revision: Revision, image_uris: Mapping[str, str] | None = None
):
    """The MonitorConfig of the target's model at `revision`: pure, nothing is read from AWS."""
    from training_pipeline.pipeline.config import MonitorConfig

    names, settings = target.names, target.settings
    environment = settings.environment(target.env)
    return MonitorConfig(
        pipeline_name=names.monitor_pipeline_name,
        region=settings.region,
        role_arn=names.execution_role_arn,
        artifacts_bucket=names.artifacts_bucket,
        model_package_group=names.model_package_group,
        training_image=(image_uris or {}).get("training")
        or image_uri(settings, "training", revision.sha),
        code_prefix=load_bundle(names.model).prefix(names.artifacts_bucket),
        instance_type=environment.instance_type,
        capture_url=names.capture_url,
        training_pipeline=names.pipeline_name,
        job_role_arn=names.drift_check_role_arn,
        drift_action=environment.drift_action,
    )


def _saved(target: Environment, record: dict) -> dict:
    """`record`, stored with the environment's execution records (`status` lists them)."""
    from training_pipeline.environment import executions

    record["record_url"] = executions.save_record(
        target.session, target.names.artifacts_bucket, record
    )
    return record


def _deployed(target: Environment, name: str) -> str:
    """The definition of the environment's pipeline `name` as its last deployment left it."""
    try:
        held = target.session.client("sagemaker").describe_pipeline(PipelineName=name)
    except ClientError:
        raise NotFoundError(
            f"pipeline {name} is not deployed in [{target.env}] yet: the deploy job (`run --env "
            f"{target.env}`) upserts it with the training pipeline"
        ) from None
    return held["PipelineDefinition"]


def _build_and_upsert(target: Environment, config, revision: Revision, what: str, log: Log) -> str:
    """The definition of `config` (a template filled in, or the SDK's build), upserted."""
    from training_pipeline.pipeline import definitions

    definition = definitions.load_or_build(config)
    description = (
        f"{target.settings.project} {target.model} {what}, {revision.ref} at {revision.short_sha}"
    )
    arn = upsert(target.session, config, definition, description=description)
    log(f"upserted {arn} ({revision.ref} at {revision.short_sha})")
    return definition


def batch_config(
    target: Environment, revision: Revision, image_uris: Mapping[str, str] | None = None
):
    """The BatchConfig of the target's model at `revision`: pure, nothing is read from AWS."""
    from training_pipeline.pipeline.config import BatchConfig

    names, settings = target.names, target.settings
    return BatchConfig(
        pipeline_name=names.batch_pipeline_name,
        region=settings.region,
        role_arn=names.execution_role_arn,
        model_role_arn=names.batch_transform_role_arn,
        artifacts_bucket=names.artifacts_bucket,
        input_data_url=f"s3://{names.data_bucket}/{names.batch_prefix}",
        model_package_group=names.model_package_group,
        training_image=(image_uris or {}).get("training")
        or image_uri(settings, "training", revision.sha),
        code_prefix=load_bundle(names.model).prefix(names.artifacts_bucket),
        instance_type=settings.environment(target.env).instance_type,
    )


def batch_input_url(target: Environment, given: str | None, *, log: Log = print) -> str:
    """The S3 prefix a batch scores: `given`, which must lie in the model's batch/ data (the
    only data its batch jobs may read), else all of that data."""
    names = target.names
    default = f"s3://{names.data_bucket}/{names.batch_prefix}"
    if given is None:
        if target.embedded:
            seed_batch_data(target, log=log)
        url = default
    elif given.startswith(default):
        url = given
    else:
        raise UserError(
            f"--input {given}: score data under {default} (model {target.model}'s batch data "
            f"in [{target.env}]'s own bucket: its batch jobs read nothing else)"
        )
    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    listed = target.session.client("s3").list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1)
    if not listed.get("KeyCount"):
        raise NotFoundError(
            f"nothing to score under {url}: put CSV files of the model's features there, one "
            "row per line"
        )
    return url


def seed_batch_data(target: Environment, *, log: Log = print) -> None:
    """Give the model's empty batch/ prefix rows to score (the features of 200 rows of its
    dataset): for the embedded AWS only, as seed_reference_data."""
    s3 = target.session.client("s3")
    bucket, prefix = target.names.data_bucket, target.names.batch_prefix
    dataset = target.settings.model(target.model).dataset
    if dataset == "none" or s3.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1).get(
        "KeyCount"
    ):
        return
    from training_pipeline.environment.data import load_dataset, model_schema

    contract = model_schema(target.model)
    rows = load_dataset(dataset, contract).sample(n=200, random_state=7)
    key = f"{prefix}{dataset.partition(':')[2]}.csv"
    body = rows.drop(columns=[contract.label]).to_csv(index=False).encode()
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    log(f"seeded s3://{bucket}/{key} with {len(rows)} rows to score")


def _prepare(target: Environment, on: str, log: Log) -> tuple[Revision, dict | None]:
    require_provisioned(target)
    revision = current_revision()
    # Before anything is uploaded or upserted: a pipeline pointing at missing images would
    # replace the environment's working one (and its scheduled runs would fail). Only the
    # embedded AWS, which runs no image, takes a pipeline without them.
    required = on == "sagemaker" or not on_embedded_aws(target)
    return revision, commit_images(target, revision, required=required, log=log)


def _execute(
    target: Environment,
    definition: str,
    pipeline_name: str,
    params: Mapping[str, Any],
    on: str,
    log: Log,
    description: str = "",
) -> dict:
    """Execute the upserted pipeline on SageMaker or with the local runner; its record."""
    from training_pipeline.environment import executions

    if on == "sagemaker":
        record = executions.run_on_sagemaker(
            target.session, pipeline_name, params, description=description, log=log
        )
    else:
        from training_pipeline.runner import LocalRunner

        runner = LocalRunner(
            target.session,
            work_dir=work_dir(),
            log=log,
            cache_prefix=f"s3://{target.names.artifacts_bucket}/pipeline-cache/",
        )
        result = runner.run(definition, parameters=params, pipeline_name=pipeline_name)
        record = {**result.to_dict(), "runner": "local"}
    record.update(env=target.env, model_name=target.model)
    return record


def _about(revision: Revision) -> str:
    return f"{revision.ref} at {revision.sha}"


def serve(target: Environment, version: int | None = None):
    """Serve an Approved version (default: the newest) from the environment's endpoint: what
    the deploy-on-approval function does after each approval or rejection."""
    from inference.on_approval import deploy
    from training_pipeline.environment import registry

    instance_type = target.settings.environment(target.env).endpoint
    if instance_type == "off":
        raise UserError(
            f"profiles.conf gives [{target.env}] no endpoint (endpoint = off): nothing to deploy to"
        )
    group, sagemaker = target.names.model_package_group, target.session.client("sagemaker")
    if version is None:
        # The version the deploy-on-approval function would serve, found the same way.
        package_arn = deploy.newest_approved(sagemaker, group)
        if package_arn is None:
            raise UserError(f"{group} has no Approved version yet")
    else:
        versions = registry.list_versions(target.session, group)
        package = next((v for v in versions if v.version == version), None)
        if package is None:
            raise UserError(f"{group} has no version {version}")
        package_arn = package.arn
    endpoint = deploy.EndpointTarget(
        endpoint_name=target.names.endpoint_name,
        model_package_group=group,
        instance_type=instance_type,
        execution_role_arn=target.names.endpoint_role_arn,
        capture_percent=target.settings.environment(target.env).capture,
        capture_destination=target.names.capture_destination,
        rollback_alarms=target.names.rollback_alarms,
        instance_count=target.settings.environment(target.env).endpoint_instances,
        # The key's ARN, as the function has it: the config's name depends on it.
        kms_key_arn=target.session.client("kms").describe_key(KeyId=target.names.kms_alias)[
            "KeyMetadata"
        ]["Arn"],
    )
    try:
        return deploy.deploy(sagemaker, endpoint, package_arn, target.session.client("s3"))
    except (deploy.DeployRefused, deploy.EndpointBusy, deploy.EndpointFailed) as problem:
        raise UserError(f"not deployed: {problem}") from None


def validation_problem(env: str, sha: str, *, embedded_aws: bool) -> str | None:
    """None if ``env`` validated commit ``sha`` for every model (registry.validation_problem),
    else why not."""
    from training_pipeline.environment import executions, registry

    for target in connect(env, embedded_aws=embedded_aws).every_model():
        versions = registry.list_versions(target.session, target.names.model_package_group)
        records = executions.list_records(
            target.session, target.names.artifacts_bucket, target.names.pipeline_name
        )
        problem = registry.validation_problem(versions, records, sha)
        if problem:
            return f"model {target.model}: {problem}"
    return None


def studio_url(target: Environment) -> str | None:
    """The URL of the environment's Studio domain (terraform/main creates it on request)."""
    sagemaker = target.session.client("sagemaker")
    try:
        domains = sagemaker.list_domains()["Domains"]
    except ClientError:
        return None
    name = f"{target.settings.project}-{target.env}"
    return next((d.get("Url") for d in domains if d.get("DomainName") == name), None)


def model_outcome(target: Environment, record: Mapping[str, Any]) -> dict[str, Any] | None:
    """The version an execution registered, or the registered version its model is identical
    to (it then registered nothing); None when it reached neither (a failed gate, say)."""
    from training_pipeline.environment import executions, registry

    if record["status"] != "Succeeded":
        return None
    versions = registry.list_versions(target.session, target.names.model_package_group)
    for version in versions:
        if version.metadata.get("pipeline_execution_arn") == record["execution_arn"]:
            return {"version": version.version, "status": version.status, "registered": True}
    report = executions.evaluation_report(target.session, record) or {}
    twin = (report.get("registration") or {}).get("duplicate_of_version")
    for version in versions:
        if version.version == twin:
            return {"version": version.version, "status": version.status, "registered": False}
    return None
