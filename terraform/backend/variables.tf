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

################################################################################
# Who may read and write each root's state
################################################################################

variable "restrict_state_to_its_role" {
  description = "Whether the bucket policy denies each root's state object to every principal but that root's state role (and `state_break_glass_principals`). Keep `true`; only runs against the embedded AWS set `false`: moto applies such a Deny without evaluating its `aws:PrincipalArn` condition, so it would refuse every state access there (the tests evaluate the policy instead)."
  type        = bool
  default     = true
}

variable "state_appliers" {
  description = "Extra principal ARNs that may assume a root's state role, in `{'root' = ['arn', ...]}` format (roots: `operations` and each environment of profiles.conf); by default only principals of the account that root applies to may, which is how `python -m training_pipeline infra` applies it."
  type        = map(list(string))
  default     = {}

  validation {
    condition     = alltrue([for arns in values(var.state_appliers) : alltrue([for arn in arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/", arn))])])
    error_message = "state_appliers must list IAM role or user ARNs, without wildcards."
  }
}

variable "state_break_glass_principals" {
  description = "Role ARNs of the operations account that may read and write every root's state (an incident's break-glass role, say); empty means none."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.state_break_glass_principals : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/", arn))])
    error_message = "state_break_glass_principals must be IAM role ARNs, without wildcards."
  }
}
