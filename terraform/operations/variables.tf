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
# GitHub OIDC
################################################################################

variable "create_github_oidc_provider" {
  description = "Whether to create the account's GitHub OIDC provider; set `false` if the account already has one (it is then looked up)."
  type        = bool
  default     = true
}

################################################################################
# ECR
################################################################################

variable "images" {
  description = "Images built by CI; each gets the repository `<project>-<image>`."
  type        = list(string)
  default     = ["training", "inference"]
}

