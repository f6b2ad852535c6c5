################################################################################
# Schedule
################################################################################

variable "create" {
  description = "Whether to create the schedule and its role (`false` creates nothing and every output is null)."
  type        = bool
  default     = true
}

variable "name" {
  description = "Name of the EventBridge Scheduler schedule, for example `mlops-demo-prod-retrain`."
  type        = string
}

variable "schedule_expression" {
  description = "When to start the pipeline (ignored when `create = false`): `cron(...)`, `rate(...)` or `at(...)` in EventBridge Scheduler syntax, for example `cron(0 3 ? * MON *)`."
  type        = string

  validation {
    condition     = !var.create || can(regex("^(cron|rate|at)\\(.+\\)$", var.schedule_expression))
    error_message = "schedule_expression must be cron(...), rate(...) or at(...)."
  }
}

variable "schedule_expression_timezone" {
  description = "IANA time zone in which `schedule_expression` is read."
  type        = string
  default     = "UTC"
}

variable "enabled" {
  description = "Whether the schedule fires (`false` keeps it, DISABLED)."
  type        = bool
  default     = true
}

variable "pipeline_arn" {
  description = "ARN of the SageMaker pipeline to start. The pipeline does not need to exist yet: a run that finds none fails and is retried."
  type        = string
}

variable "pipeline_parameters" {
  description = "Pipeline parameters passed to every scheduled execution, in `{'ParameterName' = 'value'}` format; empty uses the pipeline's defaults."
  type        = map(string)
  default     = {}
}

variable "kms_key_arn" {
  description = "ARN of the customer-managed KMS key that encrypts the schedule's target input."
  type        = string
}

variable "maximum_retry_attempts" {
  description = "How many times Scheduler retries a failed StartPipelineExecution call (0-185)."
  type        = number
  default     = 3
}

variable "role_name" {
  description = "Name of the IAM role EventBridge Scheduler assumes to start the pipeline, for example `mlops-demo-prod-scheduler`."
  type        = string
}

variable "tags" {
  description = "Tags added to the role, in `{'key' = 'value'}` format (Scheduler schedules take no tags)."
  type        = map(string)
  default     = {}
}
