"""training_pipeline.infra.terraform without running Terraform: targets, backend and CLI
configuration, provider mirror discovery, and the error when terraform is missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from profiles_corpus import VALID
from training_pipeline.config.settings import Settings, load_settings
from training_pipeline.infra import terraform as infra


def test_targets_in_bootstrapping_order(settings: Settings) -> None:
    assert infra.all_targets(settings) == ("backend", "operations", "dev", "staging", "prod")
    assert infra.TerraformTarget.parse("staging", settings) == infra.TerraformTarget(
        "main", "staging"
    )
    assert (
        infra.TerraformTarget.parse("operations", settings).state_key
        == "operations/terraform.tfstate"
    )
    assert infra.TerraformTarget.parse("backend", settings).state_key is None
    with pytest.raises(infra.InfraError, match="choose one of backend, operations, dev"):
        infra.TerraformTarget.parse("production", settings)


def test_every_environment_section_is_a_target() -> None:
    settings = load_settings(VALID / "with_qa.conf")
    assert infra.all_targets(settings) == (
        "backend",
        "operations",
        "dev",
        "staging",
        "qa",
        "prod",
    )
    assert infra.TerraformTarget.parse("qa", settings) == infra.TerraformTarget("main", "qa")
    assert infra.state_role_arn(settings, "qa").endswith(f"role/{settings.project}-tfstate-qa")


def test_backend_config_reaches_each_roots_state_through_its_own_role(settings: Settings) -> None:
    config = infra.backend_config("dev", settings)
    ops = settings.accounts["operations"]
    assert config == {
        "bucket": f"{settings.project}-tfstate-{ops}",
        "key": "terraform.tfstate",
        "region": settings.region,
        "use_lockfile": True,
        "workspace_key_prefix": "main",
        "assume_role": {
            "role_arn": f"arn:aws:iam::{ops}:role/{settings.project}-tfstate-dev",
            "session_name": f"terraform-{settings.project}-dev",
        },
    }
    assert infra.backend_config("backend", settings) is None
    operations = infra.backend_config("operations", settings)
    assert "workspace_key_prefix" not in operations
    assert operations["assume_role"]["role_arn"].endswith(
        f"role/{settings.project}-tfstate-operations"
    )


def test_backend_config_renders_as_hcl(settings: Settings) -> None:
    text = infra._hcl(infra.backend_config("prod", settings))
    assert "use_lockfile = true\n" in text
    assert 'assume_role = { role_arn = "arn:aws:iam::' in text


def test_cli_config_points_only_aws_at_the_mirror(tmp_path: Path) -> None:
    text = infra.cli_config(tmp_path)
    assert f'path    = "{tmp_path}"' in text
    assert text.count('"registry.terraform.io/hashicorp/aws"') == 2
    assert "direct {" in text and "exclude" in text


def _fake_mirror(root: Path) -> Path:
    (root / infra.AWS_PROVIDER / "5.100.0" / "linux_amd64").mkdir(parents=True)
    return root


def test_explicit_mirror_wins_and_must_hold_the_provider(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mirror = _fake_mirror(tmp_path / "mirror")
    monkeypatch.setenv(infra.MIRROR_ENV, str(tmp_path / "elsewhere"))
    assert infra.find_provider_mirror(mirror) == mirror.resolve()
    with pytest.raises(
        infra.ProviderMirrorError, match="holds no registry.terraform.io/hashicorp/aws"
    ):
        infra.find_provider_mirror(tmp_path)


def test_mirror_from_environment_then_conventional_places(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mirror = _fake_mirror(tmp_path / "env-mirror")
    monkeypatch.setenv(infra.MIRROR_ENV, str(mirror))
    assert infra.find_provider_mirror() == mirror.resolve()
    monkeypatch.delenv(infra.MIRROR_ENV)
    conventional = _fake_mirror(tmp_path / "usual")
    monkeypatch.setattr(infra, "CONVENTIONAL_MIRRORS", (tmp_path / "none", conventional))
    assert infra.find_provider_mirror() == conventional.resolve()
    monkeypatch.setattr(infra, "CONVENTIONAL_MIRRORS", (tmp_path / "none",))
    assert infra.find_provider_mirror() is None


def test_missing_terraform_is_a_clear_error(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", "")
    with pytest.raises(infra.TerraformNotFoundError, match="terraform is not on PATH"):
        infra.plan("dev", settings=settings, embedded=True, endpoint_url="http://127.0.0.1:1")


def test_embedded_needs_an_endpoint(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(infra.shutil, "which", lambda name: "/usr/bin/terraform")
    with pytest.raises(infra.InfraError, match="embedded AWS endpoint"):
        infra.apply("dev", settings=settings, embedded=True, endpoint_url=None)


def test_sync_tree_copies_sources_and_drops_stale_ones(tmp_path: Path) -> None:
    source, copy = tmp_path / "src", tmp_path / "copy"
    (source / "main" / "env").mkdir(parents=True)
    (source / "main" / "main.tf").write_text("# main\n")
    (source / "main" / "env" / "dev.tfvars").write_text('environment = "dev"\n')
    (source / "main" / ".terraform").mkdir()
    (source / "main" / ".terraform" / "junk.tf").write_text("")
    (copy / "main").mkdir(parents=True)
    (copy / "main" / "removed.tf").write_text("")
    (copy / "main" / "terraform.tfstate").write_text("{}")
    infra._sync_tree(source, copy)
    assert (copy / "main" / "main.tf").read_text() == "# main\n"
    assert (copy / "main" / "env" / "dev.tfvars").exists()
    assert not (copy / "main" / "removed.tf").exists()
    assert (copy / "main" / "terraform.tfstate").exists(), "state is never touched"
    assert not (copy / "main" / ".terraform").exists()
