"""Static checks of inference/Dockerfile, training_pipeline/Dockerfile and .dockerignore.

No Docker engine is needed (nor assumed): the files are parsed. Versions are compared with
pyproject.toml, read here, so a dependency bump that forgets an image fails this test.
"""

import re
import shlex
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
INFERENCE = REPO / "inference" / "Dockerfile"
TRAINING = REPO / "training_pipeline" / "Dockerfile"
DOCKERFILES = [INFERENCE, TRAINING]
# pip options that take a value as the next token (when not written --option=value).
VALUE_OPTIONS = {
    "-c",
    "--constraint",
    "-f",
    "--find-links",
    "-i",
    "--index-url",
    "-r",
    "--requirement",
    "-t",
    "--target",
    "-w",
    "--wheel-dir",
    "--only-binary",
}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([0-9][0-9A-Za-z.+!-]*)$")
ROOT_USERS = {"root", "0"}


def instructions(path: Path) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) per instruction; continuations joined, comment lines dropped."""
    found, current = [], ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("#") or not line:
            continue  # Docker drops comment lines inside continuations as well
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        keyword, _, rest = (current + line).partition(" ")
        found.append((keyword.upper(), rest.strip()))
        current = ""
    assert not current, f"{path} ends inside a line continuation"
    return found


def final_stage(path: Path) -> list[tuple[str, str]]:
    parsed = instructions(path)
    last_from = max(i for i, (keyword, _) in enumerate(parsed) if keyword == "FROM")
    return parsed[last_from:]


def dockerignore() -> set[str]:
    lines = (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pip_requirements(steps: list[tuple[str, str]]) -> list[str]:
    """The requirement arguments of every `pip install` / `pip wheel` in RUN instructions."""
    requirements = []
    for keyword, arguments in steps:
        if keyword != "RUN":
            continue
        for command in arguments.split("&&"):
            tokens = shlex.split(command)
            verb = next((i for i, t in enumerate(tokens) if t in ("install", "wheel")), None)
            if "pip" not in tokens or verb is None or tokens.index("pip") > verb:
                continue
            skip = False
            for token in tokens[verb + 1 :]:
                if skip:
                    skip = False
                elif token.startswith("-"):
                    skip = "=" not in token and token in VALUE_OPTIONS
                else:
                    requirements.append(token)
    return requirements


def pins(steps: list[tuple[str, str]]) -> dict[str, str]:
    found = {}
    for requirement in pip_requirements(steps):
        match = PIN.match(requirement)
        assert match, f"pip requirement {requirement!r} is not pinned as name==version"
        found[canonical(match.group(1))] = match.group(2)
    return found


@pytest.fixture(scope="module")
def pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def project_pins(pyproject: dict) -> dict[str, str]:
    found = {}
    for requirement in pyproject["project"]["dependencies"]:
        match = PIN.match(requirement.replace(" ", ""))
        if match:
            found[canonical(match.group(1))] = match.group(2)
    return found


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.parent.name)
def test_base_images_are_pinned_to_a_python_patch_release(path: Path, pyproject: dict) -> None:
    target = pyproject["tool"]["ruff"]["target-version"]  # "py311": the Python we write for
    minor = f"{target[2]}.{target[3:]}"
    stages = set()
    for keyword, arguments in instructions(path):
        if keyword != "FROM":
            continue
        image, *alias = arguments.split()
        if alias:
            stages.add(alias[-1])
        if image in stages:
            continue  # a build stage of this file
        assert not image.endswith(":latest") and ":" in image, f"{image} is not pinned"
        tag = image.split("@")[0].partition(":")[2]
        assert re.fullmatch(rf"{re.escape(minor)}\.\d+-slim-\w+", tag), (
            f"{path}: base {image} should be python:{minor}.<patch>-slim-<debian release>"
        )


def test_both_images_share_their_base() -> None:
    def bases(path: Path) -> set[str]:
        return {args.split()[0] for kw, args in instructions(path) if kw == "FROM"} - {"toolkit"}

    assert bases(INFERENCE) == bases(TRAINING)


@pytest.mark.parametrize(
    ("path", "needed"),
    [
        (INFERENCE, {"scikit-learn", "numpy", "pandas", "joblib"}),
        (
            TRAINING,
            {
                "scikit-learn",
                "numpy",
                "pandas",
                "joblib",
                "matplotlib",
                "boto3",
                "sagemaker-training",
            },
        ),  # fmt: skip
    ],
    ids=["inference", "training_pipeline"],
)
def test_packages_are_pinned_like_pyproject(path, needed, project_pins) -> None:
    pinned = pins(final_stage(path))
    assert needed <= pinned.keys(), f"{path} does not install {needed - pinned.keys()}"
    # The libraries the pickled model depends on must be pinned in pyproject.toml as well,
    # otherwise this comparison would check nothing for them.
    assert {"scikit-learn", "numpy", "pandas"} <= project_pins.keys()
    shared = pinned.keys() & project_pins.keys()
    assert {name: pinned[name] for name in shared} == {name: project_pins[name] for name in shared}


def test_the_two_images_agree_on_every_shared_package() -> None:
    serving, training = pins(final_stage(INFERENCE)), pins(final_stage(TRAINING))
    shared = serving.keys() & training.keys()
    assert {"scikit-learn", "numpy", "scipy", "joblib"} <= shared
    assert {name: serving[name] for name in shared} == {name: training[name] for name in shared}


def test_toolkit_wheel_is_the_version_installed() -> None:
    built, installed = (
        pins(instructions(TRAINING)[: -len(final_stage(TRAINING))]),
        pins(final_stage(TRAINING)),
    )
    assert built["sagemaker-training"] == installed["sagemaker-training"]


def test_inference_image_runs_as_a_non_root_user() -> None:
    users = [args for keyword, args in final_stage(INFERENCE) if keyword == "USER"]
    assert users, "inference/Dockerfile sets no USER: the server would run as root"
    user = users[-1].split(":")[0]
    assert user not in ROOT_USERS


def test_inference_image_starts_serve() -> None:
    stage = final_stage(INFERENCE)
    assert not [args for keyword, args in stage if keyword == "ENTRYPOINT"], (
        "an ENTRYPOINT would turn SageMaker's `docker run IMAGE serve` into an argument"
    )
    assert [args for keyword, args in stage if keyword == "CMD"][-1] == '["serve"]'
    runs = " ".join(args for keyword, args in stage if keyword == "RUN")
    assert "/usr/local/bin/serve" in runs and "exec python -m inference.serve" in runs
    copied = " ".join(args for keyword, args in stage if keyword == "COPY")
    for module in ("__init__.py", "handler.py", "serve.py"):
        assert f"inference/{module}" in copied


def test_training_image_leaves_train_to_the_toolkit() -> None:
    stage = final_stage(TRAINING)
    assert not [args for keyword, args in stage if keyword == "ENTRYPOINT"], (
        "an ENTRYPOINT would turn SageMaker's `docker run IMAGE train` into an argument"
    )
    assert [args for keyword, args in stage if keyword == "CMD"][-1] == '["train"]'


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.parent.name)
def test_copy_sources_exist_and_are_not_ignored(path: Path) -> None:
    ignored = dockerignore()
    for keyword, arguments in instructions(path):
        if keyword != "COPY" or arguments.startswith("--from"):
            continue
        *sources, _destination = arguments.split()
        for source in sources:
            assert (REPO / source).exists(), f"{path}: COPY source {source} does not exist"
            assert source.split("/")[0] not in ignored, f"{source} is in .dockerignore"


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.parent.name)
def test_no_credentials_are_baked_in(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert not re.search(r"AKIA[0-9A-Z]{16}", text)
    for keyword, arguments in instructions(path):
        if keyword in ("ENV", "ARG"):
            assert not re.search(r"(?i)secret|password|token|access_key", arguments), arguments


def test_dockerignore_keeps_local_state_out_of_the_context() -> None:
    entries = dockerignore()
    needed = {".venv", ".git", ".embedded", ".work", "terraform/.terraform", "tests", "benchmarks"}
    assert needed <= entries
    assert any("__pycache__" in entry for entry in entries)
