"""Definitions from templates: what the SDK would build, without importing the SDK."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pytest

from training_pipeline.config.settings import load_settings
from training_pipeline.config.source import Revision
from training_pipeline.environment.deployment import (
    Environment,
    batch_config,
    monitor_config,
    pipeline_config,
)
from training_pipeline.pipeline import definitions
from training_pipeline.pipeline.config import BatchConfig, MonitorConfig, PipelineConfig

REVISION = Revision(sha="c" * 40, ref="refs/heads/main")

LOAD = """
import dataclasses, json, sys
from pathlib import Path
from training_pipeline.pipeline import definitions
from training_pipeline.pipeline.config import PipelineConfig
config = PipelineConfig(**json.loads(sys.argv[2]))
document = definitions.load_or_build(config, Path(sys.argv[1]))
print(json.dumps({"sdk_imported": "sagemaker.mlops" in sys.modules, "document": document}))
"""


def config_of(env: str, revision: Revision = REVISION, **changes) -> PipelineConfig:
    return dataclasses.replace(pipeline_config(load_settings(), env, revision), **changes)


def sdk_build(config: PipelineConfig) -> str:
    from training_pipeline.pipeline.builder import build_pipeline

    return build_pipeline(config).definition()


def load_in_fresh_process(cache_dir, config: PipelineConfig) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", LOAD, str(cache_dir), json.dumps(dataclasses.asdict(config))],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.splitlines()[-1])


# Other accounts, another project, another commit and ref: every copied value differs from the
# template's source, so a value the SDK did not copy verbatim would show here.
ELSEWHERE = {
    "pipeline_name": "Acme-Churn-Dev",
    "role_arn": "arn:aws:iam::987654321098:role/acme-churn-dev-sagemaker-execution",
    "artifacts_bucket": "acme-churn-dev-artifacts-987654321098",
    "input_data_url": "s3://acme-churn-dev-data-987654321098/incoming/2026/",
    "model_package_group": "Acme-Churn-Dev",
    "training_image": "123456789012.dkr.ecr.us-east-2.amazonaws.com/acme-training:" + "d" * 40,
    "inference_image": "123456789012.dkr.ecr.us-east-2.amazonaws.com/acme-inference:" + "d" * 40,
    "code_prefix": "s3://acme-churn-dev-artifacts-987654321098/code/" + "e" * 64 + "/",
    "code_tarball_url": "s3://acme-churn-dev-artifacts-987654321098/code/sourcedir.tar.gz",
    "git_sha": "d" * 40,
    "git_ref": "refs/heads/Feature/New_Model",
}


@pytest.mark.parametrize("env", load_settings().environment_names)
def test_a_filled_template_is_byte_identical_to_the_sdk_build(env, tmp_path):
    built = definitions.load_or_build(config_of(env), tmp_path)
    assert built == sdk_build(config_of(env))
    (template,) = tmp_path.glob("*.json")
    # Filled with other values, the same template is what the SDK builds for them.
    elsewhere = config_of(env, **ELSEWHERE)
    assert definitions.load_or_build(elsewhere, tmp_path) == sdk_build(elsewhere)
    assert list(tmp_path.glob("*.json")) == [template]


BATCH_FIELDS = {field.name for field in dataclasses.fields(BatchConfig)}
MONITOR_FIELDS = {field.name for field in dataclasses.fields(MonitorConfig)}


def batch_config_of(env: str, model: str | None = None, **changes) -> BatchConfig:
    target = Environment.named(load_settings(), env, model)
    return dataclasses.replace(batch_config(target, REVISION), **changes)


@pytest.mark.parametrize(("env", "model"), [("dev", None), ("prod", "diabetes")])
def test_the_batch_pipelines_template_is_byte_identical_to_the_sdk_build(env, model, tmp_path):
    from training_pipeline.pipeline.builder import build_batch_pipeline

    config = batch_config_of(env, model)
    assert definitions.load_or_build(config, tmp_path) == (
        build_batch_pipeline(config).definition()
    )
    elsewhere = batch_config_of(
        env,
        model,
        model_role_arn="arn:aws:iam::987654321098:role/acme-churn-dev-batch-transform",
        **{k: v for k, v in ELSEWHERE.items() if k in BATCH_FIELDS},
    )
    assert definitions.load_or_build(elsewhere, tmp_path) == (
        build_batch_pipeline(elsewhere).definition()
    )
    # Its own template, beside none of the training pipeline's.
    assert len(list(tmp_path.glob("*.json"))) == 1
    assert definitions.template_key(config) != definitions.template_key(config_of(env))


@pytest.mark.parametrize(("env", "model"), [("staging", None), ("prod", "diabetes")])
def test_the_monitoring_pipelines_template_is_byte_identical_to_the_sdk_build(env, model, tmp_path):
    from training_pipeline.pipeline.builder import build_monitor_pipeline

    target = Environment.named(load_settings(), env, model)
    config = monitor_config(target, REVISION)
    assert definitions.load_or_build(config, tmp_path) == (
        build_monitor_pipeline(config).definition()
    )
    elsewhere = dataclasses.replace(
        config,
        capture_url="s3://acme-churn-dev-artifacts-987654321098/datacapture/acme/acme/",
        training_pipeline="Acme-Churn-Dev-training",
        job_role_arn="arn:aws:iam::987654321098:role/acme-churn-dev-drift-check",
        **{k: v for k, v in ELSEWHERE.items() if k in MONITOR_FIELDS},
    )
    assert definitions.load_or_build(elsewhere, tmp_path) == (
        build_monitor_pipeline(elsewhere).definition()
    )
    assert len(list(tmp_path.glob("*.json"))) == 1
    # drift_action shapes the definition (the DriftAction parameter's default).
    retrain = json.loads(definitions.load_or_build(config, tmp_path))["Parameters"]
    assert {p["Name"]: p.get("DefaultValue") for p in retrain}["DriftAction"] == "retrain"
    quiet = dataclasses.replace(config, drift_action="off")
    assert definitions.template_key(quiet) != definitions.template_key(config)


def test_the_first_run_builds_once_and_later_runs_skip_the_sdk(tmp_path):
    first = load_in_fresh_process(tmp_path, config_of("dev"))
    another_commit = Revision(sha="f" * 40, ref=REVISION.ref)
    second = load_in_fresh_process(tmp_path, config_of("dev", another_commit, **ELSEWHERE))
    assert first["sdk_imported"] and not second["sdk_imported"]
    document = json.loads(second["document"])
    assert document["Parameters"][0]["DefaultValue"] == ELSEWHERE["input_data_url"]
    assert len(list(tmp_path.glob("*.json"))) == 1 and not list(tmp_path.glob("*.tmp"))


@pytest.mark.parametrize(
    "change",
    [
        {"git_ref": 'refs/heads/say-"hi"'},
        {"git_ref": "refs/heads/gr\u00fc\u00dfe"},
        {"git_ref": "refs/heads/tpfill-git-sha"},
        {"input_data_url": "mlops-demo-dev-data-222222222222/training/"},
    ],
    ids=["quote", "non-ascii", "marker", "not-s3"],
)
def test_a_value_that_would_not_copy_verbatim_is_built_by_the_sdk(change, tmp_path):
    config = config_of("dev", **change)
    document = definitions.load_or_build(config, tmp_path)
    assert document == sdk_build(config)
    assert not list(tmp_path.iterdir())


def test_only_what_shapes_the_definition_is_in_the_key():
    key = definitions.template_key(config_of("dev"))
    assert definitions.template_key(config_of("dev", **ELSEWHERE)) == key
    for change in (
        {"gate_floor": 0.95},
        {"gate_metric": "f1"},
        {"gate_direction": "lower"},
        {"instance_type": "ml.c5.xlarge"},
        {"region": "us-east-2"},
    ):
        assert definitions.template_key(config_of("dev", **change)) != key, change
    assert definitions.template_key(config_of("prod")) != key


def test_sdk_config_files_are_in_the_key_unless_they_only_opt_out_of_telemetry(
    tmp_path, monkeypatch
):
    # No override: the SDK's default paths, here empty directories.
    monkeypatch.delenv("SAGEMAKER_ADMIN_CONFIG_OVERRIDE", raising=False)
    monkeypatch.delenv("SAGEMAKER_USER_CONFIG_OVERRIDE", raising=False)
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(tmp_path / "etc"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home"))
    config = config_of("dev")
    without = definitions.template_key(config)

    user = tmp_path / "user.yaml"
    monkeypatch.setenv("SAGEMAKER_USER_CONFIG_OVERRIDE", str(user))
    user.write_text(
        "SchemaVersion: '1.0'\nSageMaker:\n  PythonSDK:\n    Modules:\n"
        "      TelemetryOptOut: true\n"
    )
    assert definitions.template_key(config) == without

    # Defaults such a file sets (tags, KMS keys, ...) go into what the SDK builds.
    user.write_text(
        "SchemaVersion: '1.0'\nSageMaker:\n  ProcessingJob:\n"
        "    Tags:\n    - Key: team\n      Value: ml\n"
    )
    assert definitions.template_key(config) not in (None, without)

    monkeypatch.setenv("SAGEMAKER_USER_CONFIG_OVERRIDE", "s3://some-bucket/sagemaker/")
    assert definitions.template_key(config) is None
    # The SDK fails on an override that names no file; a template must not hide that.
    monkeypatch.setenv("SAGEMAKER_USER_CONFIG_OVERRIDE", str(tmp_path / "missing.yaml"))
    assert definitions.template_key(config) is None


def test_a_damaged_cached_template_is_rebuilt(tmp_path):
    config = config_of("dev", gate_floor=0.875)
    first = definitions.load_or_build(config, tmp_path)
    (cached,) = tmp_path.glob("*.json")
    cached.write_text('{"key": "' + cached.stem + '", "defin')
    assert definitions.load_or_build(config, tmp_path) == first
    assert json.loads(cached.read_text())["key"] == cached.stem


def test_templates_are_kept_in_the_users_cache_or_tp_cache_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("TP_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    users = tmp_path / "xdg" / "training-pipeline" / "definitions"
    assert definitions.default_cache_dir() == users.resolve()
    monkeypatch.setenv("TP_CACHE_DIR", str(tmp_path / "mine"))
    definitions.load_or_build(config_of("dev"))
    assert len(list((tmp_path / "mine" / "definitions").glob("*.json"))) == 1
    assert not users.exists()


def test_a_cache_that_cannot_be_written_only_costs_a_build(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    config = config_of("dev")
    assert definitions.load_or_build(config, tmp_path / "file" / "definitions") == (
        sdk_build(config)
    )
