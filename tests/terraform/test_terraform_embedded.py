"""End to end: backend, operations, dev, staging and prod applied to the embedded AWS with the
real Terraform CLI and hashicorp/aws provider (through training_pipeline.infra.terraform), then
checked account by account: every resource exists in its own account and nowhere else, the IAM
policies read back from the embedded AWS grant no wildcard, and a second plan is empty.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from training_pipeline.infra import terraform as infra

from .conftest import AppliedInfra, model_prefixes

pytestmark = [pytest.mark.terraform, pytest.mark.e2e]

ACCOUNTS = ("operations", "dev", "staging", "prod")
ENVIRONMENTS = ("dev", "staging", "prod")
# Actions AWS offers no resource-level permission for: "*" is the only possible Resource.
# Actions that the IAM service reference gives no resource type (ListDomains: the deploy job's
# summary links to the environment's Studio domain).
UNSCOPABLE_ACTIONS = {
    "cloudwatch:PutMetricData",  # held to a namespace by cloudwatch:namespace instead
    "ecr:GetAuthorizationToken",
    "sagemaker:ListDomains",
    "sagemaker:ListModelPackages",
}


def expected_roles(
    project: str,
    account: str,
    schedule: str,
    endpoint: str,
    prefixes: dict[str, str],
    approval: str = "auto",
    batch_schedule: str = "off",
    drift_check: str = "off",
) -> set[str]:
    if account == "operations":
        # The CI role, and one state role per Terraform root (terraform/backend).
        state = {f"{project}-tfstate-{root}" for root in ("operations", *ENVIRONMENTS)}
        return {f"{project}-github-ci", *state}
    # One execution role and one deploy role per environment; a schedule and a deploy
    # function (each with its role) per model.
    roles = {f"{project}-{account}-sagemaker-execution", f"{project}-{account}-github-deploy"}
    roles.add(f"{project}-{account}-batch-transform")  # the batch pipelines' models
    roles.add(f"{project}-{account}-drift-check")  # the monitoring pipelines' job
    if endpoint != "off":  # the endpoints' own role, shared by the models' endpoints
        roles.add(f"{project}-{account}-endpoint")
    if approval == "manual":  # the one identity that may make a version Approved
        roles.add(f"{project}-{account}-model-approver")
    for prefix in prefixes.values():
        if schedule != "off":
            roles.add(f"{prefix}-scheduler")
        if batch_schedule != "off":
            roles.add(f"{prefix}-batch-scheduler")
        if drift_check != "off":
            roles.add(f"{prefix}-drift-scheduler")
        if endpoint != "off":
            roles.add(f"{prefix}-deploy-on-approval")
    return roles


def project_roles(applied: AppliedInfra, account: str) -> dict[str, dict[str, Any]]:
    """Roles of ``account`` created by this project (moto needs no role to assume into)."""
    iam = applied.client(account, "iam")
    roles = iam.get_paginator("list_roles").paginate().build_full_result()["Roles"]
    return {r["RoleName"]: r for r in roles if r["RoleName"].startswith(applied.settings.project)}


def test_apply_reports_the_agreed_names(applied: AppliedInfra) -> None:
    s = applied.settings
    ops = s.accounts["operations"]
    assert applied.outputs["backend"]["state_bucket"] == f"{s.project}-tfstate-{ops}"
    assert applied.outputs["operations"]["ci_role_arn"] == (
        f"arn:aws:iam::{ops}:role/{s.project}-github-ci"
    )
    assert set(applied.outputs["operations"]["repository_urls"]) == {"training", "inference"}
    for env in ENVIRONMENTS:
        acct = s.environment(env).account_id
        out = applied.outputs[env]
        assert out["account_id"] == acct
        assert out["data_bucket"] == f"{s.project}-{env}-data-{acct}"
        assert out["artifacts_bucket"] == f"{s.project}-{env}-artifacts-{acct}"
        assert out["kms_alias"] == f"alias/{s.project}-{env}"
        assert out["model_package_group_name"] == f"{s.project}-{env}"
        assert out["pipeline_name"] == f"{s.project}-{env}-training"
        assert out["first_model"] == s.first_model == "cancer"
        assert out["model_package_groups"] == {
            "cancer": f"{s.project}-{env}",
            "diabetes": f"{s.project}-{env}-diabetes",
        }
        assert out["pipeline_names"] == {
            "cancer": f"{s.project}-{env}-training",
            "diabetes": f"{s.project}-{env}-diabetes-training",
        }
        assert out["training_data_prefixes"] == {
            "cancer": "training/",
            "diabetes": "training-diabetes/",
        }
        assert set(out["model_package_group_arns"]) == set(s.model_names)
        assert out["sagemaker_execution_role_arn"] == (
            f"arn:aws:iam::{acct}:role/{s.project}-{env}-sagemaker-execution"
        )
        assert out["github_deploy_role_arn"] == (
            f"arn:aws:iam::{acct}:role/{s.project}-{env}-github-deploy"
        )


def test_training_pipeline_naming_agrees_with_terraform(applied: AppliedInfra) -> None:
    naming = pytest.importorskip("training_pipeline.config.naming")
    for env in ENVIRONMENTS:
        out = applied.outputs[env]
        first = naming.environment_names(applied.settings, env)
        assert first.model_package_group == out["model_package_group_name"]
        assert first.pipeline_name == out["pipeline_name"]
        for model in applied.settings.model_names:
            names = naming.environment_names(applied.settings, env, model)
            assert names.data_bucket == out["data_bucket"]
            assert names.artifacts_bucket == out["artifacts_bucket"]
            assert names.kms_alias == out["kms_alias"]
            assert names.model_package_group == out["model_package_groups"][model]
            assert names.pipeline_name == out["pipeline_names"][model]
            assert names.training_prefix == out["training_data_prefixes"][model]
            assert names.execution_role_arn == out["sagemaker_execution_role_arn"]
            assert names.deploy_role_arn == out["github_deploy_role_arn"]
            if applied.settings.environment(env).endpoint != "off":
                assert names.endpoint_name == out["endpoint_names"][model]


@pytest.mark.parametrize("account", ACCOUNTS)
def test_ecr_repositories_only_in_operations(applied: AppliedInfra, account: str) -> None:
    s = applied.settings
    ecr = applied.client(account, "ecr")
    repositories = {r["repositoryName"]: r for r in ecr.describe_repositories()["repositories"]}
    if account != "operations":
        assert repositories == {}
        return
    assert set(repositories) == {f"{s.project}-training", f"{s.project}-inference"}
    env_roots = {f"arn:aws:iam::{s.accounts[e]}:root" for e in ENVIRONMENTS}
    for name, repository in repositories.items():
        assert repository["imageTagMutability"] == "IMMUTABLE"
        assert repository["imageScanningConfiguration"]["scanOnPush"] is True
        assert repository["encryptionConfiguration"]["encryptionType"] == "KMS"
        policy = json.loads(ecr.get_repository_policy(repositoryName=name)["policyText"])
        principals = set()
        for statement in policy["Statement"]:
            assert statement["Effect"] == "Allow"
            principal = statement["Principal"]
            assert principal != "*"
            if "AWS" in principal:
                principals |= set(_as_list(principal["AWS"]))
            else:
                assert principal == {"Service": "sagemaker.amazonaws.com"}
                assert set(
                    _as_list(statement["Condition"]["StringEquals"]["aws:SourceAccount"])
                ) == {s.accounts[e] for e in ENVIRONMENTS}
            assert not any(a.endswith("*") for a in _as_list(statement["Action"]))
        assert principals == env_roots
        assert ecr.get_lifecycle_policy(repositoryName=name)["lifecyclePolicyText"]


@pytest.mark.parametrize("account", ACCOUNTS)
def test_buckets_only_in_their_account(applied: AppliedInfra, account: str) -> None:
    s = applied.settings
    s3 = applied.client(account, "s3")
    buckets = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    acct = s.accounts[account]
    if account == "operations":
        expected = {f"{s.project}-tfstate-{acct}"}
    else:
        expected = {f"{s.project}-{account}-data-{acct}", f"{s.project}-{account}-artifacts-{acct}"}
    assert buckets == expected
    kms = applied.client(account, "kms")
    for bucket in buckets:
        assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
        rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"][
            "Rules"
        ][0]
        default = rule["ApplyServerSideEncryptionByDefault"]
        assert default["SSEAlgorithm"] == "aws:kms"
        assert kms.describe_key(KeyId=default["KMSMasterKeyID"])["KeyMetadata"]["KeyManager"] == (
            "CUSTOMER"
        )
        block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        assert all(block.values()) and len(block) == 4
        assert s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]


def test_state_of_every_root_is_in_the_operations_state_bucket(applied: AppliedInfra) -> None:
    s = applied.settings
    s3 = applied.client("operations", "s3")
    bucket = f"{s.project}-tfstate-{s.accounts['operations']}"
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}
    assert keys == {
        "operations/terraform.tfstate",
        *(f"main/{env}/terraform.tfstate" for env in ENVIRONMENTS),
    }


@pytest.mark.parametrize("account", ACCOUNTS)
def test_kms_aliases_only_in_their_account(applied: AppliedInfra, account: str) -> None:
    p = applied.settings.project
    kms = applied.client(account, "kms")
    aliases = {
        a["AliasName"]
        for a in kms.list_aliases()["Aliases"]
        if not a["AliasName"].startswith("alias/aws/")
    }
    expected = (
        {f"alias/{p}-tfstate", f"alias/{p}-ecr"}
        if account == "operations"
        else {f"alias/{p}-{account}"}
    )
    assert aliases == expected
    for alias in aliases:
        key = kms.describe_key(KeyId=alias)["KeyMetadata"]
        assert kms.get_key_rotation_status(KeyId=key["KeyId"])["KeyRotationEnabled"] is True


@pytest.mark.parametrize("account", ACCOUNTS)
def test_model_package_groups_only_in_their_account(applied: AppliedInfra, account: str) -> None:
    sagemaker = applied.client(account, "sagemaker")
    groups = {
        g["ModelPackageGroupName"]
        for g in sagemaker.list_model_package_groups()["ModelPackageGroupSummaryList"]
    }
    s = applied.settings
    expected = set() if account == "operations" else set(model_prefixes(s, account).values())
    assert groups == expected


def test_each_model_has_its_group_in_each_environment(applied: AppliedInfra) -> None:
    """The shipped file's two models, each with its own registry in every environment: the
    first under the environment's historic name, the other under its own."""
    s = applied.settings
    assert s.model_names == ("cancer", "diabetes")
    for env in ENVIRONMENTS:
        sagemaker = applied.client(env, "sagemaker")
        for group in (f"{s.project}-{env}", f"{s.project}-{env}-diabetes"):
            described = sagemaker.describe_model_package_group(ModelPackageGroupName=group)
            assert described["ModelPackageGroupArn"] == (
                f"arn:aws:sagemaker:{s.region}:{s.accounts[env]}:model-package-group/{group}"
            )
        assert applied.outputs[env]["model_package_group_arns"] == {
            model: f"arn:aws:sagemaker:{s.region}:{s.accounts[env]}:model-package-group/{group}"
            for model, group in model_prefixes(s, env).items()
        }


@pytest.mark.parametrize("account", ACCOUNTS)
def test_roles_only_in_their_account(applied: AppliedInfra, account: str) -> None:
    s = applied.settings
    env = None if account == "operations" else s.environment(account)
    schedule, endpoint = (env.retrain_schedule, env.endpoint) if env else ("off", "off")
    prefixes = {} if env is None else model_prefixes(s, account)
    approval = env.approval if env else "auto"
    batch = env.batch_schedule if env else "off"
    drift = env.drift_check if env else "off"
    expected = expected_roles(
        s.project, account, schedule, endpoint, prefixes, approval, batch, drift
    )
    assert set(project_roles(applied, account)) == expected


@pytest.mark.parametrize("account", ACCOUNTS)
def test_one_github_oidc_provider_per_account(applied: AppliedInfra, account: str) -> None:
    iam = applied.client(account, "iam")
    arns = [p["Arn"] for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]]
    acct = applied.settings.accounts[account]
    assert arns == [f"arn:aws:iam::{acct}:oidc-provider/token.actions.githubusercontent.com"]
    provider = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arns[0])
    assert provider["ClientIDList"] == ["sts.amazonaws.com"]


@pytest.mark.parametrize("account", ACCOUNTS)
def test_retrain_schedule_follows_profiles(applied: AppliedInfra, account: str) -> None:
    s = applied.settings
    scheduler = applied.client(account, "scheduler")
    schedules = {x["Name"]: x for x in scheduler.list_schedules()["Schedules"]}
    expression = "off" if account == "operations" else s.environment(account).retrain_schedule
    # The batch and drift-check schedules have tests of their own.
    schedules = {
        name: x for name, x in schedules.items() if not name.endswith(("-batch", "-drift-check"))
    }
    if expression == "off":
        assert schedules == {}
        if account != "operations":
            assert set(applied.outputs[account]["retrain_schedule_names"].values()) == {None}
        return
    # One schedule per model, each starting that model's pipeline with a role of its own.
    prefixes = model_prefixes(s, account)
    assert set(schedules) == {f"{prefix}-retrain" for prefix in prefixes.values()}
    acct = s.accounts[account]
    for model, prefix in prefixes.items():
        schedule = scheduler.get_schedule(Name=f"{prefix}-retrain")
        assert schedule["State"] == "ENABLED"
        assert schedule["ScheduleExpression"] == expression
        assert schedule["Target"]["Arn"] == (
            f"arn:aws:sagemaker:{s.region}:{acct}:pipeline/{prefix}-training"
        )
        assert schedule["Target"]["RoleArn"] == f"arn:aws:iam::{acct}:role/{prefix}-scheduler"
        assert applied.outputs[account]["retrain_schedule_names"][model] == f"{prefix}-retrain"
    assert applied.outputs[account]["retrain_schedule_name"] == f"{s.project}-{account}-retrain"


@pytest.mark.parametrize("account", ACCOUNTS)
def test_batch_schedule_follows_profiles(applied: AppliedInfra, account: str) -> None:
    s = applied.settings
    scheduler = applied.client(account, "scheduler")
    names = {x["Name"] for x in scheduler.list_schedules()["Schedules"]}
    batch = {name for name in names if name.endswith("-batch")}
    expression = "off" if account == "operations" else s.environment(account).batch_schedule
    if account != "operations":
        prefixes = model_prefixes(s, account)
        assert applied.outputs[account]["batch_pipeline_names"] == {
            model: f"{prefix}-batch" for model, prefix in prefixes.items()
        }
    if expression == "off":
        assert batch == set()
        return
    # prod scores its batch/ data every day: each model's batch pipeline, its own role.
    assert set(batch) == {f"{prefix}-batch" for prefix in prefixes.values()}
    acct = s.accounts[account]
    for model, prefix in prefixes.items():
        schedule = scheduler.get_schedule(Name=f"{prefix}-batch")
        assert schedule["ScheduleExpression"] == expression
        assert schedule["Target"]["Arn"] == (
            f"arn:aws:sagemaker:{s.region}:{acct}:pipeline/{prefix}-batch"
        )
        assert schedule["Target"]["RoleArn"] == (
            f"arn:aws:iam::{acct}:role/{prefix}-batch-scheduler"
        )
        assert applied.outputs[account]["batch_schedule_names"][model] == f"{prefix}-batch"


@pytest.mark.parametrize("account", ACCOUNTS)
def test_drift_checks_and_their_alarms_follow_profiles(applied: AppliedInfra, account: str) -> None:
    s = applied.settings
    names = {x["Name"] for x in applied.client(account, "scheduler").list_schedules()["Schedules"]}
    checks = {name for name in names if name.endswith("-drift-check")}
    alarms = applied.client(account, "cloudwatch").describe_alarms()["MetricAlarms"]
    drift_alarms = {a["AlarmName"]: a for a in alarms if a["AlarmName"].endswith("-drift")}
    expression = "off" if account == "operations" else s.environment(account).drift_check
    if account != "operations":
        prefixes = model_prefixes(s, account)
        assert applied.outputs[account]["monitor_pipeline_names"] == {
            model: f"{prefix}-monitor" for model, prefix in prefixes.items()
        }
    if expression == "off":
        assert checks == set() and drift_alarms == {}
        return
    # staging and prod check their captured traffic every hour: each model its monitoring
    # pipeline, with a role that may start only it, and an alarm on any drifted column.
    assert checks == {f"{prefix}-drift-check" for prefix in prefixes.values()}
    assert set(drift_alarms) == {f"{prefix}-drift" for prefix in prefixes.values()}
    acct = s.accounts[account]
    for model, prefix in prefixes.items():
        schedule = applied.client(account, "scheduler").get_schedule(Name=f"{prefix}-drift-check")
        assert schedule["ScheduleExpression"] == expression
        assert schedule["Target"]["Arn"] == (
            f"arn:aws:sagemaker:{s.region}:{acct}:pipeline/{prefix}-monitor"
        )
        alarm = drift_alarms[f"{prefix}-drift"]
        assert (alarm["Namespace"], alarm["MetricName"]) == ("MLOps/Drift", "DriftedColumns")
        assert alarm["Dimensions"] == [{"Name": "ModelPackageGroup", "Value": prefix}]
        assert (alarm["ComparisonOperator"], alarm["Threshold"]) == (
            "GreaterThanOrEqualToThreshold",
            1.0,
        )
        assert applied.outputs[account]["drift_alarm_names"][model] == f"{prefix}-drift"


@pytest.mark.parametrize("account", ACCOUNTS)
def test_deploy_on_approval_follows_profiles(applied: AppliedInfra, account: str) -> None:
    s = applied.settings
    endpoint = "off" if account == "operations" else s.environment(account).endpoint
    rules = applied.client(account, "events").list_rules()["Rules"]
    functions = applied.client(account, "lambda").list_functions()["Functions"]
    if endpoint == "off":
        assert rules == [] and functions == []
        if account != "operations":
            assert applied.outputs[account].get("endpoint_name") is None
            assert set(applied.outputs[account]["endpoint_names"].values()) == {None}
        return
    # A rule, a function and an endpoint per model; the first model's keep the historic names.
    prefixes = model_prefixes(s, account)
    names = {f"{prefix}-deploy-on-approval" for prefix in prefixes.values()}
    # Each function has two rules: its group's decisions, its endpoint's state changes.
    assert {r["Name"] for r in rules} == names | {f"{name}-outcome" for name in names}
    assert {f["FunctionName"] for f in functions} == names
    assert applied.outputs[account]["endpoint_name"] == f"{s.project}-{account}"
    assert applied.outputs[account]["deploy_function_name"] == (
        f"{s.project}-{account}-deploy-on-approval"
    )
    assert applied.outputs[account]["endpoint_names"] == prefixes
    for model, group in prefixes.items():
        rule = next(r for r in rules if r["Name"] == f"{group}-deploy-on-approval")
        others = [other for other in prefixes.values() if other != group]
        _check_deploy_on_approval(applied, account, group, rule, others)
        assert applied.outputs[account]["deploy_function_names"][model] == rule["Name"]


def _check_deploy_on_approval(
    applied: AppliedInfra, account: str, group: str, rule: dict, other_groups: list[str]
) -> None:
    """One model's rule and function: the group's approvals reach it, nothing else."""
    s = applied.settings
    endpoint = s.environment(account).endpoint
    name = rule["Name"]
    # The rule as the embedded AWS holds it, matched by moto's EventBridge pattern engine:
    # only approvals and rejections in this group reach the function.
    from moto.events.models import EventPattern

    pattern = EventPattern.load(rule["EventPattern"])

    def package_event(group_name: str, status: str, detail_type: str = "") -> dict:
        return {
            "source": "aws.sagemaker",
            "detail-type": detail_type or "SageMaker Model Package State Change",
            "detail": {"ModelPackageGroupName": group_name, "ModelApprovalStatus": status},
        }

    for status in ("Approved", "Rejected"):
        assert pattern.matches_event(package_event(group, status)), status
    assert not pattern.matches_event(package_event(group, "PendingManualApproval"))
    assert not pattern.matches_event(package_event(f"{s.project}-dev", "Approved"))
    for other in other_groups:  # another model of the same environment
        assert not pattern.matches_event(package_event(other, "Approved"))
    assert not pattern.matches_event(
        package_event(group, "Approved", "SageMaker Endpoint State Change")
    )

    events = applied.client(account, "events")
    [target] = events.list_targets_by_rule(Rule=name)["Targets"]
    lam = applied.client(account, "lambda")
    function = lam.get_function(FunctionName=name)
    config = function["Configuration"]
    assert target["Arn"] == config["FunctionArn"]
    assert config["Handler"] == "lambda_function.handler"
    acct = s.accounts[account]
    invoke = lam.get_function_event_invoke_config(FunctionName=name)
    failures = invoke["DestinationConfig"]["OnFailure"]["Destination"]
    assert failures.endswith(f":{acct}:{name}-dead-letters")
    assert config["Environment"]["Variables"] == {
        "ENDPOINT_NAME": group,
        "MODEL_PACKAGE_GROUP": group,
        "INSTANCE_TYPE": endpoint,
        "EXECUTION_ROLE_ARN": f"arn:aws:iam::{acct}:role/{s.project}-{account}-endpoint",
        "KMS_KEY_ARN": config["KMSKeyArn"],
        # profiles.conf `capture`, into the environment's own bucket.
        "CAPTURE_PERCENT": str(s.environment(account).capture),
        "CAPTURE_DESTINATION": f"s3://{s.project}-{account}-artifacts-{acct}/datacapture/{group}/",
        "ROLLBACK_ALARMS": f"{group}-5xx-errors,{group}-p99-latency",
        "INSTANCE_COUNT": str(s.environment(account).endpoint_instances),
    }
    # The rollback alarms, read back: the endpoint's variant's 5xx errors and p99 latency.
    cloudwatch = applied.client(account, "cloudwatch")
    alarms = {
        alarm["AlarmName"]: alarm
        for alarm in cloudwatch.describe_alarms(AlarmNamePrefix=f"{group}-")["MetricAlarms"]
    }
    errors, latency = alarms[f"{group}-5xx-errors"], alarms[f"{group}-p99-latency"]
    for alarm in (errors, latency):
        assert alarm["Namespace"] == "AWS/SageMaker"
        assert {d["Name"]: d["Value"] for d in alarm["Dimensions"]} == {
            "EndpointName": group,
            "VariantName": "AllTraffic",
        }
        assert alarm["TreatMissingData"] == "notBreaching"
    assert (errors["MetricName"], errors["Statistic"], errors["Threshold"]) == (
        "Invocation5XXErrors",
        "Sum",
        5,
    )
    assert (latency["MetricName"], latency["ExtendedStatistic"], latency["Threshold"]) == (
        "ModelLatency",
        "p99",
        500_000,  # microseconds
    )
    assert f":{acct}:key/" in config["KMSKeyArn"]
    # The second rule: this endpoint's own state changes (the end of an update), nothing else.
    outcome = events.describe_rule(Name=f"{name}-outcome")
    endpoint_pattern = EventPattern.load(outcome["EventPattern"])

    def endpoint_event(endpoint_name: str, detail_type: str = "SageMaker Endpoint State Change"):
        detail = {"EndpointName": endpoint_name, "EndpointStatus": "IN_SERVICE"}
        return {"source": "aws.sagemaker", "detail-type": detail_type, "detail": detail}

    assert endpoint_pattern.matches_event(endpoint_event(group))
    for other in other_groups:
        assert not endpoint_pattern.matches_event(endpoint_event(other))
    assert not endpoint_pattern.matches_event(endpoint_event(group, "SageMaker Model State Change"))
    [outcome_target] = events.list_targets_by_rule(Rule=f"{name}-outcome")["Targets"]
    assert outcome_target["Arn"] == config["FunctionArn"]
    policy = json.loads(lam.get_policy(FunctionName=name)["Policy"])
    grants = {grant["Condition"]["ArnLike"]["AWS:SourceArn"] for grant in policy["Statement"]}
    assert grants == {rule["Arn"], outcome["Arn"]}
    for grant in policy["Statement"]:
        assert grant["Principal"] == {"Service": "events.amazonaws.com"}


################################################################################
# IAM policies as the embedded AWS holds them
################################################################################


def _as_list(value: Any) -> list[Any]:
    return [value] if isinstance(value, str | dict) else list(value)


def _role_policies(applied: AppliedInfra, account: str) -> dict[str, list[dict[str, Any]]]:
    """Every statement of every policy of the project's roles in ``account``, by role."""
    iam = applied.client(account, "iam")
    found: dict[str, list[dict[str, Any]]] = {}
    for name in project_roles(applied, account):
        attached = iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
        assert attached == [], f"{name}: managed policies attached: {attached}"
        statements = []
        for policy_name in iam.list_role_policies(RoleName=name)["PolicyNames"]:
            document = iam.get_role_policy(RoleName=name, PolicyName=policy_name)["PolicyDocument"]
            document = json.loads(document) if isinstance(document, str) else document
            statements += _as_list(document["Statement"])
        found[name] = statements
    return found


@pytest.mark.parametrize("account", ACCOUNTS)
def test_no_wildcard_action_nor_needless_wildcard_resource(
    applied: AppliedInfra, account: str
) -> None:
    for role, statements in _role_policies(applied, account).items():
        assert statements, f"{role} has no permissions at all"
        for statement in statements:
            assert "NotAction" not in statement and "NotResource" not in statement
            if statement["Effect"] == "Deny":
                # A Deny only takes away (the execution role's where approval is manual): it
                # must still name its actions.
                assert "*" not in _as_list(statement["Action"]), f"{role}: {statement}"
                continue
            assert statement["Effect"] == "Allow", f"{role}: {statement}"
            actions = _as_list(statement["Action"])
            for action in actions:
                assert action != "*" and not action.endswith(":*"), f"{role}: {action}"
                assert "AdministratorAccess" not in action
            if "*" in _as_list(statement["Resource"]):
                assert set(actions) <= UNSCOPABLE_ACTIONS, (
                    f'{role}: Resource "*" for scopable actions {set(actions) - UNSCOPABLE_ACTIONS}'
                )


@pytest.mark.parametrize("account", ACCOUNTS)
def test_kms_key_policies_name_only_their_own_account(applied: AppliedInfra, account: str) -> None:
    kms = applied.client(account, "kms")
    root = f"arn:aws:iam::{applied.settings.accounts[account]}:root"
    for key in kms.list_keys()["Keys"]:
        policy = json.loads(kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"])
        for statement in _as_list(policy["Statement"]):
            assert statement["Principal"] == {"AWS": root}, statement


def test_pass_role_only_to_sagemaker_and_only_the_execution_or_endpoint_role(
    applied: AppliedInfra,
) -> None:
    """The pipeline's roles pass the jobs' execution role (which passes the batch transform role
    to the batch models); the deploy functions pass only the endpoint role, so a served model
    never runs with the jobs' permissions."""
    p = applied.settings.project
    for env in ENVIRONMENTS:
        acct = applied.settings.accounts[env]
        for role, statements in _role_policies(applied, env).items():
            passed = (
                ["endpoint"] if role.endswith("-deploy-on-approval") else ["sagemaker-execution"]
            )
            if role.endswith("-sagemaker-execution"):  # the batch models', the drift check's
                passed += ["batch-transform", "drift-check"]
            for statement in statements:
                if "iam:PassRole" in _as_list(statement["Action"]):
                    assert sorted(_as_list(statement["Resource"])) == sorted(
                        f"arn:aws:iam::{acct}:role/{p}-{env}-{name}" for name in passed
                    ), role
                    assert statement["Condition"] == {
                        "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}
                    }, role


def test_deploy_role_reaches_only_its_own_environment(applied: AppliedInfra) -> None:
    s = applied.settings
    for env in ENVIRONMENTS:
        others = [s.accounts[o] for o in ENVIRONMENTS if o != env]
        other_names = [f"{s.project}-{o}" for o in ENVIRONMENTS if o != env]
        statements = _role_policies(applied, env)[f"{s.project}-{env}-github-deploy"]
        for statement in statements:
            for resource in _as_list(statement["Resource"]):
                assert not any(acct in resource for acct in others), resource
                assert not any(name in resource for name in other_names), resource


SERVING_ACTIONS = {
    "sagemaker:CreateEndpoint",
    "sagemaker:CreateEndpointConfig",
    "sagemaker:CreateModel",
    "sagemaker:UpdateEndpoint",
}


def test_only_the_deploy_on_approval_function_may_change_endpoints(applied: AppliedInfra) -> None:
    """Serving changes when a person approves a model, never from a CI deploy or a job. The
    jobs' role creates models for batch transform jobs, never one under an endpoint model's
    name (test_least_privilege.py evaluates that Deny)."""
    for env in ENVIRONMENTS:
        for role, statements in _role_policies(applied, env).items():
            allowed = [st for st in statements if st.get("Effect", "Allow") == "Allow"]
            actions = {action for st in allowed for action in _as_list(st["Action"])}
            if role.endswith("-deploy-on-approval"):
                assert actions >= SERVING_ACTIONS, role
                continue
            serving = actions & SERVING_ACTIONS
            if role.endswith("-sagemaker-execution"):
                serving -= {"sagemaker:CreateModel"}
            assert not serving, f"{role}: {serving}"


################################################################################
# Idempotence and guard rails
################################################################################


@pytest.mark.parametrize("target", ("backend", *ACCOUNTS))
def test_second_plan_is_empty(applied: AppliedInfra, target: str) -> None:
    result = infra.plan(target, **applied.run_options())
    assert result.changes is False, result.output[-4000:]


def test_an_environment_variable_for_another_workspace_is_refused(applied: AppliedInfra) -> None:
    """Setting environment = dev in the staging workspace fails before touching anything."""
    options = applied.run_options()
    with (
        infra._session("staging", **options, provider_mirror=None, assume_role_name=None) as s,
        pytest.raises(infra.TerraformCommandError) as error,
    ):
        s.run("plan", var={**s.variables, "environment": "dev"}, no_color=infra.IsFlagged)
    assert "The selected workspace does not match var.environment" in error.value.output
