################################################################################
# ECR
################################################################################

output "repository_urls" {
  description = "Map of image name (`training`, `inference`) to its ECR repository URL; images are pushed as `<url>:<git sha>`."
  value       = { for name, repository in module.ecr : name => repository.repository_url }
}

output "repository_arns" {
  description = "Map of image name to its ECR repository ARN."
  value       = { for name, repository in module.ecr : name => repository.repository_arn }
}

output "ecr_kms_key_arn" {
  description = "ARN of the KMS key that encrypts the images (alias `alias/<project>-ecr`)."
  value       = module.kms.key_arn
}

################################################################################
# GitHub OIDC
################################################################################

output "github_oidc_provider_arn" {
  description = "ARN of the operations account's GitHub OIDC provider."
  value       = module.github_oidc_provider.arn
}

output "ci_role_arn" {
  description = "ARN of the CI role (`<project>-github-ci`), the role-to-assume of the image build job on main."
  value       = module.ci_role.arn
}

output "ci_role_subjects" {
  description = "The exact `sub` claims the CI role accepts."
  value       = module.ci_role.subjects
}
