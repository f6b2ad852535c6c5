"""Fixtures for the inference tests: a small model trained and saved as the training step does.

No __init__.py in this folder on purpose: pytest would import it as the package ``inference``
and hide the real one at the repository root.
"""

import tarfile
from pathlib import Path

import pandas as pd
import pytest

from inference.serving import handler
from training_pipeline.environment.data import load_reference_dataset, model_schema
from training_pipeline.steps import artifacts, train

CANCER = model_schema("cancer")

# Few, shallow trees: enough for probabilities on both sides of 0.5, fast to fit.
HYPERPARAMETERS = {"max_iter": 15, "max_depth": 2, "random_state": 0}


@pytest.fixture(scope="session")
def reference() -> pd.DataFrame:
    """The 569 reference rows (features then ``malignant``). Tests must not modify it."""
    return load_reference_dataset()


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory, reference: pd.DataFrame) -> Path:
    """A folder holding model.joblib, as SageMaker hosting extracts a training job's output."""
    folder = tmp_path_factory.mktemp("model")
    estimator = train.train_model(reference, CANCER, HYPERPARAMETERS)
    artifacts.save_bundle(train.make_bundle(estimator, HYPERPARAMETERS, CANCER), folder)
    return folder


@pytest.fixture(scope="session")
def archive_dir(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Path:
    """A folder holding only model.tar.gz, packed as a training job packs /opt/ml/model."""
    folder = tmp_path_factory.mktemp("archive")
    with tarfile.open(folder / artifacts.MODEL_ARCHIVE, "w:gz") as tar:
        tar.add(model_dir / artifacts.MODEL_FILE, arcname=artifacts.MODEL_FILE)
    return folder


@pytest.fixture(scope="session")
def model(model_dir: Path) -> handler.Model:
    return handler.load_model(model_dir)


@pytest.fixture(scope="session")
def features(reference: pd.DataFrame) -> pd.DataFrame:
    """The reference features only, in schema order."""
    return reference[list(CANCER.features)]
