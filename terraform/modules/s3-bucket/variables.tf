################################################################################
# Bucket
################################################################################

variable "create" {
  description = "Whether to create the bucket and its settings (`false` creates nothing and every output is null)."
  type        = bool
  default     = true
}

variable "name" {
  description = "Globally unique bucket name, for example `<project>-<env>-data-<account id>`."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.name))
    error_message = "Bucket names are 3-63 lowercase letters, digits, '.' and '-'."
  }
}

variable "kms_key_arn" {
  description = "ARN of the customer-managed KMS key used for default encryption (SSE-KMS with an S3 Bucket Key)."
  type        = string
}

variable "force_destroy" {
  description = "Whether `terraform destroy` may delete a bucket that still holds objects; keep `false` for real data."
  type        = bool
  default     = false
}

variable "noncurrent_version_expiration_days" {
  description = "Days after which an overwritten or deleted object version is removed for good."
  type        = number
  default     = 90

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1
    error_message = "noncurrent_version_expiration_days must be at least 1."
  }
}

variable "abort_incomplete_multipart_upload_days" {
  description = "Days after which parts of an unfinished multipart upload are deleted."
  type        = number
  default     = 7
}

variable "deny_insecure_transport" {
  description = "Whether the bucket policy denies every request not made over TLS. Keep `true`; only runs against the embedded AWS (a plain-HTTP endpoint on which moto enforces this Deny) set `false`."
  type        = bool
  default     = true
}

variable "source_policy_documents" {
  description = "Extra bucket-policy documents (JSON strings) merged with the statement that denies requests not made over TLS; empty by default."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags added to the bucket, in `{'key' = 'value'}` format."
  type        = map(string)
  default     = {}
}
