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

################################################################################
# Who may read and write each root's state
################################################################################

output "state_role_arns" {
  description = "Map of root (`operations` and each environment of profiles.conf) to the ARN of the role its backend assumes to reach its state."
  value       = { for root, role in aws_iam_role.state : root => role.arn }
}

output "state_bucket_policy" {
  description = "The bucket policy that keeps each root's state to its own role (attached where `restrict_state_to_its_role` is true)."
  value       = data.aws_iam_policy_document.state_bucket.json
}
