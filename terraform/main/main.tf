data "aws_partition" "current" {}

locals {
  partition = data.aws_partition.current.partition

  data_bucket_name      = "${local.prefix}-data-${local.account_id}"
  artifacts_bucket_name = "${local.prefix}-artifacts-${local.account_id}"

  # One model package group, pipeline, schedule and endpoint per model of profiles.conf, named
  # after the model's prefix: the first model keeps the names the environment had before there
  # were several models ({project}-{env}), every later one adds its name ({project}-{env}-NAME).
  # Its training data lies under training/ (first model) or training-NAME/ in the data bucket.
  # training_pipeline/config/naming.py follows the same rule.
  first_model = module.profiles.model_names[0]
  models = {
    for name, model in module.profiles.models : name => {
      prefix       = model.first ? local.prefix : "${local.prefix}-${name}"
      data_prefix  = model.first ? "training/" : "training-${name}/"
      batch_prefix = model.first ? "batch/" : "batch-${name}/"
    }
  }
  model_package_groups = { for name, model in local.models : name => model.prefix }
  pipeline_names       = { for name, model in local.models : name => "${model.prefix}-training" }
  # Each model's batch pipeline: scores a dataset with the newest Approved version (naming.py).
  batch_pipeline_names = { for name, model in local.models : name => "${model.prefix}-batch" }
  # Each model's monitoring pipeline: its captured traffic against its baseline (naming.py).
  monitor_pipeline_names = { for name, model in local.models : name => "${model.prefix}-monitor" }

  sagemaker_arn_prefix  = "arn:${local.partition}:sagemaker:${local.region}:${local.account_id}"
  pipeline_arns         = { for name, pipeline in local.pipeline_names : name => "${local.sagemaker_arn_prefix}:pipeline/${pipeline}" }
  batch_pipeline_arns   = { for name, pipeline in local.batch_pipeline_names : name => "${local.sagemaker_arn_prefix}:pipeline/${pipeline}" }
  monitor_pipeline_arns = { for name, pipeline in local.monitor_pipeline_names : name => "${local.sagemaker_arn_prefix}:pipeline/${pipeline}" }
  # The drift check's verdicts (steps/monitor.py) and what they lead to (profiles.conf).
  drift_namespace = "MLOps/Drift"
  drift_checked   = local.settings.drift_check != "off"
  drift_retrains  = local.settings.drift_action == "retrain"
  # Where each model's training jobs write its model.tar.gz: what its endpoint serves and its
  # deploy function checks.
  model_artifact_arns = { for name, pipeline in local.pipeline_names : name => "${local.bucket_arns[1]}/pipelines/${pipeline}/*/train/model/*" }
  # Every model's group, and the packages in it.
  model_package_group_resources = flatten([
    for group in values(local.model_package_groups) : [
      "${local.sagemaker_arn_prefix}:model-package-group/${group}",
      "${local.sagemaker_arn_prefix}:model-package/${group}/*",
    ]
  ])
  bucket_arns = [
    "arn:${local.partition}:s3:::${local.data_bucket_name}",
    "arn:${local.partition}:s3:::${local.artifacts_bucket_name}",
  ]
  sagemaker_log_group_arn = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/sagemaker/*"

  # With `approval = manual` only a person may make a model version Approved: through the
  # approver role below, which nothing Terraform creates may assume.
  manual_approval    = local.settings.approval == "manual"
  approver_role_name = "${local.prefix}-model-approver"
  approver_role_arn  = "arn:${local.partition}:iam::${local.account_id}:role/${local.approver_role_name}"
  model_package_arns = [for group in values(local.model_package_groups) : "${local.sagemaker_arn_prefix}:model-package/${group}/*"]

  # Images are built once, in the operations account, and pulled from there by every account.
  ecr_repository_arns = [
    for image in ["training", "inference"] :
    "arn:${local.partition}:ecr:${local.region}:${local.operations_id}:repository/${local.project}-${image}"
  ]
  inference_repository_arn = local.ecr_repository_arns[1]
  # The CloudWatch log groups of this environment's endpoints, /aws/sagemaker/Endpoints/{mp}.
  endpoint_log_group_arn = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/sagemaker/Endpoints/${local.prefix}*"
  # What a job, an endpoint or a batch writing its CloudWatch logs needs.
  log_writer_actions = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"]
  # Batch transform jobs all log to one group.
  transform_log_group_arn = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/sagemaker/TransformJobs"
}

################################################################################
# GitHub OIDC provider (one per account)
################################################################################

module "github_oidc_provider" {
  source = "../modules/github-oidc-provider"

  create = var.create_github_oidc_provider
}

################################################################################
# KMS key: encrypts both buckets, the schedule input and Studio's storage
################################################################################

module "kms" {
  source = "../modules/kms-key"

  alias       = local.prefix
  description = "Encrypts the data and artifacts of ${local.prefix}"
}

################################################################################
# Buckets: data (inputs) and artifacts (pipeline outputs, code, models, cache)
################################################################################

module "data_bucket" {
  source = "../modules/s3-bucket"

  name          = local.data_bucket_name
  kms_key_arn   = module.kms.key_arn
  force_destroy = var.force_destroy_buckets

  deny_insecure_transport = var.deny_insecure_transport
}

module "artifacts_bucket" {
  source = "../modules/s3-bucket"

  name          = local.artifacts_bucket_name
  kms_key_arn   = module.kms.key_arn
  force_destroy = var.force_destroy_buckets

  deny_insecure_transport = var.deny_insecure_transport
}

################################################################################
# SageMaker execution role: used by the pipeline and by every job it starts
################################################################################

data "aws_iam_policy_document" "sagemaker_assume_role" {
  statement {
    sid     = "SageMaker"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["sagemaker.amazonaws.com"]
    }

    # Only SageMaker acting for this account (the confused-deputy guard).
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "sagemaker_execution" {
  name               = "${local.prefix}-sagemaker-execution"
  description        = "SageMaker pipelines of ${local.prefix} (one per model) and their jobs"
  assume_role_policy = data.aws_iam_policy_document.sagemaker_assume_role.json
}

data "aws_iam_policy_document" "sagemaker_execution" {
  #checkov:skip=CKV_AWS_356:The "*" resources are for sagemaker:ListModelPackages and ecr:GetAuthorizationToken, which AWS offers no resource-level permission for; every other Allow names its resources.
  statement {
    sid       = "ListBuckets"
    actions   = ["s3:GetBucketLocation", "s3:ListBucket"]
    resources = local.bucket_arns
  }

  statement {
    sid       = "ReadData"
    actions   = ["s3:GetObject"]
    resources = ["${local.bucket_arns[0]}/*"]
  }

  statement {
    sid = "ReadWriteArtifacts"
    actions = [
      "s3:AbortMultipartUpload",
      "s3:GetObject",
      "s3:PutObject",
    ]
    resources = ["${local.bucket_arns[1]}/*"]
  }

  statement {
    sid = "UseEnvironmentKey"
    actions = [
      "kms:Decrypt",
      "kms:DescribeKey",
      "kms:Encrypt",
      "kms:GenerateDataKey",
      "kms:ReEncryptFrom",
      "kms:ReEncryptTo",
    ]
    resources = [module.kms.key_arn]
  }

  statement {
    sid = "EcrLogin"
    # ecr:GetAuthorizationToken has no resource-level permissions: AWS requires "*".
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid = "PullImagesFromOperations"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:GetDownloadUrlForLayer",
    ]
    resources = local.ecr_repository_arns
  }

  statement {
    sid = "StartJobsOnAllowedInstances"
    actions = [
      "sagemaker:CreateProcessingJob",
      "sagemaker:CreateTrainingJob",
      "sagemaker:CreateTransformJob",
    ]
    resources = [
      "${local.sagemaker_arn_prefix}:processing-job/*",
      "${local.sagemaker_arn_prefix}:training-job/*",
      "${local.sagemaker_arn_prefix}:transform-job/*",
    ]

    # Only the instance type profiles.conf gives this environment: starting the pipeline with
    # another ProcessingInstanceType or TrainingInstanceType fails at the job, not the bill.
    condition {
      test     = "ForAllValues:StringEquals"
      variable = "sagemaker:InstanceTypes"
      values   = [local.settings.instance_type]
    }

    condition {
      test     = "Null"
      variable = "sagemaker:InstanceTypes"
      values   = ["false"]
    }
  }

  statement {
    sid = "RunJobs"
    actions = [
      "sagemaker:AddTags",
      "sagemaker:DescribeProcessingJob",
      "sagemaker:DescribeTrainingJob",
      "sagemaker:DescribeTransformJob",
      "sagemaker:StopProcessingJob",
      "sagemaker:StopTrainingJob",
      "sagemaker:StopTransformJob",
    ]
    resources = [
      "${local.sagemaker_arn_prefix}:processing-job/*",
      "${local.sagemaker_arn_prefix}:training-job/*",
      "${local.sagemaker_arn_prefix}:transform-job/*",
    ]
  }

  # The batch pipeline's CreateBatchModel step: a model of the Approved version for its
  # transform job, which runs as the batch transform role.
  statement {
    sid = "ModelsForBatchJobs"
    actions = [
      "sagemaker:AddTags",
      "sagemaker:CreateModel",
      "sagemaker:DescribeModel",
    ]
    # SageMaker names the models its pipelines create (after the step), so no name is known here.
    resources = ["${local.sagemaker_arn_prefix}:model/*"]
  }

  # The deploy function serves an Approved version through a model named {prefix}-v<N>-<hash>,
  # reused when it exists: the jobs' role must never make one.
  statement {
    sid       = "NeverMakeAnEndpointsModel"
    effect    = "Deny"
    actions   = ["sagemaker:CreateModel"]
    resources = [for group in values(local.model_package_groups) : "${local.sagemaker_arn_prefix}:model/${group}-v*"]
  }

  statement {
    sid = "RegisterInOwnGroup"
    actions = [
      "sagemaker:AddTags",
      "sagemaker:CreateModelPackage",
      "sagemaker:DescribeModelPackage",
      "sagemaker:DescribeModelPackageGroup",
    ]
    resources = local.model_package_group_resources
  }

  # The pipeline registers what passed its gate as PendingManualApproval in a manual
  # environment; it can never register or turn a version Approved there itself.
  dynamic "statement" {
    for_each = local.manual_approval ? [1] : []

    content {
      sid       = "NeverApproveInAManualEnvironment"
      effect    = "Deny"
      actions   = ["sagemaker:CreateModelPackage", "sagemaker:UpdateModelPackage"]
      resources = local.model_package_group_resources

      condition {
        test     = "StringEquals"
        variable = "sagemaker:ModelApprovalStatus"
        values   = ["Approved"]
      }
    }
  }

  statement {
    sid = "FindChampion"
    # sagemaker:ListModelPackages has no resource-level permissions: AWS requires "*". It only
    # lists; reading a package's details needs DescribeModelPackage, scoped above.
    actions   = ["sagemaker:ListModelPackages"]
    resources = ["*"]
  }

  statement {
    # Its own to the jobs; the batch transform role to the batch pipelines' models; the drift
    # check's role to the monitoring pipelines' job.
    sid       = "PassOwnRoleToJobs"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.sagemaker_execution.arn, aws_iam_role.batch_transform.arn, aws_iam_role.drift_check.arn]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["sagemaker.amazonaws.com"]
    }
  }

  statement {
    sid     = "JobLogs"
    actions = local.log_writer_actions
    resources = [
      local.sagemaker_log_group_arn,
      "${local.sagemaker_log_group_arn}:log-stream:*",
    ]
  }
}

resource "aws_iam_role_policy" "sagemaker_execution" {
  name   = "pipeline-and-jobs"
  role   = aws_iam_role.sagemaker_execution.id
  policy = data.aws_iam_policy_document.sagemaker_execution.json
}

################################################################################
# Model registry: this environment's own model package group, one per model
################################################################################

resource "aws_sagemaker_model_package_group" "this" {
  for_each = local.models

  model_package_group_name        = each.value.prefix
  model_package_group_description = "Models trained and evaluated in ${local.environment} on ${local.environment}'s data"
}

# "cancer" is the first model of the shipped profiles.conf (moved blocks take no expressions).
# These blocks move estates applied before profiles.conf had models, which held one group, one
# schedule and one deploy function per environment, to the first model's keys: their names are
# the first model's, so nothing is replaced. If your first model has another name and you
# applied before models existed, put its name here before the first apply.
moved {
  from = aws_sagemaker_model_package_group.this
  to   = aws_sagemaker_model_package_group.this["cancer"]
}

moved {
  from = aws_sagemaker_model_package_group_policy.this[0]
  to   = aws_sagemaker_model_package_group_policy.this["cancer"]
}

moved {
  from = module.retrain_schedule
  to   = module.retrain_schedule["cancer"]
}

moved {
  from = module.deploy_on_approval
  to   = module.deploy_on_approval["cancer"]
}

data "aws_iam_policy_document" "model_package_group" {
  for_each = local.models

  statement {
    sid = "OperationsMayRead"
    actions = [
      "sagemaker:DescribeModelPackage",
      "sagemaker:DescribeModelPackageGroup",
      "sagemaker:ListModelPackages",
    ]
    resources = [
      aws_sagemaker_model_package_group.this[each.key].arn,
      "${local.sagemaker_arn_prefix}:model-package/${each.value.prefix}/*",
    ]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.operations_id}:root"]
    }
  }

  # In a manual environment, nobody but the approver role makes a version Approved, whatever
  # their own policies allow (an explicit Deny in a resource policy binds the account's own
  # principals too, administrators included, short of their changing this policy).
  dynamic "statement" {
    for_each = local.manual_approval ? [1] : []

    content {
      sid       = "OnlyTheApproverApproves"
      effect    = "Deny"
      actions   = ["sagemaker:CreateModelPackage", "sagemaker:UpdateModelPackage"]
      resources = ["${local.sagemaker_arn_prefix}:model-package/${each.value.prefix}/*"]

      principals {
        type        = "AWS"
        identifiers = ["*"]
      }

      condition {
        test     = "StringEquals"
        variable = "sagemaker:ModelApprovalStatus"
        values   = ["Approved"]
      }

      condition {
        test     = "ArnNotEquals"
        variable = "aws:PrincipalArn"
        values   = [local.approver_role_arn]
      }
    }
  }
}

resource "aws_sagemaker_model_package_group_policy" "this" {
  for_each = { for name, model in local.models : name => model if var.create_model_package_group_policy }

  model_package_group_name = aws_sagemaker_model_package_group.this[each.key].model_package_group_name
  resource_policy          = data.aws_iam_policy_document.model_package_group[each.key].json
}

################################################################################
# Model approver role (manual environments): the human path to Approved
################################################################################

data "aws_iam_policy_document" "model_approver_trust" {
  statement {
    sid     = "PeopleOfThisAccountWhoAreGrantedIt"
    actions = ["sts:AssumeRole"]

    # The account, not anyone in it: only identities whose own policies allow sts:AssumeRole
    # on this role may assume it (none of the roles this template creates is allowed to, but an
    # administrator allowed everything is); model_approver_principal_arns narrows it to your
    # approvers whatever other policies allow.
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }

    dynamic "condition" {
      for_each = length(var.model_approver_principal_arns) > 0 ? [1] : []

      content {
        test     = "ArnLike"
        variable = "aws:PrincipalArn"
        values   = var.model_approver_principal_arns
      }
    }
  }
}

resource "aws_iam_role" "model_approver" {
  count = local.manual_approval ? 1 : 0

  name                 = local.approver_role_name
  description          = "Approves or rejects the model versions of ${local.prefix}: the only identity that may make one Approved"
  assume_role_policy   = data.aws_iam_policy_document.model_approver_trust.json
  max_session_duration = 3600
}

# Reading this environment's registry: what the deploy role and the approver role share.
data "aws_iam_policy_document" "read_registry" {
  #checkov:skip=CKV_AWS_356:The one "*" resource is for sagemaker:ListModelPackages, which AWS offers no resource-level permission for; the other statement names its resources.
  statement {
    sid = "ReadThisModelPackageGroup"
    actions = [
      "sagemaker:DescribeModelPackage",
      "sagemaker:DescribeModelPackageGroup",
    ]
    resources = local.model_package_group_resources
  }

  statement {
    sid = "ListModelPackages"
    # sagemaker:ListModelPackages has no resource-level permissions: AWS requires "*".
    actions   = ["sagemaker:ListModelPackages"]
    resources = ["*"]
  }
}

data "aws_iam_policy_document" "model_approver" {
  #checkov:skip=CKV_AWS_356:The one "*" resource is for sagemaker:ListModelPackages (read_registry), which AWS offers no resource-level permission for; every other statement names its resources.
  source_policy_documents = [data.aws_iam_policy_document.read_registry.json]

  statement {
    sid       = "DecideOnThisEnvironmentsVersions"
    actions   = ["sagemaker:UpdateModelPackage"]
    resources = local.model_package_arns

    condition {
      test     = "StringEquals"
      variable = "sagemaker:ModelApprovalStatus"
      values   = ["Approved", "Rejected"]
    }
  }
}

resource "aws_iam_role_policy" "model_approver" {
  count = local.manual_approval ? 1 : 0

  name   = "approve-or-reject"
  role   = aws_iam_role.model_approver[0].id
  policy = data.aws_iam_policy_document.model_approver.json
}

################################################################################
# GitHub deploy role: what a deploy job of this environment may do, and nothing more
################################################################################

data "aws_iam_policy_document" "github_deploy" {
  # Reading the registry, never approving: that is a person's decision, made as the approver
  # role where approval is manual.
  source_policy_documents = [data.aws_iam_policy_document.read_registry.json]

  statement {
    sid = "UpsertAndStartThisPipeline"
    actions = [
      "sagemaker:AddTags",
      "sagemaker:CreatePipeline",
      "sagemaker:DescribePipeline",
      "sagemaker:DescribePipelineDefinitionForExecution",
      "sagemaker:DescribePipelineExecution",
      "sagemaker:ListPipelineExecutionSteps",
      "sagemaker:ListPipelineExecutions",
      "sagemaker:ListPipelineParametersForExecution",
      "sagemaker:ListTags",
      "sagemaker:StartPipelineExecution",
      "sagemaker:StopPipelineExecution",
      "sagemaker:UpdatePipeline",
    ]
    # Every model's pipelines (training, batch, monitoring) of this environment, and their
    # executions.
    resources = flatten([
      for arn in concat(values(local.pipeline_arns), values(local.batch_pipeline_arns), values(local.monitor_pipeline_arns)) : [arn, "${arn}/*"]
    ])
  }

  statement {
    sid = "ReadJobsOfThePipeline"
    actions = [
      "sagemaker:DescribeProcessingJob",
      "sagemaker:DescribeTrainingJob",
      "sagemaker:DescribeTransformJob",
    ]
    resources = [
      "${local.sagemaker_arn_prefix}:processing-job/*",
      "${local.sagemaker_arn_prefix}:training-job/*",
      "${local.sagemaker_arn_prefix}:transform-job/*",
    ]
  }

  statement {
    sid       = "PassExecutionRoleToSageMaker"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.sagemaker_execution.arn]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["sagemaker.amazonaws.com"]
    }
  }

  statement {
    sid       = "ListArtifacts"
    actions   = ["s3:GetBucketLocation", "s3:ListBucket"]
    resources = [local.bucket_arns[1]]
  }

  statement {
    # Whether training data is there at all (the CLI's early "no training data" error): the
    # keys under each model's training/ or training-NAME/, never their content.
    sid       = "SeeThatTrainingDataExists"
    actions   = ["s3:ListBucket"]
    resources = [local.bucket_arns[0]]

    condition {
      test     = "StringEquals"
      variable = "s3:prefix"
      values   = [for model in values(local.models) : model.data_prefix]
    }
  }

  statement {
    # Exactly where the CLI writes: the step scripts (content-addressed), the execution
    # records, and a CSV passed with --data.
    sid = "UploadCodeRecordsAndGivenData"
    actions = [
      "s3:AbortMultipartUpload",
      "s3:PutObject",
    ]
    resources = [
      "${local.bucket_arns[1]}/code/*",
      "${local.bucket_arns[1]}/executions/*",
      "${local.bucket_arns[0]}/uploads/*",
    ]
  }

  statement {
    # What the CLI reads back: records, and the evaluation each execution wrote (its report,
    # metrics and plots). Not the splits that PrepareData publishes, nor any training data.
    sid     = "ReadRecordsAndEvaluations"
    actions = ["s3:GetObject"]
    resources = concat(
      ["${local.bucket_arns[1]}/executions/*"],
      [for pipeline in values(local.pipeline_names) : "${local.bucket_arns[1]}/pipelines/${pipeline}/*/evaluate/*"],
    )
  }

  statement {
    sid = "UseEnvironmentKey"
    actions = [
      "kms:Decrypt",
      "kms:DescribeKey",
      "kms:Encrypt",
      "kms:GenerateDataKey",
    ]
    resources = [module.kms.key_arn]
  }

  statement {
    # The job summary links to the environment's Studio domain, when there is one.
    sid       = "FindStudioDomain"
    actions   = ["sagemaker:ListDomains"]
    resources = ["*"] # ListDomains has no resource-level permissions: AWS requires "*".
  }

  statement {
    sid = "CheckImageOfCommitExists"
    actions = [
      "ecr:BatchGetImage",
      "ecr:DescribeImages",
    ]
    resources = local.ecr_repository_arns
  }

  statement {
    sid = "ReadPipelineLogs"
    actions = [
      "logs:DescribeLogStreams",
      "logs:FilterLogEvents",
      "logs:GetLogEvents",
    ]
    resources = [
      local.sagemaker_log_group_arn,
      "${local.sagemaker_log_group_arn}:log-stream:*",
    ]
  }
}

module "github_deploy_role" {
  source = "../modules/github-oidc-role"

  name              = "${local.prefix}-github-deploy"
  description       = "GitHub Actions deploys of ${local.github_repository} to ${local.environment}"
  oidc_provider_arn = module.github_oidc_provider.arn
  oidc_issuer       = module.github_oidc_provider.issuer
  github_repository = local.github_repository
  github_ids        = module.profiles.github_ids
  # The deploy job of .github/workflows/deploy.yml, as the main branch has it, running in this
  # environment's GitHub Environment: a workflow changed on any other ref gets no role, and
  # deploy.yml only asks for credentials once the commit is known to be on main.
  subjects         = ["environment:${local.environment}"]
  job_workflow_ref = "${local.github_repository}/.github/workflows/deploy.yml@refs/heads/${module.profiles.main_branch}"
  inline_policies  = { deploy = data.aws_iam_policy_document.github_deploy.json }
  # A deploy job waits for its pipeline execution (on_tag.yml allows 180 minutes).
  max_session_duration = 10800
}

################################################################################
# Retraining schedule, per model ([<env>] retrain_schedule of profiles.conf; `off` creates none),
# each starting its pipeline with that model's own parameters (the gate's are in its metric units)
################################################################################

module "retrain_schedule" {
  source   = "../modules/pipeline-schedule"
  for_each = local.models

  create                       = local.settings.retrain_schedule != "off"
  name                         = "${each.value.prefix}-retrain"
  role_name                    = "${each.value.prefix}-scheduler"
  schedule_expression          = local.settings.retrain_schedule
  schedule_expression_timezone = var.retrain_schedule_timezone
  pipeline_arn                 = local.pipeline_arns[each.key]
  pipeline_parameters          = lookup(var.retrain_pipeline_parameters, each.key, {})
  kms_key_arn                  = module.kms.key_arn
}

# Each model's batch pipeline, with its defaults: the model's batch/ data (naming.py), scored
# by the newest Approved version.
module "batch_schedule" {
  source   = "../modules/pipeline-schedule"
  for_each = local.models

  create                       = local.settings.batch_schedule != "off"
  name                         = "${each.value.prefix}-batch"
  role_name                    = "${each.value.prefix}-batch-scheduler"
  schedule_expression          = local.settings.batch_schedule
  schedule_expression_timezone = var.retrain_schedule_timezone
  pipeline_arn                 = local.batch_pipeline_arns[each.key]
  pipeline_parameters          = {}
  kms_key_arn                  = module.kms.key_arn
}

# The drift check's job (the monitoring pipelines): reads the captured traffic and the served
# versions' baselines, writes its report, puts its verdict in MLOps/Drift, and with
# drift_action = retrain starts this environment's training pipelines. Not the jobs' role, so
# no training job (which runs model code) can raise a drift alarm or start a pipeline.
resource "aws_iam_role" "drift_check" {
  name               = "${local.prefix}-drift-check"
  description        = "The drift checks of ${local.prefix}: captured traffic against the served versions' baselines"
  assume_role_policy = data.aws_iam_policy_document.sagemaker_assume_role.json
}

data "aws_iam_policy_document" "drift_check" {
  #checkov:skip=CKV_AWS_356:The "*" resources are for sagemaker:ListModelPackages, ecr:GetAuthorizationToken and cloudwatch:PutMetricData (held to one namespace by its condition), which AWS offers no resource-level permission for; every other statement names its resources.
  statement {
    sid       = "ListCapturedTraffic"
    actions   = ["s3:ListBucket"]
    resources = [local.bucket_arns[1]]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["datacapture/*"]
    }
  }

  statement {
    # The captured traffic, the served versions' baselines and the job's code.
    sid     = "ReadTrafficBaselinesAndCode"
    actions = ["s3:GetObject"]
    resources = concat(
      ["${local.bucket_arns[1]}/datacapture/*", "${local.bucket_arns[1]}/code/*"],
      [for pipeline in values(local.pipeline_names) : "${local.bucket_arns[1]}/pipelines/${pipeline}/*/baseline/*"],
    )
  }

  statement {
    sid       = "WriteItsReports"
    actions   = ["s3:PutObject"]
    resources = [for pipeline in values(local.monitor_pipeline_names) : "${local.bucket_arns[1]}/pipelines/${pipeline}/*"]
  }

  statement {
    sid       = "UseEnvironmentKey"
    actions   = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"]
    resources = [module.kms.key_arn]
  }

  statement {
    sid       = "FindTheServedVersion"
    actions   = ["sagemaker:DescribeModelPackage"]
    resources = local.model_package_arns
  }

  statement {
    sid = "ListVersions"
    # sagemaker:ListModelPackages has no resource-level permissions: AWS requires "*".
    actions   = ["sagemaker:ListModelPackages"]
    resources = ["*"]
  }

  statement {
    # The verdict, in its own namespace only.
    sid       = "PutDriftMetrics"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = [local.drift_namespace]
    }
  }

  # drift_action = retrain: this environment's own training pipelines, and no other pipeline.
  dynamic "statement" {
    for_each = local.drift_retrains ? [1] : []

    content {
      sid       = "RetrainOnDrift"
      actions   = ["sagemaker:ListPipelineExecutions", "sagemaker:StartPipelineExecution"]
      resources = values(local.pipeline_arns)
    }
  }

  statement {
    sid = "EcrLogin"
    # ecr:GetAuthorizationToken has no resource-level permissions: AWS requires "*".
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid = "PullTheTrainingImage"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:GetDownloadUrlForLayer",
    ]
    resources = [local.ecr_repository_arns[0]]
  }

  statement {
    sid     = "WriteItsLogs"
    actions = local.log_writer_actions
    resources = [
      local.sagemaker_log_group_arn,
      "${local.sagemaker_log_group_arn}:log-stream:*",
    ]
  }
}

resource "aws_iam_role_policy" "drift_check" {
  name   = "check-drift"
  role   = aws_iam_role.drift_check.id
  policy = data.aws_iam_policy_document.drift_check.json
}

# Each model's drift check, on profiles.conf's drift_check schedule, and the alarm on its
# verdict: any drifted column sets it off.
module "drift_check_schedule" {
  source   = "../modules/pipeline-schedule"
  for_each = local.models

  create                       = local.drift_checked
  name                         = "${each.value.prefix}-drift-check"
  role_name                    = "${each.value.prefix}-drift-scheduler"
  schedule_expression          = local.settings.drift_check
  schedule_expression_timezone = var.retrain_schedule_timezone
  pipeline_arn                 = local.monitor_pipeline_arns[each.key]
  pipeline_parameters          = {}
  kms_key_arn                  = module.kms.key_arn
}

resource "aws_cloudwatch_metric_alarm" "drift" {
  # drift_action = off: the check reports and puts its metric, and nobody is alarmed.
  for_each = local.drift_checked && local.settings.drift_action != "off" ? local.models : {}

  alarm_name          = "${each.value.prefix}-drift"
  alarm_description   = "Captured traffic of ${each.value.prefix} drifted from the served version's baseline (see the monitoring pipeline ${local.monitor_pipeline_names[each.key]}'s report)"
  namespace           = local.drift_namespace
  metric_name         = "DriftedColumns"
  dimensions          = { ModelPackageGroup = each.value.prefix }
  statistic           = "Maximum"
  period              = 3600
  evaluation_periods  = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = 1
  # No check, no verdict: silence is not drift.
  treat_missing_data = "notBreaching"
}

################################################################################
# Endpoint role: what the served models' containers may do, and nothing more
################################################################################

# The role of the batch transform jobs' models (the batch pipelines): what the endpoint role
# may do with its models, plus reading the models' batch data and writing predictions/.
resource "aws_iam_role" "batch_transform" {
  name               = "${local.prefix}-batch-transform"
  description        = "The batch transform jobs of ${local.prefix}: read their models and batch data, pull the inference image, write predictions and logs"
  assume_role_policy = data.aws_iam_policy_document.sagemaker_assume_role.json
}

data "aws_iam_policy_document" "batch_transform" {
  #checkov:skip=CKV_AWS_356:The one "*" resource is for ecr:GetAuthorizationToken (run_a_model), which AWS offers no resource-level permission for; every other statement names its resources.
  source_policy_documents = [data.aws_iam_policy_document.run_a_model.json]

  statement {
    sid       = "ListTheBatchData"
    actions   = ["s3:ListBucket"]
    resources = [local.bucket_arns[0]]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = [for model in values(local.models) : "${model.batch_prefix}*"]
    }
  }

  statement {
    # batch/ (first model) or batch-NAME/ of the data bucket: no training data.
    sid       = "ReadTheBatchData"
    actions   = ["s3:GetObject"]
    resources = [for model in values(local.models) : "${local.bucket_arns[0]}/${model.batch_prefix}*"]
  }

  statement {
    sid       = "WritePredictions"
    actions   = ["s3:PutObject"]
    resources = ["${local.bucket_arns[1]}/predictions/*"]
  }

  statement {
    sid     = "WriteItsLogs"
    actions = local.log_writer_actions
    resources = [
      local.transform_log_group_arn,
      "${local.transform_log_group_arn}:log-stream:*",
    ]
  }
}

resource "aws_iam_role_policy" "batch_transform" {
  name   = "score-batches"
  role   = aws_iam_role.batch_transform.id
  policy = data.aws_iam_policy_document.batch_transform.json
}

resource "aws_iam_role" "endpoint" {
  count = local.settings.endpoint != "off" ? 1 : 0

  name               = "${local.prefix}-endpoint"
  description        = "The endpoints of ${local.prefix} (one per model): read their models, pull the inference image, write their logs"
  assume_role_policy = data.aws_iam_policy_document.sagemaker_assume_role.json
}

# What running one of this environment's models takes, on an endpoint or in a batch job.
data "aws_iam_policy_document" "run_a_model" {
  #checkov:skip=CKV_AWS_356:The one "*" resource is for ecr:GetAuthorizationToken, which AWS offers no resource-level permission for; every other statement names its resources.
  statement {
    # The model.tar.gz its models' training jobs wrote: no data, no other output.
    sid       = "ReadTheModelsItServes"
    actions   = ["s3:GetObject"]
    resources = values(local.model_artifact_arns)
  }

  statement {
    # Decrypt its models; encrypt what it writes (captured traffic, predictions).
    sid       = "UseTheEnvironmentKey"
    actions   = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"]
    resources = [module.kms.key_arn]
  }

  statement {
    sid = "EcrLogin"
    # ecr:GetAuthorizationToken has no resource-level permissions: AWS requires "*".
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid = "PullTheInferenceImage"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:GetDownloadUrlForLayer",
    ]
    resources = [local.inference_repository_arn]
  }
}

data "aws_iam_policy_document" "endpoint" {
  #checkov:skip=CKV_AWS_356:The one "*" resource is for ecr:GetAuthorizationToken (run_a_model), which AWS offers no resource-level permission for; every other statement names its resources.
  source_policy_documents = [data.aws_iam_policy_document.run_a_model.json]

  statement {
    # Data capture (profiles.conf `capture`): SageMaker writes the captured requests and answers
    # as this role, under datacapture/ of the artifacts bucket, encrypted with the key.
    sid       = "WriteCapturedTraffic"
    actions   = ["s3:PutObject"]
    resources = ["${local.bucket_arns[1]}/datacapture/*"]
  }

  statement {
    sid     = "WriteItsLogs"
    actions = local.log_writer_actions
    resources = [
      local.endpoint_log_group_arn,
      "${local.endpoint_log_group_arn}:log-stream:*",
    ]
  }
}

resource "aws_iam_role_policy" "endpoint" {
  count = local.settings.endpoint != "off" ? 1 : 0

  name   = "serve-models"
  role   = aws_iam_role.endpoint[0].id
  policy = data.aws_iam_policy_document.endpoint.json
}

################################################################################
# Endpoint per model: each newly Approved version of the model is deployed to it
# ([<env>] endpoint of profiles.conf)
################################################################################

module "deploy_on_approval" {
  source   = "../modules/deploy-on-approval"
  for_each = local.models

  create                   = local.settings.endpoint != "off"
  name                     = "${each.value.prefix}-deploy-on-approval"
  model_package_group_name = each.value.prefix
  endpoint_name            = each.value.prefix
  instance_type            = local.settings.endpoint != "off" ? local.settings.endpoint : "ml.m5.large"
  # The endpoint's own role, not the jobs': a served model cannot train, register or read data.
  execution_role_arn = local.settings.endpoint != "off" ? aws_iam_role.endpoint[0].arn : ""
  kms_key_arn        = module.kms.key_arn
  lambda_zip_path    = var.deploy_lambda_zip
  # profiles.conf `capture`: that share of the requests, with their answers, lands in this
  # environment's own artifacts bucket (python: EnvironmentNames.capture_destination).
  capture_percent     = local.settings.capture
  instance_count      = local.settings.endpoint_instances
  capture_destination = "s3://${local.artifacts_bucket_name}/datacapture/${each.value.prefix}/"
  # The function checks the digest of what it serves.
  model_artifacts_arn = local.model_artifact_arns[each.key]
}

################################################################################
# SageMaker Studio (optional): a VPC-only domain for exploring this environment
################################################################################

resource "aws_sagemaker_domain" "this" {
  count = var.create_studio_domain ? 1 : 0

  domain_name             = local.prefix
  auth_mode               = "IAM"
  vpc_id                  = var.studio_vpc_id
  subnet_ids              = var.studio_subnet_ids
  app_network_access_type = "VpcOnly"
  kms_key_id              = module.kms.key_arn

  default_user_settings {
    execution_role = aws_iam_role.sagemaker_execution.arn
  }
}

resource "aws_sagemaker_user_profile" "this" {
  count = var.create_studio_domain ? 1 : 0

  domain_id         = aws_sagemaker_domain.this[0].id
  user_profile_name = var.studio_user_profile_name
}
