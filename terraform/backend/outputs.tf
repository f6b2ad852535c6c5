################################################################################
# State bucket
################################################################################

output "state_bucket" {
  description = "Name of the state bucket, `<project>-tfstate-<operations account id>`."
  value       = module.state_bucket.bucket_id
}

output "state_bucket_arn" {
  description = "ARN of the state bucket."
  value       = module.state_bucket.bucket_arn
}

output "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the state (alias `alias/<project>-tfstate`)."
  value       = module.kms.key_arn
}

output "backend_config" {
  description = "Partial backend configuration for the operations and main roots (add `key`, plus `workspace_key_prefix` for main, and `assume_role` if you reach the operations account through a role)."
  value = {
    bucket       = module.state_bucket.bucket_id
    region       = local.region
    use_lockfile = true
  }
}
