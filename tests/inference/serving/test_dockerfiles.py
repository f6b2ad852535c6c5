"""Static checks of inference/serving/Dockerfile, training_pipeline/Dockerfile and .dockerignore.

No Docker engine is needed (nor assumed): the files are parsed. Versions are compared with
pyproject.toml, read here, so a dependency bump that forgets an image fails this test.
"""

import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
INFERENCE = REPO / "inference" / "serving" / "Dockerfile"
TRAINING = REPO / "training_pipeline" / "Dockerfile"
DOCKERFILES = [INFERENCE, TRAINING]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([0-9][0-9A-Za-z.+!-]*)$")
LOCKED = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+) \\$", re.M)
DIGEST = re.compile(r"^python:[^@\s]+@sha256:[0-9a-f]{64}$")
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


def locked(path: Path) -> dict[str, str]:
    """name -> version of a hash-locked requirements file; every entry must carry a hash."""
    text = path.read_text(encoding="utf-8")
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n\n", 1)[-1] if "#" in text else text)
    found = {}
    for match in LOCKED.finditer(text):
        found[canonical(match.group(1))] = match.group(2)
    for entry in entries:
        if PIN.match(entry.split(" ", 1)[0]):
            assert "--hash=sha256:" in entry, f"{path.name}: {entry.split()[0]} has no hash"
    return found


def installed_lock(path: Path) -> Path:
    """The requirements file the final stage installs, which must be hash-checked."""
    stage = final_stage(path)
    copies = {}
    for keyword, arguments in stage:
        if keyword == "COPY" and not arguments.startswith("--"):
            *sources, destination = arguments.split()
            copies[destination] = sources[0]
    installs = [
        command
        for keyword, arguments in stage
        if keyword == "RUN"
        for command in arguments.split("&&")
        if "pip install" in command
    ]
    assert len(installs) == 1, f"{path}: one pip install of a lock file, not {installs}"
    tokens = shlex.split(installs[0])
    assert "--require-hashes" in tokens, f"{path}: pip install without --require-hashes"
    assert not [t for t in tokens if PIN.match(t)], f"{path}: packages named outside the lock"
    return REPO / copies[tokens[tokens.index("-r") + 1]]


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
        assert DIGEST.match(image), f"{path}: base {image} is not pinned by digest as well"
        tag = image.split("@")[0].partition(":")[2]
        assert re.fullmatch(rf"{re.escape(minor)}\.\d+-slim-\w+", tag), (
            f"{path}: base {image} should be python:{minor}.<patch>-slim-<debian release>"
        )


def test_both_images_share_their_base() -> None:
    def bases(path: Path) -> set[str]:
        return {args.split()[0] for kw, args in instructions(path) if kw == "FROM"}

    assert bases(INFERENCE) == bases(TRAINING)


@pytest.mark.parametrize(
    ("path", "needed"),
    [
        (INFERENCE, {"scikit-learn", "numpy", "pandas", "joblib", "scipy"}),
        (
            TRAINING,
            {
                "scikit-learn",
                "numpy",
                "pandas",
                "joblib",
                "scipy",
                "matplotlib",
                "boto3",
                "sagemaker-training",
            },
        ),  # fmt: skip
    ],
    ids=["inference", "training_pipeline"],
)
def test_packages_are_hash_locked_like_pyproject(path, needed, project_pins) -> None:
    pinned = locked(installed_lock(path))
    assert needed <= pinned.keys(), f"{path} does not install {needed - pinned.keys()}"
    # The libraries the pickled model depends on must be pinned in pyproject.toml as well,
    # otherwise this comparison would check nothing for them.
    assert {"scikit-learn", "numpy", "pandas"} <= project_pins.keys()
    shared = pinned.keys() & project_pins.keys()
    assert {name: pinned[name] for name in shared} == {name: project_pins[name] for name in shared}


def test_the_two_images_agree_on_every_shared_package() -> None:
    serving, training = locked(installed_lock(INFERENCE)), locked(installed_lock(TRAINING))
    shared = serving.keys() & training.keys()
    assert {"scikit-learn", "numpy", "scipy", "joblib"} <= shared
    assert {name: serving[name] for name in shared} == {name: training[name] for name in shared}


@pytest.mark.parametrize("lock", ["cli.txt", "dev.txt"])
def test_the_cli_locks_agree_with_pyproject(lock: str, project_pins: dict[str, str]) -> None:
    pinned = locked(REPO / "requirements" / lock)
    assert {name: pinned.get(name) for name in project_pins} == project_pins


def test_inference_image_runs_as_a_non_root_user() -> None:
    users = [args for keyword, args in final_stage(INFERENCE) if keyword == "USER"]
    assert users, "inference/serving/Dockerfile sets no USER: the server would run as root"
    user = users[-1].split(":")[0]
    assert user not in ROOT_USERS


def test_inference_image_starts_serve(tmp_path: Path) -> None:
    stage = final_stage(INFERENCE)
    assert not [args for keyword, args in stage if keyword == "ENTRYPOINT"], (
        "an ENTRYPOINT would turn SageMaker's `docker run IMAGE serve` into an argument"
    )
    assert [args for keyword, args in stage if keyword == "CMD"][-1] == '["serve"]'
    runs = " ".join(args for keyword, args in stage if keyword == "RUN")
    assert "/usr/local/bin/serve" in runs and "exec python -m inference.serving.serve" in runs

    # The files laid out as the COPY lines lay them out under WORKDIR, alone on the path:
    # the module CMD starts imports from them.
    program = tmp_path / "opt-program"
    for keyword, args in stage:
        *sources, destination = args.split()
        if keyword != "COPY" or not destination.startswith("./"):
            continue
        (program / destination).mkdir(parents=True, exist_ok=True)
        for source in sources:
            shutil.copy(REPO / source, program / destination)
    started = subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            "import sys; sys.path.insert(0, sys.argv[1]); import inference.serving.serve",
            str(program),
        ],
        capture_output=True,
        text=True,
    )
    assert started.returncode == 0, started.stderr


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
