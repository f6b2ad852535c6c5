"""The deploy roles' and the CI role's trust policies, read back from the embedded AWS and
evaluated against the tokens GitHub Actions really issues (default claim template):

    push, job without environment    sub = repo:OWNER/REPO:ref:refs/heads/<b> (or refs/tags/<t>)
    pull_request                     sub = repo:OWNER/REPO:pull_request
    job with `environment: NAME`     sub = repo:OWNER/REPO:environment:NAME (whatever the ref)

Only these (role, token) pairs may assume: CI and dev on a push to main, staging on the tag
staging, prod on a job with environment prod (whose GitHub deployment rule admits only the tag
prod, see terraform/README.md).
"""

from __future__ import annotations

import base64
import json

import pytest

from .conftest import AppliedInfra
from .oidc_policy import Claims, UnsupportedPolicy, allows, oidc_provider_arn

pytestmark = [pytest.mark.terraform, pytest.mark.e2e]

ROLES = ("ci", "dev", "staging", "prod")


def tokens(repository: str) -> dict[str, Claims]:
    other = "someone-else/" + repository.split("/")[1]
    return {
        "push main": Claims(f"repo:{repository}:ref:refs/heads/main"),
        "push feature branch": Claims(f"repo:{repository}:ref:refs/heads/feature/x"),
        "push branch named like main": Claims(f"repo:{repository}:ref:refs/heads/main-hotfix"),
        "pull_request": Claims(f"repo:{repository}:pull_request"),
        "push tag staging": Claims(f"repo:{repository}:ref:refs/tags/staging"),
        "push tag prod, no environment": Claims(f"repo:{repository}:ref:refs/tags/prod"),
        "job with environment prod": Claims(f"repo:{repository}:environment:prod"),
        "job with environment staging": Claims(f"repo:{repository}:environment:staging"),
        "other repository, push main": Claims(f"repo:{other}:ref:refs/heads/main"),
        "other repository, environment prod": Claims(f"repo:{other}:environment:prod"),
        "push main, wrong audience": Claims(
            f"repo:{repository}:ref:refs/heads/main", aud="https://github.com/someone-else"
        ),
    }


EXPECTED_ALLOWED = {
    ("ci", "push main"),
    ("dev", "push main"),
    ("staging", "push tag staging"),
    ("prod", "job with environment prod"),
}


def role_of(applied: AppliedInfra, role: str) -> tuple[str, str, dict]:
    """(account name, role ARN, trust policy as stored in the embedded AWS)."""
    project = applied.settings.project
    account, name = (
        ("operations", f"{project}-github-ci")
        if role == "ci"
        else (role, f"{project}-{role}-github-deploy")
    )
    found = applied.client(account, "iam").get_role(RoleName=name)["Role"]
    document = found["AssumeRolePolicyDocument"]
    return account, found["Arn"], json.loads(document) if isinstance(document, str) else document


def test_trust_policies_admit_only_the_expected_tokens(applied: AppliedInfra) -> None:
    allowed = set()
    for role in ROLES:
        account, _, policy = role_of(applied, role)
        provider = oidc_provider_arn(applied.settings.accounts[account])
        for token_name, claims in tokens(applied.settings.github_repository).items():
            if allows(policy, provider_arn=provider, claims=claims):
                allowed.add((role, token_name))
    assert allowed == EXPECTED_ALLOWED


def test_trust_policies_accept_only_their_own_accounts_provider(applied: AppliedInfra) -> None:
    """A token presented through another account's OIDC provider is refused."""
    repository = applied.settings.github_repository
    for role, token_name in EXPECTED_ALLOWED:
        account, _, policy = role_of(applied, role)
        claims = tokens(repository)[token_name]
        for other, other_id in applied.settings.accounts.items():
            expected = other == account
            assert (
                allows(policy, provider_arn=oidc_provider_arn(other_id), claims=claims) is expected
            )


def test_trust_policies_pin_audience_and_exact_subjects(applied: AppliedInfra) -> None:
    for role in ROLES:
        _, _, policy = role_of(applied, role)
        for statement in policy["Statement"]:
            assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
            condition = statement["Condition"]
            assert set(condition) == {"StringEquals"}, "no StringLike, no wildcards"
            assert condition["StringEquals"]["token.actions.githubusercontent.com:aud"] == (
                "sts.amazonaws.com"
            )
            subjects = condition["StringEquals"]["token.actions.githubusercontent.com:sub"]
            assert "*" not in json.dumps(subjects)


################################################################################
# The evaluator itself: it must refuse and accept what IAM would
################################################################################

PROVIDER = oidc_provider_arn("222222222222")


def _trust(condition: dict, principal: object = None) -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": principal or {"Federated": PROVIDER},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": condition,
            }
        ],
    }


def test_evaluator_wildcard_subject_admits_every_branch() -> None:
    """The mistake of earlier templates (`repo:org/repo:*`) is caught as too permissive."""
    policy = _trust({"StringLike": {"token.actions.githubusercontent.com:sub": "repo:o/r:*"}})
    assert allows(policy, provider_arn=PROVIDER, claims=Claims("repo:o/r:ref:refs/heads/x"))
    assert not allows(policy, provider_arn=PROVIDER, claims=Claims("repo:o/other:pull_request"))


def test_evaluator_string_equals_is_exact_and_keys_are_anded() -> None:
    policy = _trust(
        {
            "StringEquals": {
                "token.actions.githubusercontent.com:sub": ["repo:o/r:ref:refs/tags/prod"],
                "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            }
        }
    )
    assert allows(policy, provider_arn=PROVIDER, claims=Claims("repo:o/r:ref:refs/tags/prod"))
    assert not allows(policy, provider_arn=PROVIDER, claims=Claims("repo:o/r:ref:refs/tags/prod2"))
    assert not allows(
        policy, provider_arn=PROVIDER, claims=Claims("repo:o/r:ref:refs/tags/prod", aud="x")
    )


def test_evaluator_no_condition_trusts_the_provider_alone() -> None:
    policy = _trust({})
    assert allows(policy, provider_arn=PROVIDER, claims=Claims("repo:anyone/anything:pull_request"))
    assert not allows(policy, provider_arn=oidc_provider_arn("333333333333"), claims=Claims("x"))


def test_evaluator_explicit_deny_wins_and_unknown_operators_raise() -> None:
    policy = _trust({})
    policy["Statement"].append(
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "sts:*",
            "Condition": {
                "StringLike": {"token.actions.githubusercontent.com:sub": "*:pull_request"}
            },
        }
    )
    assert not allows(policy, provider_arn=PROVIDER, claims=Claims("repo:o/r:pull_request"))
    assert allows(policy, provider_arn=PROVIDER, claims=Claims("repo:o/r:ref:refs/heads/main"))
    with pytest.raises(UnsupportedPolicy):
        allows(
            _trust({"ForAnyValue:StringLike": {"token.actions.githubusercontent.com:sub": "*"}}),
            provider_arn=PROVIDER,
            claims=Claims("x"),
        )


################################################################################
# moto's STS
################################################################################


def _unsigned_jwt(claims: Claims, repository: str) -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    payload = {
        "iss": "https://token.actions.githubusercontent.com",
        "sub": claims.sub,
        "aud": claims.aud,
        "repository": repository,
    }
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(payload)}."


def test_moto_sts_web_identity(applied: AppliedInfra) -> None:
    """AssumeRoleWithWebIdentity through moto's STS.

    Every expected pair must succeed there. moto 5.2 does not evaluate trust policies (nor verify
    the token): it also hands out credentials for a forbidden token, which this test records, so
    the policy evaluator above is what actually checks the trust policies offline. If a future
    moto starts enforcing trust, this test then requires that it refuses the forbidden pairs.
    """
    repository = applied.settings.github_repository
    all_tokens = tokens(repository)
    enforced_refusals, accepted_forbidden = 0, []
    for role in ROLES:
        account, arn, _ = role_of(applied, role)
        sts = applied.client(account, "sts")
        for token_name, claims in all_tokens.items():
            try:
                sts.assume_role_with_web_identity(
                    RoleArn=arn,
                    RoleSessionName="github-actions",
                    WebIdentityToken=_unsigned_jwt(claims, repository),
                )
                ok = True
            except sts.exceptions.ClientError:
                ok = False
            if (role, token_name) in EXPECTED_ALLOWED:
                assert ok, f"moto refused the expected pair ({role}, {token_name})"
            elif ok:
                accepted_forbidden.append((role, token_name))
            else:
                enforced_refusals += 1
    if enforced_refusals:
        assert not accepted_forbidden, f"moto enforced trust only partly: {accepted_forbidden}"
    else:
        assert accepted_forbidden, "moto neither accepted nor refused the forbidden tokens"
