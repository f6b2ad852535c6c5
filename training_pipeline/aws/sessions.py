"""Sessions into the accounts of profiles.conf, the same way on the embedded AWS and on AWS.

The caller's own credentials (a profile, CI's OIDC role, or the embedded server's fixed keys) are
used as they are when they already belong to the target account; otherwise the session assumes
the organisation's cross-account role in the target account, which is how an operator reaches
dev, staging and prod from one identity, and how the embedded AWS separates its four accounts.
"""

from __future__ import annotations

import os

import boto3
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
)

from training_pipeline.config.settings import Settings
from training_pipeline.errors import AwsAccessError

ASSUME_ROLE_ENV = "TP_ASSUME_ROLE_NAME"
DEFAULT_ASSUME_ROLE = "OrganizationAccountAccessRole"


def account_session(settings: Settings, account: str) -> boto3.Session:
    """A boto3 session in `account` ("operations" or an environment of profiles.conf)."""
    account_id = settings.accounts.get(account) or settings.environment(account).account_id
    base = boto3.Session(region_name=settings.region)
    caller = _caller_account(base)
    if caller == account_id:
        return base
    role_name = os.environ.get(ASSUME_ROLE_ENV, DEFAULT_ASSUME_ROLE)
    role_arn = f"arn:aws:iam::{account_id}:role/{role_name}"
    hint = (
        f"set {ASSUME_ROLE_ENV} to a role you may assume there, or use credentials of that account"
    )
    return assume(base, role_arn, f"{settings.project}-{account}", f"for [{account}]", hint)


def assume(
    session: boto3.Session, role_arn: str, session_name: str, why: str, hint: str
) -> boto3.Session:
    """A session as ``role_arn``, assumed from ``session``.

    Raises:
        AwsAccessError: naming the role, the caller's account, ``why`` and the ``hint``.
    """
    try:
        credentials = session.client("sts").assume_role(
            RoleArn=role_arn, RoleSessionName=session_name
        )["Credentials"]
    except ClientError as error:
        caller = _caller_account(session)
        raise AwsAccessError(
            f"cannot assume {role_arn} from account {caller} {why}: {error}; {hint}"
        ) from None
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=session.region_name,
    )


def _caller_account(session: boto3.Session) -> str:
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    try:
        return session.client("sts").get_caller_identity()["Account"]
    except NoCredentialsError:
        raise AwsAccessError(
            "no AWS credentials found: set AWS_PROFILE (or run in CI with OIDC), "
            "or add --embedded to run on the embedded AWS"
        ) from None
    except EndpointConnectionError:
        where = endpoint or "AWS"
        hint = (
            "is the embedded AWS running? start it with `python -m training_pipeline embedded up`"
            if endpoint
            else "check your network"
        )
        raise AwsAccessError(f"cannot reach {where}: {hint}") from None
    except NoRegionError:
        raise AwsAccessError("no AWS region: set [project] region in profiles.conf") from None
    except ClientError as error:
        raise AwsAccessError(f"the AWS credentials were rejected: {error}") from None
