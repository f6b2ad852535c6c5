"""The deploy job's summary, for each way a run can end."""

from __future__ import annotations

from training_pipeline.config.naming import environment_names
from training_pipeline.config.settings import load_settings
from training_pipeline.environment import summary

NAMES = environment_names(load_settings(), "prod")
RECORD = {
    "status": "Succeeded",
    "git_sha": "0123456789abcdef" * 2,
    "git_ref": "refs/tags/prod",
    "execution_id": "abc123",
    "runner": "sagemaker",
    "steps": [
        {"name": "TrainModel", "step_type": "Training", "status": "Succeeded", "duration_s": 61.0},
        {"name": "RegisterModel", "step_type": "RegisterModel", "status": "Succeeded"},
    ],
    "model": {"version": 3, "status": "PendingManualApproval", "registered": True},
}
REPORT = {
    "metrics": {"roc_auc": {"value": 0.991}, "accuracy": {"value": 0.95}},
    "gate": {"metric": "roc_auc", "direction": "higher", "value": 0.991, "improvement": 0.006},
    "champion": {"model_package_arn": "arn", "value": 0.985},
    "comparison": {"has_champion": True},
    "test_rows": 86,
}


def test_a_registered_version_with_metrics_against_the_champion() -> None:
    text = summary.markdown(NAMES, RECORD, REPORT, "https://d-1.studio.eu-west-1.sagemaker.aws")
    assert text.startswith("## ✅ prod, model cancer: pipeline succeeded\n")
    assert "| model | registered `mlops-demo-prod` version 3 (PendingManualApproval) |" in text
    assert "| TrainModel | Training | Succeeded | 61.0s |  |" in text
    assert "| roc_auc | 0.9910 | 0.9850 |" in text
    assert "roc_auc improvement on the champion (higher is better): +0.0060" in text
    assert (
        "(https://d-1.studio.eu-west-1.sagemaker.aws/pipelines/view/mlops-demo-prod-training)"
    ) in text


def test_an_identical_model_and_a_failed_gate() -> None:
    identical = {**RECORD, "model": {"version": 2, "status": "Approved", "registered": False}}
    assert "nothing new registered: the model is identical to `mlops-demo-prod` version 2" in (
        summary.markdown(NAMES, identical, None)
    )
    failed = {
        **RECORD,
        "status": "Failed",
        "model": None,
        "failure_reason": "quality gate failed | below the floor",
    }
    text = summary.markdown(NAMES, failed, None)
    assert text.startswith("## ❌ prod, model cancer: pipeline failed")
    assert "| model | nothing registered |" in text
    assert "| reason | quality gate failed \\| below the floor |" in text
    assert "no Studio domain `mlops-demo-prod`" in text
