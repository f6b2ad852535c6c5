################################################################################
# Key
################################################################################

variable "create" {
  description = "Whether to create the key and its alias (`false` creates nothing and every output is null)."
  type        = bool
  default     = true
}

variable "alias" {
  description = "Alias of the key without the `alias/` prefix, for example `mlops-demo-dev`."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9/_-]+$", var.alias)) && !startswith(var.alias, "aws/") && !startswith(var.alias, "alias/")
    error_message = "The alias is the part after `alias/`: letters, digits, '/', '_' and '-', not starting with `aws/`."
  }
}

variable "description" {
  description = "Human-readable description of what the key encrypts."
  type        = string
}

variable "deletion_window_in_days" {
  description = "Days a scheduled deletion waits before the key is destroyed (7-30)."
  type        = number
  default     = 30

  validation {
    condition     = var.deletion_window_in_days >= 7 && var.deletion_window_in_days <= 30
    error_message = "deletion_window_in_days must be between 7 and 30."
  }
}

variable "source_policy_documents" {
  description = "Extra key-policy documents (JSON strings) merged after the default statement that delegates key access to this account's IAM policies; empty by default."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags added to the key, in `{'key' = 'value'}` format."
  type        = map(string)
  default     = {}
}
