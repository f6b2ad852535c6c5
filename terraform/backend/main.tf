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
# The bucket policy grants nothing to anyone; it denies each root's state to every principal but
# that root's state role (below), so only principals of the operations account whose IAM policies
# allow it can use the bucket at all, and each root reaches its own state through its own role.

module "state_bucket" {
  source = "../modules/s3-bucket"

  name                               = local.state_bucket_name
  kms_key_arn                        = module.kms.key_arn
  force_destroy                      = var.force_destroy
  deny_insecure_transport            = var.deny_insecure_transport
  noncurrent_version_expiration_days = var.noncurrent_version_expiration_days
  source_policy_documents            = var.restrict_state_to_its_role ? [data.aws_iam_policy_document.state_bucket.json] : []
}

################################################################################
# Who may read and write each root's state
################################################################################
# Each root keeps its state under its own key: operations/terraform.tfstate, and
# main/<env>/terraform.tfstate per environment workspace. Its backend reaches the bucket through
# a role of its own, `<project>-tfstate-<root>`, that only the principals of the account that
# root applies to (and the extra appliers listed per root) may assume, and that may touch only
# that root's state and lock file. The bucket policy then denies those objects to every other
# principal, the operations account's own roles included: dev's appliers cannot read prod's
# state, which holds prod's resource names and outputs. (Whoever may rewrite this bucket policy
# can lift that; keep s3:PutBucketPolicy here to a few people, e.g. with an SCP.)

locals {
  # root name => (account its resources live in, key of its state object)
  state_roots = merge(
    { operations = { account_id = local.account_id, key = "operations/terraform.tfstate" } },
    {
      for env in module.profiles.environment_names : env => {
        account_id = module.profiles.accounts[env]
        key        = "main/${env}/terraform.tfstate"
      }
    },
  )
  state_role_arns = {
    for root in keys(local.state_roots) :
    root => "arn:${data.aws_partition.current.partition}:iam::${local.account_id}:role/${local.project}-tfstate-${root}"
  }
}

data "aws_partition" "current" {}

data "aws_iam_policy_document" "state_trust" {
  for_each = local.state_roots

  statement {
    sid     = "AppliersOfThisRoot"
    actions = ["sts:AssumeRole", "sts:TagSession"]

    principals {
      type = "AWS"
      identifiers = concat(
        ["arn:${data.aws_partition.current.partition}:iam::${each.value.account_id}:root"],
        lookup(var.state_appliers, each.key, []),
      )
    }
  }
}

resource "aws_iam_role" "state" {
  for_each = local.state_roots

  name                 = "${local.project}-tfstate-${each.key}"
  description          = "Terraform state of the ${each.key} root (${each.value.key}), for its appliers only"
  assume_role_policy   = data.aws_iam_policy_document.state_trust[each.key].json
  max_session_duration = 3600
}

data "aws_iam_policy_document" "state_access" {
  for_each = local.state_roots

  statement {
    # Object names only (the S3 backend lists the bucket to find workspaces), never content.
    sid       = "ListStateKeys"
    actions   = ["s3:ListBucket"]
    resources = [module.state_bucket.bucket_arn]
  }

  statement {
    sid = "ThisRootsStateAndLock"
    actions = [
      "s3:DeleteObject",
      "s3:GetObject",
      "s3:PutObject",
    ]
    resources = [
      "${module.state_bucket.bucket_arn}/${each.value.key}",
      "${module.state_bucket.bucket_arn}/${each.value.key}.tflock",
    ]
  }

  statement {
    sid = "UseStateKey"
    actions = [
      "kms:Decrypt",
      "kms:DescribeKey",
      "kms:Encrypt",
      "kms:GenerateDataKey",
    ]
    resources = [module.kms.key_arn]
  }
}

resource "aws_iam_role_policy" "state" {
  for_each = local.state_roots

  name   = "state-of-${each.key}"
  role   = aws_iam_role.state[each.key].id
  policy = data.aws_iam_policy_document.state_access[each.key].json
}

data "aws_iam_policy_document" "state_bucket" {
  dynamic "statement" {
    for_each = local.state_roots

    content {
      sid    = "OnlyTheStateRoleOf${replace(title(statement.key), "-", "")}"
      effect = "Deny"
      actions = [
        "s3:DeleteObject",
        "s3:DeleteObjectVersion",
        "s3:GetObject",
        "s3:GetObjectVersion",
        "s3:PutObject",
      ]
      resources = ["${module.state_bucket.bucket_arn}/${statement.value.key}*"]

      principals {
        type        = "*"
        identifiers = ["*"]
      }

      condition {
        test     = "ArnNotEquals"
        variable = "aws:PrincipalArn"
        values   = concat([local.state_role_arns[statement.key]], var.state_break_glass_principals)
      }
    }
  }
}
