variable "create" {
  description = "Whether to create the function, its rule and its role (`false` creates nothing and every output is null)."
  type        = bool
  default     = true
}

variable "name" {
  description = "Name of the Lambda function, its role, its rule and its dead-letter queue, for example `mlops-demo-prod-deploy-on-approval`."
  type        = string
}

variable "model_package_group_name" {
  description = "Model package group whose packages are deployed when they become Approved."
  type        = string
}

variable "endpoint_name" {
  description = "Real-time endpoint the approved model is served from (created by the first deployment); its models and endpoint configs are named `<endpoint_name>-v<package version>-<digest of what they are made of>`."
  type        = string
}

variable "instance_type" {
  description = "Instance type of the endpoint, for example `ml.m5.large`."
  type        = string

  validation {
    condition     = can(regex("^ml\\.[a-z0-9.]+$", var.instance_type))
    error_message = "instance_type must be a SageMaker instance type such as ml.m5.large."
  }
}

variable "execution_role_arn" {
  description = "Role the endpoint's model runs with (the environment's endpoint role): it pulls the inference image and reads the model artifact."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key encrypting the endpoint's storage volume, the function's environment and the dead-letter queue."
  type        = string
}

variable "model_artifacts_arn" {
  description = "S3 object ARN pattern of the group's model artifacts (the training jobs' model.tar.gz), which the function reads to check each one's digest against the package's model_digest before deploying it."
  type        = string
  default     = null

  validation {
    condition     = !var.create || can(regex("^arn:[a-z-]+:s3:::[a-z0-9.-]+/.+", var.model_artifacts_arn))
    error_message = "model_artifacts_arn is required when create = true: the S3 object ARN pattern of the model artifacts (arn:aws:s3:::BUCKET/PREFIX*)."
  }
}

variable "capture_percent" {
  description = "Percentage of the endpoint's requests recorded with their answers (data capture); 0 records none."
  type        = number
  default     = 0

  validation {
    condition     = var.capture_percent >= 0 && var.capture_percent <= 100 && floor(var.capture_percent) == var.capture_percent
    error_message = "capture_percent must be a whole number from 0 to 100."
  }
}

variable "capture_destination" {
  description = "S3 prefix (s3://BUCKET/PREFIX/) the endpoint writes captured requests and answers under, encrypted with kms_key_arn; required when capture_percent > 0."
  type        = string
  default     = null

  validation {
    condition     = var.capture_destination == null || can(regex("^s3://[a-z0-9.-]+/.+/$", var.capture_destination))
    error_message = "capture_destination must be s3://BUCKET/PREFIX/ (ending in /)."
  }
}

variable "instance_count" {
  description = "Instances behind the endpoint; with 2 or more an update is a canary (one instance of the new version first), with 1 all traffic moves at once."
  type        = number
  default     = 1

  validation {
    condition     = var.instance_count >= 1 && var.instance_count <= 10 && floor(var.instance_count) == var.instance_count
    error_message = "instance_count must be a whole number from 1 to 10."
  }
}

variable "error_alarm_count" {
  description = "5xx answers of the endpoint per minute, two minutes running, that set off its errors alarm (and roll an update back)."
  type        = number
  default     = 5

  validation {
    condition     = var.error_alarm_count >= 1
    error_message = "error_alarm_count must be at least 1."
  }
}

variable "latency_alarm_ms" {
  description = "p99 model latency of the endpoint in milliseconds, two minutes running, above which its latency alarm goes off (and an update is rolled back)."
  type        = number
  default     = 500

  validation {
    condition     = var.latency_alarm_ms > 0
    error_message = "latency_alarm_ms must be positive."
  }
}

variable "lambda_zip_path" {
  description = "Path, relative to the root module, of the function's zip (`inference/on_approval/deploy.py`, `inference/on_approval/lambda_function.py` and `inference/integrity.py`), built outside Terraform by `python -m training_pipeline infra`."
  type        = string
  default     = null

  validation {
    condition     = !var.create || var.lambda_zip_path != null
    error_message = "lambda_zip_path is required when create = true (python -m training_pipeline infra builds it)."
  }
}

variable "log_retention_days" {
  description = "How long the function's CloudWatch logs (one line per deployment decision) are kept."
  type        = number
  default     = 365
}

variable "tags" {
  description = "Tags for every resource of the module."
  type        = map(string)
  default     = {}
}
