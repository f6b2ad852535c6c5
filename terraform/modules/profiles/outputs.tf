################################################################################
# Profiles
################################################################################

output "project" {
  description = "Project name from `[project] name`; every resource name starts with it. Every root reads it, so the file's structural checks are here."
  value       = local.project

  precondition {
    condition     = length(local.problems) == 0
    error_message = "profiles.conf: ${join("; ", local.problems)}."
  }

  precondition {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", local.project))
    error_message = "profiles.conf: [project] name must be 3-32 lowercase letters, digits or '-' (it becomes part of S3 bucket names)."
  }
}

output "region" {
  description = "AWS region from `[project] region`, used by every account."
  value       = local.region

  precondition {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", local.region))
    error_message = "profiles.conf: [project] region must be an AWS region such as eu-west-1."
  }
}

output "github_repository" {
  description = "GitHub repository `OWNER/REPO` from `[project] github_repository`: the only repository whose workflows may assume the deploy and CI roles."
  value       = local.github_repository

  precondition {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", local.github_repository))
    error_message = "profiles.conf: [project] github_repository must be OWNER/REPO of your GitHub repository, without wildcards."
  }
}

output "github_ids" {
  description = "`OWNER_ID/REPO_ID` from the optional `[project] github_ids`, or null: where set, GitHub's OIDC subjects name the repository as `OWNER@OWNER_ID/REPO@REPO_ID`."
  value       = local.github_ids

  precondition {
    condition     = local.github_ids == null || can(regex("^[0-9]+/[0-9]+$", coalesce(local.github_ids, "x")))
    error_message = "profiles.conf: [project] github_ids must be OWNER_ID/REPO_ID (two numbers)."
  }
}

output "main_branch" {
  description = "The branch every environment's code is promoted from: the first environment's `deploy_ref` without `refs/heads/`."
  value       = local.main_branch

  precondition {
    condition     = length(local.environment_names) == 0 || can(regex("^refs/heads/[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$", local.first_ref))
    error_message = "profiles.conf: deploy_ref of the first environment must be the branch every environment is promoted from, such as refs/heads/main."
  }
}

output "environment_names" {
  description = "The environment sections of profiles.conf (every section but `[project]`, `[operations]` and the `[model NAME]` ones), in promotion order, for example `[\"dev\", \"staging\", \"prod\"]`."
  value       = local.environment_names
}

output "accounts" {
  description = "Map of account name (`operations` and each environment) to its 12-digit AWS account id."
  value       = local.accounts

  precondition {
    condition     = alltrue([for id in values(local.accounts) : can(regex("^[0-9]{12}$", id))])
    error_message = "profiles.conf: [operations] and every environment section need account_id = a 12-digit AWS account id."
  }

  precondition {
    condition     = length(distinct(values(local.accounts))) == length(local.accounts)
    error_message = "profiles.conf: the account ids must be distinct; each environment needs its own account."
  }
}

output "environments" {
  description = "Map of environment name to an object with `account_id`, `deploy_ref` (the git ref whose pushes deploy it), `reviewers` (`none` or comma-separated GitHub users and ORG/TEAMs), `approval` (auto|manual), `retrain_schedule` (`off` or a Scheduler expression), `instance_type`, `endpoint` (`off` or the endpoint's instance type), `capture` (the percentage of the endpoint's requests captured with their answers, 0 for off), `endpoint_instances` (instances behind each endpoint, 1 unless set) `batch_schedule` (`off` unless set, or the Scheduler expression of each model's batch pipeline), `drift_check` (`off` unless set, or the Scheduler expression of each model's drift check) and `drift_action` (`retrain`, `alarm` (the default) or `off`: what drift leads to)."
  value       = local.environments

  precondition {
    condition     = length(setintersection(local.environment_names, local.reserved_names)) == 0
    error_message = "profiles.conf: the environment name ${join(", ", setintersection(local.environment_names, local.reserved_names))} is reserved (backend, default and the branch the first environment deploys from are taken)."
  }

  precondition {
    condition     = alltrue([for name in local.environment_names : length(local.project) + length(name) <= local.max_project_and_environment])
    error_message = "profiles.conf: the project name and the environment name together may have at most ${local.max_project_and_environment} characters ({project}-{env}-artifacts-<account id> is an S3 bucket name)."
  }

  precondition {
    condition     = alltrue([for name in local.after_first : local.environments[name].deploy_ref == "refs/tags/${name}"])
    error_message = "profiles.conf: after the first environment, each environment's deploy_ref must be the tag named after it (refs/tags/NAME for [NAME])."
  }

  precondition {
    condition     = alltrue([for env in values(local.environments) : env.reviewers == "none" || alltrue([for r in split(",", env.reviewers) : can(regex("^[A-Za-z0-9][A-Za-z0-9-]{0,38}(/[A-Za-z0-9._-]+)?$", trim(r, " \t")))])])
    error_message = "profiles.conf: reviewers must be none or GitHub users or ORG/TEAMs separated by commas."
  }

  precondition {
    condition     = alltrue([for env in values(local.environments) : contains(["auto", "manual"], env.approval)])
    error_message = "profiles.conf: approval must be auto or manual in every environment."
  }

  precondition {
    condition     = alltrue([for env in values(local.environments) : can(regex("^(off|cron\\(.+\\)|rate\\([0-9]+ (minute|minutes|hour|hours|day|days)\\))$", env.retrain_schedule))])
    error_message = "profiles.conf: retrain_schedule must be off, cron(...) or rate(...)."
  }

  precondition {
    condition     = alltrue([for env in values(local.environments) : can(regex("^(off|cron\\(.+\\)|rate\\([0-9]+ (minute|minutes|hour|hours|day|days)\\))$", env.batch_schedule))])
    error_message = "profiles.conf: batch_schedule must be off, cron(...) or rate(...)."
  }

  precondition {
    condition     = alltrue([for env in values(local.environments) : can(regex("^(off|cron\\(.+\\)|rate\\([0-9]+ (minute|minutes|hour|hours|day|days)\\))$", env.drift_check))])
    error_message = "profiles.conf: drift_check must be off, cron(...) or rate(...)."
  }

  precondition {
    condition     = alltrue([for env in values(local.environments) : env.drift_check == "off" || env.capture > 0])
    error_message = "profiles.conf: drift_check needs captured traffic: set capture (the share of the endpoint's requests recorded) in that environment."
  }

  precondition {
    condition     = alltrue([for env in values(local.environments) : contains(["retrain", "alarm", "off"], env.drift_action)])
    error_message = "profiles.conf: drift_action must be retrain, alarm or off."
  }

  precondition {
    condition     = alltrue([for env in values(local.environments) : can(regex("^(off|ml\\.[a-z0-9.]+)$", env.endpoint))])
    error_message = "profiles.conf: endpoint must be off or an instance type such as ml.m5.large."
  }

  precondition {
    condition     = alltrue([for env in values(local.environment_values) : can(regex("^(off|[1-9][0-9]?|100)$", env.raw_capture))])
    error_message = "profiles.conf: capture must be off or a whole percentage from 1 to 100."
  }

  precondition {
    condition     = alltrue([for env in values(local.environment_values) : env.raw_instances == null || can(regex("^([1-9]|10)$", env.raw_instances))])
    error_message = "profiles.conf: endpoint_instances must be a whole number of instances from 1 to 10."
  }

  precondition {
    condition     = alltrue([for env in values(local.environment_values) : env.raw_instances == null || env.endpoint != "off"])
    error_message = "profiles.conf: endpoint_instances needs an endpoint, and an environment with endpoint = off has none."
  }

  precondition {
    condition     = alltrue([for env in values(local.environment_values) : env.raw_capture == "off" || env.endpoint != "off"])
    error_message = "profiles.conf: capture needs an endpoint: data capture records what the endpoint serves, so an environment with endpoint = off has capture = off."
  }

  precondition {
    condition     = alltrue([for env in values(local.environments) : can(regex("^ml\\.[a-z0-9.]+$", env.instance_type))])
    error_message = "profiles.conf: instance_type must be an instance type such as ml.m5.large."
  }

}

output "model_names" {
  description = "The models of profiles.conf (its `[model NAME]` sections) in file order, for example `[\"cancer\", \"diabetes\"]`: the first keeps each environment's historic resource names (`{project}-{env}`), every later one adds `-NAME`."
  value       = local.model_names
}

output "models" {
  description = "Map of model name to an object with `dataset` (`none` or `sklearn:NAME`), `metric` (the gate metric), `direction` (`higher` or `lower`), `floor` (number: the challenger must be >= it when higher, <= it when lower), `floors` (map of environment name to the number of the model's `floor_<ENV>` in that environment, instead of `floor`; only the environments the section sets one for) and `first` (true for the first model of the file)."
  value       = local.models

  precondition {
    condition     = length(local.v_names) == 0
    error_message = "profiles.conf: [model ${join("], [model ", local.v_names)}]: a model name may not start with v (the first model's endpoint configs are {project}-{env}-v<N>-..., and IAM grants them by that prefix)."
  }

  precondition {
    condition     = length(local.bad_dataset) == 0
    error_message = "profiles.conf: [model ${join("], [model ", local.bad_dataset)}] dataset must be none or sklearn:NAME (a data set an installed package ships, such as sklearn:breast_cancer)."
  }

  precondition {
    condition     = length(local.bad_metric) == 0
    error_message = "profiles.conf: [model ${join("], [model ", local.bad_metric)}] metric must be one of ${join(", ", local.metric_list)}."
  }

  precondition {
    condition     = length(local.bad_direction) == 0
    error_message = "profiles.conf: [model ${join("], [model ", local.bad_direction)}] direction must be higher or lower."
  }

  precondition {
    condition     = length(local.disagreeing) == 0
    error_message = "profiles.conf: ${join("; ", local.disagreeing)}."
  }

  precondition {
    condition     = length(local.bad_floor) == 0
    error_message = "profiles.conf: ${join("; ", local.bad_floor)}."
  }

  precondition {
    condition     = length(local.floor_above_one) == 0
    error_message = "profiles.conf: ${join("; ", local.floor_above_one)}."
  }

  precondition {
    condition     = length(local.too_long) == 0
    error_message = "profiles.conf: ${join(", ", local.too_long)}: the project, environment and model names together may have at most ${local.max_project_environment_and_model} characters ({project}-{env}-{model}-deploy-on-approval is a Lambda function name)."
  }
}
