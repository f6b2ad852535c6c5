"""The definition JSON: its shape, its defaults, and its byte-for-byte determinism."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from training_pipeline.config.settings import load_settings
from training_pipeline.config.source import Revision
from training_pipeline.environment.deployment import pipeline_config
from training_pipeline.errors import ProfilesError
from training_pipeline.pipeline.builder import build_pipeline

REPO_ROOT = Path(__file__).resolve().parents[2]
REVISION = Revision(sha="0123456789abcdef0123456789abcdef01234567", ref="refs/heads/main")


def definition(config) -> str:
    """What the SDK builds (the runs may take it from a template:
    tests/pipeline/test_definitions.py)."""
    return build_pipeline(config).definition()


@pytest.fixture(scope="module")
def dev_definition() -> dict:
    return json.loads(definition(pipeline_config(load_settings(), "dev", REVISION)))


def steps_by_name(doc: dict) -> dict[str, dict]:
    """Every step, those inside condition branches (at any depth) included."""
    found = {}
    pending = list(doc["Steps"])
    while pending:
        step = pending.pop()
        found[step["Name"]] = step
        for branch in ("IfSteps", "ElseSteps"):
            pending += step.get("Arguments", {}).get(branch, [])
    return found


def test_steps_and_order(dev_definition):
    steps = steps_by_name(dev_definition)
    assert {name: step["Type"] for name, step in steps.items()} == {
        "PrepareData": "Processing",
        "TrainModel": "Training",
        "EvaluateModel": "Processing",
        "BaselineData": "Processing",
        "CheckQuality": "Condition",
        "CheckNewModel": "Condition",
        "RegisterModel": "RegisterModel",
        "QualityGateFailed": "Fail",
    }
    gate = steps["CheckQuality"]["Arguments"]
    # Registration only exists behind the gate: never before evaluation, never unconditional,
    # and never for a model identical to a registered version.
    assert [s["Name"] for s in gate["IfSteps"]] == ["CheckNewModel"]
    assert [s["Name"] for s in gate["ElseSteps"]] == ["QualityGateFailed"]
    only_new = steps["CheckNewModel"]["Arguments"]
    assert [s["Name"] for s in only_new["IfSteps"]] == ["RegisterModel"]
    assert only_new["ElseSteps"] == []
    [condition] = only_new["Conditions"]
    assert condition["Type"] == "Equals" and condition["RightValue"] == 0
    assert condition["LeftValue"]["Std:JsonGet"]["Path"] == "registration.duplicate_of_version"
    assert "RegisterModel" not in [s["Name"] for s in dev_definition["Steps"]]


def test_the_registered_version_carries_its_drift_baselines(dev_definition):
    # Model Monitor's statistics and constraints of the training rows (BaselineData), as the
    # version's data-quality metrics and its drift-check baselines, and where all of it is.
    register = steps_by_name(dev_definition)["RegisterModel"]["Arguments"]
    baseline = steps_by_name(dev_definition)["BaselineData"]["Arguments"]
    [output] = baseline["ProcessingOutputConfig"]["Outputs"]
    url = output["S3Output"]["S3Uri"]
    for section in (
        register["ModelMetrics"]["ModelDataQuality"],
        register["DriftCheckBaselines"]["ModelDataQuality"],
    ):
        for name, file in (("Statistics", "statistics.json"), ("Constraints", "constraints.json")):
            assert section[name]["S3Uri"] == {"Std:Join": {"On": "/", "Values": [url, file]}}
    assert register["CustomerMetadataProperties"]["baseline_url"] == url
    # Why the execution ran (a drift check passes its report) goes with the version.
    triggered = register["CustomerMetadataProperties"]["triggered_by"]
    assert triggered == {"Get": "Parameters.TriggeredBy"}
    inputs = {i["InputName"]: i["S3Input"]["S3Uri"] for i in baseline["ProcessingInputs"]}
    assert inputs["model"] == {"Get": "Steps.TrainModel.ModelArtifacts.S3ModelArtifacts"}
    assert inputs["train"]["Std:JsonGet"]["Path"] == "splits.train"


def test_every_parameter_has_a_default(dev_definition):
    params = {p["Name"]: p for p in dev_definition["Parameters"]}
    assert all("DefaultValue" in p for p in params.values())
    assert params["GateThreshold"]["DefaultValue"] == 0.90
    assert params["GateMinImprovement"]["DefaultValue"] == 0.0
    assert params["ModelApprovalStatus"]["DefaultValue"] == "Approved"
    assert params["InputDataUrl"]["DefaultValue"] == (
        "s3://mlops-demo-dev-data-222222222222/training/"
    )


def test_prod_registers_for_manual_approval():
    doc = json.loads(definition(pipeline_config(load_settings(), "prod", REVISION)))
    params = {p["Name"]: p for p in doc["Parameters"]}
    # Starting prod's pipeline with ModelApprovalStatus=Approved is not even a valid request.
    assert params["ModelApprovalStatus"]["EnumValues"] == ["PendingManualApproval"]
    params = {name: p["DefaultValue"] for name, p in params.items()}
    assert params["ModelApprovalStatus"] == "PendingManualApproval"
    # profiles.conf's [model cancer] floor_prod: prod's own, stricter floor.
    assert params["GateThreshold"] == 0.95
    conditions = gate_conditions(doc)
    assert ("GreaterThanOrEqualTo", "gate.value", 0.95) in conditions
    assert "444444444444" in json.dumps(doc) and "222222222222" not in json.dumps(doc)


def test_training_reads_the_content_addressed_splits(dev_definition):
    steps = steps_by_name(dev_definition)
    channels = steps["TrainModel"]["Arguments"]["InputDataConfig"]
    paths = [c["DataSource"]["S3DataSource"]["S3Uri"]["Std:JsonGet"]["Path"] for c in channels]
    assert paths == ["splits.train", "splits.validation"]
    arguments = steps["PrepareData"]["Arguments"]["AppSpecification"]["ContainerArguments"]
    assert "s3://mlops-demo-dev-artifacts-222222222222/datasets" in arguments


def test_caching_and_retries(dev_definition):
    steps = steps_by_name(dev_definition)
    assert steps["TrainModel"]["CacheConfig"] == {"Enabled": True, "ExpireAfter": "P30D"}
    # Their real inputs (the data under a prefix, the champion in the registry) are outside
    # their arguments, which is all a cache key sees: never cached.
    assert "CacheConfig" not in steps["PrepareData"]
    assert "CacheConfig" not in steps["EvaluateModel"]
    for name in ("PrepareData", "TrainModel", "EvaluateModel", "RegisterModel"):
        assert steps[name]["RetryPolicies"]


def gate_conditions(doc: dict) -> list[tuple[str, object, object]]:
    """CheckQuality's conditions as (type, what is compared, with what)."""
    conditions = steps_by_name(doc)["CheckQuality"]["Arguments"]["Conditions"]
    return [(c["Type"], c["LeftValue"]["Std:JsonGet"]["Path"], c["RightValue"]) for c in conditions]


def test_the_profiles_floor_cannot_be_lowered_at_run_time(dev_definition):
    assert gate_conditions(dev_definition) == [
        # the literal floor of profiles.conf [model cancer]; the parameter can only add to it
        ("GreaterThanOrEqualTo", "gate.value", 0.90),
        ("GreaterThanOrEqualTo", "gate.value", {"Get": "Parameters.GateThreshold"}),
        ("GreaterThanOrEqualTo", "gate.improvement", {"Get": "Parameters.GateMinImprovement"}),
    ]


def test_a_gate_metric_the_models_kind_does_not_report_is_refused_before_any_build(tmp_path):
    shipped = (REPO_ROOT / "profiles.conf").read_text()
    wrong = re.sub(
        r"metric( +)= roc_auc\ndirection( +)= higher",
        r"metric\1= rmse\ndirection\2= lower",
        shipped,
    )
    assert wrong != shipped
    (tmp_path / "profiles.conf").write_text(wrong)
    settings = load_settings(tmp_path / "profiles.conf")
    with pytest.raises(ProfilesError) as refused:
        pipeline_config(settings, "dev", REVISION)
    assert str(refused.value) == (
        f"{tmp_path / 'profiles.conf'}: [model cancer] metric = rmse is not a classification "
        "metric (training_pipeline/models/cancer/schema.json): choose one of roc_auc, accuracy, "
        "precision, recall, f1, log_loss"
    )


def test_a_regression_is_gated_by_an_error_that_must_go_down():
    """The second model: its own pipeline, group, data and code, and a gate whose metric (RMSE)
    must stay at or below the floor and must not rise above the champion's."""
    config = pipeline_config(load_settings(), "staging", REVISION, model="diabetes")
    doc = json.loads(definition(config))
    assert config.pipeline_name == "mlops-demo-staging-diabetes-training"
    assert gate_conditions(doc) == [
        ("LessThanOrEqualTo", "gate.value", 68.0),
        ("LessThanOrEqualTo", "gate.value", {"Get": "Parameters.GateThreshold"}),
        ("GreaterThanOrEqualTo", "gate.improvement", {"Get": "Parameters.GateMinImprovement"}),
    ]
    steps = steps_by_name(doc)
    evaluate = steps["EvaluateModel"]["Arguments"]
    assert evaluate["AppSpecification"]["ContainerArguments"][-2:] == ["--gate-metric", "rmse"]
    assert evaluate["Environment"] == {"MODEL_PACKAGE_GROUP_NAME": "mlops-demo-staging-diabetes"}
    register = steps["RegisterModel"]["Arguments"]
    assert register["ModelPackageGroupName"] == "mlops-demo-staging-diabetes"
    params = {p["Name"]: p["DefaultValue"] for p in doc["Parameters"]}
    assert params["InputDataUrl"] == "s3://mlops-demo-staging-data-333333333333/training-diabetes/"
    # Its folder's pipeline.json: gentler hyperparameter defaults than the template's.
    assert (params["MaxIter"], params["LearningRate"], params["MaxDepth"]) == (100, 0.05, 2)
    # Its code is its own bundle (its schema.json), so its address differs from the first
    # model's.
    cancer = pipeline_config(load_settings(), "staging", REVISION)
    assert config.code_prefix != cancer.code_prefix
    assert config.code_prefix.startswith("s3://mlops-demo-staging-artifacts-333333333333/code/")


def test_images_are_pinned_to_the_commit(dev_definition):
    text = json.dumps(dev_definition)
    assert ":latest" not in text
    image = steps_by_name(dev_definition)["PrepareData"]["Arguments"]["AppSpecification"]
    assert image["ImageUri"] == (
        f"111111111111.dkr.ecr.eu-west-1.amazonaws.com/mlops-demo-training:{REVISION.sha}"
    )


def test_lineage_is_attached_to_the_registered_model(dev_definition):
    register = steps_by_name(dev_definition)["RegisterModel"]["Arguments"]
    metadata = register["CustomerMetadataProperties"]
    assert metadata["git_sha"] == REVISION.sha
    assert metadata["git_ref"] == "refs/heads/main"
    assert metadata["pipeline_execution_arn"] == {"Get": "Execution.PipelineExecutionArn"}
    assert metadata["data_fingerprint"]["Std:JsonGet"]["Path"] == "data_fingerprint"
    assert metadata["model_digest"]["Std:JsonGet"]["Path"] == "registration.model_digest"
    assert register["ModelPackageGroupName"] == "mlops-demo-dev"
    assert register["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"]


BUILD = """
import json, sys
sys.path.insert(0, sys.argv[1])
from sdk_config import install
install()
from training_pipeline.environment.deployment import pipeline_config
from training_pipeline.errors import ProfilesError
from training_pipeline.pipeline.builder import build_pipeline
from training_pipeline.config.settings import load_settings
from training_pipeline.config.source import Revision
documents = [
    build_pipeline(
        pipeline_config(load_settings(), "dev", Revision(sha=sha, ref="refs/heads/main"))
    ).definition()
    for sha in sys.argv[2:]
]
sys.stdout.write(json.dumps(documents))
"""


@pytest.fixture(scope="module")
def fresh_builds() -> dict[str, list[str]]:
    """dev's definition built in two fresh interpreters (other hash seeds, nothing cached):
    the first for three commits, the second for the first commit again."""
    shas = {"first": [REVISION.sha, "a" * 40, "b" * 40], "second": [REVISION.sha]}
    here = str(Path(__file__).parent)
    processes = {
        name: subprocess.Popen(
            [sys.executable, "-c", BUILD, here, *commits], stdout=subprocess.PIPE, text=True
        )
        for name, commits in shas.items()
    }
    built = {}
    for name, process in processes.items():
        out, _ = process.communicate()
        assert process.returncode == 0
        built[name] = json.loads(out)
    return built


def test_definition_is_byte_identical_for_the_same_commit(fresh_builds):
    first, second = fresh_builds["first"][0], fresh_builds["second"][0]
    assert first == second
    assert first == definition(pipeline_config(load_settings(), "dev", REVISION))


def test_a_new_commit_changes_only_images_and_lineage(fresh_builds):
    old, new = fresh_builds["first"][1:]
    assert old != new
    assert old.replace("a" * 40, "b" * 40) == new
