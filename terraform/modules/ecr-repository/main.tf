data "aws_partition" "current" {
  count = var.create ? 1 : 0
}

################################################################################
# Repository
################################################################################

resource "aws_ecr_repository" "this" {
  count = var.create ? 1 : 0

  name                 = var.name
  image_tag_mutability = "IMMUTABLE" # A tag is a git SHA and always means the same image.
  force_delete         = var.force_delete

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = var.kms_key_arn
  }

  tags = var.tags
}

# Only untagged images expire. Every tagged image is a commit's (`:<git sha>`), and a registered
# model names its image by digest: a prod model approved a year ago, or the version a rollback
# returns to, still runs that image. An image count or age rule would delete images that
# registered models and running pipelines reference, so none is set; the storage of old commits'
# images is small (their layers are shared) against a model that cannot be served.
resource "aws_ecr_lifecycle_policy" "this" {
  count = var.create ? 1 : 0

  repository = aws_ecr_repository.this[0].name
  policy = jsonencode({
    rules = [
      {
        rulePriority = 1
        description  = "Expire untagged images after ${var.untagged_image_expiry_days} days"
        selection = {
          tagStatus   = "untagged"
          countType   = "sinceImagePushed"
          countUnit   = "days"
          countNumber = var.untagged_image_expiry_days
        }
        action = { type = "expire" }
      },
    ]
  })
}

################################################################################
# Repository policy
################################################################################

locals {
  pull_actions = [
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
  ]
  create_policy = var.create && length(var.pull_account_ids) > 0
}

data "aws_iam_policy_document" "this" {
  count = local.create_policy ? 1 : 0

  statement {
    sid = "EnvironmentAccountsPull"
    # DescribeImages lets a deploy job check that the image of a commit exists before it
    # promotes that commit.
    actions = concat(local.pull_actions, ["ecr:DescribeImages"])

    principals {
      type        = "AWS"
      identifiers = [for id in var.pull_account_ids : "arn:${data.aws_partition.current[0].partition}:iam::${id}:root"]
    }
  }

  dynamic "statement" {
    for_each = var.allow_sagemaker_pull ? [1] : []

    content {
      sid     = "SageMakerPull"
      actions = local.pull_actions

      principals {
        type        = "Service"
        identifiers = ["sagemaker.amazonaws.com"]
      }

      condition {
        test     = "StringEquals"
        variable = "aws:SourceAccount"
        values   = var.pull_account_ids
      }
    }
  }
}

resource "aws_ecr_repository_policy" "this" {
  count = local.create_policy ? 1 : 0

  repository = aws_ecr_repository.this[0].name
  policy     = data.aws_iam_policy_document.this[0].json
}
