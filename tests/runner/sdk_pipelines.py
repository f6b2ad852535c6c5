"""Pipelines built with the SageMaker v3 SDK for the runner's tests.

Step names, scripts and parameters are made up here on purpose: the runner must not
know the template's own pipeline. The SDK is imported inside the functions, once the
test environment (region, endpoint, telemetry opt-out) is in place.
"""

from __future__ import annotations

import io
import json
import tarfile
import textwrap
from pathlib import Path
from typing import Any

import boto3

ROLE = "arn:aws:iam::123456789012:role/local-runner-tests"

SCRIPTS = {
    "prep.py": """
        import argparse, json, os, pathlib
        import boto3

        parser = argparse.ArgumentParser()
        parser.add_argument("--input")
        parser.add_argument("--output")
        parser.add_argument("--scale", type=int)
        args = parser.parse_args()
        rows = [
            line.split(",")
            for path in sorted(pathlib.Path(args.input).glob("*.csv"))
            for line in path.read_text().splitlines()[1:]
        ]
        out = pathlib.Path(args.output)
        lines = [f"{int(x) * args.scale},{y}" for x, y in rows]
        (out / "train.csv").write_text("x,y\\n" + "\\n".join(lines) + "\\n")
        # The job reaches the runner's account: the data bucket is visible from here.
        boto3.client("s3").head_bucket(Bucket=os.environ["DATA_BUCKET"])
        (out / "meta").mkdir()
        info = {"rows": len(rows), "tag": os.environ["JOB_TAG"]}
        (out / "meta" / "info.json").write_text(json.dumps(info))
    """,
    "score.py": """
        import argparse, json, pathlib, tarfile

        parser = argparse.ArgumentParser()
        parser.add_argument("--model")
        parser.add_argument("--output")
        args = parser.parse_args()
        with tarfile.open(pathlib.Path(args.model, "model.tar.gz")) as bundle:
            model = json.load(bundle.extractfile("model.json"))
        report = {
            "metrics": {"accuracy": {"value": model["quality"]}},
            "binary-metrics": {"rows": model["rows"]},
        }
        pathlib.Path(args.output, "evaluation.json").write_text(json.dumps(report))
    """,
    "boom.py": """
        import sys

        print("starting", flush=True)
        print("a warning on stderr", file=sys.stderr, flush=True)
        raise ValueError("bad value in row 3")
    """,
}

TRAIN_SCRIPT = """
    import argparse, json, os, pathlib

    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--quality", type=float)
    parser.add_argument("--label")
    args = parser.parse_args()
    rows = pathlib.Path(os.environ["SM_CHANNEL_TRAIN"], "train.csv").read_text().splitlines()
    model = {
        "rows": len(rows) - 1,
        "quality": args.quality,
        "label": args.label,
        "epochs": args.epochs,
        "hps": json.loads(os.environ["SM_HPS"]),
        "channels": json.loads(os.environ["SM_CHANNELS"]),
        "job": os.environ["TRAINING_JOB_NAME"],
        "cwd": os.getcwd(),
    }
    pathlib.Path(os.environ["SM_MODEL_DIR"], "model.json").write_text(json.dumps(model))
    pathlib.Path(os.environ["SM_OUTPUT_DATA_DIR"], "notes.txt").write_text("ok")
    print(f"epoch={args.epochs} val_accuracy={args.quality}")
"""


def write_scripts(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in SCRIPTS.items():
        (directory / name).write_text(textwrap.dedent(text))
    return directory


def upload_inputs(session: boto3.Session, bucket: str) -> None:
    """The raw CSV and the script-mode code bundle (sourcedir.tar.gz) in S3."""
    s3 = session.client("s3")
    s3.put_object(Bucket=bucket, Key="raw/part-1.csv", Body=b"x,y\n1,0\n2,1\n")
    s3.put_object(Bucket=bucket, Key="raw/part-2.csv", Body=b"x,y\n3,1\n")
    source = textwrap.dedent(TRAIN_SCRIPT).encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as bundle:
        info = tarfile.TarInfo("train.py")
        info.size = len(source)
        bundle.addfile(info, io.BytesIO(source))
    s3.put_object(Bucket=bucket, Key="code/sourcedir.tar.gz", Body=buffer.getvalue())


def _session(bucket: str) -> Any:
    from sagemaker.core.workflow.pipeline_context import PipelineSession

    return PipelineSession(default_bucket=bucket)


def _script_processor(session: Any, image: str, env: dict | None = None) -> Any:
    from sagemaker.core.processing import ScriptProcessor

    return ScriptProcessor(
        role=ROLE,
        image_uri=image,
        command=["python3"],
        instance_count=1,
        instance_type="ml.m5.large",
        sagemaker_session=session,
        env=env,
    )


def _input(name: str, uri: Any, local_path: str) -> Any:
    from sagemaker.core.processing import ProcessingInput
    from sagemaker.core.shapes import ProcessingS3Input

    s3_input = ProcessingS3Input(
        s3_uri=uri, local_path=local_path, s3_data_type="S3Prefix", s3_input_mode="File"
    )
    return ProcessingInput(input_name=name, s3_input=s3_input)


def _output(name: str, uri: Any, local_path: str) -> Any:
    from sagemaker.core.processing import ProcessingOutput
    from sagemaker.core.shapes import ProcessingS3Output

    s3_output = ProcessingS3Output(s3_uri=uri, local_path=local_path, s3_upload_mode="EndOfJob")
    return ProcessingOutput(output_name=name, s3_output=s3_output)


def churn_pipeline(bucket: str, scripts: Path) -> dict[str, Any]:
    """Ingest -> Fit -> Score -> QualityGate -> (Publish, MakeModel) | Reject."""
    from sagemaker.core.shapes import MetricDefinition, MetricsSource, ModelMetrics, ModelQuality
    from sagemaker.core.training.configs import Compute, InputData, OutputDataConfig
    from sagemaker.core.workflow.conditions import (
        ConditionEquals,
        ConditionGreaterThan,
        ConditionGreaterThanOrEqualTo,
        ConditionIn,
        ConditionNot,
        ConditionOr,
    )
    from sagemaker.core.workflow.execution_variables import ExecutionVariables
    from sagemaker.core.workflow.functions import Join, JsonGet
    from sagemaker.core.workflow.parameters import (
        ParameterFloat,
        ParameterInteger,
        ParameterString,
    )
    from sagemaker.core.workflow.properties import PropertyFile
    from sagemaker.mlops.workflow import (
        CacheConfig,
        ConditionStep,
        FailStep,
        Pipeline,
        ProcessingStep,
        TrainingStep,
    )
    from sagemaker.mlops.workflow.model_step import ModelStep
    from sagemaker.mlops.workflow.retry import StepExceptionTypeEnum, StepRetryPolicy
    from sagemaker.serve.model_builder import ModelBuilder
    from sagemaker.train import ModelTrainer

    session = _session(bucket)
    data_bucket = ParameterString("DataBucket", default_value=bucket)
    scale = ParameterInteger("Scale", default_value=2)
    quality = ParameterFloat("Quality", default_value=0.9)
    min_accuracy = ParameterFloat("MinAccuracy", default_value=0.8)
    group = ParameterString("Group", default_value="churn-models")
    approval = ParameterString("Approval", default_value="Approved")
    cache = CacheConfig(enable_caching=True, expire_after="P30D")
    retry = [
        StepRetryPolicy(
            exception_types=[StepExceptionTypeEnum.THROTTLING], interval_seconds=1, max_attempts=2
        )
    ]

    ingest = ProcessingStep(
        name="Ingest",
        step_args=_script_processor(
            session, "example.com/prep:1", {"DATA_BUCKET": data_bucket, "JOB_TAG": "fixed"}
        ).run(
            code=str(scripts / "prep.py"),
            inputs=[
                _input(
                    "raw",
                    Join(on="/", values=["s3:/", data_bucket, "raw"]),
                    "/opt/ml/processing/input/raw",
                )
            ],
            outputs=[
                _output(
                    "train",
                    Join(on="/", values=["s3:/", data_bucket, "ingest", "train"]),
                    "/opt/ml/processing/train",
                )
            ],
            arguments=[
                "--input",
                "/opt/ml/processing/input/raw",
                "--output",
                "/opt/ml/processing/train",
                "--scale",
                scale.to_string(),
            ],
        ),
        cache_config=cache,
        retry_policies=retry,
    )

    trainer = ModelTrainer(
        training_image="example.com/train:1",
        role=ROLE,
        sagemaker_session=session,
        base_job_name="fit",
        compute=Compute(instance_type="ml.m5.large", instance_count=1),
        output_data_config=OutputDataConfig(s3_output_path=f"s3://{bucket}/models"),
        hyperparameters={
            "sagemaker_program": "train.py",
            "sagemaker_submit_directory": f"s3://{bucket}/code/sourcedir.tar.gz",
            "epochs": 3,
            "quality": quality,
            "label": "churn",
        },
    ).with_metric_definitions(
        [MetricDefinition(name="val_accuracy", regex=r"val_accuracy=([0-9.]+)")]
    )
    fit = TrainingStep(
        name="Fit",
        step_args=trainer.train(
            input_data_config=[
                InputData(
                    channel_name="train",
                    data_source=ingest.properties.ProcessingOutputConfig.Outputs[
                        "train"
                    ].S3Output.S3Uri,
                )
            ]
        ),
        cache_config=cache,
    )

    report = PropertyFile(name="EvalReport", output_name="evaluation", path="evaluation.json")
    score = ProcessingStep(
        name="Score",
        step_args=_script_processor(session, "example.com/prep:1").run(
            code=str(scripts / "score.py"),
            inputs=[
                _input(
                    "model",
                    fit.properties.ModelArtifacts.S3ModelArtifacts,
                    "/opt/ml/processing/model",
                )
            ],
            outputs=[
                _output("evaluation", f"s3://{bucket}/score", "/opt/ml/processing/evaluation")
            ],
            arguments=[
                "--model",
                "/opt/ml/processing/model",
                "--output",
                "/opt/ml/processing/evaluation",
            ],
        ),
        property_files=[report],
        cache_config=cache,
    )
    accuracy = JsonGet(
        step_name=score.name, property_file=report, json_path="metrics.accuracy.value"
    )

    builder = ModelBuilder(
        image_uri="example.com/serve:1",
        s3_model_data_url=fit.properties.ModelArtifacts.S3ModelArtifacts,
        sagemaker_session=session,
        role_arn=ROLE,
    )
    publish = ModelStep(
        name="Publish",
        step_args=builder.register(
            model_package_group_name=group,
            content_types=["text/csv"],
            response_types=["text/csv"],
            inference_instances=["ml.m5.large"],
            transform_instances=["ml.m5.large"],
            approval_status=approval,
            model_metrics=ModelMetrics(
                model_quality=ModelQuality(
                    statistics=MetricsSource(
                        content_type="application/json",
                        s3_uri=f"s3://{bucket}/score/evaluation.json",
                    )
                )
            ),
            customer_metadata_properties={
                "execution": ExecutionVariables.PIPELINE_EXECUTION_ID,
                "rows": JsonGet(
                    step_name=score.name, property_file=report, json_path="binary-metrics.rows"
                ),
            },
        ),
        retry_policies=retry,
    )
    make_model = ModelStep(
        name="MakeModel",
        step_args=ModelBuilder(
            image_uri="example.com/serve:1",
            s3_model_data_url=fit.properties.ModelArtifacts.S3ModelArtifacts,
            sagemaker_session=session,
            role_arn=ROLE,
        ).build(),
    )
    reject = FailStep(
        name="Reject",
        error_message=Join(on=" ", values=["accuracy", accuracy, "is below", min_accuracy]),
    )
    gate = ConditionStep(
        name="QualityGate",
        conditions=[
            ConditionGreaterThanOrEqualTo(left=accuracy, right=min_accuracy),
            ConditionGreaterThan(
                left=fit.properties.FinalMetricDataList["val_accuracy"].Value, right=0
            ),
            ConditionOr(
                conditions=[
                    ConditionIn(value=approval, in_values=["Approved", "PendingManualApproval"]),
                    ConditionNot(ConditionEquals(left=scale, right=0)),
                ]
            ),
        ],
        if_steps=[publish, make_model],
        else_steps=[reject],
    )
    pipeline = Pipeline(
        name="churn",
        parameters=[data_bucket, scale, quality, min_accuracy, group, approval],
        steps=[ingest, fit, score, gate],
        sagemaker_session=session,
    )
    return json.loads(pipeline.definition())


def failing_pipeline(bucket: str, scripts: Path) -> dict[str, Any]:
    """Explode (a script that raises) -> After, which must never run."""
    from sagemaker.core.workflow.execution_variables import ExecutionVariables
    from sagemaker.mlops.workflow import Pipeline, ProcessingStep

    session = _session(bucket)
    explode = ProcessingStep(
        name="Explode",
        step_args=_script_processor(
            session, "example.com/prep:1", {"JOB": ExecutionVariables.PROCESSING_JOB_NAME}
        ).run(code=str(scripts / "boom.py")),
    )
    after = ProcessingStep(
        name="After",
        step_args=_script_processor(session, "example.com/prep:1").run(
            code=str(scripts / "boom.py")
        ),
        depends_on=[explode],
    )
    pipeline = Pipeline(name="failing", steps=[explode, after], sagemaker_session=session)
    return json.loads(pipeline.definition())


def _one_processing_step(name: str, step: str, step_args: Any, session: Any) -> dict[str, Any]:
    """The definition of a pipeline made of one processing step."""
    from sagemaker.mlops.workflow import Pipeline, ProcessingStep

    pipeline = Pipeline(
        name=name, steps=[ProcessingStep(name=step, step_args=step_args)], sagemaker_session=session
    )
    return json.loads(pipeline.definition())


def _trainer(bucket: str, **kwargs: Any) -> Any:
    from sagemaker.core.training.configs import Compute, OutputDataConfig
    from sagemaker.train import ModelTrainer

    return ModelTrainer(
        training_image="example.com/train:1",
        role=ROLE,
        sagemaker_session=_session(bucket),
        base_job_name="fit",
        compute=Compute(instance_type="ml.m5.large", instance_count=1),
        output_data_config=OutputDataConfig(s3_output_path=f"s3://{bucket}/ep-models"),
        **kwargs,
    )


def _training_only(bucket: str, trainer: Any, channels: dict[str, str]) -> dict[str, Any]:
    from sagemaker.core.training.configs import InputData
    from sagemaker.mlops.workflow import Pipeline, TrainingStep

    step = TrainingStep(
        name="Learn",
        step_args=trainer.train(
            input_data_config=[
                InputData(channel_name=n, data_source=u) for n, u in channels.items()
            ]
        ),
    )
    pipeline = Pipeline(name="learn", steps=[step], sagemaker_session=_session(bucket))
    return json.loads(pipeline.definition())


def entrypoint_training_pipeline(session: boto3.Session, bucket: str) -> dict[str, Any]:
    """A training job that says what to run with ContainerEntrypoint/ContainerArguments.

    ModelTrainer only emits an entrypoint of its own (its `sm_train.sh` drivers), so the
    fields are set on the definition, as a hand-written or other SDK's definition would.
    """
    s3 = session.client("s3")
    s3.put_object(
        Bucket=bucket, Key="ep/code/train.py", Body=textwrap.dedent(TRAIN_SCRIPT).encode()
    )
    s3.put_object(Bucket=bucket, Key="ep/train/train.csv", Body=b"x,y\n1,0\n")
    definition = _training_only(
        bucket,
        _trainer(bucket, hyperparameters={"ignored": "yes"}),
        {"code": f"s3://{bucket}/ep/code", "train": f"s3://{bucket}/ep/train/"},
    )
    algorithm = definition["Steps"][0]["Arguments"]["AlgorithmSpecification"]
    algorithm["ContainerEntrypoint"] = ["python3", "/opt/ml/input/data/code/train.py"]
    algorithm["ContainerArguments"] = ["--epochs", "1", "--quality", "0.7", "--label", "ep"]
    return definition


SOURCE_CODE_SCRIPT = """
    import argparse, json, os, pathlib

    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--label")
    args = parser.parse_args()
    # Container paths written out, as SageMaker examples do: only an isolated /opt/ml takes them.
    rows = pathlib.Path("/opt/ml/input/data/train/train.csv").read_text().splitlines()
    model = {
        "rows": len(rows) - 1,
        "epochs": args.epochs,
        "label": args.label,
        "train_channel": os.environ["SM_CHANNEL_TRAIN"],
        "cwd": os.getcwd(),
    }
    pathlib.Path("/opt/ml/model/model.json").write_text(json.dumps(model))
"""


def source_code_training_pipeline(bucket: str, source_dir: Path) -> dict[str, Any]:
    """SDK v3's ordinary way to train: ModelTrainer with `source_code` (the sm_drivers contract)."""
    from sagemaker.core.training.configs import SourceCode

    (source_dir / "fit.py").write_text(textwrap.dedent(SOURCE_CODE_SCRIPT))
    trainer = _trainer(
        bucket,
        source_code=SourceCode(source_dir=str(source_dir), entry_script="fit.py"),
        hyperparameters={"epochs": 3, "label": "sc"},
    )
    return _training_only(bucket, trainer, {"train": f"s3://{bucket}/ep/train/"})


def hard_coded_paths_pipeline(bucket: str, scripts: Path) -> dict[str, Any]:
    """A processing script that writes to /opt/ml/processing/... without being told where."""
    script = scripts / "hard_coded.py"
    script.write_text(
        textwrap.dedent(
            """
            import json, os, pathlib

            rows = pathlib.Path("/opt/ml/processing/input/part-1.csv").read_text().splitlines()
            out = pathlib.Path("/opt/ml/processing/output/count.txt")
            out.write_text(str(len(rows) - 1))
            # Everything the job can reach from its working directory.
            seen = [d for root, dirs, _ in os.walk(".") for d in dirs]
            pathlib.Path("/opt/ml/processing/output/seen.json").write_text(json.dumps(seen))
            """
        )
    )
    session = _session(bucket)
    step_args = _script_processor(session, "example.com/prep:1").run(
        code=str(script),
        inputs=[_input("raw", f"s3://{bucket}/raw/part-1.csv", "/opt/ml/processing/input")],
        outputs=[_output("count", f"s3://{bucket}/hard-coded", "/opt/ml/processing/output")],
    )
    return _one_processing_step("hard-coded", "Count", step_args, session)


def container_style_pipeline(bucket: str, source_dir: Path) -> dict[str, Any]:
    """Prepare -> Learn -> Publish, written as for SageMaker's containers: the processing
    script uses hard-coded /opt/ml/processing paths, the trainer is ModelTrainer with
    `source_code`, and the model is registered in the group the `Group` parameter names."""
    from sagemaker.core.training.configs import InputData, SourceCode
    from sagemaker.core.workflow.parameters import ParameterString
    from sagemaker.mlops.workflow import Pipeline, ProcessingStep, TrainingStep
    from sagemaker.mlops.workflow.model_step import ModelStep
    from sagemaker.serve.model_builder import ModelBuilder

    (source_dir / "prepare.py").write_text(
        textwrap.dedent(
            """
            import pathlib

            raw = pathlib.Path("/opt/ml/processing/input/part-1.csv").read_text()
            pathlib.Path("/opt/ml/processing/train/train.csv").write_text(raw)
            """
        )
    )
    code = source_dir / "code"
    code.mkdir(exist_ok=True)
    (code / "fit.py").write_text(textwrap.dedent(SOURCE_CODE_SCRIPT))
    session = _session(bucket)
    label = ParameterString("Label", default_value="container")
    group = ParameterString("Group", default_value="container-style")
    prepare = ProcessingStep(
        name="Prepare",
        step_args=_script_processor(session, "example.com/prep:1").run(
            code=str(source_dir / "prepare.py"),
            inputs=[_input("raw", f"s3://{bucket}/raw/part-1.csv", "/opt/ml/processing/input")],
            outputs=[_output("train", f"s3://{bucket}/prepared", "/opt/ml/processing/train")],
        ),
    )
    trainer = _trainer(
        bucket,
        source_code=SourceCode(source_dir=str(code), entry_script="fit.py"),
        hyperparameters={"epochs": 2, "label": label},
    )
    train_uri = prepare.properties.ProcessingOutputConfig.Outputs["train"].S3Output.S3Uri
    learn = TrainingStep(
        name="Learn",
        step_args=trainer.train(
            input_data_config=[InputData(channel_name="train", data_source=train_uri)]
        ),
    )
    publish = ModelStep(
        name="Publish",
        step_args=ModelBuilder(
            image_uri="example.com/serve:1",
            s3_model_data_url=learn.properties.ModelArtifacts.S3ModelArtifacts,
            sagemaker_session=session,
            role_arn=ROLE,
        ).register(
            model_package_group_name=group,
            content_types=["text/csv"],
            response_types=["text/csv"],
            inference_instances=["ml.m5.large"],
            transform_instances=["ml.m5.large"],
            approval_status="PendingManualApproval",
        ),
    )
    pipeline = Pipeline(
        name="container-style",
        parameters=[label, group],
        steps=[prepare, learn, publish],
        sagemaker_session=session,
    )
    return json.loads(pipeline.definition())


def framework_processor_pipeline(bucket: str, source_dir: Path) -> dict[str, Any]:
    """A FrameworkProcessor job: its generated runproc.sh unpacks the code and runs python3."""
    from sagemaker.core.processing import FrameworkProcessor

    (source_dir / "helper.py").write_text("ANSWER = 42\n")
    (source_dir / "job.py").write_text(
        textwrap.dedent(
            """
            import pathlib, sys
            import helper

            pathlib.Path(sys.argv[2], "answer.txt").write_text(f"{helper.ANSWER} {sys.executable}")
            """
        )
    )
    session = _session(bucket)
    processor = FrameworkProcessor(
        role=ROLE,
        image_uri="example.com/sklearn:1",
        command=["python3"],
        instance_count=1,
        instance_type="ml.m5.large",
        sagemaker_session=session,
    )
    step_args = processor.run(
        code="job.py",
        source_dir=str(source_dir),
        arguments=["--out", "/opt/ml/processing/out"],
        outputs=[_output("answer", f"s3://{bucket}/framework", "/opt/ml/processing/out")],
    )
    return _one_processing_step("framework", "Bundle", step_args, session)
