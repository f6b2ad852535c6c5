"""terraform/modules/profiles parses profiles.conf exactly as training_pipeline.settings does."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from training_pipeline.settings import Settings

from .conftest import REPO_ROOT, TERRAFORM_DIR

pytestmark = pytest.mark.terraform


def evaluate(
    terraform_bin: str, env: dict[str, str], tmp_path: Path, profiles: Path
) -> subprocess.CompletedProcess:
    (tmp_path / "main.tf").write_text(
        f'module "profiles" {{\n  source = "{TERRAFORM_DIR / "modules" / "profiles"}"\n'
        f'  path   = "{profiles}"\n}}\n'
        'output "all" {\n  value = module.profiles\n}\n'
    )
    subprocess.run(
        [terraform_bin, "init", "-input=false", "-no-color"],
        cwd=tmp_path,
        env=env,
        check=True,
        capture_output=True,
    )
    return subprocess.run(
        [terraform_bin, "apply", "-auto-approve", "-input=false", "-no-color"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )


def outputs(tmp_path: Path, terraform_bin: str, env: dict[str, str]) -> dict:
    result = subprocess.run(
        [terraform_bin, "output", "-json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)["all"]["value"]


def test_terraform_and_python_read_the_same_values(
    terraform_bin: str, cli_config_env: dict[str, str], settings: Settings, tmp_path: Path
) -> None:
    result = evaluate(terraform_bin, cli_config_env, tmp_path, REPO_ROOT / "profiles.conf")
    assert result.returncode == 0, result.stdout + result.stderr
    value = outputs(tmp_path, terraform_bin, cli_config_env)
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
        assert float(parsed["min_auc"]) == env.min_auc
        assert parsed["endpoint"] == env.endpoint
        assert parsed["deploy_ref"] == env.deploy_ref
        assert parsed["reviewers"] == (", ".join(env.reviewers) or "none")
    assert value["main_branch"] == settings.main_branch
    assert value["github_ids"] == settings.github_ids
    assert value["environment_names"] == list(settings.environments)


def test_a_shared_account_id_is_refused(
    terraform_bin: str, cli_config_env: dict[str, str], settings: Settings, tmp_path: Path
) -> None:
    text = (REPO_ROOT / "profiles.conf").read_text()
    broken = tmp_path / "profiles.conf"
    broken.write_text(text.replace(settings.accounts["prod"], settings.accounts["staging"]))
    result = evaluate(terraform_bin, cli_config_env, tmp_path, broken)
    assert result.returncode != 0
    assert "the four account ids must be distinct" in " ".join(
        (result.stdout + result.stderr).split()
    )


@pytest.mark.parametrize(
    ("old", "new", "terraform_says", "python_says"),
    [
        (
            "deploy_ref       = refs/tags/prod",
            "deploy_ref       = refs/heads/release",
            "must be the tag named after it",
            "must be refs/tags/prod",
        ),
        (
            "deploy_ref       = refs/heads/main",
            "deploy_ref       = refs/tags/dev",
            "must be the branch every environment is promoted from",
            "must be the branch every environment is promoted from",
        ),
        (
            "reviewers        = my-org/ml-leads",
            "reviewers        = my-org/ml leads",
            "reviewers must be none or GitHub users",
            "is not a GitHub user or ORG/TEAM",
        ),
    ],
)
def test_both_parsers_refuse_the_same_promotion_settings(
    terraform_bin: str,
    cli_config_env: dict[str, str],
    tmp_path: Path,
    old: str,
    new: str,
    terraform_says: str,
    python_says: str,
) -> None:
    from training_pipeline.errors import ProfilesError
    from training_pipeline.settings import load_settings

    text = (REPO_ROOT / "profiles.conf").read_text()
    assert old in text
    broken = tmp_path / "profiles.conf"
    broken.write_text(text.replace(old, new))
    result = evaluate(terraform_bin, cli_config_env, tmp_path, broken)
    assert result.returncode != 0
    assert terraform_says in " ".join((result.stdout + result.stderr).split())
    with pytest.raises(ProfilesError, match=python_says):
        load_settings(broken)
