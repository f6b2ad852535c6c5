################################################################################
# Profiles and access
################################################################################

variable "profiles_path" {
  description = "Path of profiles.conf; null means the one at the repository root (`../../profiles.conf` from this directory)."
  type        = string
  default     = null
}

variable "assume_role_name" {
  description = "Name of a role to assume in the operations account (for example `OrganizationAccountAccessRole`); null uses the ambient credentials as they are."
  type        = string
  default     = null

  validation {
    condition     = var.assume_role_name == null || can(regex("^[A-Za-z0-9+=,.@_/-]{1,128}$", var.assume_role_name))
    error_message = "assume_role_name must be an IAM role name (or path/name)."
  }
}

################################################################################
# State bucket
################################################################################

variable "noncurrent_version_expiration_days" {
  description = "Days an overwritten state version is kept before it is deleted (the newest 10 are always kept)."
  type        = number
  default     = 365
}

variable "force_destroy" {
  description = "Whether `terraform destroy` may delete the state bucket while it still holds state; keep `false`."
  type        = bool
  default     = false
}
