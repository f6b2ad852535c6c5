"""The SageMaker pipeline, built with the SageMaker Python SDK (v3), the only module importing it.

    PrepareData ─> TrainModel ─> EvaluateModel ─> CheckQuality ─┬─ pass ─> CheckNewModel ─┐
    (validate,     (scikit-learn  (test metrics,    (floor and    │          (not identical  │
     split,         script mode)   champion          champion)     │           to a version) │
     fingerprint)                  re-scored)                      └─ fail ─> QualityGateFailed
                                                                                             │
                                    RegisterModel (own registry, metrics, lineage) <─ new ───┘

`build_pipeline(config)` takes every account-specific name as an argument, so the same code builds
the pipeline of dev, staging and prod; `definition(config)` is the JSON that is upserted to
SageMaker and that the local runner executes. Every run-time knob is a pipeline parameter with a
default, so the pipeline can be started from SageMaker Studio as it is.

The definition is byte-identical for the same commit, environment and inputs: code is addressed
by content (code_bundle.py), no job name or output path carries a build-time timestamp, and only
execution variables (resolved at run time) make one execution's outputs distinct from another's.
"""

from __future__ import annotations

import logging
import os
import warnings

import boto3

# The SDK resolves its region at import time, and probes IAM unless told not to (the embedded
# AWS lacks iam:SimulatePrincipalPolicy; on AWS the deploy role need not hold it either).
os.environ.setdefault("AWS_DEFAULT_REGION", os.environ.get("AWS_REGION", "us-east-1"))
os.environ.setdefault("SAGEMAKER_VALIDATE_ROLE", "false")

from sagemaker.core.processing import Processor  # noqa: E402
from sagemaker.core.shapes import (  # noqa: E402
    MetricsSource,
    ModelMetrics,
    ModelQuality,
    ProcessingInput,
    ProcessingOutput,
    ProcessingS3Input,
    ProcessingS3Output,
)
from sagemaker.core.workflow.conditions import (  # noqa: E402
    ConditionEquals,
    ConditionGreaterThanOrEqualTo,
)
from sagemaker.core.workflow.execution_variables import ExecutionVariables  # noqa: E402
from sagemaker.core.workflow.functions import Join, JsonGet  # noqa: E402
from sagemaker.core.workflow.parameters import (  # noqa: E402
    ParameterFloat,
    ParameterInteger,
    ParameterString,
)
from sagemaker.core.workflow.pipeline_context import PipelineSession  # noqa: E402
from sagemaker.core.workflow.properties import PropertyFile  # noqa: E402
from sagemaker.mlops.workflow.condition_step import ConditionStep  # noqa: E402
from sagemaker.mlops.workflow.fail_step import FailStep  # noqa: E402
from sagemaker.mlops.workflow.model_step import ModelStep  # noqa: E402
from sagemaker.mlops.workflow.pipeline import Pipeline  # noqa: E402
from sagemaker.mlops.workflow.retry import (  # noqa: E402
    SageMakerJobExceptionTypeEnum,
    SageMakerJobStepRetryPolicy,
    StepExceptionTypeEnum,
    StepRetryPolicy,
)
from sagemaker.mlops.workflow.steps import CacheConfig, ProcessingStep, TrainingStep  # noqa: E402
from sagemaker.serve.model_builder import ModelBuilder  # noqa: E402
from sagemaker.train.configs import Compute, InputData, OutputDataConfig  # noqa: E402
from sagemaker.train.model_trainer import ModelTrainer  # noqa: E402

# Importing the SDK turns the root logger up to INFO (every botocore endpoint lookup would print);
# put it back so that the CLI's own progress lines stay readable.
logging.getLogger().setLevel(logging.WARNING)

from training_pipeline.pipeline.config import PipelineConfig  # noqa: E402

PROCESSING_ROOT = "/opt/ml/processing"
CODE_DIR = f"{PROCESSING_ROOT}/code"
CACHE = CacheConfig(enable_caching=True, expire_after="P30D")
# Transient service trouble is retried; a script's own failure (bad data, bad hyperparameter)
# is not, since it would fail the same way again.
JOB_RETRIES = [
    SageMakerJobStepRetryPolicy(
        exception_types=[
            SageMakerJobExceptionTypeEnum.CAPACITY_ERROR,
            SageMakerJobExceptionTypeEnum.INTERNAL_ERROR,
            SageMakerJobExceptionTypeEnum.RESOURCE_LIMIT,
        ],
        interval_seconds=30,
        backoff_rate=2.0,
        max_attempts=3,
    ),
    StepRetryPolicy(
        exception_types=[
            StepExceptionTypeEnum.SERVICE_FAULT,
            StepExceptionTypeEnum.THROTTLING,
        ],
        interval_seconds=10,
        backoff_rate=2.0,
        max_attempts=5,
    ),
]
API_RETRIES = JOB_RETRIES[1:]


def build_pipeline(config: PipelineConfig, session: boto3.Session | None = None) -> Pipeline:
    """The training pipeline of one environment (nothing is called on AWS to build it)."""
    sagemaker_session = _pipeline_session(config, session)
    p = _parameters(config)

    def output(step: str, name: str) -> Join:
        return Join(
            on="/",
            values=[
                f"s3://{config.artifacts_bucket}/pipelines/{config.pipeline_name}",
                ExecutionVariables.PIPELINE_EXECUTION_ID,
                step,
                name,
            ],
        )

    def processor(script: str, env: dict[str, str] | None = None) -> Processor:
        return Processor(
            role=config.role_arn,
            image_uri=config.training_image,
            instance_count=1,
            instance_type=p["ProcessingInstanceType"],
            entrypoint=["python3", f"{CODE_DIR}/{script}"],
            env=env,
            sagemaker_session=sagemaker_session,
        )

    code_input = _s3_input("code", config.code_prefix, CODE_DIR)

    profile = PropertyFile(name="DataProfile", output_name="profile", path="profile.json")
    prepare = ProcessingStep(
        name="PrepareData",
        description="Validate the input CSV, split it, fingerprint it",
        step_args=processor("preprocess.py").run(
            inputs=[
                code_input,
                _s3_input("data", p["InputDataUrl"], f"{PROCESSING_ROOT}/input/data"),
            ],
            outputs=[
                _s3_output(name, output("prepare", name), f"{PROCESSING_ROOT}/output/{name}")
                for name in ("train", "validation", "test", "profile")
            ],
            # Paths are passed explicitly, although they are the scripts' defaults, so that a
            # runner which maps container paths (the local one) sees every path it must map.
            arguments=[
                "--input-dir",
                f"{PROCESSING_ROOT}/input/data",
                "--output-dir",
                f"{PROCESSING_ROOT}/output",
                "--max-nan-fraction",
                p["MaxNanFraction"].to_string(),
                "--publish-to",
                f"s3://{config.artifacts_bucket}/datasets",
            ],
        ),
        property_files=[profile],
        # Not cached: its input is a prefix whose contents change (new data lands under the
        # same InputDataUrl), and a cache key only sees the URL, so a scheduled retrain would
        # reuse the old split. It is cheap; TrainModel, cached on the content-addressed splits
        # this step publishes, is where caching pays.
        retry_policies=JOB_RETRIES,
    )

    def split(name: str) -> JsonGet:
        # The content-addressed copy PrepareData publishes: the same data, split and code give
        # the same URL, so TrainModel's cache key changes exactly when its data does.
        return JsonGet(step_name=prepare.name, property_file=profile, json_path=f"splits.{name}")

    trainer = ModelTrainer(
        training_image=config.training_image,
        role=config.role_arn,
        sagemaker_session=sagemaker_session,
        compute=Compute(instance_type=p["TrainingInstanceType"], instance_count=1),
        base_job_name=config.pipeline_name,
        hyperparameters={
            # SageMaker's script-mode convention: the image runs this entry point from the
            # content-addressed tarball, passing the other hyperparameters as --name value.
            "sagemaker_program": "train.py",
            "sagemaker_submit_directory": config.code_tarball_url,
            "max_iter": p["MaxIter"].to_string(),
            "learning_rate": p["LearningRate"].to_string(),
            "max_depth": p["MaxDepth"].to_string(),
            "random_state": "42",
        },
        input_data_config=[
            InputData(channel_name=name, data_source=split(name))
            for name in ("train", "validation")
        ],
        output_data_config=OutputDataConfig(s3_output_path=output("train", "model")),
    )
    train = TrainingStep(
        name="TrainModel",
        description="Fit a gradient-boosted classifier",
        step_args=trainer.train(),
        cache_config=CACHE,
        retry_policies=JOB_RETRIES,
    )

    report = PropertyFile(name="EvaluationReport", output_name="evaluation", path="evaluation.json")
    evaluation_url = output("evaluate", "evaluation")
    evaluate = ProcessingStep(
        name="EvaluateModel",
        description="Score the challenger and the approved champion on the same test split",
        step_args=processor(
            "evaluate.py", env={"MODEL_PACKAGE_GROUP_NAME": config.model_package_group}
        ).run(
            inputs=[
                code_input,
                _s3_input(
                    "model",
                    train.properties.ModelArtifacts.S3ModelArtifacts,
                    f"{PROCESSING_ROOT}/model",
                ),
                _s3_input("test", split("test"), f"{PROCESSING_ROOT}/test"),
            ],
            outputs=[_s3_output("evaluation", evaluation_url, f"{PROCESSING_ROOT}/evaluation")],
            arguments=[
                "--model-dir",
                f"{PROCESSING_ROOT}/model",
                "--test-dir",
                f"{PROCESSING_ROOT}/test",
                "--output-dir",
                f"{PROCESSING_ROOT}/evaluation",
                "--inference-image",
                config.inference_image,
            ],
        ),
        property_files=[report],
        # Not cached: the champion it compares against lives in the registry, which changes
        # between executions while this step's arguments do not.
        retry_policies=JOB_RETRIES,
    )

    def metric(path: str) -> JsonGet:
        return JsonGet(step_name=evaluate.name, property_file=report, json_path=path)

    challenger_auc = metric("metrics.roc_auc.value")
    auc_delta = metric("comparison.roc_auc_delta")
    champion_auc = metric("champion.roc_auc")

    builder = ModelBuilder(
        image_uri=config.inference_image,
        s3_model_data_url=train.properties.ModelArtifacts.S3ModelArtifacts,
        role_arn=config.role_arn,
        sagemaker_session=sagemaker_session,
        # The model is served by our own inference image, so the SDK has nothing to detect,
        # package or upload (its auto-detection would call S3 while building the definition).
        dependencies={},
        log_level=logging.ERROR,
    )
    register = ModelStep(
        name="RegisterModel",
        step_args=builder.register(
            model_package_group_name=config.model_package_group,
            approval_status=p["ModelApprovalStatus"],
            content_types=["text/csv"],
            response_types=["application/json"],
            inference_instances=["ml.m5.large", "ml.m5.xlarge"],
            transform_instances=["ml.m5.large"],
            model_metrics=ModelMetrics(
                model_quality=ModelQuality(
                    statistics=MetricsSource(
                        content_type="application/json",
                        s3_uri=Join(on="/", values=[evaluation_url, "model_quality.json"]),
                    )
                )
            ),
            customer_metadata_properties={
                "git_sha": config.git_sha,
                "git_ref": config.git_ref,
                "pipeline_execution_arn": ExecutionVariables.PIPELINE_EXECUTION_ARN,
                "data_fingerprint": JsonGet(
                    step_name=prepare.name,
                    property_file=profile,
                    json_path="data_fingerprint",
                ),
                "input_data_url": p["InputDataUrl"],
                "evaluation_url": evaluation_url,
                "model_digest": metric("registration.model_digest"),
            },
        ),
        retry_policies=API_RETRIES,
    )

    fail = FailStep(
        name="QualityGateFailed",
        error_message=Join(
            on="",
            values=[
                "quality gate failed, nothing was registered: challenger roc_auc ",
                challenger_auc,
                f" must be >= the floor {config.min_auc} and MinAuc ",
                p["MinAuc"],
                " and exceed the approved champion's ",
                champion_auc,
                " by at least MinAucDelta ",
                p["MinAucDelta"],
            ],
        ),
    )
    only_new = ConditionStep(
        name="CheckNewModel",
        description="Register nothing when the model is identical to a registered version",
        # EvaluateModel found no version with this model (content digest) in this inference
        # image: the same code on the same data (a tag pushed again) makes the same package.
        conditions=[ConditionEquals(left=metric("registration.duplicate_of_version"), right=0)],
        if_steps=[register],
        else_steps=[],
    )
    gate = ConditionStep(
        name="CheckQuality",
        description="Absolute floor and no regression against the approved champion",
        conditions=[
            # profiles.conf's floor is absolute: the MinAuc parameter may raise it, not lower it.
            ConditionGreaterThanOrEqualTo(left=challenger_auc, right=config.min_auc),
            ConditionGreaterThanOrEqualTo(left=challenger_auc, right=p["MinAuc"]),
            ConditionGreaterThanOrEqualTo(left=auc_delta, right=p["MinAucDelta"]),
        ],
        if_steps=[only_new],
        else_steps=[fail],
    )

    return Pipeline(
        name=config.pipeline_name,
        parameters=list(p.values()),
        steps=[prepare, train, evaluate, gate],
        sagemaker_session=sagemaker_session,
    )


def _parameters(config: PipelineConfig) -> dict:
    params = [
        ParameterString("InputDataUrl", default_value=config.input_data_url),
        ParameterString("ProcessingInstanceType", default_value=config.instance_type),
        ParameterString("TrainingInstanceType", default_value=config.instance_type),
        ParameterFloat("MaxNanFraction", default_value=0.01),
        ParameterInteger("MaxIter", default_value=200),
        ParameterFloat("LearningRate", default_value=0.1),
        ParameterInteger("MaxDepth", default_value=3),
        ParameterFloat("MinAuc", default_value=config.min_auc),
        # Challenger AUC minus champion AUC must reach this; a small negative value tolerates
        # noise, a positive one demands a real improvement before a new version is registered.
        ParameterFloat("MinAucDelta", default_value=0.0),
        ParameterString(
            "ModelApprovalStatus",
            default_value=config.approval_status,
            # Manual approval cannot be skipped by starting the pipeline with Approved.
            enum_values=(
                ["PendingManualApproval"]
                if config.approval_status == "PendingManualApproval"
                else ["Approved", "PendingManualApproval"]
            ),
        ),
    ]
    return {param.name: param for param in params}


def _s3_input(name: str, s3_uri, local_path: str) -> ProcessingInput:
    return ProcessingInput(
        input_name=name,
        s3_input=ProcessingS3Input(
            s3_uri=s3_uri,
            local_path=local_path,
            s3_data_type="S3Prefix",
            s3_input_mode="File",
        ),
    )


def _s3_output(name: str, s3_uri, local_path: str) -> ProcessingOutput:
    return ProcessingOutput(
        output_name=name,
        s3_output=ProcessingS3Output(
            s3_uri=s3_uri, local_path=local_path, s3_upload_mode="EndOfJob"
        ),
    )


def _pipeline_session(config: PipelineConfig, session: boto3.Session | None) -> PipelineSession:
    # Building a definition is pure: silence the SDK's per-step notices about what a
    # PipelineSession does not do, which would otherwise bury the CLI's own output.
    warnings.filterwarnings("ignore", message="Running within a PipelineSession")
    # The SDK sets levels on its own module loggers, so each one is quietened, not just the root.
    for name in list(logging.root.manager.loggerDict):
        if name.startswith(("sagemaker", "botocore.credentials")):
            logging.getLogger(name).setLevel(logging.ERROR)
    # The SDK's defaults config (telemetry opt-out and the like) is the user's own, loaded from
    # the usual files; passing a dict here instead would make the SDK re-validate it against its
    # schema on every lookup, which triples the build time.
    return PipelineSession(
        boto_session=session or boto3.Session(region_name=config.region),
        default_bucket=config.artifacts_bucket,
    )
