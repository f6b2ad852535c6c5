"""The stand-ins refuse where the real services refuse, and leave real state where they succeed:
run as the workflows run them (subprocesses, the same environment variables), against the
embedded AWS."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from training_pipeline.config.settings import load_settings
from training_pipeline.github import oidc as github_oidc
from training_pipeline.github.offline import credentials, docker
from training_pipeline.pipeline import images

ROOT = Path(__file__).resolve().parents[3]
BIN = ROOT / ".github" / "offline" / "bin"
SETTINGS = load_settings()
OPS = SETTINGS.accounts["operations"]
REGISTRY = f"{OPS}.dkr.ecr.eu-west-1.amazonaws.com"


def session(account: str) -> boto3.Session:
    assumed = boto3.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole",
        RoleSessionName="tests",
    )["Credentials"]
    return boto3.Session(
        aws_access_key_id=assumed["AccessKeyId"],
        aws_secret_access_key=assumed["SecretAccessKey"],
        aws_session_token=assumed["SessionToken"],
        region_name="eu-west-1",
    )


@pytest.fixture
def ops(embedded_env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> boto3.Session:
    """The operations account with the two image repositories, as the CI role sees it."""
    found = session(OPS)
    ecr = found.client("ecr")
    for name in images.DOCKERFILES:
        repository = f"{SETTINGS.project}-{name}"
        with contextlib.suppress(ecr.exceptions.RepositoryAlreadyExistsException):
            ecr.create_repository(repositoryName=repository, imageTagMutability="IMMUTABLE")
    credentials_ = found.get_credentials()
    for key, value in {
        "AWS_ACCESS_KEY_ID": credentials_.access_key,
        "AWS_SECRET_ACCESS_KEY": credentials_.secret_key,
        "AWS_SESSION_TOKEN": credentials_.token,
        "OFFLINE_GITHUB_RECORD": str(tmp_path),
        "RUNNER_TEMP": str(tmp_path),
        "OFFLINE_GITHUB_PYTHON": sys.executable,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
    }.items():
        monkeypatch.setenv(key, value)
    return found


def run_docker(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], input=stdin, capture_output=True, text=True, cwd=ROOT)


def test_a_push_needs_a_login_and_lands_in_ecr_by_digest(
    ops: boto3.Session, tmp_path: Path
) -> None:
    tag = f"{REGISTRY}/{SETTINGS.project}-inference:{'1' * 40}"
    build = ["buildx", "build", "--file", "inference/serving/Dockerfile", "--tag", tag]
    build += ["--annotation", "manifest:org.opencontainers.image.revision=x"]
    build += ["--metadata-file", str(tmp_path / "meta.json"), "--push", "."]
    refused = run_docker(*build)
    assert refused.returncode == 1 and "no basic auth credentials" in refused.stderr
    assert run_docker("login", "--username", "AWS", "--password-stdin", REGISTRY).returncode == 1
    assert run_docker(
        "login", "--username", "AWS", "--password-stdin", REGISTRY, stdin="secret"
    ).stdout.startswith("Login Succeeded")
    pushed = run_docker(*build)
    assert pushed.returncode == 0, pushed.stderr
    digest = json.loads((tmp_path / "meta.json").read_text())["containerimage.digest"]
    [image] = ops.client("ecr").batch_get_image(
        repositoryName=f"{SETTINGS.project}-inference", imageIds=[{"imageTag": "1" * 40}]
    )["images"]
    assert image["imageId"]["imageDigest"] == digest
    assert digest == "sha256:" + hashlib.sha256(image["imageManifest"].encode()).hexdigest()
    assert json.loads(image["imageManifest"])["annotations"] == {
        "org.opencontainers.image.revision": "x"
    }
    # Tags are immutable: the same tag cannot be pushed again with other content.
    other = [
        a if a != "inference/serving/Dockerfile" else "training_pipeline/Dockerfile" for a in build
    ]
    again = run_docker(*other)
    assert again.returncode == 1 and "failed to push" in again.stderr


def test_a_build_checks_what_docker_checks_first(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM python:3.11\nCOPY missing.txt /app/\n")
    with pytest.raises(docker.DockerError, match='"/missing.txt": not found'):
        docker.describe_build(tmp_path, tmp_path / "Dockerfile")
    (tmp_path / "missing.txt").write_text("now here")
    first = docker.describe_build(tmp_path, tmp_path / "Dockerfile")
    (tmp_path / "missing.txt").write_text("changed")
    assert docker.describe_build(tmp_path, tmp_path / "Dockerfile") != first


def test_publish_builds_once_and_then_checks_by_digest(ops: boto3.Session) -> None:
    sha = "2" * 40
    ecr = ops.client("ecr")
    first = images.publish(ecr, SETTINGS, sha, log=lambda line: None)
    lines: list[str] = []
    again = images.publish(ecr, SETTINGS, sha, log=lines.append)
    assert again == first
    assert all("exists, manifest and revision checked" in line for line in lines)
    assert first["training"].uri == (
        f"{REGISTRY}/{SETTINGS.project}-training@{first['training'].digest}"
    )


def test_an_image_tagged_with_the_sha_but_built_elsewhere_is_refused(ops: boto3.Session) -> None:
    sha = "3" * 40
    ecr = ops.client("ecr")
    body = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": docker.OCI_MANIFEST,
            "config": {"mediaType": "x", "digest": "sha256:" + "0" * 64, "size": 1},
            "layers": [{"mediaType": "x", "digest": "sha256:" + "1" * 64, "size": 1}],
            "annotations": {images.REVISION: "4" * 40},
        }
    )
    ecr.put_image(
        repositoryName=f"{SETTINGS.project}-training",
        imageManifest=body,
        imageManifestMediaType=docker.OCI_MANIFEST,
        imageTag=sha,
        imageDigest="sha256:" + hashlib.sha256(body.encode()).hexdigest(),
    )
    with pytest.raises(images.ImageIntegrityError, match=f"built from revision '{'4' * 40}'"):
        images.publish(ecr, SETTINGS, sha, log=lambda line: None)


def test_another_account_reads_the_operations_registry_by_its_id(ops: boto3.Session) -> None:
    """The embedded server's ECR fix: registryId names the registry, as on AWS."""
    sha = "5" * 40
    images.publish(ops.client("ecr"), SETTINGS, sha, log=lambda line: None)
    dev = session(SETTINGS.accounts["dev"]).client("ecr")
    assert set(images.resolve(dev, SETTINGS, sha)) == {"training", "inference"}


def trusting_role(iam, name: str, subject: str) -> str:
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": github_oidc.provider_arn(SETTINGS.accounts["staging"])},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{github_oidc.ISSUER}:aud": "sts.amazonaws.com",
                        f"{github_oidc.ISSUER}:sub": subject,
                    }
                },
            }
        ],
    }
    return iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(policy))["Role"][
        "Arn"
    ]


def test_sts_refuses_as_aws_does_before_any_credentials(embedded_env) -> None:
    iam = session(SETTINGS.accounts["staging"]).client("iam")
    subject = github_oidc.deploy_subject(SETTINGS, "staging")
    role = trusting_role(iam, "stand-in-check", subject)
    token = github_oidc.JobToken(
        repository=SETTINGS.github_repository,
        ref="refs/tags/staging",
        sha="6" * 40,
        event_name="push",
        job_workflow_ref=github_oidc.workflow_ref(SETTINGS, github_oidc.DEPLOY_WORKFLOW),
        workflow_ref="x",
        environment="staging",
    )
    with pytest.raises(credentials.Refused, match="No OpenIDConnect provider found"):
        credentials.check_sts(role, token.claims(), "eu-west-1")
    iam.create_open_id_connect_provider(
        Url=f"https://{github_oidc.ISSUER}",
        ClientIDList=["sts.amazonaws.com"],
        ThumbprintList=["a" * 40],
    )
    credentials.check_sts(role, token.claims(), "eu-west-1")  # allowed: no exception
    wrong_audience = token.claims() | {"aud": "https://github.com/my-org"}
    with pytest.raises(credentials.Refused, match="Incorrect token audience"):
        credentials.check_sts(role, wrong_audience, "eu-west-1")
    with pytest.raises(credentials.Refused, match="Not authorized to perform"):
        credentials.check_sts(role, token.claims(None), "eu-west-1")  # GitHub's default template
    with pytest.raises(credentials.Refused, match="does not exist"):
        credentials.check_sts(role + "-gone", token.claims(), "eu-west-1")


def test_setup_python_gives_the_job_a_virtualenv_of_its_own(tmp_path: Path) -> None:
    environ = {
        **os.environ,
        "RUNNER_TEMP": str(tmp_path),
        "GITHUB_PATH": str(tmp_path / "path"),
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "INPUT_PYTHON_VERSION": f"{sys.version_info.major}.{sys.version_info.minor}",
    }
    module = "training_pipeline.github.offline.setup_python"
    done = subprocess.run(
        [sys.executable, "-m", module], env=environ, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    bin_dir = Path((tmp_path / "path").read_text().strip())
    python = bin_dir / "python"
    probe = "import sys, boto3; print(sys.prefix)"
    prefix = subprocess.run([python, "-c", probe], capture_output=True, text=True, check=True)
    assert prefix.stdout.strip() == str(bin_dir.parent)  # its own prefix, the project's packages
    wrong = subprocess.run(
        [sys.executable, "-m", module],
        env={**environ, "INPUT_PYTHON_VERSION": "3.9"},
        capture_output=True,
        text=True,
    )
    assert wrong.returncode == 1 and "The version '3.9'" in wrong.stdout
