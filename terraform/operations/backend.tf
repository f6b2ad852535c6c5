# Partial configuration: bucket, key, region, use_lockfile (and assume_role) are given at init,
# for example `terraform init -backend-config=../backend.hcl -backend-config=key=operations/terraform.tfstate`
# (terraform/README.md). Nothing account-specific is written here.
terraform {
  backend "s3" {}
}
