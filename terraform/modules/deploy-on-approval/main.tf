data "aws_caller_identity" "current" {
  count = var.create ? 1 : 0
}

data "aws_partition" "current" {
  count = var.create ? 1 : 0
}

data "aws_region" "current" {
  count = var.create ? 1 : 0
}

locals {
  account_id = try(data.aws_caller_identity.current[0].account_id, "")
  arn_prefix = try("arn:${data.aws_partition.current[0].partition}:sagemaker:${data.aws_region.current[0].name}:${local.account_id}", "")
  log_group  = "/aws/lambda/${var.name}"
  # The alarms SageMaker watches while it shifts traffic to a new version; either one going
  # off rolls the endpoint back to the version it served before.
  alarm_names = {
    errors  = "${var.endpoint_name}-5xx-errors"
    latency = "${var.endpoint_name}-p99-latency"
  }

  # Approvals and rejections in this one group: after either, the function serves the group's
  # newest Approved version (rejecting the served one rolls back). Pending packages never act.
  event_pattern = {
    source        = ["aws.sagemaker"]
    "detail-type" = ["SageMaker Model Package State Change"]
    detail = {
      ModelPackageGroupName = [var.model_package_group_name]
      ModelApprovalStatus   = ["Approved", "Rejected"]
    }
  }
}

################################################################################
# Role of the function
################################################################################

data "aws_iam_policy_document" "assume_role" {
  count = var.create ? 1 : 0

  statement {
    sid     = "LambdaOfThisAccount"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "this" {
  count = var.create ? 1 : 0

  name               = var.name
  description        = "Deploys Approved packages of ${var.model_package_group_name} to endpoint ${var.endpoint_name}"
  assume_role_policy = data.aws_iam_policy_document.assume_role[0].json

  tags = var.tags
}

data "aws_iam_policy_document" "this" {
  #checkov:skip=CKV_AWS_356:The one "*" resource is for sagemaker:ListModelPackages, which AWS offers no resource-level permission for; every other statement names its resources.
  count = var.create ? 1 : 0

  statement {
    sid       = "ReadPackagesOfTheGroup"
    actions   = ["sagemaker:DescribeModelPackage"]
    resources = ["${local.arn_prefix}:model-package/${var.model_package_group_name}/*"]
  }

  statement {
    sid = "FindNewestApproved"
    # sagemaker:ListModelPackages has no resource-level permissions: AWS requires "*". It only
    # lists; reading a package needs DescribeModelPackage, scoped above.
    actions   = ["sagemaker:ListModelPackages"]
    resources = ["*"]
  }

  statement {
    sid = "ModelsAndConfigsOfTheEndpoint"
    actions = [
      "sagemaker:CreateEndpointConfig",
      "sagemaker:CreateModel",
      "sagemaker:DescribeEndpointConfig",
      "sagemaker:DescribeModel",
    ]
    resources = [
      "${local.arn_prefix}:model/${var.endpoint_name}-v*",
      "${local.arn_prefix}:endpoint-config/${var.endpoint_name}-v*",
    ]
  }

  statement {
    sid = "TheEndpoint"
    # SageMaker authorizes CreateEndpoint and UpdateEndpoint on the endpoint config too.
    actions = [
      "sagemaker:CreateEndpoint",
      "sagemaker:DescribeEndpoint",
      "sagemaker:UpdateEndpoint",
    ]
    resources = [
      "${local.arn_prefix}:endpoint/${var.endpoint_name}",
      "${local.arn_prefix}:endpoint-config/${var.endpoint_name}-v*",
    ]
  }

  statement {
    # The config an update is for, as a tag of the endpoint, which the function compares with
    # what the endpoint serves once the update is over (a rollback is reported as a failure).
    sid       = "MarkTheUpdateUnderWay"
    actions   = ["sagemaker:AddTags", "sagemaker:DeleteTags", "sagemaker:ListTags"]
    resources = ["${local.arn_prefix}:endpoint/${var.endpoint_name}"]
  }

  statement {
    # UpdateEndpoint checks the rollback alarms it is given exist.
    sid       = "DescribeTheRollbackAlarms"
    actions   = ["cloudwatch:DescribeAlarms"]
    resources = [for alarm in aws_cloudwatch_metric_alarm.this : alarm.arn]
  }

  statement {
    # The model artifact, read to check its digest against the one the package recorded.
    sid       = "ReadTheModelArtifacts"
    actions   = ["s3:GetObject"]
    resources = [var.model_artifacts_arn]
  }

  statement {
    sid       = "PassTheModelsRole"
    actions   = ["iam:PassRole"]
    resources = [var.execution_role_arn]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["sagemaker.amazonaws.com"]
    }
  }

  statement {
    sid = "EnvironmentKey"
    # The function's environment, and the messages of its on-failure queue.
    actions   = ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }

  statement {
    sid = "GrantsForTheEndpointVolume"
    # SageMaker encrypts the endpoint's volume with a grant made in the caller's name; grants
    # for anything but an AWS resource are refused.
    actions   = ["kms:CreateGrant"]
    resources = [var.kms_key_arn]

    condition {
      test     = "Bool"
      variable = "kms:GrantIsForAWSResource"
      values   = ["true"]
    }
  }

  statement {
    sid       = "DeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dead_letters[0].arn]
  }

  statement {
    sid       = "OwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this[0].arn}:*"]
  }
}

resource "aws_iam_role_policy" "this" {
  count = var.create ? 1 : 0

  name   = "deploy-approved-models"
  role   = aws_iam_role.this[0].id
  policy = data.aws_iam_policy_document.this[0].json
}

################################################################################
# Function
################################################################################

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_158:CloudWatch Logs encrypts at rest by default; the log holds one line per deployment decision (package ARN, endpoint, action), no data.
  count = var.create ? 1 : 0

  name              = local.log_group
  retention_in_days = var.log_retention_days

  tags = var.tags
}

resource "aws_sqs_queue" "dead_letters" {
  count = var.create ? 1 : 0

  name                      = "${var.name}-dead-letters"
  kms_master_key_id         = var.kms_key_arn
  message_retention_seconds = 1209600 # 14 days, SQS's longest: time for someone to look

  tags = var.tags
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_117:The function only calls the SageMaker API; a VPC would add NAT or endpoints and no protection.
  #checkov:skip=CKV_AWS_272:No code signing: whoever runs terraform apply builds the zip on their own machine from the checked-out commit (training_pipeline/infra/lambda_bundle.py, byte-reproducible, two files of inference/), and its SHA-256 is the function's source_code_hash, so the plan shows any change of code; nothing signs it, so a changed checkout is what gets deployed, exactly as for the rest of the Terraform.
  #checkov:skip=CKV_AWS_116:Failed invocations go to an on-failure destination (aws_lambda_function_event_invoke_config below), which records the error with the event; a dead_letter_config would keep the event only.
  #checkov:skip=CKV_AWS_115:Reserving concurrency fails in new accounts (quota 10, of which 10 must stay unreserved); concurrent runs converge on the same newest Approved version and tolerate each other's creations.
  #checkov:skip=CKV_AWS_50:X-Ray needs a `*` resource grant, which the least-privilege tests forbid, for a function that runs once per approval.
  count = var.create ? 1 : 0

  function_name    = var.name
  description      = "Deploys Approved packages of ${var.model_package_group_name} to endpoint ${var.endpoint_name}"
  role             = aws_iam_role.this[0].arn
  runtime          = "python3.12"
  handler          = "lambda_function.handler"
  filename         = "${path.root}/${var.lambda_zip_path}"
  source_code_hash = filebase64sha256("${path.root}/${var.lambda_zip_path}")
  timeout          = 60
  memory_size      = 256
  kms_key_arn      = var.kms_key_arn

  environment {
    variables = merge(
      {
        ENDPOINT_NAME       = var.endpoint_name
        MODEL_PACKAGE_GROUP = var.model_package_group_name
        INSTANCE_TYPE       = var.instance_type
        EXECUTION_ROLE_ARN  = var.execution_role_arn
        KMS_KEY_ARN         = var.kms_key_arn
        ROLLBACK_ALARMS     = join(",", values(local.alarm_names))
        INSTANCE_COUNT      = tostring(var.instance_count)
      },
      var.capture_percent > 0 ? {
        CAPTURE_PERCENT     = tostring(var.capture_percent)
        CAPTURE_DESTINATION = var.capture_destination
      } : {},
    )
  }

  tags = var.tags

  depends_on = [aws_iam_role_policy.this, aws_cloudwatch_log_group.this]
}

# EventBridge invokes asynchronously: Lambda retries a failed deployment twice, then leaves the
# event and its error in the queue for someone to look at.
resource "aws_lambda_function_event_invoke_config" "this" {
  count = var.create ? 1 : 0

  function_name                = aws_lambda_function.this[0].function_name
  maximum_retry_attempts       = 2
  maximum_event_age_in_seconds = 3600

  destination_config {
    on_failure {
      destination = aws_sqs_queue.dead_letters[0].arn
    }
  }
}

################################################################################
# Rule: a package of the group became Approved
################################################################################

resource "aws_cloudwatch_event_rule" "this" {
  count = var.create ? 1 : 0

  name          = var.name
  description   = "A model package of ${var.model_package_group_name} was approved or rejected"
  event_pattern = jsonencode(local.event_pattern)

  tags = var.tags
}

resource "aws_cloudwatch_event_target" "this" {
  count = var.create ? 1 : 0

  rule = aws_cloudwatch_event_rule.this[0].name
  arn  = aws_lambda_function.this[0].arn

  retry_policy {
    maximum_event_age_in_seconds = 3600
    maximum_retry_attempts       = 3
  }
}

resource "aws_lambda_permission" "this" {
  count = var.create ? 1 : 0

  statement_id  = "EventBridgeRule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this[0].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.this[0].arn
}

################################################################################
# Rule: the endpoint changed state (the end of an update: did it take or roll back?)
################################################################################

resource "aws_cloudwatch_event_rule" "endpoint" {
  count = var.create ? 1 : 0

  name        = "${var.name}-outcome"
  description = "Endpoint ${var.endpoint_name} changed state: the function checks how an update ended"
  event_pattern = jsonencode({
    source        = ["aws.sagemaker"]
    "detail-type" = ["SageMaker Endpoint State Change"]
    detail        = { EndpointName = [var.endpoint_name] }
  })

  tags = var.tags
}

resource "aws_cloudwatch_event_target" "endpoint" {
  count = var.create ? 1 : 0

  rule = aws_cloudwatch_event_rule.endpoint[0].name
  arn  = aws_lambda_function.this[0].arn

  retry_policy {
    maximum_event_age_in_seconds = 3600
    maximum_retry_attempts       = 3
  }
}

resource "aws_lambda_permission" "endpoint" {
  count = var.create ? 1 : 0

  statement_id  = "EventBridgeEndpointRule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this[0].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.endpoint[0].arn
}

################################################################################
# Rollback alarms: server errors and latency of the endpoint's variant
################################################################################

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = var.create ? local.alarm_names : {}

  alarm_name        = each.value
  alarm_description = each.key == "errors" ? "The model of ${var.endpoint_name} answers with 5xx errors: SageMaker rolls an update back on it" : "The model of ${var.endpoint_name} takes longer than ${var.latency_alarm_ms} ms at p99: SageMaker rolls an update back on it"
  namespace         = "AWS/SageMaker"
  metric_name       = each.key == "errors" ? "Invocation5XXErrors" : "ModelLatency"
  dimensions = {
    EndpointName = var.endpoint_name
    VariantName  = "AllTraffic"
  }
  period              = 60
  evaluation_periods  = 2
  datapoints_to_alarm = 2
  # ModelLatency is in microseconds.
  statistic           = each.key == "errors" ? "Sum" : null
  extended_statistic  = each.key == "errors" ? null : "p99"
  threshold           = each.key == "errors" ? var.error_alarm_count : var.latency_alarm_ms * 1000
  comparison_operator = each.key == "errors" ? "GreaterThanOrEqualToThreshold" : "GreaterThanThreshold"
  # No traffic is not a failure: a new version nobody calls yet must not roll back.
  treat_missing_data = "notBreaching"

  tags = var.tags
}
