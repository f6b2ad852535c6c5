################################################################################
# Repository
################################################################################

output "repository_name" {
  description = "Name of the repository (null when `create = false`)."
  value       = try(aws_ecr_repository.this[0].name, null)
}

output "repository_arn" {
  description = "ARN of the repository (null when `create = false`)."
  value       = try(aws_ecr_repository.this[0].arn, null)
}

output "repository_url" {
  description = "URL of the repository, `<account>.dkr.ecr.<region>.amazonaws.com/<name>`, to which `:<git sha>` is appended (null when `create = false`)."
  value       = try(aws_ecr_repository.this[0].repository_url, null)
}
