"""Fixtures for the step and data tests: the reference data, a trained model, a mocked AWS."""

import tarfile
from pathlib import Path

import pandas as pd
import pytest
from moto import mock_aws

from training_pipeline.environment.data import load_reference_dataset, write_csv
from training_pipeline.pipeline.code_bundle import MODELS_DIR, load_bundle
from training_pipeline.steps import preprocess, train

# In-process, the steps are a package with no model beside them: the tests name the schema.
SCHEMA_ARGS = ["--schema", str(MODELS_DIR / "cancer" / "schema.json")]


@pytest.fixture(scope="session")
def code_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The cancer model's code bundle as a job sees it (/opt/ml/processing/code): the step
    scripts with the model's schema.json beside them."""
    folder = tmp_path_factory.mktemp("code")
    for name, content in load_bundle("cancer").files.items():
        (folder / name).write_bytes(content)
    return folder


@pytest.fixture(scope="session")
def reference() -> pd.DataFrame:
    """The 569 reference rows. Shared: tests copy it before changing anything."""
    return load_reference_dataset()


@pytest.fixture
def raw(reference: pd.DataFrame) -> pd.DataFrame:
    """The reference rows as preprocess reads them from CSV (label parsed as float64)."""
    return reference.astype({"malignant": "float64"})


@pytest.fixture(scope="session")
def pipeline_run(tmp_path_factory: pytest.TempPathFactory, reference: pd.DataFrame) -> dict:
    """preprocess -> train on the reference data, the model packed as SageMaker packs it."""
    root = tmp_path_factory.mktemp("pipeline")
    write_csv(reference, root / "input" / "data.csv")
    preprocess.main(
        ["--input-dir", str(root / "input"), "--output-dir", str(root / "pre"), *SCHEMA_ARGS]
    )
    train.main(
        [
            "--train-dir", str(root / "pre" / "train"),
            "--validation-dir", str(root / "pre" / "validation"),
            "--model-dir", str(root / "model"),
            "--output-data-dir", str(root / "train-output"),
            *SCHEMA_ARGS,
        ]
    )  # fmt: skip
    packed = root / "packed"
    pack_model(root / "model" / "model.joblib", packed / "model.tar.gz")
    return {
        "root": root,
        "test_dir": root / "pre" / "test",
        "model_dir": packed,
        "model_file": root / "model" / "model.joblib",
    }


def pack_model(model_file: Path, archive: Path) -> Path:
    """Pack ``model.joblib`` into ``model.tar.gz`` at the archive root, like a training job."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(model_file, arcname="model.joblib")
    return archive


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch):
    """moto's in-process AWS, with fake credentials and no endpoint from the shell."""
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield
