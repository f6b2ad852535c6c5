################################################################################
# GitHub OIDC trust
################################################################################
# Only tokens from this account's GitHub provider, with the pinned audience and one of the exact
# subjects, may assume the role. `sub` is matched with StringEquals, never StringLike.
#
# With `job_workflow_ref`, the subjects are those of the repository's customised claim template
# ["repo", "context", "job_workflow_ref"]: `repo:OWNER/REPO:<context>:job_workflow_ref:<ref>`, so
# only jobs of that one workflow file, at that one ref, get the role.

locals {
  repository = trimprefix(var.github_repository, "repo:")
  # Repositories created or renamed after 2026-07-15 carry the owner and repository ids in the subject.
  ids        = var.github_ids == null ? null : split("/", var.github_ids)
  repo_claim = local.ids == null ? local.repository : format("%s@%s/%s@%s", split("/", local.repository)[0], local.ids[0], split("/", local.repository)[1], local.ids[1])
  suffix     = var.job_workflow_ref == null ? "" : ":job_workflow_ref:${var.job_workflow_ref}"
  subjects   = [for s in var.subjects : "repo:${local.repo_claim}:${s}${local.suffix}"]
}

data "aws_iam_policy_document" "assume_role" {
  count = var.create ? 1 : 0

  statement {
    sid     = "GithubOidcAuth"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [var.oidc_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${var.oidc_issuer}:aud"
      values   = [var.audience]
    }

    condition {
      test     = "StringEquals"
      variable = "${var.oidc_issuer}:sub"
      values   = local.subjects
    }
  }
}

################################################################################
# Role
################################################################################

resource "aws_iam_role" "this" {
  count = var.create ? 1 : 0

  name                 = var.name
  description          = var.description
  assume_role_policy   = data.aws_iam_policy_document.assume_role[0].json
  max_session_duration = var.max_session_duration
  permissions_boundary = var.permissions_boundary_arn

  tags = var.tags
}

resource "aws_iam_role_policy" "this" {
  for_each = var.create ? var.inline_policies : {}

  name   = each.key
  role   = aws_iam_role.this[0].id
  policy = each.value
}
