data "aws_partition" "current" {}

locals {
  state_bucket_name = "${local.project}-tfstate-${local.account_id}"
}

################################################################################
# KMS key of the state bucket
################################################################################

module "kms" {
  source = "../modules/kms-key"

  alias       = "${local.project}-tfstate"
  description = "Encrypts the Terraform state of ${local.project}"
}

################################################################################
# State bucket
################################################################################
# Versioned, SSE-KMS, public access blocked, TLS only. The Terraform S3 backend locks with a
# `.tflock` object next to the state (use_lockfile = true), so no DynamoDB table is needed.
# Only principals of the operations account may use the bucket: every other root reaches the
# state through a role in the operations account (assume_role in its backend configuration).

data "aws_iam_policy_document" "state_bucket" {
  statement {
    sid     = "DenyPrincipalsOfOtherAccounts"
    effect  = "Deny"
    actions = ["s3:*"] # A Deny: no principal outside the operations account may do anything here.
    resources = [
      "arn:${data.aws_partition.current.partition}:s3:::${local.state_bucket_name}",
      "arn:${data.aws_partition.current.partition}:s3:::${local.state_bucket_name}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "StringNotEquals"
      variable = "aws:PrincipalAccount"
      values   = [local.account_id]
    }
  }
}

module "state_bucket" {
  source = "../modules/s3-bucket"

  name                               = local.state_bucket_name
  kms_key_arn                        = module.kms.key_arn
  force_destroy                      = var.force_destroy
  noncurrent_version_expiration_days = var.noncurrent_version_expiration_days
  noncurrent_versions_to_keep        = 10
  source_policy_documents            = [data.aws_iam_policy_document.state_bucket.json]
}
