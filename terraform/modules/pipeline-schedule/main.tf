data "aws_caller_identity" "current" {
  count = var.create ? 1 : 0
}

################################################################################
# Role assumed by EventBridge Scheduler
################################################################################

data "aws_iam_policy_document" "assume_role" {
  count = var.create ? 1 : 0

  statement {
    sid     = "SchedulerOfThisAccount"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current[0].account_id]
    }
  }
}

resource "aws_iam_role" "this" {
  count = var.create ? 1 : 0

  name               = var.role_name
  description        = "EventBridge Scheduler: starts ${var.pipeline_arn} on ${var.schedule_expression}"
  assume_role_policy = data.aws_iam_policy_document.assume_role[0].json

  tags = var.tags
}

data "aws_iam_policy_document" "this" {
  count = var.create ? 1 : 0

  statement {
    sid       = "StartThisPipeline"
    actions   = ["sagemaker:StartPipelineExecution"]
    resources = [var.pipeline_arn]
  }

  statement {
    sid       = "DecryptTargetInput"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role_policy" "this" {
  count = var.create ? 1 : 0

  name   = "start-pipeline"
  role   = aws_iam_role.this[0].id
  policy = data.aws_iam_policy_document.this[0].json
}

################################################################################
# Schedule
################################################################################

resource "aws_scheduler_schedule" "this" {
  count = var.create ? 1 : 0

  name                         = var.name
  description                  = "Starts the SageMaker pipeline ${var.pipeline_arn}"
  schedule_expression          = var.schedule_expression
  schedule_expression_timezone = var.schedule_expression_timezone
  state                        = var.enabled ? "ENABLED" : "DISABLED"
  kms_key_arn                  = var.kms_key_arn

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = var.pipeline_arn
    role_arn = aws_iam_role.this[0].arn

    retry_policy {
      maximum_retry_attempts = var.maximum_retry_attempts
    }

    dynamic "sagemaker_pipeline_parameters" {
      for_each = length(var.pipeline_parameters) > 0 ? [1] : []

      content {
        dynamic "pipeline_parameter" {
          for_each = var.pipeline_parameters

          content {
            name  = pipeline_parameter.key
            value = pipeline_parameter.value
          }
        }
      }
    }
  }
}
