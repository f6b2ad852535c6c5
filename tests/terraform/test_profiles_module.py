"""terraform/modules/profiles parses profiles.conf exactly as training_pipeline.config.settings
does."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from profiles_corpus import BROKEN, VALID, refused_for
from training_pipeline.config.settings import load_settings
from training_pipeline.errors import ProfilesError

from .conftest import REPO_ROOT, TERRAFORM_DIR

pytestmark = pytest.mark.terraform


@pytest.fixture(scope="module")
def profiles_root(
    terraform_bin: str, cli_config_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A root that reads the profiles file named by its variable, initialised once."""
    root = tmp_path_factory.mktemp("profiles-root")
    (root / "main.tf").write_text(
        'variable "path" {\n  type = string\n}\n'
        f'module "profiles" {{\n  source = "{TERRAFORM_DIR / "modules" / "profiles"}"\n'
        "  path   = var.path\n}\n"
        'output "all" {\n  value = module.profiles\n}\n'
    )
    subprocess.run(
        [terraform_bin, "init", "-input=false", "-no-color"],
        cwd=root,
        env=cli_config_env,
        check=True,
        capture_output=True,
    )
    return root


def evaluate(
    terraform_bin: str, env: dict[str, str], root: Path, profiles: Path
) -> subprocess.CompletedProcess:
    """Plan the root on ``profiles``: the module's checks run, nothing is stored."""
    return subprocess.run(
        [terraform_bin, "plan", "-input=false", "-no-color", "-refresh=false", "-out=plan"],
        cwd=root,
        env={**env, "TF_VAR_path": str(profiles)},
        capture_output=True,
        text=True,
    )


def outputs(root: Path, terraform_bin: str, env: dict[str, str]) -> dict:
    result = subprocess.run(
        [terraform_bin, "show", "-json", "plan"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)["planned_values"]["outputs"]["all"]["value"]


@pytest.mark.parametrize(
    "profiles", [REPO_ROOT / "profiles.conf", *sorted(VALID.glob("*.conf"))], ids=lambda p: p.name
)
def test_terraform_and_python_read_the_same_values(
    terraform_bin: str, cli_config_env: dict[str, str], profiles_root: Path, profiles: Path
) -> None:
    settings = load_settings(profiles)
    result = evaluate(terraform_bin, cli_config_env, profiles_root, profiles)
    assert result.returncode == 0, result.stdout + result.stderr
    value = outputs(profiles_root, terraform_bin, cli_config_env)
    assert value["project"] == settings.project
    assert value["region"] == settings.region
    assert value["github_repository"] == settings.github_repository
    assert value["accounts"] == settings.accounts
    for name, env in settings.environments.items():
        parsed = value["environments"][name]
        assert parsed["account_id"] == env.account_id
        assert parsed["approval"] == env.approval
        assert parsed["retrain_schedule"] == env.retrain_schedule
        assert parsed["instance_type"] == env.instance_type
        assert parsed["endpoint"] == env.endpoint
        assert parsed["capture"] == env.capture
        assert parsed["endpoint_instances"] == env.endpoint_instances
        assert parsed["deploy_ref"] == env.deploy_ref
        assert parsed["reviewers"] == (", ".join(env.reviewers) or "none")
    assert value["main_branch"] == settings.main_branch
    assert value["github_ids"] == settings.github_ids
    assert value["environment_names"] == list(settings.environments)
    assert "min_auc" not in value["environments"][settings.environment_names[0]]
    assert value["model_names"] == list(settings.model_names)
    assert value["models"] == {
        name: {
            "dataset": model.dataset,
            "metric": model.metric,
            "direction": model.direction,
            "floor": model.floor,
            "floors": model.floors,
            "first": name == settings.first_model,
        }
        for name, model in settings.models.items()
    }


@pytest.mark.parametrize("profiles", BROKEN, ids=lambda p: p.stem)
def test_both_parsers_refuse_each_broken_file_for_the_same_reason(
    terraform_bin: str, cli_config_env: dict[str, str], profiles_root: Path, profiles: Path
) -> None:
    reason = refused_for(profiles)
    result = evaluate(terraform_bin, cli_config_env, profiles_root, profiles)
    assert result.returncode != 0
    output = " ".join((result.stdout + result.stderr).split())
    assert reason in output
    # Refused by the module's own checks, not by an expression that failed on the bad file.
    assert "Invalid function argument" not in output and "Invalid index" not in output
    with pytest.raises(ProfilesError, match=re.escape(reason)):
        load_settings(profiles)
