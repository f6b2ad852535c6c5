"""The model digest: the server and the deploy code compute what the pipeline recorded."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from inference import integrity
from inference.serving import handler
from training_pipeline.steps import artifacts


def test_the_digest_is_the_pipelines_for_the_archive_and_the_extracted_folder(
    archive_dir: Path, tmp_path: Path
) -> None:
    recorded = artifacts.content_digest(archive_dir)  # what the pipeline registers
    archive = archive_dir / artifacts.MODEL_ARCHIVE
    assert integrity.of_archive(archive) == recorded
    assert integrity.of_archive(io.BytesIO(archive.read_bytes())) == recorded
    # What SageMaker hosting gives the container: the archive extracted into /opt/ml/model.
    with tarfile.open(archive) as tar:
        tar.extractall(tmp_path / "model", filter="data")
    assert integrity.of_folder(tmp_path / "model") == recorded
    # The same model packed again (other times and owners): the same digest.
    repacked = tmp_path / "repacked.tar.gz"
    with tarfile.open(repacked, "w:gz") as tar:
        tar.add(tmp_path / "model" / artifacts.MODEL_FILE, arcname=f"./{artifacts.MODEL_FILE}")
    assert integrity.of_archive(repacked) == recorded


def test_the_server_loads_a_model_only_with_its_recorded_digest(
    model_dir: Path, archive_dir: Path, tmp_path: Path
) -> None:
    recorded = artifacts.content_digest(archive_dir)
    assert handler.load_model(archive_dir, recorded).features
    assert handler.load_model(model_dir, recorded).features
    # Another model's file in its place: refused before anything is unpickled.
    swapped = tmp_path / "swapped"
    swapped.mkdir()
    (swapped / artifacts.MODEL_FILE).write_bytes(b"not the registered model")
    with pytest.raises(handler.ModelLoadError) as refused:
        handler.load_model(swapped, recorded)
    assert str(refused.value) == (
        f"the model in {swapped} has digest {integrity.of_folder(swapped)}, but its model "
        f"package records {recorded}: it was changed after registration (or is another "
        "model), so it is not served"
    )


def test_the_server_does_not_start_on_a_model_that_is_not_the_registered_one(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from inference.serving import serve

    # As SageMaker starts it: the deploy code put the package's digest in MODEL_DIGEST.
    monkeypatch.setenv("MODEL_DIGEST", "sha256:" + "0" * 64)
    assert serve.main(["--model-dir", str(model_dir), "--host", "127.0.0.1"]) == 1
    assert "cannot start: the model in" in caplog.text
    assert "records sha256:" + "0" * 64 in caplog.text
