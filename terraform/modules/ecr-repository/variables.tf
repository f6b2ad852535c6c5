################################################################################
# Repository
################################################################################

variable "create" {
  description = "Whether to create the repository, its lifecycle policy and its repository policy (`false` creates nothing and every output is null)."
  type        = bool
  default     = true
}

variable "name" {
  description = "Repository name, for example `mlops-demo-training`."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$", var.name))
    error_message = "ECR repository names are lowercase letters, digits and '.', '_', '-', '/' separators."
  }
}

variable "kms_key_arn" {
  description = "ARN of the customer-managed KMS key that encrypts the images."
  type        = string
}

variable "pull_account_ids" {
  description = "12-digit ids of the accounts whose IAM principals may pull (and describe) images; each account still needs an IAM policy naming this repository. Empty means no cross-account access."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.pull_account_ids : can(regex("^[0-9]{12}$", id))])
    error_message = "pull_account_ids must be 12-digit AWS account ids (no \"*\")."
  }
}

variable "allow_sagemaker_pull" {
  description = "Whether the SageMaker service may pull images on behalf of jobs in `pull_account_ids` (restricted with `aws:SourceAccount`)."
  type        = bool
  default     = true
}

variable "untagged_image_expiry_days" {
  description = "Days after which untagged images (interrupted pushes, dangling layers) are deleted."
  type        = number
  default     = 7
}

variable "force_delete" {
  description = "Whether `terraform destroy` may delete the repository while it still holds images."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to the repository, in `{'key' = 'value'}` format."
  type        = map(string)
  default     = {}
}
