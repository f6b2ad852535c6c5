"""The policy evaluator must allow and refuse what IAM would: every isolation claim rests on it."""

from __future__ import annotations

import pytest

from training_pipeline.aws.iam_policy import (
    ALLOW,
    EXPLICIT_DENY,
    IMPLICIT_DENY,
    Request,
    UnsupportedPolicy,
    allows,
    decide,
)

ISSUER = "token.actions.githubusercontent.com"
PROVIDER = f"arn:aws:iam::222222222222:oidc-provider/{ISSUER}"


def trust(condition: dict, principal: object = None) -> dict:
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


def token(sub: str, aud: str = "sts.amazonaws.com", provider: str = PROVIDER) -> Request:
    return Request(
        action="sts:AssumeRoleWithWebIdentity",
        principal=("Federated", provider),
        context={f"{ISSUER}:sub": sub, f"{ISSUER}:aud": aud},
    )


def test_a_wildcard_subject_admits_every_branch() -> None:
    """The mistake of earlier templates (`repo:org/repo:*`) is caught as too permissive."""
    policy = trust({"StringLike": {f"{ISSUER}:sub": "repo:o/r:*"}})
    assert allows([policy], token("repo:o/r:ref:refs/heads/x"))
    assert not allows([policy], token("repo:o/other:pull_request"))


def test_string_equals_is_exact_and_keys_are_anded() -> None:
    policy = trust(
        {
            "StringEquals": {
                f"{ISSUER}:sub": ["repo:o/r:ref:refs/tags/prod"],
                f"{ISSUER}:aud": "sts.amazonaws.com",
            }
        }
    )
    assert allows([policy], token("repo:o/r:ref:refs/tags/prod"))
    assert not allows([policy], token("repo:o/r:ref:refs/tags/prod2"))
    assert not allows([policy], token("repo:o/r:ref:refs/tags/prod", aud="x"))
    # Condition keys are case-insensitive, values are not.
    assert not allows([policy], token("REPO:o/r:ref:refs/tags/prod"))


def test_no_condition_trusts_the_provider_alone() -> None:
    policy = trust({})
    assert allows([policy], token("repo:anyone/anything:pull_request"))
    other = f"arn:aws:iam::333333333333:oidc-provider/{ISSUER}"
    assert not allows([policy], token("x", provider=other))


def test_an_explicit_deny_wins() -> None:
    policy = trust({})
    policy["Statement"].append(
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "sts:*",
            "Condition": {"StringLike": {f"{ISSUER}:sub": "*:pull_request"}},
        }
    )
    assert decide([policy], token("repo:o/r:pull_request")) == EXPLICIT_DENY
    assert decide([policy], token("repo:o/r:ref:refs/heads/main")) == ALLOW


def identity(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


DATA = "arn:aws:s3:::mlops-demo-dev-data-222222222222"
ARTIFACTS = "arn:aws:s3:::mlops-demo-dev-artifacts-222222222222"


def test_resources_match_with_wildcards_and_case() -> None:
    policy = identity(
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"{ARTIFACTS}/code/*"},
        {"Effect": "Allow", "Action": "S3:GetObject", "Resource": [f"{ARTIFACTS}/*"]},
    )
    assert allows([policy], Request("s3:PutObject", f"{ARTIFACTS}/code/abc/train.py"))
    assert not allows([policy], Request("s3:PutObject", f"{ARTIFACTS}/pipelines/x"))
    assert allows([policy], Request("s3:getobject", f"{ARTIFACTS}/pipelines/x"))
    assert not allows([policy], Request("s3:GetObject", f"{DATA}/training/a.csv"))
    assert not allows([policy], Request("s3:GetObject", f"{ARTIFACTS.upper()}/x"))


def test_not_action_and_not_resource() -> None:
    policy = identity(
        {"Effect": "Allow", "NotAction": "iam:*", "NotResource": f"{DATA}/*"},
    )
    assert allows([policy], Request("s3:GetObject", f"{ARTIFACTS}/x"))
    assert not allows([policy], Request("s3:GetObject", f"{DATA}/x"))
    assert not allows([policy], Request("iam:PassRole", "arn:aws:iam::1:role/r"))


def test_set_operators_null_and_if_exists() -> None:
    types = "sagemaker:InstanceTypes"
    policy = identity(
        {
            "Effect": "Allow",
            "Action": "sagemaker:CreateTrainingJob",
            "Resource": "*",
            "Condition": {
                "ForAllValues:StringEquals": {types: ["ml.m5.large"]},
                "Null": {types: "false"},
            },
        }
    )
    job = "sagemaker:CreateTrainingJob"
    assert allows([policy], Request(job, context={types: ["ml.m5.large"]}))
    assert not allows([policy], Request(job, context={types: ["ml.m5.large", "ml.p4d.24xlarge"]}))
    # ForAllValues alone holds for a missing key: the Null test is what refuses it.
    assert not allows([policy], Request(job))
    any_value = identity(
        {
            "Effect": "Allow",
            "Action": "*",
            "Resource": "*",
            "Condition": {"ForAnyValue:StringLike": {"aws:TagKeys": "team*"}},
        }
    )
    assert allows([any_value], Request("x:Y", context={"aws:TagKeys": ["owner", "team-a"]}))
    assert not allows([any_value], Request("x:Y"))
    if_exists = identity(
        {
            "Effect": "Allow",
            "Action": "*",
            "Resource": "*",
            "Condition": {"StringEqualsIfExists": {"aws:SourceAccount": "222222222222"}},
        }
    )
    assert allows([if_exists], Request("x:Y"))
    assert not allows([if_exists], Request("x:Y", context={"aws:SourceAccount": "1"}))


def test_principals_of_resource_policies() -> None:
    policy = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": ["arn:aws:iam::222222222222:root"]},
                "Action": ["ecr:BatchGetImage"],
                "Resource": "*",
            },
            {
                "Effect": "Allow",
                "Principal": {"Service": "sagemaker.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": "222222222222"}},
            },
        ]
    }
    role = ("AWS", "arn:aws:iam::222222222222:role/mlops-demo-dev-github-deploy")
    assert allows([policy], Request("ecr:BatchGetImage", principal=role))
    assert not allows(
        [policy], Request("ecr:BatchGetImage", principal=("AWS", "arn:aws:iam::333333333333:root"))
    )
    service = ("Service", "sagemaker.amazonaws.com")
    assert allows(
        [policy],
        Request("sts:AssumeRole", principal=service, context={"aws:SourceAccount": "222222222222"}),
    )
    # The confused deputy: SageMaker acting for another account is refused.
    assert not allows(
        [policy],
        Request("sts:AssumeRole", principal=service, context={"aws:SourceAccount": "9" * 12}),
    )
    assert decide([policy], Request("ecr:PutImage", principal=role)) == IMPLICIT_DENY


@pytest.mark.parametrize(
    "statement",
    [
        {"Effect": "Allow", "NotPrincipal": {"AWS": "x"}, "Action": "*"},
        {
            "Effect": "Allow",
            "Action": "*",
            "Condition": {"DateGreaterThan": {"aws:CurrentTime": "x"}},
        },
        {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b/${aws:username}/*"},
        {"Effect": "Maybe", "Action": "*", "Resource": "*"},
        {"Effect": "Allow", "Resource": "*"},
    ],
)
def test_what_it_does_not_implement_raises(statement: dict) -> None:
    with pytest.raises(UnsupportedPolicy):
        decide([identity(statement)], Request("s3:GetObject", "arn:aws:s3:::b/alice/x"))


def test_a_single_valued_operator_on_several_values_raises() -> None:
    policy = identity(
        {
            "Effect": "Allow",
            "Action": "*",
            "Resource": "*",
            "Condition": {"StringEquals": {"k": "a"}},
        }
    )
    with pytest.raises(UnsupportedPolicy, match="ForAllValues"):
        decide([policy], Request("x:Y", context={"k": ["a", "b"]}))


def test_arn_operators_match_part_by_part_with_wildcards() -> None:
    role = "arn:aws:iam::111111111111:role/mlops-demo-tfstate-dev"
    policy = identity(
        {
            "Effect": "Deny",
            "Action": "s3:GetObject",
            "Resource": "*",
            "Condition": {
                "ArnNotEquals": {"aws:PrincipalArn": ["arn:aws:iam::111111111111:role/*-dev"]}
            },
        }
    )
    assert decide([policy], Request("s3:GetObject", context={"aws:PrincipalArn": role})) == (
        IMPLICIT_DENY
    )
    other = role.replace("-dev", "-prod")
    assert decide([policy], Request("s3:GetObject", context={"aws:PrincipalArn": other})) == (
        EXPLICIT_DENY
    )
    # A wildcard never crosses the colon between an ARN's parts.
    like = identity(
        {
            "Effect": "Allow",
            "Action": "*",
            "Resource": "*",
            "Condition": {"ArnLike": {"aws:SourceArn": "arn:aws:sagemaker:*"}},
        }
    )
    assert not allows(
        [like], Request("x:Y", context={"aws:SourceArn": "arn:aws:sagemaker:eu-west-1"})
    )
    arn = "arn:aws:sagemaker:eu-west-1:222222222222:pipeline/p"
    assert not allows([like], Request("x:Y", context={"aws:SourceArn": arn}))
    ok = identity(
        {
            "Effect": "Allow",
            "Action": "*",
            "Resource": "*",
            "Condition": {"ArnLike": {"aws:SourceArn": "arn:aws:sagemaker:*:222222222222:*"}},
        }
    )
    assert allows([ok], Request("x:Y", context={"aws:SourceArn": arn}))
