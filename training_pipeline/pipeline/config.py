"""What the pipeline builder takes: everything that differs between environments or commits.

Kept apart from builder.py so that code which only needs the configuration (or a definition
built before, see definitions.py) does not import the SageMaker SDK.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PipelineConfig:
    """Everything that differs between environments or commits."""

    pipeline_name: str
    region: str
    role_arn: str
    artifacts_bucket: str
    input_data_url: str
    model_package_group: str
    training_image: str
    inference_image: str
    code_prefix: str
    code_tarball_url: str
    git_sha: str
    git_ref: str
    instance_type: str
    approval_status: str
    # The model's gate (profiles.conf [model NAME]): the evaluation's metric, which way is
    # better, and the absolute threshold a challenger must reach.
    gate_metric: str
    gate_direction: str
    gate_floor: float
    # The hyperparameter parameters' defaults that suit the model (model_defaults.py).
    max_iter: int
    learning_rate: float
    max_depth: int


@dataclass(frozen=True)
class BatchConfig:
    """What the batch pipeline takes (builder.build_batch_pipeline): one model in one
    environment, scoring with the newest Approved version of its group."""

    pipeline_name: str
    region: str
    role_arn: str
    # The role the batch job's model runs as: reads the model and the batch data, writes the
    # predictions; not the jobs' role.
    model_role_arn: str
    artifacts_bucket: str
    # The default data to score: the model's batch prefix in the environment's data bucket.
    input_data_url: str
    model_package_group: str
    # The image of the lookup step (the batch itself runs the registered version's own image).
    training_image: str
    code_prefix: str
    instance_type: str


@dataclass(frozen=True)
class MonitorConfig:
    """What the monitoring pipeline takes (builder.build_monitor_pipeline): one model in one
    environment, its served version's captured traffic judged against its baseline."""

    pipeline_name: str
    region: str
    role_arn: str
    artifacts_bucket: str
    model_package_group: str
    training_image: str
    code_prefix: str
    instance_type: str
    # Where the model's endpoint (and `serve --capture`) write captured traffic.
    capture_url: str
    # The pipeline a drift starts with drift_action = retrain.
    training_pipeline: str
    # The role the check's job runs as: reads traffic and baselines, puts the verdict's
    # metrics, may start the training pipeline; not the jobs' role.
    job_role_arn: str
    drift_action: str  # profiles.conf: retrain, alarm or off
