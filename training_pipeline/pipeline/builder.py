"""The SageMaker pipelines, built with the SageMaker Python SDK (v3), the only module importing it.

    PrepareData ─> TrainModel ─> EvaluateModel ─> CheckQuality ─┬─ pass ─> CheckNewModel ─┐
    (validate,     (scikit-learn  (test metrics,    (floor and    │          (not identical  │
     split,         script mode)   champion          champion)     │           to a version) │
     fingerprint)      │           re-scored)                      └─ fail ─> QualityGateFailed
                       └─> BaselineData (training rows and the model's                       │
                           predictions: drift baselines)                                     │
                                    RegisterModel (own registry, metrics, baselines,  <─ new ┘
                                                   lineage)

The batch pipeline (`build_batch_pipeline`) scores a dataset with the newest Approved version:

    FindApprovedModel ─> CreateBatchModel ─> ScoreBatch
    (newest Approved     (the version's       (batch transform: the version's own image
     version, digest)     container)           scores each CSV line into predictions/)

`build_pipeline(config)` takes every account- and model-specific name as an argument, so the same
code builds the pipeline of every model in every environment; `definition(config)` is the JSON
that is upserted to SageMaker and that the local runner executes. Every run-time knob is a
pipeline parameter with a default, so the pipeline can be started from SageMaker Studio as it is.

The definition is byte-identical for the same commit, environment and inputs: code is addressed
by content (code_bundle.py), no job name or output path carries a build-time timestamp, and only
execution variables (resolved at run time) make one execution's outputs distinct from another's.
"""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass

import boto3

# The SDK resolves its region at import time, and probes IAM unless told not to (the embedded
# AWS lacks iam:SimulatePrincipalPolicy; on AWS the deploy role need not hold it either).
os.environ.setdefault("AWS_DEFAULT_REGION", os.environ.get("AWS_REGION", "us-east-1"))
os.environ.setdefault("SAGEMAKER_VALIDATE_ROLE", "false")

from sagemaker.core.processing import Processor  # noqa: E402
from sagemaker.core.shapes import (  # noqa: E402
    DriftCheckBaselines,
    DriftCheckModelDataQuality,
    MetricsSource,
    ModelDataQuality,
    ModelMetrics,
    ModelQuality,
    ProcessingInput,
    ProcessingOutput,
    ProcessingS3Input,
    ProcessingS3Output,
)
from sagemaker.core.transformer import Transformer  # noqa: E402
from sagemaker.core.workflow.conditions import (  # noqa: E402
    ConditionEquals,
    ConditionGreaterThanOrEqualTo,
    ConditionLessThanOrEqualTo,
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
from sagemaker.mlops.workflow.steps import (  # noqa: E402
    CacheConfig,
    ProcessingStep,
    TrainingStep,
    TransformStep,
)
from sagemaker.serve.model_builder import ModelBuilder  # noqa: E402
from sagemaker.train.configs import Compute, InputData, OutputDataConfig  # noqa: E402
from sagemaker.train.model_trainer import ModelTrainer  # noqa: E402

# Importing the SDK turns the root logger up to INFO (every botocore endpoint lookup would print);
# put it back so that the CLI's own progress lines stay readable.
logging.getLogger().setLevel(logging.WARNING)

from training_pipeline.pipeline.config import (  # noqa: E402
    BatchConfig,
    MonitorConfig,
    PipelineConfig,
)

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
    """The training pipeline of one environment (nothing is called on AWS to build it).

    Only wiring: each step is made by its own `build_*_step`, from the outputs of the steps
    before it. A new step is a new function and one line here.
    """
    ctx = _Context.create(config, session)
    prepared = build_prepare_data_step(ctx)
    train = build_train_step(ctx, prepared)
    evaluated = build_evaluate_step(ctx, train, prepared)
    baseline = build_baseline_step(ctx, train, prepared)
    register = build_register_step(ctx, prepared, train, evaluated, baseline)
    gate = build_check_quality_step(
        ctx,
        evaluated,
        if_steps=[build_check_new_model_step(evaluated, register)],
        else_steps=[build_quality_gate_failed_step(ctx, evaluated)],
    )
    return Pipeline(
        name=config.pipeline_name,
        parameters=list(ctx.params.values()),
        steps=[prepared.step, train, evaluated.step, baseline.step, gate],
        sagemaker_session=ctx.session,
    )


def build_batch_pipeline(config: BatchConfig, session: boto3.Session | None = None) -> Pipeline:
    """The batch pipeline of one model in one environment (nothing is called on AWS to build
    it): the newest Approved version, looked up when it runs, scores InputDataUrl."""
    ctx = _Context.create(config, session)
    approved = build_find_approved_model_step(ctx)
    model = build_batch_model_step(ctx, approved)
    return Pipeline(
        name=config.pipeline_name,
        parameters=list(ctx.params.values()),
        steps=[approved.step, model, build_score_batch_step(ctx, model)],
        sagemaker_session=ctx.session,
    )


def build_monitor_pipeline(config: MonitorConfig, session: boto3.Session | None = None) -> Pipeline:
    """The monitoring pipeline of one model in one environment: its captured traffic of the
    last WindowHours judged against the served version's baseline (steps/monitor.py)."""
    ctx = _Context.create(config, session)
    return Pipeline(
        name=config.pipeline_name,
        parameters=list(ctx.params.values()),
        steps=[build_check_drift_step(ctx)],
        sagemaker_session=ctx.session,
    )


@dataclass(frozen=True)
class _Context:
    """What every step builder shares: the configuration, the pipeline's parameters, the SDK
    session and the code input of the processing jobs."""

    config: PipelineConfig | BatchConfig | MonitorConfig
    session: PipelineSession
    params: dict
    code: ProcessingInput

    @classmethod
    def create(
        cls, config: PipelineConfig | BatchConfig | MonitorConfig, session: boto3.Session | None
    ) -> _Context:
        if isinstance(config, BatchConfig):
            params = _batch_parameters(config)
        elif isinstance(config, MonitorConfig):
            params = _monitor_parameters(config)
        else:
            params = _parameters(config)
        return cls(
            config,
            _pipeline_session(config, session),
            params,
            _s3_input("code", config.code_prefix, CODE_DIR),
        )

    def output(self, step: str, name: str) -> Join:
        """Where a step's output goes: one prefix per execution, nothing from build time."""
        return Join(
            on="/",
            values=[
                f"s3://{self.config.artifacts_bucket}/pipelines/{self.config.pipeline_name}",
                ExecutionVariables.PIPELINE_EXECUTION_ID,
                step,
                name,
            ],
        )

    def processor(
        self, script: str, env: dict[str, str] | None = None, role: str | None = None
    ) -> Processor:
        return Processor(
            role=role or self.config.role_arn,
            image_uri=self.config.training_image,
            instance_count=1,
            instance_type=self.params["ProcessingInstanceType"],
            entrypoint=["python3", f"{CODE_DIR}/{script}"],
            env=env,
            sagemaker_session=self.session,
        )


@dataclass(frozen=True)
class _Prepared:
    step: ProcessingStep
    profile: PropertyFile

    def split(self, name: str) -> JsonGet:
        # The content-addressed copy PrepareData publishes: the same data, split and code give
        # the same URL, so TrainModel's cache key changes exactly when its data does.
        return JsonGet(
            step_name=self.step.name, property_file=self.profile, json_path=f"splits.{name}"
        )

    def profiled(self, path: str) -> JsonGet:
        return JsonGet(step_name=self.step.name, property_file=self.profile, json_path=path)


@dataclass(frozen=True)
class _Evaluated:
    step: ProcessingStep
    report: PropertyFile
    url: Join

    def metric(self, path: str) -> JsonGet:
        return JsonGet(step_name=self.step.name, property_file=self.report, json_path=path)


def build_prepare_data_step(ctx: _Context) -> _Prepared:
    p = ctx.params
    profile = PropertyFile(name="DataProfile", output_name="profile", path="profile.json")
    step = ProcessingStep(
        name="PrepareData",
        description="Validate the input CSV, split it, fingerprint it",
        step_args=ctx.processor("preprocess.py").run(
            inputs=[
                ctx.code,
                _s3_input("data", p["InputDataUrl"], f"{PROCESSING_ROOT}/input/data"),
            ],
            outputs=[
                _s3_output(name, ctx.output("prepare", name), f"{PROCESSING_ROOT}/output/{name}")
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
                f"s3://{ctx.config.artifacts_bucket}/datasets",
            ],
        ),
        property_files=[profile],
        # Not cached: its input is a prefix whose contents change (new data lands under the
        # same InputDataUrl), and a cache key only sees the URL, so a scheduled retrain would
        # reuse the old split. It is cheap; TrainModel, cached on the content-addressed splits
        # this step publishes, is where caching pays.
        retry_policies=JOB_RETRIES,
    )
    return _Prepared(step, profile)


def build_train_step(ctx: _Context, prepared: _Prepared) -> TrainingStep:
    p, config = ctx.params, ctx.config
    trainer = ModelTrainer(
        training_image=config.training_image,
        role=config.role_arn,
        sagemaker_session=ctx.session,
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
            InputData(channel_name=name, data_source=prepared.split(name))
            for name in ("train", "validation")
        ],
        output_data_config=OutputDataConfig(s3_output_path=ctx.output("train", "model")),
    )
    return TrainingStep(
        name="TrainModel",
        description="Fit the model (scikit-learn script mode)",
        step_args=trainer.train(),
        cache_config=CACHE,
        retry_policies=JOB_RETRIES,
    )


def build_evaluate_step(ctx: _Context, train: TrainingStep, prepared: _Prepared) -> _Evaluated:
    report = PropertyFile(name="EvaluationReport", output_name="evaluation", path="evaluation.json")
    url = ctx.output("evaluate", "evaluation")
    step = ProcessingStep(
        name="EvaluateModel",
        description="Score the challenger and the approved champion on the same test split",
        step_args=ctx.processor(
            "evaluate.py", env={"MODEL_PACKAGE_GROUP_NAME": ctx.config.model_package_group}
        ).run(
            inputs=_model_and_split_inputs(ctx, train, prepared, "test"),
            outputs=[_s3_output("evaluation", url, f"{PROCESSING_ROOT}/evaluation")],
            arguments=[
                *_model_and_split_arguments("test"),
                "--output-dir",
                f"{PROCESSING_ROOT}/evaluation",
                "--inference-image",
                ctx.config.inference_image,
                "--gate-metric",
                ctx.config.gate_metric,
            ],
        ),
        property_files=[report],
        # Not cached: the champion it compares against lives in the registry, which changes
        # between executions while this step's arguments do not.
        retry_policies=JOB_RETRIES,
    )
    return _Evaluated(step, report, url)


@dataclass(frozen=True)
class _Baseline:
    step: ProcessingStep
    url: Join

    def file(self, name: str) -> MetricsSource:
        return MetricsSource(
            content_type="application/json", s3_uri=Join(on="/", values=[self.url, name])
        )


def build_baseline_step(ctx: _Context, train: TrainingStep, prepared: _Prepared) -> _Baseline:
    url = ctx.output("baseline", "baseline")
    step = ProcessingStep(
        name="BaselineData",
        description="Statistics of the training rows and the model's predictions: drift baselines",
        step_args=ctx.processor("baseline.py").run(
            inputs=_model_and_split_inputs(ctx, train, prepared, "train"),
            outputs=[_s3_output("baseline", url, f"{PROCESSING_ROOT}/baseline")],
            arguments=[
                *_model_and_split_arguments("train"),
                "--output-dir",
                f"{PROCESSING_ROOT}/baseline",
            ],
        ),
        # Not cached: a cache hit would record this execution's folder, where nothing was
        # written. It costs a second or two.
        retry_policies=JOB_RETRIES,
    )
    return _Baseline(step, url)


def build_register_step(
    ctx: _Context,
    prepared: _Prepared,
    train: TrainingStep,
    evaluated: _Evaluated,
    baseline: _Baseline,
) -> ModelStep:
    p, config = ctx.params, ctx.config
    builder = ModelBuilder(
        image_uri=config.inference_image,
        s3_model_data_url=train.properties.ModelArtifacts.S3ModelArtifacts,
        role_arn=config.role_arn,
        sagemaker_session=ctx.session,
        # The model is served by our own inference image, so the SDK has nothing to detect,
        # package or upload (its auto-detection would call S3 while building the definition).
        dependencies={},
        log_level=logging.ERROR,
    )
    return ModelStep(
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
                        s3_uri=Join(on="/", values=[evaluated.url, "model_quality.json"]),
                    )
                ),
                model_data_quality=ModelDataQuality(
                    statistics=baseline.file("statistics.json"),
                    constraints=baseline.file("constraints.json"),
                ),
            ),
            # What a drift check of the served version compares its traffic with.
            drift_check_baselines=DriftCheckBaselines(
                model_data_quality=DriftCheckModelDataQuality(
                    statistics=baseline.file("statistics.json"),
                    constraints=baseline.file("constraints.json"),
                )
            ),
            customer_metadata_properties={
                "git_sha": config.git_sha,
                "git_ref": config.git_ref,
                "pipeline_execution_arn": ExecutionVariables.PIPELINE_EXECUTION_ARN,
                "data_fingerprint": prepared.profiled("data_fingerprint"),
                "input_data_url": p["InputDataUrl"],
                "evaluation_url": evaluated.url,
                "model_digest": evaluated.metric("registration.model_digest"),
                "baseline_url": baseline.url,
                "triggered_by": p["TriggeredBy"],
            },
        ),
        retry_policies=API_RETRIES,
    )


def build_quality_gate_failed_step(ctx: _Context, evaluated: _Evaluated) -> FailStep:
    p, config = ctx.params, ctx.config
    bound = ">=" if config.gate_direction == "higher" else "<="
    return FailStep(
        name="QualityGateFailed",
        error_message=Join(
            on="",
            values=[
                f"quality gate failed, nothing was registered: challenger {config.gate_metric} ",
                evaluated.metric("gate.value"),
                f" must be {bound} the floor {config.gate_floor} and GateThreshold ",
                p["GateThreshold"],
                f" ({config.gate_direction} is better), and improve on the approved champion's ",
                evaluated.metric("champion.value"),
                " by at least GateMinImprovement ",
                p["GateMinImprovement"],
                " (it improves by ",
                evaluated.metric("gate.improvement"),
                ")",
            ],
        ),
    )


def build_check_new_model_step(evaluated: _Evaluated, register: ModelStep) -> ConditionStep:
    return ConditionStep(
        name="CheckNewModel",
        description="Register nothing when the model is identical to a registered version",
        # EvaluateModel found no version with this model (content digest) in this inference
        # image: the same code on the same data (a tag pushed again) makes the same package.
        conditions=[
            ConditionEquals(left=evaluated.metric("registration.duplicate_of_version"), right=0)
        ],
        if_steps=[register],
        else_steps=[],
    )


def build_check_quality_step(
    ctx: _Context, evaluated: _Evaluated, *, if_steps: list, else_steps: list
) -> ConditionStep:
    config, value = ctx.config, evaluated.metric("gate.value")
    reaches = (
        ConditionGreaterThanOrEqualTo
        if config.gate_direction == "higher"
        else ConditionLessThanOrEqualTo
    )
    return ConditionStep(
        name="CheckQuality",
        description="Absolute floor and no regression against the approved champion",
        conditions=[
            # profiles.conf's floor is absolute: the GateThreshold parameter may tighten it,
            # never loosen it.
            reaches(left=value, right=config.gate_floor),
            reaches(left=value, right=ctx.params["GateThreshold"]),
            # The improvement is signed by the metric's direction: >= always means "not worse".
            ConditionGreaterThanOrEqualTo(
                left=evaluated.metric("gate.improvement"), right=ctx.params["GateMinImprovement"]
            ),
        ],
        if_steps=if_steps,
        else_steps=else_steps,
    )


@dataclass(frozen=True)
class _Approved:
    step: ProcessingStep
    document: PropertyFile

    def field(self, name: str) -> JsonGet:
        return JsonGet(step_name=self.step.name, property_file=self.document, json_path=name)


def build_find_approved_model_step(ctx: _Context) -> _Approved:
    document = PropertyFile(name="ApprovedModel", output_name="approved", path="approved.json")
    step = ProcessingStep(
        name="FindApprovedModel",
        description="The newest Approved version of the model's group, and its digest",
        step_args=ctx.processor(
            "approved_model.py", env={"MODEL_PACKAGE_GROUP_NAME": ctx.config.model_package_group}
        ).run(
            inputs=[ctx.code],
            outputs=[
                _s3_output(
                    "approved", ctx.output("find", "approved"), f"{PROCESSING_ROOT}/approved"
                )
            ],
            arguments=["--output-dir", f"{PROCESSING_ROOT}/approved"],
        ),
        property_files=[document],
        # Not cached: the newest Approved version changes while the arguments do not.
        retry_policies=JOB_RETRIES,
    )
    return _Approved(step, document)


def build_batch_model_step(ctx: _Context, approved: _Approved) -> ModelStep:
    builder = ModelBuilder(
        # The registered version's own container (image and artifact), known only at run time.
        image_uri=approved.field("image"),
        s3_model_data_url=approved.field("model_data_url"),
        role_arn=ctx.config.model_role_arn,
        env_vars={
            # The server checks the files against the digest before loading them, and names
            # the version in every answer.
            "MODEL_DIGEST": approved.field("model_digest"),
            "MODEL_VERSION": approved.field("model_version"),
        },
        sagemaker_session=ctx.session,
        dependencies={},
        log_level=logging.ERROR,
    )
    return ModelStep(
        name="CreateBatchModel",
        description="A model of the Approved version, with its digest for the server to check",
        step_args=builder.build(),
        retry_policies=API_RETRIES,
    )


def build_score_batch_step(ctx: _Context, model: ModelStep) -> TransformStep:
    p, config = ctx.params, ctx.config
    transformer = Transformer(
        model_name=model.properties.ModelName,
        instance_count=1,
        instance_type=p["TransformInstanceType"],
        # As many rows per request as the server takes (its 6 MB), each answer on its own line.
        strategy="MultiRecord",
        assemble_with="Line",
        accept="application/json",
        # naming.py's predictions_prefix, a folder per execution.
        output_path=Join(
            on="/",
            values=[
                f"s3://{config.artifacts_bucket}/predictions/{config.pipeline_name}",
                ExecutionVariables.PIPELINE_EXECUTION_ID,
            ],
        ),
        sagemaker_session=ctx.session,
    )
    return TransformStep(
        name="ScoreBatch",
        description="Score every CSV line under InputDataUrl into predictions/",
        step_args=transformer.transform(
            data=p["InputDataUrl"], content_type="text/csv", split_type="Line"
        ),
        retry_policies=JOB_RETRIES,
    )


def build_check_drift_step(ctx: _Context) -> ProcessingStep:
    p, config = ctx.params, ctx.config
    report = ctx.output("check", "report")
    return ProcessingStep(
        name="CheckDrift",
        description="Captured traffic against the served version's baseline: report, metrics",
        step_args=ctx.processor(
            "monitor.py",
            env={"MODEL_PACKAGE_GROUP_NAME": config.model_package_group},
            role=config.job_role_arn,
        ).run(
            inputs=[ctx.code],
            outputs=[_s3_output("report", report, f"{PROCESSING_ROOT}/report")],
            arguments=[
                "--capture-url",
                config.capture_url,
                "--window-hours",
                p["WindowHours"].to_string(),
                "--training-pipeline",
                config.training_pipeline,
                "--action",
                p["DriftAction"],
                "--report-url",
                Join(on="/", values=[report, "report.html"]),
                "--output-dir",
                f"{PROCESSING_ROOT}/report",
            ],
        ),
        # Not cached: the window moves while the arguments stay.
        retry_policies=JOB_RETRIES,
    )


def _monitor_parameters(config: MonitorConfig) -> dict:
    params = [
        ParameterInteger("WindowHours", default_value=24),
        # What drift leads to: retrain starts the environment's training pipeline, alarm only
        # raises the metric its CloudWatch alarm watches, off judges and reports.
        ParameterString(
            "DriftAction",
            default_value=config.drift_action,
            enum_values=["retrain", "alarm", "off"],
        ),
        ParameterString("ProcessingInstanceType", default_value=config.instance_type),
    ]
    return _by_name(params)


def _batch_parameters(config: BatchConfig) -> dict:
    params = [
        ParameterString("InputDataUrl", default_value=config.input_data_url),
        ParameterString("ProcessingInstanceType", default_value=config.instance_type),
        ParameterString("TransformInstanceType", default_value=config.instance_type),
    ]
    return _by_name(params)


def _parameters(config: PipelineConfig) -> dict:
    params = [
        ParameterString("InputDataUrl", default_value=config.input_data_url),
        ParameterString("ProcessingInstanceType", default_value=config.instance_type),
        ParameterString("TrainingInstanceType", default_value=config.instance_type),
        ParameterFloat("MaxNanFraction", default_value=0.01),
        ParameterInteger("MaxIter", default_value=config.max_iter),
        ParameterFloat("LearningRate", default_value=config.learning_rate),
        ParameterInteger("MaxDepth", default_value=config.max_depth),
        # The gate metric must reach this too (at least it when higher is better, at most when
        # lower is): it can only tighten profiles.conf's floor, which is a literal.
        ParameterFloat("GateThreshold", default_value=config.gate_floor),
        # How much better than the approved champion the challenger must be, in the metric's
        # units: a small negative value tolerates noise, a positive one demands a real gain.
        ParameterFloat("GateMinImprovement", default_value=0.0),
        # Why this execution ran, recorded with the version it registers: a drift check that
        # starts it passes its report (steps/monitor.py).
        ParameterString("TriggeredBy", default_value="a deployment, a schedule or a person"),
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
    return _by_name(params)


def _model_and_split_inputs(
    ctx: _Context, train: TrainingStep, prepared: _Prepared, split: str
) -> list[ProcessingInput]:
    """The code, the trained model and one split of the data: what a step that scores the
    model reads."""
    return [
        ctx.code,
        _s3_input(
            "model", train.properties.ModelArtifacts.S3ModelArtifacts, f"{PROCESSING_ROOT}/model"
        ),
        _s3_input(split, prepared.split(split), f"{PROCESSING_ROOT}/{split}"),
    ]


def _model_and_split_arguments(split: str) -> list[str]:
    return [
        "--model-dir",
        f"{PROCESSING_ROOT}/model",
        f"--{split}-dir",
        f"{PROCESSING_ROOT}/{split}",
    ]


def _by_name(params: list) -> dict:
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


def _pipeline_session(
    config: PipelineConfig | BatchConfig | MonitorConfig, session: boto3.Session | None
) -> PipelineSession:
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
