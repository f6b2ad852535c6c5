data "aws_caller_identity" "current" {
  count = var.create ? 1 : 0
}

data "aws_partition" "current" {
  count = var.create ? 1 : 0
}

################################################################################
# Key policy
################################################################################
# The only default statement is AWS's own default: the account root may use and administer the
# key, which delegates every grant to IAM policies in this account. No other account and no
# wildcard principal is named, so who may use the key is decided by the IAM roles that name its
# ARN (each scoped to this one key).

data "aws_iam_policy_document" "this" {
  #checkov:skip=CKV_AWS_109:This document is a KMS key policy, not an identity policy: its Resource "*" is this one key, and its only principal is this account's root (AWS's default delegation to IAM).
  #checkov:skip=CKV_AWS_111:This document is a KMS key policy, not an identity policy: its Resource "*" is this one key, and its only principal is this account's root (AWS's default delegation to IAM).
  #checkov:skip=CKV_AWS_356:This document is a KMS key policy, not an identity policy: its Resource "*" is this one key, and its only principal is this account's root (AWS's default delegation to IAM).
  count = var.create ? 1 : 0

  source_policy_documents = var.source_policy_documents

  statement {
    sid       = "AccountIamPolicies"
    actions   = ["kms:*"] # Key policies name the key's own actions; this is the AWS default statement.
    resources = ["*"]     # In a key policy "*" means this key only.

    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current[0].partition}:iam::${data.aws_caller_identity.current[0].account_id}:root"]
    }
  }
}

resource "aws_kms_key" "this" {
  count = var.create ? 1 : 0

  description             = var.description
  enable_key_rotation     = true
  deletion_window_in_days = var.deletion_window_in_days
  policy                  = data.aws_iam_policy_document.this[0].json

  tags = var.tags
}

resource "aws_kms_alias" "this" {
  count = var.create ? 1 : 0

  name          = "alias/${var.alias}"
  target_key_id = aws_kms_key.this[0].key_id
}
