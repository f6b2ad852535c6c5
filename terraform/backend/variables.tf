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
  description = "Days an overwritten state version is kept before it is deleted."
  type        = number
  default     = 365
}

variable "deny_insecure_transport" {
  description = "Whether bucket policies deny every request not made over TLS. Keep `true`; only runs against the embedded AWS (a plain-HTTP endpoint on which moto enforces this Deny) set `false`."
  type        = bool
  default     = true
}

variable "force_destroy" {
  description = "Whether `terraform destroy` may delete the state bucket while it still holds state; keep `false`."
  type        = bool
  default     = false
}
