"""Stand-in for aws-actions/configure-aws-credentials: GitHub's OIDC issuer and AWS STS, played
honestly against the embedded AWS.

    python -m training_pipeline.github.offline.credentials  # .github/offline/configure-aws-...

1. As GitHub's issuer: it works out the running job (jobs.py) and refuses a token where GitHub
   would (no ``id-token: write``, a pull request from a fork); otherwise it builds the claims
   GitHub would put in the token, with the repository's subject claim template.
2. As STS: it reads the target role's trust policy and the account's OIDC provider back from
   the embedded IAM, checks the audience against the provider's client ids and evaluates the
   trust policy against the claims (iam_policy.py), and refuses with STS's own error when they
   do not match. Only then does it call AssumeRoleWithWebIdentity on the embedded STS (moto
   verifies neither the token nor the trust, which is why the check happens here).
3. As the action: it exports the credentials to ``$GITHUB_ENV``.

Every decision is appended to ``tokens.jsonl`` in the run's records folder, so that tests can
say which jobs got which role, and which got none. What it knows of the job comes from act's own
context and the harness's record of the run (``Run``), never from variables a workflow can set,
and it runs the template's code (``python -I``), never the checked-out commit's.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import boto3
from botocore.exceptions import ClientError

from training_pipeline.aws import embedded, iam_policy
from training_pipeline.aws.sessions import DEFAULT_ASSUME_ROLE
from training_pipeline.github import oidc as github_oidc
from training_pipeline.github.offline import jobs, records
from training_pipeline.github.offline.act import RUN_FILE

# The real action's message when STS refuses (as it prints it before failing the step).
REFUSED = "Could not assume role with OIDC: Not authorized to perform sts:AssumeRoleWithWebIdentity"
NO_TOKEN = (
    "It looks like you might be trying to authenticate with OIDC. Did you mean to set the "
    "`id-token` permission? If you are not trying to authenticate with OIDC and the action is "
    "working successfully, you can ignore this message."
)


class Refused(Exception):
    """GitHub would issue no token, or STS would not assume the role."""


@dataclass(frozen=True)
class Run:
    """What GitHub knows of a run and a workflow cannot change: the facts act's own context
    gives the action (expressions, not variables a step may set), and the harness's record of
    the run, next to act's copy of the action (act.py writes it)."""

    repository: str
    ref: str
    sha: str
    event_name: str
    event: dict
    job: str
    workflow_ref: str
    origin: str
    subject_claim_keys: tuple[str, ...] | None
    repository_ids: str | None
    records: str

    @classmethod
    def from_action(cls, environ: dict[str, str]) -> Run:
        # ISSUER_ACTION_PATH is <action cache>/<run>/act/actions/<action>.
        harness = json.loads(
            (Path(environ["ISSUER_ACTION_PATH"]).parents[3] / RUN_FILE).read_text()
        )
        keys = harness["subject_claim_keys"]
        return cls(
            repository=environ["ISSUER_REPOSITORY"],
            ref=environ["ISSUER_REF"],
            sha=environ["ISSUER_SHA"],
            event_name=environ["ISSUER_EVENT_NAME"],
            event=json.loads(Path(environ["ISSUER_EVENT_PATH"]).read_text()),
            job=environ["ISSUER_JOB"],
            workflow_ref=harness["workflow_ref"],
            origin=harness["origin"],
            subject_claim_keys=None if keys == "default" else tuple(keys.split(",")),
            repository_ids=harness.get("repository_ids") or None,
            records=harness["records"],
        )

    def read_origin(self, revision: str, path: str) -> str | None:
        """A file of the repository as GitHub holds it (the throwaway origin)."""
        result = subprocess.run(
            ["git", "--git-dir", self.origin, "show", f"{revision}:{path}"],
            capture_output=True,
            text=True,
        )
        return result.stdout if result.returncode == 0 else None


def issue_token(run: Run, audience: str) -> github_oidc.JobToken:
    """What GitHub's issuer hands this job, or Refused where it hands nothing."""
    github = {
        "ref": run.ref,
        "ref_name": run.ref.rsplit("/", 1)[-1],
        "sha": run.sha,
        "event_name": run.event_name,
        "repository": run.repository,
    }
    job = jobs.resolve(
        workflow_ref=run.workflow_ref,
        job_id=run.job,
        sha=run.sha,
        repository=run.repository,
        github=github,
        read_file=run.read_origin,
    )
    if job.id_token_permission != "write":
        raise Refused(f"the job has no id-token: write permission. {NO_TOKEN}")
    head = (run.event.get("pull_request") or {}).get("head", {}).get("repo", {}).get("full_name")
    if run.event_name == "pull_request" and head and head != run.repository:
        # pull_request_target runs the base's workflow, with a token; pull_request from a fork
        # runs the fork's, without one.
        raise Refused(f"a pull request from the fork {head} gets no OIDC token. {NO_TOKEN}")
    return github_oidc.JobToken(
        repository=run.repository,
        ref=run.ref,
        sha=run.sha,
        event_name=run.event_name,
        job_workflow_ref=job.job_workflow_ref,
        workflow_ref=run.workflow_ref,
        environment=job.environment,
        repository_ids=run.repository_ids,
        aud=audience,
    )


def check_sts(role_arn: str, claims: dict[str, str], region: str) -> None:
    """Refused unless STS would let a token with ``claims`` assume ``role_arn``."""
    account = role_arn.split(":")[4]
    iam = _admin_session(account, region).client("iam")
    provider = github_oidc.provider_arn(account)
    try:
        client_ids = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=provider)[
            "ClientIDList"
        ]
    except ClientError:
        raise Refused(
            f"InvalidIdentityToken: No OpenIDConnect provider found in your account for "
            f"https://{github_oidc.ISSUER}"
        ) from None
    if claims["aud"] not in client_ids:
        raise Refused("InvalidIdentityToken: Incorrect token audience")
    try:
        role = iam.get_role(RoleName=role_arn.rsplit("/", 1)[1])["Role"]
    except ClientError:
        raise Refused(f"{REFUSED} ({role_arn} does not exist)") from None
    trust = role["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    request = github_oidc.web_identity_request(claims, account)
    if not iam_policy.allows([trust], request):
        raise Refused(REFUSED)


def assume(role_arn: str, claims: dict[str, str], session_name: str, duration: int, region: str):
    token = ".".join(
        _b64(part) for part in ({"alg": "RS256", "typ": "JWT", "kid": "offline"}, claims)
    )
    sts = boto3.Session(region_name=region).client("sts")
    return sts.assume_role_with_web_identity(
        RoleArn=role_arn,
        RoleSessionName=session_name,
        WebIdentityToken=f"{token}.offline-unsigned",
        DurationSeconds=duration,
    )["Credentials"]


def main() -> int:
    environ = dict(os.environ)
    role_arn = environ["INPUT_ROLE_TO_ASSUME"]
    region = environ["INPUT_AWS_REGION"]
    audience = environ.get("INPUT_AUDIENCE") or github_oidc.AUDIENCE
    run = Run.from_action(environ)
    record = {"job": run.job, "ref": run.ref, "role": role_arn}
    try:
        token = issue_token(run, audience)
        claims = token.claims(run.subject_claim_keys)
        record["claims"] = claims
        check_sts(role_arn, claims, region)
    except (Refused, jobs.JobResolutionError) as error:
        records.append("tokens", {**record, "granted": False, "reason": str(error)}, run.records)
        print(f"::error::{error}")
        return 1
    credentials = assume(
        role_arn,
        claims,
        environ.get("INPUT_ROLE_SESSION_NAME") or "GitHubActions",
        int(environ.get("INPUT_ROLE_DURATION_SECONDS") or 3600),
        region,
    )
    records.append("tokens", {**record, "granted": True}, run.records)
    for secret in (credentials["SecretAccessKey"], credentials["SessionToken"]):
        print(f"::add-mask::{secret}")
    with open(environ["GITHUB_ENV"], "a", encoding="utf-8") as env_file:
        for name, value in (
            ("AWS_ACCESS_KEY_ID", credentials["AccessKeyId"]),
            ("AWS_SECRET_ACCESS_KEY", credentials["SecretAccessKey"]),
            ("AWS_SESSION_TOKEN", credentials["SessionToken"]),
            ("AWS_REGION", region),
            ("AWS_DEFAULT_REGION", region),
        ):
            env_file.write(f"{name}={value}\n")
    with open(environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as outputs:
        outputs.write(f"aws-account-id={role_arn.split(':')[4]}\n")
    print(f"assumed {role_arn} for {claims['sub']}")
    return 0


def _admin_session(account: str, region: str) -> boto3.Session:
    """The embedded AWS as its operator sees it: the stand-in plays the service side."""
    base = boto3.Session(
        region_name=region,
        aws_access_key_id=embedded.CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=embedded.CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
    assumed = base.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/{DEFAULT_ASSUME_ROLE}",
        RoleSessionName="offline-github-sts",
    )["Credentials"]
    return boto3.Session(
        region_name=region,
        aws_access_key_id=assumed["AccessKeyId"],
        aws_secret_access_key=assumed["SecretAccessKey"],
        aws_session_token=assumed["SessionToken"],
    )


def _b64(part: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(part).encode()).decode().rstrip("=")


if __name__ == "__main__":
    sys.exit(main())
