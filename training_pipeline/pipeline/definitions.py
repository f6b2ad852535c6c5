"""Pipeline definitions without the SageMaker SDK: templates built once, filled in per run.

Importing the SDK and building the pipeline costs about 2 s (3 s more per build when a
SageMaker config file is present), which would be most of a small run. But the builder copies
most of its configuration verbatim into the definition: names, ARNs, S3 URLs, image URIs, the
git SHA. So the SDK builds a *template* once, with a marker in place of each of those values,
and a run fills the markers in with its own. Only what shapes the definition beyond such copies
(region, instance type, quality floor, approval mode), the builder's source, the SDK's versions
and the SDK's own config files make the template's key; tests/pipeline/test_definitions.py proves a
filled template byte-identical to what the SDK builds.

Templates live in the user's cache folder (``$TP_CACHE_DIR``, else the platform's, such as
``~/.cache/training-pipeline/definitions``), by key: a miss builds with the SDK and keeps the
template, so the first run after a change to the pipeline's shape pays the SDK's 2 s once and
later runs none. The key holds everything that shapes a template, so every checkout on the
machine shares them: clones, and the deploy jobs act runs in checkouts of their own (each paid
the SDK's 5 s for three templates when they lived in the checkout). Nothing is committed, so
editing the pipeline never asks anyone to regenerate a file; `python -m training_pipeline
definition --env ENV` prints the definition for review.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import re
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

from training_pipeline.pipeline.config import BatchConfig, MonitorConfig, PipelineConfig

# Any pipeline's configuration: the training, batch or monitoring pipeline's.
Config = PipelineConfig | BatchConfig | MonitorConfig

BUILDER_SOURCES = tuple(Path(__file__).with_name(n) for n in ("builder.py", "config.py"))
SDK_PACKAGES = (
    "sagemaker",
    "sagemaker-core",
    "sagemaker-mlops",
    "sagemaker-train",
    "sagemaker-serve",
)
# Fields the builder copies verbatim, with their markers. A marker is shaped like a real value
# (an ARN, an S3 URL, an image URI) so that the SDK's own checks accept it.
MARKERS = {
    "pipeline_name": "tpfill-pipeline-name",
    "role_arn": "arn:aws:iam::000000000000:role/tpfill-role-arn",
    "model_role_arn": "arn:aws:iam::000000000000:role/tpfill-model-role-arn",
    "job_role_arn": "arn:aws:iam::000000000000:role/tpfill-job-role-arn",
    "artifacts_bucket": "tpfill-artifacts-bucket",
    "input_data_url": "s3://tpfill-input-data-url/",
    "model_package_group": "tpfill-model-package-group",
    "training_image": "000000000000.dkr.ecr.eu-west-1.amazonaws.com/tpfill-training:tpfill",
    "inference_image": "000000000000.dkr.ecr.eu-west-1.amazonaws.com/tpfill-inference:tpfill",
    "code_prefix": "s3://tpfill-code-prefix/",
    "code_tarball_url": "s3://tpfill-code-tarball/sourcedir.tar.gz",
    "git_sha": "tpfill-git-sha",
    "git_ref": "tpfill-git-ref",
    "capture_url": "s3://tpfill-capture-url/",
    "training_pipeline": "tpfill-training-pipeline",
}
_MARKER = re.compile("|".join(map(re.escape, sorted(MARKERS.values(), key=len, reverse=True))))
CACHE_DIR_ENV = "TP_CACHE_DIR"
# Settings of the SDK's config file that cannot change a definition.
_NEUTRAL_SDK_SETTINGS = {"SchemaVersion", "SageMaker.PythonSDK.Modules.TelemetryOptOut"}


def template_key(config: Config) -> str | None:
    """What shapes the template of `config`; None when that cannot be known without the SDK."""
    sdk_config = _sdk_config_files()
    if sdk_config is None:
        return None
    shaping = {k: v for k, v in dataclasses.asdict(config).items() if k not in MARKERS}
    kind = type(config).__name__
    described = json.dumps([kind, shaping, MARKERS, sdk_config], sort_keys=True, default=str)
    digest = hashlib.sha256(described.encode())
    for source in BUILDER_SOURCES:
        digest.update(source.read_bytes())
    for package in SDK_PACKAGES:
        digest.update(f"{package}=={metadata.version(package)}".encode())
    return digest.hexdigest()


def load_or_build(config: Config, cache_dir: Path | None = None) -> str:
    """The definition JSON of `config`, exactly as the SDK builds it; the SDK only on a miss."""
    key = template_key(config)
    if key is None or not _fillable(config):
        return _build(config)
    cache_dir = cache_dir or default_cache_dir()
    template = _find_template(key, cache_dir)
    if template is None:
        template = _build(template_config(config))
        # A cache that cannot be written costs the next run a build, nothing more.
        with contextlib.suppress(OSError):
            _store(cache_dir / f"{key}.json", key, template)
    filled = fill(template, config)
    # A marker left over would mean the template did not come from this builder.
    return filled if "tpfill-" not in filled else _build(config)


def default_cache_dir() -> Path:
    """``$TP_CACHE_DIR/definitions``, else the user's cache folder's (platformdirs)."""
    from platformdirs import user_cache_dir

    root = os.environ.get(CACHE_DIR_ENV) or user_cache_dir("training-pipeline")
    return Path(root).resolve() / "definitions"


def template_config(config: Config) -> Config:
    """`config` with a marker in place of every verbatim-copied value."""
    return dataclasses.replace(config, **_markers(config))


def fill(template: str, config: Config) -> str:
    """The template with each marker replaced by `config`'s value."""
    values = {marker: getattr(config, field) for field, marker in _markers(config).items()}
    return _MARKER.sub(lambda match: values[match.group()], template)


def _markers(config: Config) -> dict[str, str]:
    """The markers of the fields `config` has (the batch pipeline copies fewer)."""
    fields = {field.name for field in dataclasses.fields(config)}
    return {field: marker for field, marker in MARKERS.items() if field in fields}


def _build(config: Config) -> str:
    from training_pipeline.pipeline import builder

    if isinstance(config, BatchConfig):
        return builder.build_batch_pipeline(config).definition()
    if isinstance(config, MonitorConfig):
        return builder.build_monitor_pipeline(config).definition()
    return builder.build_pipeline(config).definition()


def _fillable(config: Config) -> bool:
    """Whether every copied value goes into the JSON text as is (no escaping, no marker) and
    has the shape of its marker: the SDK would look up a bare role name, or upload a local
    code path and use the resulting S3 URL."""
    markers = _markers(config)
    for field in markers:
        value = getattr(config, field)
        if json.dumps(value) != f'"{value}"' or "tpfill-" in value:
            return False
    s3_fields = [
        getattr(config, field)
        for field in ("input_data_url", "code_prefix", "code_tarball_url", "capture_url")
        if field in markers
    ]
    roles = [
        getattr(config, field)
        for field in ("role_arn", "model_role_arn", "job_role_arn")
        if field in markers
    ]
    return all(r.startswith("arn:") for r in roles) and all(
        v.startswith("s3://") for v in s3_fields
    )


def _find_template(key: str, cache_dir: Path) -> str | None:
    try:
        stored = json.loads((cache_dir / f"{key}.json").read_text(encoding="utf-8"))
        if stored["key"] == key:
            return json.dumps(stored["definition"])
    except (OSError, ValueError, KeyError, TypeError):
        pass  # missing or damaged: a miss, rebuilt and rewritten
    return None


def _store(path: Path, key: str, template: str) -> None:
    """Keep `template` pretty-printed (readable) if it reads back byte for byte."""
    definition: Any = json.loads(template)
    if json.dumps(definition) != template:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "about": "A cache of training_pipeline/pipeline/definitions.py; safe to delete.",
        "key": key,
        "definition": definition,
    }
    descriptor, partial = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(json.dumps(document, indent=2) + "\n")
        os.replace(partial, path)  # atomic: a reader never sees half a template
    except BaseException:
        os.unlink(partial)
        raise


def _sdk_config_files() -> list[Any] | None:
    """The SDK's admin and user config files (where the SDK looks), minus neutral settings.

    None when one is in S3: its contents cannot be known without fetching it.
    """
    from platformdirs import site_config_dir, user_config_dir

    locations = {
        "SAGEMAKER_ADMIN_CONFIG_OVERRIDE": site_config_dir("sagemaker"),
        "SAGEMAKER_USER_CONFIG_OVERRIDE": user_config_dir("sagemaker"),
    }
    contents: list[Any] = []
    for variable, default_dir in locations.items():
        name = os.environ.get(variable, os.path.join(default_dir, "config.yaml"))
        if name.startswith("s3://"):
            return None
        path = Path(name)
        if path.is_dir():
            path = path / "config.yaml"
        if variable in os.environ and not path.is_file():
            return None  # the SDK fails on a missing override: let it say so
        if path.is_file():
            import yaml

            settings = _shaping_settings(yaml.safe_load(path.read_text(encoding="utf-8")))
            if settings:
                contents.append(settings)
    return contents


def _shaping_settings(node: Any, path: str = "") -> dict[str, Any]:
    """The file's settings as dotted paths, without those that cannot change a definition."""
    if not isinstance(node, dict):
        return {} if path in _NEUTRAL_SDK_SETTINGS else {path: node}
    flat: dict[str, Any] = {}
    for name, child in node.items():
        flat.update(_shaping_settings(child, f"{path}.{name}" if path else str(name)))
    return flat
