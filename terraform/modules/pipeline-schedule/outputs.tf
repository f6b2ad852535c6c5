################################################################################
# Schedule
################################################################################

output "schedule_arn" {
  description = "ARN of the schedule (null when `create = false`)."
  value       = try(aws_scheduler_schedule.this[0].arn, null)
}

output "schedule_name" {
  description = "Name of the schedule (null when `create = false`)."
  value       = try(aws_scheduler_schedule.this[0].name, null)
}

output "role_arn" {
  description = "ARN of the role Scheduler assumes (null when `create = false`)."
  value       = try(aws_iam_role.this[0].arn, null)
}
