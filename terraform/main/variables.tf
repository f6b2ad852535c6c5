################################################################################
# Environment
################################################################################

variable "environment" {
  description = "Environment of this workspace, a section of profiles.conf. null (the default) means the selected workspace's name (`terraform workspace select -or-create qa` applies [qa]); where given, it must name the selected workspace, so a setting meant for one environment cannot be applied to another's account."
  type        = string
  default     = null

  validation {
    condition     = contains(module.profiles.environment_names, coalesce(var.environment, terraform.workspace))
    error_message = "The workspace (or environment) must be an environment of profiles.conf (${join(", ", module.profiles.environment_names)}): run `terraform workspace select -or-create <env>` first."
  }

  validation {
    condition     = var.environment == null || var.environment == terraform.workspace
    error_message = "The selected workspace does not match var.environment: run `terraform workspace select -or-create <env>` for that same env."
  }
}

variable "profiles_path" {
  description = "Path of profiles.conf; null means the one at the repository root (`../../profiles.conf` from this directory)."
  type        = string
  default     = null
}

variable "assume_role_name" {
  description = "Name of a role to assume in this environment's account (for example `OrganizationAccountAccessRole`); null uses the ambient credentials as they are."
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
# Model registry
################################################################################

variable "model_approver_principal_arns" {
  description = "Where profiles.conf says `approval = manual`: ARN patterns (IAM wildcards allowed) of the only principals that may assume the model approver role, such as your approvers' SSO role `arn:aws:iam::<account>:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_ModelApprover_*`. Empty: any principal of the account whose own policies allow it to assume the role."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.model_approver_principal_arns : can(regex("^arn:[a-z-]+:(iam|sts)::[0-9]{12}:", arn))])
    error_message = "model_approver_principal_arns must be IAM or STS ARNs (patterns) of this environment's account."
  }
}

variable "create_model_package_group_policy" {
  description = "Whether to attach a resource policy to each model package group: it lets the operations account read (never change) this environment's model versions, for a central view of the registries, and, where profiles.conf says `approval = manual`, denies every principal but the model approver role making a version Approved. Off, only the execution role's own Deny of that remains."
  type        = bool
  default     = true
}

################################################################################
# Retraining schedule
################################################################################

variable "retrain_schedule_timezone" {
  description = "IANA time zone in which `[<env>] retrain_schedule` and `batch_schedule` of profiles.conf are read."
  type        = string
  default     = "UTC"
}

variable "retrain_pipeline_parameters" {
  description = "Pipeline parameters of each model's scheduled executions, keyed by model name (a `[model NAME]` of profiles.conf), each a map of parameter name to value, for example `{ cancer = { GateThreshold = \"0.97\" }, diabetes = { GateThreshold = \"70\", GateMinImprovement = \"1\" } }`. Parameters are per pipeline: GateThreshold and GateMinImprovement are in the model's own metric units (roc_auc for cancer, rmse for diabetes), and GateThreshold can only tighten the model's floor. A model left out, or an empty map, runs with its pipeline's defaults; a key that names no model of profiles.conf is refused."
  type        = map(map(string))
  default     = {}
  nullable    = false

  # Terraform >= 1.9 (this root needs 1.10) lets a validation read other objects, as
  # var.environment's does: a key naming no model is refused before anything is planned.
  validation {
    condition     = length(setsubtract(keys(var.retrain_pipeline_parameters), module.profiles.model_names)) == 0
    error_message = "retrain_pipeline_parameters is keyed by model name: ${join(", ", sort(setsubtract(keys(var.retrain_pipeline_parameters), module.profiles.model_names)))} is no model of profiles.conf (${join(", ", module.profiles.model_names)})."
  }
}

################################################################################
# SageMaker Studio (optional)
################################################################################

variable "create_studio_domain" {
  description = "Whether to create a SageMaker Studio domain (VPC-only, KMS-encrypted) and one user profile in this environment."
  type        = bool
  default     = false
}

variable "studio_vpc_id" {
  description = "VPC of the Studio domain; required when `create_studio_domain = true`."
  type        = string
  default     = null

  validation {
    condition     = !var.create_studio_domain || var.studio_vpc_id != null
    error_message = "create_studio_domain = true needs studio_vpc_id."
  }
}

variable "studio_subnet_ids" {
  description = "Private subnets of the Studio domain; required when `create_studio_domain = true`."
  type        = list(string)
  default     = []

  validation {
    condition     = !var.create_studio_domain || length(var.studio_subnet_ids) > 0
    error_message = "create_studio_domain = true needs at least one subnet in studio_subnet_ids."
  }
}

variable "studio_user_profile_name" {
  description = "Name of the Studio user profile created with the domain."
  type        = string
  default     = "data-scientist"
}

################################################################################
# Buckets
################################################################################

variable "deny_insecure_transport" {
  description = "Whether bucket policies deny every request not made over TLS. Keep `true`; only runs against the embedded AWS (a plain-HTTP endpoint on which moto enforces this Deny) set `false`."
  type        = bool
  default     = true
}

variable "force_destroy_buckets" {
  description = "Whether `terraform destroy` may delete the data and artifacts buckets while they hold objects; keep `false` outside throw-away environments."
  type        = bool
  default     = false
}

################################################################################
# Deployment on approval
################################################################################

variable "deploy_lambda_zip" {
  description = "Path, relative to this root, of the deploy-on-approval function's zip; `python -m training_pipeline infra` builds it and sets this. Only needed where profiles.conf gives the environment an `endpoint`."
  type        = string
  default     = null
}
