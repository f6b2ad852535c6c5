################################################################################
# Role
################################################################################

output "arn" {
  description = "ARN of the role, the `role-to-assume` of aws-actions/configure-aws-credentials (null when `create = false`)."
  value       = try(aws_iam_role.this[0].arn, null)
}

output "name" {
  description = "Name of the role (null when `create = false`)."
  value       = try(aws_iam_role.this[0].name, null)
}

output "subjects" {
  description = "The exact `sub` claims the role accepts."
  value       = local.subjects
}
