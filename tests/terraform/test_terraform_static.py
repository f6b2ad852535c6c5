"""Static checks of terraform/: formatting, validation, checkov, conventions. No AWS needed."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import TERRAFORM_DIR

pytestmark = pytest.mark.terraform

ROOTS = ("backend", "operations", "main")
MODULES = sorted(p.name for p in (TERRAFORM_DIR / "modules").iterdir() if p.is_dir())


def tf_files() -> list[Path]:
    return sorted(p for p in TERRAFORM_DIR.rglob("*.tf") if ".terraform" not in p.parts)


def test_fmt_is_clean(terraform_bin: str) -> None:
    result = subprocess.run(
        [terraform_bin, "fmt", "-check", "-recursive", "-diff", "-no-color", str(TERRAFORM_DIR)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, f"run `terraform fmt -recursive terraform`:\n{result.stdout}"


@pytest.mark.parametrize("root", ROOTS)
def test_root_validates(
    root: str, terraform_bin: str, cli_config_env: dict[str, str], tmp_path: Path
) -> None:
    # On a copy, so that neither .terraform nor a lock file lands in the checkout.
    tree = tmp_path / "terraform"
    shutil.copytree(TERRAFORM_DIR, tree, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
    for command in (["init", "-backend=false", "-input=false"], ["validate"]):
        result = subprocess.run(
            [terraform_bin, *command, "-no-color"],
            cwd=tree / root,
            env=cli_config_env,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, (
            f"terraform {command[0]} in {root}:\n{result.stdout}{result.stderr}"
        )


def test_checkov_has_no_failed_checks(checkov_bin: str, tmp_path: Path) -> None:
    report = tmp_path / "checkov"
    result = subprocess.run(
        [
            checkov_bin,
            "--directory",
            str(TERRAFORM_DIR),
            "--framework",
            "terraform",
            "--skip-download",
            "--output",
            "json",
            "--output-file-path",
            str(report),
        ],
        capture_output=True,
        text=True,
    )
    data = json.loads((report / "results_json.json").read_text())
    reports = data if isinstance(data, list) else [data]
    failed = [c for r in reports for c in r["results"]["failed_checks"]]
    passed = sum(r["summary"]["passed"] for r in reports)
    described = "\n".join(
        f"{c['check_id']} {c['resource']} ({c['file_path']}:{c['file_line_range']})" for c in failed
    )
    assert not failed, f"checkov failed checks:\n{described}"
    assert passed > 100, f"checkov scanned suspiciously little ({passed} passed checks)"
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    for skipped in (c for r in reports for c in r["results"]["skipped_checks"]):
        assert len(skipped["check_result"].get("suppress_comment", "").strip()) >= 20, (
            f"skip of {skipped['check_id']} on {skipped['resource']} has no real reason"
        )


def test_every_checkov_skip_carries_a_reason() -> None:
    for path in tf_files():
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if "checkov:skip" in line:
                match = re.search(r"#checkov:skip=(CKV2?_[A-Z]+_\d+):(.{20,})", line)
                assert match, f"{path}:{number}: a skip needs `#checkov:skip=CKV_...:reason`"


def test_no_administrator_access_nor_wildcard_action_in_sources() -> None:
    for path in tf_files():
        text = path.read_text()
        assert "AdministratorAccess" not in text, path
        assert not re.search(r'(actions|Action)\s*[=:]\s*\[?\s*"\*"', text), (
            f'{path}: an action of "*"'
        )


@pytest.mark.parametrize("module", MODULES)
def test_module_layout_and_documentation(module: str) -> None:
    directory = TERRAFORM_DIR / "modules" / module
    for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"):
        assert (directory / name).is_file(), f"modules/{module}/{name} is missing"
    versions = (directory / "versions.tf").read_text()
    assert "~>" not in versions, "modules declare >= provider bounds; roots pin tighter"


@pytest.mark.parametrize("path", tf_files(), ids=lambda p: str(p.relative_to(TERRAFORM_DIR)))
def test_variables_are_typed_and_described_outputs_described(path: Path) -> None:
    text = path.read_text()
    for kind, body in re.findall(r'^(variable|output) "[^"]+" \{\n(.*?)^\}', text, re.S | re.M):
        name = body  # for the message
        assert re.search(r"^  description\s*=\s*\"\S", body, re.M), (
            f"{path}: {kind} without description:\n{name[:200]}"
        )
        if kind == "variable":
            assert re.search(r"^  type\s*=", body, re.M), (
                f"{path}: variable without type:\n{name[:200]}"
            )


@pytest.mark.parametrize("root", ROOTS)
def test_roots_pin_the_provider_and_use_partial_backends(root: str) -> None:
    versions = (TERRAFORM_DIR / root / "versions.tf").read_text()
    assert re.search(r'version\s*=\s*"~> 5\.100"', versions)
    backend = TERRAFORM_DIR / root / "backend.tf"
    if root == "backend":
        assert not backend.exists(), "the backend root keeps local state: it creates the bucket"
    else:
        assert re.search(r'backend "s3" \{\}', backend.read_text()), "backend config is partial"


def test_no_account_id_outside_profiles() -> None:
    for path in [*tf_files(), *TERRAFORM_DIR.rglob("*.tfvars")]:
        assert not re.search(r"\b\d{12}\b", path.read_text()), (
            f"{path}: account ids live in profiles.conf"
        )


@pytest.mark.parametrize("module", MODULES)
def test_module_readme_lists_every_input_and_output(module: str) -> None:
    directory = TERRAFORM_DIR / "modules" / module
    readme = (directory / "README.md").read_text()
    for kind, filename in (("variable", "variables.tf"), ("output", "outputs.tf")):
        for name in re.findall(rf'^{kind} "([^"]+)"', (directory / filename).read_text(), re.M):
            assert f"| `{name}` |" in readme, (
                f"modules/{module}/README.md does not list {kind} {name}"
            )


def main_root_on_a_local_backend(
    terraform_bin: str, cli_config_env: dict[str, str], tmp_path: Path, **variables: str
):
    """`terraform ARGS` in an initialised copy of the main root with a local backend and
    credentials that reach nothing, with ``variables`` as TF_VAR_s."""
    tree = tmp_path / "terraform"
    shutil.copytree(TERRAFORM_DIR, tree, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
    (tree / "main" / "backend_override.tf").write_text('terraform {\n  backend "local" {}\n}\n')
    env = {
        **cli_config_env,
        "AWS_ACCESS_KEY_ID": "none",
        "AWS_SECRET_ACCESS_KEY": "none",
        "AWS_EC2_METADATA_DISABLED": "true",
        "TF_VAR_profiles_path": str(TERRAFORM_DIR.parent / "profiles.conf"),
        **{f"TF_VAR_{name}": value for name, value in variables.items()},
    }

    def terraform(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [terraform_bin, *args, "-no-color"],
            cwd=tree / "main",
            env=env,
            capture_output=True,
            text=True,
        )

    assert terraform("init", "-input=false").returncode == 0
    return terraform


def test_a_workspace_that_names_no_environment_is_refused_before_anything_is_planned(
    terraform_bin: str, cli_config_env: dict[str, str], tmp_path: Path
) -> None:
    """The main root's workspace is the environment: `terraform apply` in the default
    workspace, or one named after nothing in profiles.conf, stops at the variable's check
    (a local backend on a copy; no AWS call is made before it)."""
    terraform = main_root_on_a_local_backend(terraform_bin, cli_config_env, tmp_path)
    for workspace in ("default", "production"):
        if workspace != "default":
            assert terraform("workspace", "new", workspace).returncode == 0
        result = terraform("plan", "-input=false")
        output = " ".join((result.stdout + result.stderr).split())
        assert result.returncode == 1
        assert f'terraform.workspace is "{workspace}"' in output
        assert "must be an environment of profiles.conf (dev, staging, prod)" in output
        assert output.count("Error:") == 1, output


def test_retrain_pipeline_parameters_of_no_model_are_refused(
    terraform_bin: str, cli_config_env: dict[str, str], tmp_path: Path
) -> None:
    """Schedule parameters are per model (the gate's are in the model's metric units): a key
    that names no model of profiles.conf fails the plan at the variable's check (here among
    the errors of credentials that reach nothing)."""
    terraform = main_root_on_a_local_backend(
        terraform_bin,
        cli_config_env,
        tmp_path,
        retrain_pipeline_parameters='{ cancer = { GateThreshold = "0.97" }, '
        'fraud = { GateThreshold = "0.9" } }',
    )
    assert terraform("workspace", "new", "prod").returncode == 0
    result = terraform("plan", "-input=false")
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 1
    assert (
        'variable "retrain_pipeline_parameters" {' in output
        and "retrain_pipeline_parameters is keyed by model name: fraud is no model of "
        "profiles.conf (cancer, diabetes)."
        in output
    ), output
