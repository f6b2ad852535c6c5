"""A model's code: the shared step scripts with its own folder laid over them."""

from __future__ import annotations

import io
import tarfile

import pytest

from training_pipeline.errors import NotFoundError
from training_pipeline.pipeline.code_bundle import STEPS_DIR, load_bundle


def test_each_shipped_model_carries_its_schema_beside_the_shared_scripts():
    shared = sorted(path.name for path in STEPS_DIR.glob("*.py"))
    bundles = {model: load_bundle(model) for model in ("cancer", "diabetes")}
    for model, bundle in bundles.items():
        assert sorted(bundle.files) == sorted([*shared, "schema.json"]), model
        assert b'"kind": ' in bundle.files["schema.json"]
    assert bundles["cancer"].digest != bundles["diabetes"].digest


def test_a_script_in_the_model_folder_replaces_the_shared_one(tmp_path):
    folder = tmp_path / "churn"
    folder.mkdir()
    (folder / "schema.json").write_text('{"kind": "regression", "features": ["a"], "label": "y"}')
    (folder / "train.py").write_text("print('our own training')\n")
    bundle = load_bundle("churn", models_dir=tmp_path)
    assert bundle.files["train.py"] == b"print('our own training')\n"
    assert bundle.files["evaluate.py"] == (STEPS_DIR / "evaluate.py").read_bytes()
    with tarfile.open(fileobj=io.BytesIO(bundle.tarball())) as tar:
        assert tar.extractfile("train.py").read() == b"print('our own training')\n"
    # Same files, same digest; an edited script, a new address.
    assert load_bundle("churn", models_dir=tmp_path).digest == bundle.digest
    (folder / "train.py").write_text("print('changed')\n")
    assert load_bundle("churn", models_dir=tmp_path).digest != bundle.digest


def test_a_model_without_a_folder_is_named(tmp_path):
    with pytest.raises(NotFoundError, match=r"\[model fraud\]\) needs a folder"):
        load_bundle("fraud", models_dir=tmp_path)
