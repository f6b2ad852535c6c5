output "function_name" {
  description = "Name of the Lambda function that deploys approved packages (null when `create = false`)."
  value       = try(aws_lambda_function.this[0].function_name, null)
}

output "function_arn" {
  description = "ARN of the Lambda function (null when `create = false`)."
  value       = try(aws_lambda_function.this[0].arn, null)
}

output "rule_name" {
  description = "Name of the EventBridge rule matching the group's Approved packages (null when `create = false`)."
  value       = try(aws_cloudwatch_event_rule.this[0].name, null)
}

output "role_arn" {
  description = "ARN of the function's role (null when `create = false`)."
  value       = try(aws_iam_role.this[0].arn, null)
}

output "dead_letter_queue_url" {
  description = "URL of the queue holding approvals the function failed to deploy after its retries (null when `create = false`)."
  value       = try(aws_sqs_queue.dead_letters[0].url, null)
}

output "rollback_alarm_names" {
  description = "Names of the CloudWatch alarms (5xx errors, p99 latency) that roll an update of the endpoint back (empty when `create = false`)."
  value       = [for alarm in aws_cloudwatch_metric_alarm.this : alarm.alarm_name]
}

output "endpoint_name" {
  description = "Name of the endpoint approved models are served from (null when `create = false`)."
  value       = var.create ? var.endpoint_name : null
}
