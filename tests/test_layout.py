"""The folder tree is the architecture: these are the dependency rules it promises (README,
"What is in the box"), read from the import statements themselves."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "training_pipeline"


def imports(path: Path) -> set[str]:
    """Absolute modules a file imports (relative imports resolved against its package)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ".".join(path.relative_to(REPO).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                found.add(f"{base}.{node.module}" if node.module else base)
            else:
                found.add(node.module or "")
    return found


def python_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def test_only_the_pipeline_package_imports_the_sagemaker_sdk() -> None:
    users = {
        str(path.relative_to(REPO))
        for path in python_files(PACKAGE) + python_files(REPO / "inference")
        if any(name == "sagemaker" or name.startswith("sagemaker.") for name in imports(path))
    }
    assert users and all(user.startswith("training_pipeline/pipeline/") for user in users), users


@pytest.mark.parametrize("package", ["runner", "steps"])
def test_self_contained_packages_import_nothing_else_of_ours(package: str) -> None:
    """The runner runs anyone's definition; the steps run inside SageMaker's containers."""
    own = f"training_pipeline.{package}"
    for path in python_files(PACKAGE / package):
        ours = {
            name
            for name in imports(path)
            if name.split(".")[0] in ("training_pipeline", "inference")
            and not (name == own or name.startswith(own + "."))
        }
        assert not ours, f"{path.relative_to(REPO)} imports {sorted(ours)}"


def test_serving_and_the_function_import_nothing_of_the_operator_tool() -> None:
    """Both ship alone: the serving image and the Lambda zip hold only inference/ files."""
    for path in python_files(REPO / "inference"):
        ours = {n for n in imports(path) if n.split(".")[0] == "training_pipeline"}
        assert not ours, f"{path.relative_to(REPO)} imports {sorted(ours)}"


def test_every_package_has_an_init_that_git_keeps() -> None:
    """`pip install .` (the workflows' install) finds regular packages only, and a package
    file that a .gitignore pattern hides (a folder named build/, say) never reaches a commit."""
    folders = {path.parent for root in (PACKAGE, REPO / "inference") for path in python_files(root)}
    missing = sorted(str(f.relative_to(REPO)) for f in folders if not (f / "__init__.py").exists())
    assert not missing, f"no __init__.py in {missing}"
    inits = [str((f / "__init__.py").relative_to(REPO)) for f in sorted(folders)]
    ignored = subprocess.run(
        ["git", "-C", str(REPO), "check-ignore", "--no-index", *inits],
        capture_output=True,
        text=True,
    ).stdout.split()
    assert not ignored, f"ignored by git: {ignored}"
