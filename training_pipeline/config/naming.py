"""Names of every per-environment AWS resource, shared with Terraform (terraform/modules/*).

Terraform creates these resources; the CLI and the pipeline find them by the same rule, so neither
side needs the other's outputs to work.
"""

from __future__ import annotations

from dataclasses import dataclass

from training_pipeline.config.settings import Settings


@dataclass(frozen=True)
class EnvironmentNames:
    """Resource names of one model in one environment, all in that environment's account.

    Buckets, key and roles are the environment's (shared by its models); the model package
    group, pipeline, endpoint and training-data prefix are the model's. The first model of
    profiles.conf keeps the names the environment had before there were several models
    ({project}-{env}); every later one adds its name ({project}-{env}-{model}).
    """

    project: str
    env: str
    account_id: str
    region: str
    model: str
    first_model: bool = True

    @property
    def model_prefix(self) -> str:
        base = f"{self.project}-{self.env}"
        return base if self.first_model else f"{base}-{self.model}"

    @property
    def training_prefix(self) -> str:
        """Where the model's training data lies in the data bucket."""
        return "training/" if self.first_model else f"training-{self.model}/"

    @property
    def batch_prefix(self) -> str:
        """Where the data the model's batch pipeline scores by default lies in the data bucket."""
        return "batch/" if self.first_model else f"batch-{self.model}/"

    @property
    def data_bucket(self) -> str:
        return f"{self.project}-{self.env}-data-{self.account_id}"

    @property
    def artifacts_bucket(self) -> str:
        return f"{self.project}-{self.env}-artifacts-{self.account_id}"

    @property
    def kms_alias(self) -> str:
        return f"alias/{self.project}-{self.env}"

    @property
    def model_package_group(self) -> str:
        return self.model_prefix

    @property
    def endpoint_name(self) -> str:
        """The real-time endpoint Approved models are deployed to (terraform deploy_on_approval)."""
        return self.model_prefix

    @property
    def pipeline_name(self) -> str:
        return f"{self.model_prefix}-training"

    @property
    def batch_pipeline_name(self) -> str:
        """The pipeline that scores a dataset with the newest Approved version."""
        return f"{self.model_prefix}-batch"

    @property
    def monitor_pipeline_name(self) -> str:
        """The pipeline that checks the served version's captured traffic for drift."""
        return f"{self.model_prefix}-monitor"

    @property
    def capture_url(self) -> str:
        """Where the model's endpoint's captured traffic lands: SageMaker writes under the
        capture destination a folder per endpoint, then per variant and hour."""
        return f"{self.capture_destination}{self.endpoint_name}/"

    @property
    def drift_alarm(self) -> str:
        """The CloudWatch alarm (Terraform's monitoring) on the model's drifted columns."""
        return f"{self.model_prefix}-drift"

    @property
    def predictions_prefix(self) -> str:
        """Where the batch pipeline writes its answers, a folder per execution."""
        return f"s3://{self.artifacts_bucket}/predictions/{self.batch_pipeline_name}/"

    @property
    def execution_role_arn(self) -> str:
        return f"arn:aws:iam::{self.account_id}:role/{self.project}-{self.env}-sagemaker-execution"

    @property
    def deploy_role_arn(self) -> str:
        return f"arn:aws:iam::{self.account_id}:role/{self.project}-{self.env}-github-deploy"

    @property
    def capture_destination(self) -> str:
        """Where the model's endpoint writes the requests it captures with their answers
        (profiles.conf `capture`): the environment's own artifacts bucket."""
        return f"s3://{self.artifacts_bucket}/datacapture/{self.model_prefix}/"

    @property
    def rollback_alarms(self) -> tuple[str, str]:
        """The CloudWatch alarms (Terraform's deploy-on-approval module) that roll an update of
        the model's endpoint back: its 5xx errors and its p99 latency."""
        return (f"{self.endpoint_name}-5xx-errors", f"{self.endpoint_name}-p99-latency")

    @property
    def endpoint_role_arn(self) -> str:
        """The role the environment's endpoints run their models with (Terraform's endpoint
        role): not the jobs' execution role."""
        return f"arn:aws:iam::{self.account_id}:role/{self.project}-{self.env}-endpoint"

    @property
    def batch_transform_role_arn(self) -> str:
        """The role the batch pipelines' models run as (Terraform's batch_transform): reads
        their models and the batch data, writes predictions/."""
        return f"arn:aws:iam::{self.account_id}:role/{self.project}-{self.env}-batch-transform"

    @property
    def drift_check_role_arn(self) -> str:
        """The role the drift checks' job runs as (Terraform's drift_check): not the jobs'."""
        return f"arn:aws:iam::{self.account_id}:role/{self.project}-{self.env}-drift-check"

    @property
    def approver_role_arn(self) -> str:
        """The role a person approves through where approval is manual (Terraform's
        model_approver): the only identity there that may make a version Approved."""
        return f"arn:aws:iam::{self.account_id}:role/{self.project}-{self.env}-model-approver"


def environment_names(settings: Settings, env: str, model: str | None = None) -> EnvironmentNames:
    """The resource names of `model` (default: the first) in `env`, both checked against
    profiles.conf."""
    environment = settings.environment(env)
    model = settings.model(model).name if model else settings.first_model
    return EnvironmentNames(
        settings.project,
        env,
        environment.account_id,
        settings.region,
        model,
        first_model=model == settings.first_model,
    )


def repository_uri(settings: Settings, image: str) -> str:
    """An ECR repository of the operations account (`training` or `inference`)."""
    registry = f"{settings.accounts['operations']}.dkr.ecr.{settings.region}.amazonaws.com"
    return f"{registry}/{settings.project}-{image}"


def image_uri(settings: Settings, image: str, tag: str) -> str:
    """An image in the operations account's ECR, addressed by an immutable tag (the git SHA)."""
    return f"{repository_uri(settings, image)}:{tag}"


def ci_role_arn(settings: Settings) -> str:
    """The operations account's role that CI assumes to push images."""
    return f"arn:aws:iam::{settings.accounts['operations']}:role/{settings.project}-github-ci"
