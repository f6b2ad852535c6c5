"""Least privilege, evaluated on the policies read back from the embedded AWS (moto enforces
none of them): who may read which Terraform state, what the deploy role may read, which
instance types the jobs may use, who may act as the execution role, what ECR may expire."""

from __future__ import annotations

import json

import pytest

from training_pipeline.aws import iam_policy
from training_pipeline.aws.iam_policy import Request

from .conftest import AppliedInfra, model_prefixes

pytestmark = [pytest.mark.terraform, pytest.mark.e2e]
ENVIRONMENTS = ("dev", "staging", "prod")
ROOTS = ("operations", *ENVIRONMENTS)


def role_policies(applied: AppliedInfra, account: str, role: str) -> list[dict]:
    iam = applied.client(account, "iam")
    documents = []
    for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        documents.append(json.loads(document) if isinstance(document, str) else document)
    return documents


def trust(applied: AppliedInfra, account: str, role: str) -> dict:
    document = applied.client(account, "iam").get_role(RoleName=role)["Role"]
    document = document["AssumeRolePolicyDocument"]
    return json.loads(document) if isinstance(document, str) else document


def state_key(root: str) -> str:
    return (
        "operations/terraform.tfstate" if root == "operations" else f"main/{root}/terraform.tfstate"
    )


def test_each_roots_state_is_readable_and_writable_only_through_its_own_role(
    applied: AppliedInfra,
) -> None:
    s = applied.settings
    bucket = applied.outputs["backend"]["state_bucket_arn"]
    bucket_policy = json.loads(applied.outputs["backend"]["state_bucket_policy"])
    roles = applied.outputs["backend"]["state_role_arns"]
    admin = ("AWS", f"arn:aws:iam::{s.accounts['operations']}:role/OrganizationAccountAccessRole")
    for root in ROOTS:
        name = roles[root].rsplit("/", 1)[1]
        policies = role_policies(applied, "operations", name)
        for other in ROOTS:
            for action in ("s3:GetObject", "s3:PutObject"):
                for suffix in ("", ".tflock"):
                    request = Request(action, f"{bucket}/{state_key(other)}{suffix}")
                    assert iam_policy.allows(policies, request) is (other == root), (root, other)
            # The bucket policy lets no other principal at this root's state, admins included.
            principal = ("AWS", roles[other])
            context = {"aws:PrincipalArn": roles[other]}
            request = Request("s3:GetObject", f"{bucket}/{state_key(root)}", principal, context)
            decision = iam_policy.decide([bucket_policy], request)
            assert (decision != iam_policy.EXPLICIT_DENY) is (other == root), (root, other)
        request = Request(
            "s3:PutObject", f"{bucket}/{state_key(root)}", admin, {"aws:PrincipalArn": admin[1]}
        )
        assert iam_policy.decide([bucket_policy], request) == iam_policy.EXPLICIT_DENY
        # Only principals of the account the root applies to may assume its role.
        for account, account_id in s.accounts.items():
            caller = ("AWS", f"arn:aws:iam::{account_id}:role/OrganizationAccountAccessRole")
            allowed = iam_policy.allows(
                [trust(applied, "operations", name)], Request("sts:AssumeRole", principal=caller)
            )
            assert allowed is (account == root), (root, account)


def deploy_role(applied: AppliedInfra, env: str):
    """What the environment's deploy role may do (``can(action, resource, **context)``), and
    the ARNs of its data and artifacts buckets."""
    s, account = applied.settings, applied.settings.accounts[env]
    policies = role_policies(applied, env, f"{s.project}-{env}-github-deploy")

    def can(action: str, resource: str, **context) -> bool:
        return iam_policy.allows(policies, Request(action, resource, context=context))

    bucket = f"arn:aws:s3:::{s.project}-{env}"
    return can, f"{bucket}-data-{account}", f"{bucket}-artifacts-{account}"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_deploy_role_uploads_where_the_cli_does_and_reads_no_training_data(
    applied: AppliedInfra, env: str
) -> None:
    s = applied.settings
    can, data, artifacts = deploy_role(applied, env)
    pipeline = f"{s.project}-{env}-training"

    assert not can("s3:GetObject", f"{data}/training/breast_cancer.csv")
    assert not can("s3:GetObject", f"{data}/uploads/abc/my.csv")
    # The splits PrepareData publishes are training data too.
    assert not can("s3:GetObject", f"{artifacts}/datasets/0a1b/train/train.csv")
    assert not can("s3:GetObject", f"{artifacts}/pipelines/{pipeline}/x1/prepare/train/a.csv")
    assert can(
        "s3:GetObject", f"{artifacts}/pipelines/{pipeline}/x1/evaluate/evaluation/evaluation.json"
    )
    assert can("s3:GetObject", f"{artifacts}/executions/x1.json")
    assert can("s3:PutObject", f"{artifacts}/code/0a1b/steps/train.py")
    assert can("s3:PutObject", f"{artifacts}/executions/x1.json")
    assert can("s3:PutObject", f"{data}/uploads/abc/my.csv")
    assert not can("s3:PutObject", f"{data}/training/breast_cancer.csv")
    assert not can("s3:PutObject", f"{artifacts}/pipelines/{pipeline}/x1/train/model/model.tar.gz")
    # It may see that training data exists (the keys under training/), not list the rest.
    assert can("s3:ListBucket", data, **{"s3:prefix": "training/"})
    assert not can("s3:ListBucket", data, **{"s3:prefix": "uploads/"})


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_deploy_role_reaches_every_models_pipeline_and_group_and_no_other(
    applied: AppliedInfra, env: str
) -> None:
    s = applied.settings
    can, data, artifacts = deploy_role(applied, env)
    sagemaker = f"arn:aws:sagemaker:{s.region}:{s.accounts[env]}"

    prefixes = model_prefixes(s, env)
    assert prefixes == {"cancer": f"{s.project}-{env}", "diabetes": f"{s.project}-{env}-diabetes"}
    for prefix in prefixes.values():
        for pipeline in (
            f"{sagemaker}:pipeline/{prefix}-training",
            f"{sagemaker}:pipeline/{prefix}-batch",
            f"{sagemaker}:pipeline/{prefix}-monitor",
        ):
            assert can("sagemaker:UpdatePipeline", pipeline), pipeline
            assert can("sagemaker:StartPipelineExecution", pipeline), pipeline
            assert can("sagemaker:DescribePipelineExecution", f"{pipeline}/execution/x1"), pipeline
        assert can(
            "s3:GetObject",
            f"{artifacts}/pipelines/{prefix}-training/x1/evaluate/evaluation/evaluation.json",
        )
        assert can(
            "sagemaker:DescribeModelPackageGroup", f"{sagemaker}:model-package-group/{prefix}"
        )
        assert can("sagemaker:DescribeModelPackage", f"{sagemaker}:model-package/{prefix}/1")
        assert not can("sagemaker:UpdateModelPackage", f"{sagemaker}:model-package/{prefix}/1")
    assert can("s3:ListBucket", data, **{"s3:prefix": "training-diabetes/"})
    assert not can("s3:GetObject", f"{data}/training-diabetes/diabetes.csv")
    # A model profiles.conf does not name has nothing.
    unknown = f"{s.project}-{env}-fraud"
    assert not can("sagemaker:StartPipelineExecution", f"{sagemaker}:pipeline/{unknown}-training")
    assert not can(
        "sagemaker:DescribeModelPackageGroup", f"{sagemaker}:model-package-group/{unknown}"
    )
    assert not can("s3:ListBucket", data, **{"s3:prefix": "training-fraud/"})


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_execution_role_registers_into_every_models_group_and_no_other(
    applied: AppliedInfra, env: str
) -> None:
    """One execution role per environment, shared by its models' pipelines: it may register
    into exactly the groups of the models of profiles.conf."""
    s = applied.settings
    sagemaker = f"arn:aws:sagemaker:{s.region}:{s.accounts[env]}"
    policies = role_policies(applied, env, f"{s.project}-{env}-sagemaker-execution")
    [register] = [
        st
        for document in policies
        for st in document["Statement"]
        if st.get("Sid") == "RegisterInOwnGroup"
    ]
    groups = [f"{s.project}-{env}", f"{s.project}-{env}-diabetes"]
    assert sorted(register["Resource"]) == sorted(
        resource
        for group in groups
        for resource in (
            f"{sagemaker}:model-package-group/{group}",
            f"{sagemaker}:model-package/{group}/*",
        )
    )
    for group in groups:
        request = Request("sagemaker:CreateModelPackage", f"{sagemaker}:model-package/{group}/1")
        assert iam_policy.allows(policies, request), group
    for other in (f"{s.project}-{env}-fraud", f"{s.project}-{env}x", "someone-else"):
        request = Request("sagemaker:CreateModelPackage", f"{sagemaker}:model-package/{other}/1")
        assert not iam_policy.allows(policies, request), other


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_execution_role_runs_batches_but_never_makes_an_endpoints_model(
    applied: AppliedInfra, env: str
) -> None:
    """The batch pipeline creates a model of the Approved version for its transform job (named
    by SageMaker); the deploy function's models ({prefix}-v<N>-<hash>, reused when they exist)
    stay out of the jobs' reach."""
    s = applied.settings
    sagemaker = f"arn:aws:sagemaker:{s.region}:{s.accounts[env]}"
    policies = role_policies(applied, env, f"{s.project}-{env}-sagemaker-execution")

    def can(action: str, resource: str) -> bool:
        return iam_policy.allows(policies, Request(action, resource))

    assert can("sagemaker:CreateModel", f"{sagemaker}:model/pipelines-x1-createbatchmodel-0a1b")
    assert can("sagemaker:DescribeTransformJob", f"{sagemaker}:transform-job/pipelines-x1")
    for prefix in model_prefixes(s, env).values():
        assert not can("sagemaker:CreateModel", f"{sagemaker}:model/{prefix}-v3-0a1b2c3d"), prefix
        assert can("sagemaker:DescribeModelPackage", f"{sagemaker}:model-package/{prefix}/3")
    batch_role = f"arn:aws:iam::{s.accounts[env]}:role/{s.project}-{env}-batch-transform"
    assert iam_policy.allows(
        policies,
        Request(
            "iam:PassRole",
            batch_role,
            context={"iam:PassedToService": "sagemaker.amazonaws.com"},
        ),
    )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_jobs_start_only_on_the_instance_type_of_profiles_conf(
    applied: AppliedInfra, env: str
) -> None:
    s = applied.settings
    allowed = s.environment(env).instance_type
    policies = role_policies(applied, env, f"{s.project}-{env}-sagemaker-execution")
    job = f"arn:aws:sagemaker:{s.region}:{s.accounts[env]}:training-job/x"
    processing = job.replace("training-job", "processing-job")
    for action, resource in (
        ("sagemaker:CreateTrainingJob", job),
        ("sagemaker:CreateProcessingJob", processing),
        ("sagemaker:CreateTransformJob", job.replace("training-job", "transform-job")),
    ):
        assert iam_policy.allows(
            policies, Request(action, resource, context={"sagemaker:InstanceTypes": [allowed]})
        )
        assert not iam_policy.allows(
            policies,
            Request(action, resource, context={"sagemaker:InstanceTypes": ["ml.p4d.24xlarge"]}),
        )
        assert not iam_policy.allows(policies, Request(action, resource))


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_only_sagemaker_acting_for_this_account_assumes_the_execution_role(
    applied: AppliedInfra, env: str
) -> None:
    s = applied.settings
    policy = trust(applied, env, f"{s.project}-{env}-sagemaker-execution")
    sagemaker = ("Service", "sagemaker.amazonaws.com")
    for account_id in s.accounts.values():
        request = Request(
            "sts:AssumeRole", principal=sagemaker, context={"aws:SourceAccount": account_id}
        )
        assert iam_policy.allows([policy], request) is (account_id == s.accounts[env])
    assert not iam_policy.allows([policy], Request("sts:AssumeRole", principal=sagemaker))


def test_ecr_expires_untagged_images_only(applied: AppliedInfra) -> None:
    ecr = applied.client("operations", "ecr")
    for image in ("training", "inference"):
        policy = ecr.get_lifecycle_policy(repositoryName=f"{applied.settings.project}-{image}")
        rules = json.loads(policy["lifecyclePolicyText"])["rules"]
        assert [rule["selection"]["tagStatus"] for rule in rules] == ["untagged"]


@pytest.mark.parametrize("env", [e for e in ENVIRONMENTS if e != "dev"])
def test_each_deploy_function_reads_its_own_models_artifacts_only(
    applied: AppliedInfra, env: str
) -> None:
    """It checks a model's digest before deploying it: the archives its model's training jobs
    wrote, nothing else of the bucket, no other model's, no data."""
    s, account = applied.settings, applied.settings.accounts[env]
    artifacts = f"arn:aws:s3:::{s.project}-{env}-artifacts-{account}"
    data = f"arn:aws:s3:::{s.project}-{env}-data-{account}"
    prefixes = model_prefixes(s, env)
    for model, prefix in prefixes.items():
        policies = role_policies(applied, env, f"{prefix}-deploy-on-approval")

        def can(resource: str, policies=policies) -> bool:
            return iam_policy.allows(policies, Request("s3:GetObject", resource))

        own = f"{artifacts}/pipelines/{prefix}-training/x1/train/model"
        assert can(f"{own}/model.tar.gz"), model
        assert not can(f"{artifacts}/pipelines/{prefix}-training/x1/prepare/train/a.csv")
        assert not can(f"{artifacts}/executions/x1.json")
        assert not can(f"{data}/training/breast_cancer.csv")
        for other, other_prefix in prefixes.items():
            if other != model:
                theirs = f"{artifacts}/pipelines/{other_prefix}-training/x1/train/model"
                assert not can(f"{theirs}/model.tar.gz"), (model, other)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_where_approval_is_manual_only_the_approver_role_makes_a_version_approved(
    applied: AppliedInfra, env: str
) -> None:
    """prod says `approval = manual`: the execution role registers PendingManualApproval and can
    never register or turn a version Approved, neither can the deploy role, the deploy
    function or an administrator (the group's resource policy denies them); only the approver
    role can. dev and staging approve automatically: the pipeline registers Approved there.
    The condition key, sagemaker:ModelApprovalStatus, is in the IAM service reference for both
    CreateModelPackage and UpdateModelPackage."""
    s, account = applied.settings, applied.settings.accounts[env]
    manual = s.environment(env).approval == "manual"
    outputs = applied.outputs[env]
    approver = f"arn:aws:iam::{account}:role/{s.project}-{env}-model-approver"
    assert outputs.get("model_approver_role_arn") == (approver if manual else None)
    roles = {
        "execution": f"{s.project}-{env}-sagemaker-execution",
        "deploy": f"{s.project}-{env}-github-deploy",
    }
    if s.environment(env).endpoint != "off":
        roles["function"] = f"{s.project}-{env}-deploy-on-approval"
    if manual:
        roles["approver"] = approver.rsplit("/", 1)[1]
    identity = {name: role_policies(applied, env, role) for name, role in roles.items()}
    admin = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    }
    identity["admin"] = [admin]
    arns = {name: f"arn:aws:iam::{account}:role/{role}" for name, role in roles.items()}
    arns["admin"] = f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole"
    for model, prefix in model_prefixes(s, env).items():
        group_policy = json.loads(outputs["model_package_group_policies"][model])
        package = f"arn:aws:sagemaker:{s.region}:{account}:model-package/{prefix}/3"

        def decision(
            name: str, action: str, status: str, package=package, group_policy=group_policy
        ) -> bool:
            request = Request(
                action,
                package,
                principal=("AWS", arns[name]),
                context={"sagemaker:ModelApprovalStatus": status, "aws:PrincipalArn": arns[name]},
            )
            # Same account: allowed if an identity policy allows and no policy denies.
            if iam_policy.decide([group_policy], request) == iam_policy.EXPLICIT_DENY:
                return False
            return iam_policy.allows(identity[name], request)

        registers_approved = decision("execution", "sagemaker:CreateModelPackage", "Approved")
        assert registers_approved is not manual, (env, model)
        assert decision("execution", "sagemaker:CreateModelPackage", "PendingManualApproval")
        for name in set(roles) - {"approver"}:
            assert not decision(name, "sagemaker:UpdateModelPackage", "Approved"), (name, model)
        assert decision("admin", "sagemaker:UpdateModelPackage", "Approved") is not manual
        if manual:
            assert decision("approver", "sagemaker:UpdateModelPackage", "Approved"), model
            assert decision("approver", "sagemaker:UpdateModelPackage", "Rejected"), model
            assert not decision("approver", "sagemaker:CreateModelPackage", "Approved"), model
            other = package.replace(f"/{prefix}/", "/someone-else/")
            assert not iam_policy.allows(
                identity["approver"],
                Request(
                    "sagemaker:UpdateModelPackage",
                    other,
                    context={"sagemaker:ModelApprovalStatus": "Approved"},
                ),
            )
    if manual:
        # Assumable by the people of this account whose own policies grant it, nobody else.
        policy = trust(applied, env, roles["approver"])
        for other_env, other_account in s.accounts.items():
            request = Request(
                "sts:AssumeRole", principal=("AWS", f"arn:aws:iam::{other_account}:role/Someone")
            )
            assert iam_policy.allows([policy], request) is (other_account == account), other_env
        for name in set(roles) - {"approver"}:
            request = Request("sts:AssumeRole", approver)
            assert not iam_policy.allows(identity[name], request), name


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_endpoint_role_serves_its_models_and_can_do_nothing_else(
    applied: AppliedInfra, env: str
) -> None:
    """The endpoints run with their own role, not the jobs': read their models' artifacts,
    decrypt them, pull the inference image, write their logs."""
    s, account = applied.settings, applied.settings.accounts[env]
    role = f"{s.project}-{env}-endpoint"
    if s.environment(env).endpoint == "off":
        assert applied.outputs[env].get("endpoint_role_arn") is None
        return
    assert applied.outputs[env]["endpoint_role_arn"] == f"arn:aws:iam::{account}:role/{role}"
    policies = role_policies(applied, env, role)
    artifacts = f"arn:aws:s3:::{s.project}-{env}-artifacts-{account}"
    data = f"arn:aws:s3:::{s.project}-{env}-data-{account}"
    ecr = f"arn:aws:ecr:{s.region}:{s.accounts['operations']}:repository/{s.project}"
    logs = f"arn:aws:logs:{s.region}:{account}:log-group:/aws/sagemaker"
    key = applied.client(env, "kms").describe_key(KeyId=f"alias/{s.project}-{env}")
    allowed, denied = [], []
    for prefix in model_prefixes(s, env).values():
        allowed += [
            Request(
                "s3:GetObject",
                f"{artifacts}/pipelines/{prefix}-training/x/train/model/model.tar.gz",
            ),
            Request("logs:PutLogEvents", f"{logs}/Endpoints/{prefix}:log-stream:AllTraffic/i-1"),
        ]
        denied += [
            Request(
                "s3:GetObject", f"{artifacts}/pipelines/{prefix}-training/x/prepare/train/a.csv"
            ),
            Request(
                "s3:PutObject",
                f"{artifacts}/pipelines/{prefix}-training/x/train/model/model.tar.gz",
            ),
        ]
    allowed += [
        Request("kms:Decrypt", key["KeyMetadata"]["Arn"]),
        Request("ecr:BatchGetImage", f"{ecr}-inference"),
        Request("ecr:GetAuthorizationToken"),
    ]
    denied += [
        Request("s3:GetObject", f"{data}/training/breast_cancer.csv"),
        Request("s3:GetObject", f"{artifacts}/executions/x.json"),
        Request("ecr:BatchGetImage", f"{ecr}-training"),
        Request("logs:PutLogEvents", f"{logs}/TrainingJobs:log-stream:x"),
        Request(
            "sagemaker:CreateModelPackage",
            f"arn:aws:sagemaker:{s.region}:{account}:model-package/x/1",
        ),
        Request(
            "sagemaker:CreateTrainingJob", f"arn:aws:sagemaker:{s.region}:{account}:training-job/x"
        ),
        Request("iam:PassRole", f"arn:aws:iam::{account}:role/{role}"),
    ]
    for request in allowed:
        assert iam_policy.allows(policies, request), request
    for request in denied:
        assert not iam_policy.allows(policies, request), request


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_batch_transform_role_reads_batch_data_and_writes_predictions_only(
    applied: AppliedInfra, env: str
) -> None:
    """The batch pipelines' models run as their own role: their model, their model's batch
    data, predictions/; no training data, no registry, no jobs."""
    s, account = applied.settings, applied.settings.accounts[env]
    role = f"{s.project}-{env}-batch-transform"
    assert applied.outputs[env]["batch_transform_role_arn"] == f"arn:aws:iam::{account}:role/{role}"
    policies = role_policies(applied, env, role)
    artifacts = f"arn:aws:s3:::{s.project}-{env}-artifacts-{account}"
    data = f"arn:aws:s3:::{s.project}-{env}-data-{account}"
    ecr = f"arn:aws:ecr:{s.region}:{s.accounts['operations']}:repository/{s.project}"
    sagemaker = f"arn:aws:sagemaker:{s.region}:{account}"
    allowed = [
        Request("s3:GetObject", f"{data}/batch/2026-12-07/rows.csv"),
        Request("s3:GetObject", f"{data}/batch-diabetes/rows.csv"),
        Request("s3:ListBucket", data, context={"s3:prefix": "batch/2026-12-07/"}),
        Request("s3:PutObject", f"{artifacts}/predictions/{s.project}-{env}-batch/x/rows.csv.out"),
        Request("ecr:BatchGetImage", f"{ecr}-inference"),
        Request(
            "logs:PutLogEvents",
            f"arn:aws:logs:{s.region}:{account}:log-group:/aws/sagemaker/TransformJobs:log-stream:x",
        ),
    ]
    allowed += [
        Request(
            "s3:GetObject", f"{artifacts}/pipelines/{prefix}-training/x/train/model/model.tar.gz"
        )
        for prefix in model_prefixes(s, env).values()
    ]
    denied = [
        Request("s3:GetObject", f"{data}/training/breast_cancer.csv"),
        Request("s3:GetObject", f"{data}/batchx/rows.csv"),
        Request("s3:ListBucket", data, context={"s3:prefix": "training/"}),
        Request("s3:PutObject", f"{data}/batch/rows.csv"),
        Request(
            "s3:PutObject", f"{artifacts}/pipelines/{s.project}-{env}-training/x/train/model/m"
        ),
        Request("s3:GetObject", f"{artifacts}/executions/x.json"),
        Request("ecr:BatchGetImage", f"{ecr}-training"),
        Request("sagemaker:CreateModelPackage", f"{sagemaker}:model-package/x/1"),
        Request("sagemaker:CreateTransformJob", f"{sagemaker}:transform-job/x"),
        Request("iam:PassRole", f"arn:aws:iam::{account}:role/{role}"),
    ]
    for request in allowed:
        assert iam_policy.allows(policies, request), request
    for request in denied:
        assert not iam_policy.allows(policies, request), request


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_drift_check_puts_its_metrics_and_retrains_only_its_own_environment(
    applied: AppliedInfra, env: str
) -> None:
    """The monitoring job runs as its own role: it puts metrics in MLOps/Drift only, and where
    profiles.conf says drift_action = retrain starts the environment's training pipelines and
    no other pipeline. The jobs' role, which runs model code, can do neither."""
    s, account = applied.settings, applied.settings.accounts[env]
    role = f"{s.project}-{env}-drift-check"
    assert applied.outputs[env]["drift_check_role_arn"] == f"arn:aws:iam::{account}:role/{role}"
    policies = role_policies(applied, env, role)
    jobs = role_policies(applied, env, f"{s.project}-{env}-sagemaker-execution")
    assert not iam_policy.allows(
        jobs,
        Request("cloudwatch:PutMetricData", "*", context={"cloudwatch:namespace": "MLOps/Drift"}),
    )
    assert not iam_policy.allows(
        jobs,
        Request(
            "sagemaker:StartPipelineExecution",
            f"arn:aws:sagemaker:{s.region}:{account}:pipeline/{s.project}-{env}-training",
        ),
    )
    artifacts = f"arn:aws:s3:::{s.project}-{env}-artifacts-{account}"
    prefix = f"{s.project}-{env}"
    assert iam_policy.allows(
        policies,
        Request("s3:GetObject", f"{artifacts}/datacapture/{prefix}/{prefix}/AllTraffic/a.jsonl"),
    )
    assert iam_policy.allows(
        policies,
        Request("s3:GetObject", f"{artifacts}/pipelines/{prefix}-training/x/baseline/baseline/r"),
    )
    assert iam_policy.allows(
        policies,
        Request("s3:PutObject", f"{artifacts}/pipelines/{prefix}-monitor/x/check/report/a"),
    )
    for denied in (
        f"arn:aws:s3:::{s.project}-{env}-data-{account}/training/breast_cancer.csv",
        f"{artifacts}/pipelines/{prefix}-training/x/prepare/train/train.csv",
        f"{artifacts}/pipelines/{prefix}-training/x/train/model/model.tar.gz",
    ):
        assert not iam_policy.allows(policies, Request("s3:GetObject", denied)), denied

    def can(action: str, resource: str = "*", **context) -> bool:
        return iam_policy.allows(policies, Request(action, resource, context=context))

    assert can("cloudwatch:PutMetricData", **{"cloudwatch:namespace": "MLOps/Drift"})
    assert not can("cloudwatch:PutMetricData", **{"cloudwatch:namespace": "AWS/SageMaker"})
    assert not can("cloudwatch:PutMetricData")
    retrains = s.environment(env).drift_action == "retrain"
    sagemaker = f"arn:aws:sagemaker:{s.region}:{account}:pipeline"
    for prefix in model_prefixes(s, env).values():
        assert can("sagemaker:StartPipelineExecution", f"{sagemaker}/{prefix}-training") == (
            retrains
        )
        for other in (f"{prefix}-batch", f"{prefix}-monitor"):
            assert not can("sagemaker:StartPipelineExecution", f"{sagemaker}/{other}")
    other_account = next(a for e, a in s.accounts.items() if e not in (env, "operations"))
    assert not can(
        "sagemaker:StartPipelineExecution",
        f"arn:aws:sagemaker:{s.region}:{other_account}:pipeline/{s.project}-{env}-training",
    )
