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
# The bucket policy grants nothing to anyone: only principals of the operations account whose
# IAM policies allow it can use the bucket, and every root reaches the state through a role in
# the operations account (assume_role in its backend configuration), never from dev, staging
# or prod.

module "state_bucket" {
  source = "../modules/s3-bucket"

  name                               = local.state_bucket_name
  kms_key_arn                        = module.kms.key_arn
  force_destroy                      = var.force_destroy
  deny_insecure_transport            = var.deny_insecure_transport
  noncurrent_version_expiration_days = var.noncurrent_version_expiration_days
}
