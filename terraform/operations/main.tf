data "aws_partition" "current" {}

################################################################################
# GitHub OIDC provider (one per account)
################################################################################

module "github_oidc_provider" {
  source = "../modules/github-oidc-provider"

  create = var.create_github_oidc_provider
}

################################################################################
# ECR: one repository per image, tags are git SHAs and immutable
################################################################################

module "kms" {
  source = "../modules/kms-key"

  alias       = "${local.project}-ecr"
  description = "Encrypts the container images of ${local.project}"
}

module "ecr" {
  source   = "../modules/ecr-repository"
  for_each = toset(var.images)

  name        = "${local.project}-${each.key}"
  kms_key_arn = module.kms.key_arn
  # Only the three environment accounts (and SageMaker acting for them) may pull.
  pull_account_ids     = local.environment_account_ids
  allow_sagemaker_pull = true
}

################################################################################
# CI role: builds on main push images to ECR
################################################################################

data "aws_iam_policy_document" "ci" {
  statement {
    sid = "EcrLogin"
    # ecr:GetAuthorizationToken has no resource-level permissions: AWS requires "*".
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid = "PushImages"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:CompleteLayerUpload",
      "ecr:DescribeImages",
      "ecr:GetDownloadUrlForLayer",
      "ecr:InitiateLayerUpload",
      "ecr:PutImage",
      "ecr:UploadLayerPart",
    ]
    resources = [for repository in module.ecr : repository.repository_arn]
  }
}

module "ci_role" {
  source = "../modules/github-oidc-role"

  name              = "${local.project}-github-ci"
  description       = "GitHub Actions CI of ${local.github_repository}: pushes images tagged with the commit SHA"
  oidc_provider_arn = module.github_oidc_provider.arn
  oidc_issuer       = module.github_oidc_provider.issuer
  github_repository = local.github_repository
  github_ids        = module.profiles.github_ids
  # The images job of on_merge.yml, on pushes to main only.
  subjects         = ["ref:refs/heads/${module.profiles.main_branch}"]
  job_workflow_ref = "${local.github_repository}/.github/workflows/on_merge.yml@refs/heads/${module.profiles.main_branch}"
  inline_policies  = { push-images = data.aws_iam_policy_document.ci.json }
}
