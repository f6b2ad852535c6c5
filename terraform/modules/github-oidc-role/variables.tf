################################################################################
# Role
################################################################################

variable "create" {
  description = "Whether to create the role and its inline policies (`false` creates nothing and every output is null)."
  type        = bool
  default     = true
}

variable "name" {
  description = "Name of the IAM role, for example `mlops-demo-dev-github-deploy`."
  type        = string
}

variable "description" {
  description = "Description of the role: who assumes it and for what."
  type        = string
  default     = null
}

variable "max_session_duration" {
  description = "Maximum session length in seconds (3600-43200)."
  type        = number
  default     = 3600
}

variable "permissions_boundary_arn" {
  description = "ARN of a managed policy used as the role's permissions boundary; null for none."
  type        = string
  default     = null
}

variable "inline_policies" {
  description = "Inline policies of the role, in `{'policy_name' = 'policy JSON'}` format."
  type        = map(string)
  default     = {}
}

variable "tags" {
  description = "Tags added to the role, in `{'key' = 'value'}` format."
  type        = map(string)
  default     = {}
}

################################################################################
# GitHub OIDC trust
################################################################################

variable "oidc_provider_arn" {
  description = "ARN of this account's GitHub OIDC provider (see the github-oidc-provider module)."
  type        = string
}

variable "oidc_issuer" {
  description = "Issuer host of the tokens, the prefix of the `:sub` and `:aud` condition keys."
  type        = string
  default     = "token.actions.githubusercontent.com"
}

variable "audience" {
  description = "Required value of the token's `aud` claim."
  type        = string
  default     = "sts.amazonaws.com"
}

variable "github_repository" {
  description = "The only repository whose workflows may assume the role, as `OWNER/REPO` (a leading `repo:` is accepted and removed)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", trimprefix(var.github_repository, "repo:")))
    error_message = "github_repository must be exactly OWNER/REPO, without wildcards."
  }
}

variable "github_ids" {
  description = "`OWNER_ID/REPO_ID` of the repository where GitHub names it `OWNER@OWNER_ID/REPO@REPO_ID` in subjects (repositories created or renamed after 2026-07-15); null for `OWNER/REPO`."
  type        = string
  default     = null

  validation {
    condition     = var.github_ids == null || can(regex("^[0-9]+/[0-9]+$", coalesce(var.github_ids, "x")))
    error_message = "github_ids must be OWNER_ID/REPO_ID, two numbers."
  }
}

variable "job_workflow_ref" {
  description = "The only workflow whose jobs may assume the role, as `OWNER/REPO/.github/workflows/FILE.yml@refs/heads/BRANCH`, for a repository whose OIDC subject template is customised to `[\"repo\", \"context\", \"job_workflow_ref\"]`; null for GitHub's default template (then every workflow on a matching ref or environment may assume it)."
  type        = string
  default     = null

  validation {
    condition     = var.job_workflow_ref == null || can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/\\.github/workflows/[A-Za-z0-9_.-]+\\.ya?ml@refs/heads/[A-Za-z0-9._/-]+$", coalesce(var.job_workflow_ref, "x")))
    error_message = "job_workflow_ref must be OWNER/REPO/.github/workflows/FILE.yml@refs/heads/BRANCH: one workflow file on one branch, without wildcards."
  }
}

variable "subjects" {
  description = "The `context` part of the accepted `sub` claims (what follows `repo:OWNER/REPO:`), matched exactly (StringEquals): `ref:refs/heads/<branch>`, `ref:refs/tags/<tag>` or `environment:<name>`. A job that names an `environment:` gets the `environment:` form whatever its ref."
  type        = list(string)

  validation {
    condition     = length(var.subjects) > 0
    error_message = "subjects must name at least one branch, tag or environment: an empty list would trust every workflow of the repository."
  }

  validation {
    condition     = alltrue([for s in var.subjects : !strcontains(s, "*") && !strcontains(s, "?")])
    error_message = "subjects are matched exactly: \"*\" and \"?\" are not allowed."
  }

  validation {
    condition     = alltrue([for s in var.subjects : can(regex("^(ref:refs/heads/[^:\\s]+|ref:refs/tags/[^:\\s]+|environment:[^:\\s]+)$", s))])
    error_message = "Each subject must be ref:refs/heads/<branch>, ref:refs/tags/<tag> or environment:<name>."
  }
}
