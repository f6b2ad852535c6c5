"""Pipeline definitions, built once per configuration and kept on disk.

A definition is a pure function of the PipelineConfig, the builder's source and the SageMaker
SDK's version (tests/test_pipeline_definition.py proves it byte-identical across processes), so
a run of something built before reuses the JSON and does not import the SDK, which alone costs
about 1.6 s of a run's start.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from importlib import metadata
from pathlib import Path

from training_pipeline.pipeline_config import PipelineConfig

BUILDER = Path(__file__).with_name("pipeline.py")
SDK_PACKAGES = (
    "sagemaker",
    "sagemaker-core",
    "sagemaker-mlops",
    "sagemaker-train",
    "sagemaker-serve",
)


def cache_key(config: PipelineConfig) -> str:
    """What determines the definition: the configuration, the builder, the SDK's versions."""
    digest = hashlib.sha256(json.dumps(dataclasses.asdict(config), sort_keys=True).encode())
    digest.update(BUILDER.read_bytes())
    for package in SDK_PACKAGES:
        digest.update(f"{package}=={metadata.version(package)}".encode())
    return digest.hexdigest()


def load_or_build(config: PipelineConfig, cache_dir: Path | None = None) -> str:
    """The definition JSON of `config`, from the cache when it was built before."""
    cache_dir = cache_dir or Path(os.environ.get("TP_WORK_DIR", ".work")) / "definitions"
    path = cache_dir / f"{cache_key(config)}.json"
    if path.is_file():
        return path.read_text(encoding="utf-8")
    from training_pipeline.pipeline import build_pipeline

    document = build_pipeline(config).definition()
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(document, encoding="utf-8")
    partial.replace(path)  # atomic: a reader never sees half a definition
    return document
