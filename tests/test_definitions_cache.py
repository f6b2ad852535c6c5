"""A definition built once is reused without importing the SageMaker SDK again."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

from training_pipeline import definitions
from training_pipeline.deployment import pipeline_config
from training_pipeline.settings import load_settings
from training_pipeline.source import Revision

REVISION = Revision(sha="c" * 40, ref="refs/heads/main")

LOAD = """
import json, sys
from pathlib import Path
from training_pipeline import definitions
from training_pipeline.deployment import pipeline_config
from training_pipeline.settings import load_settings
from training_pipeline.source import Revision
config = pipeline_config(load_settings(), "dev", Revision(sys.argv[2], "refs/heads/main"))
document = definitions.load_or_build(config, Path(sys.argv[1]))
print(json.dumps({"sdk_imported": "sagemaker.mlops" in sys.modules, "document": document}))
"""


def load_in_fresh_process(cache_dir, sha: str = REVISION.sha) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", LOAD, str(cache_dir), sha],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.splitlines()[-1])


def test_the_second_run_reuses_the_definition_without_the_sdk(tmp_path):
    first = load_in_fresh_process(tmp_path)
    second = load_in_fresh_process(tmp_path)
    assert first["sdk_imported"] and not second["sdk_imported"]
    assert first["document"] == second["document"]
    assert len(list(tmp_path.glob("*.json"))) == 1 and not list(tmp_path.glob("*.tmp"))


def test_anything_that_shapes_the_definition_changes_the_key():
    config = pipeline_config(load_settings(), "dev", REVISION)
    keys = {
        definitions.cache_key(config),
        definitions.cache_key(dataclasses.replace(config, git_sha="d" * 40)),
        definitions.cache_key(dataclasses.replace(config, min_auc=0.95)),
        definitions.cache_key(dataclasses.replace(config, code_prefix="s3://b/code/other/")),
    }
    assert len(keys) == 4
    assert definitions.cache_key(config) == definitions.cache_key(
        pipeline_config(load_settings(), "dev", REVISION)
    )


def test_a_cached_definition_is_the_one_the_builder_makes(tmp_path):
    from training_pipeline.pipeline import build_pipeline

    config = pipeline_config(load_settings(), "dev", REVISION)
    cached = definitions.load_or_build(config, tmp_path)
    assert definitions.load_or_build(config, tmp_path) == cached
    assert cached == build_pipeline(config).definition()
