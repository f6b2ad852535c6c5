################################################################################
# Environment
################################################################################

output "environment" {
  description = "Environment of this workspace (a section of profiles.conf)."
  value       = local.environment
}

output "account_id" {
  description = "Account id of this environment (from profiles.conf)."
  value       = local.account_id
}

################################################################################
# Storage and encryption
################################################################################

output "data_bucket" {
  description = "Name of the data bucket, `<project>-<env>-data-<account id>`."
  value       = module.data_bucket.bucket_id
}

output "artifacts_bucket" {
  description = "Name of the artifacts bucket, `<project>-<env>-artifacts-<account id>` (pipeline outputs, code, model artifacts, execution records, step cache)."
  value       = module.artifacts_bucket.bucket_id
}

output "kms_key_arn" {
  description = "ARN of the environment's KMS key."
  value       = module.kms.key_arn
}

output "kms_alias" {
  description = "Alias of the environment's KMS key, `alias/<project>-<env>`."
  value       = module.kms.alias_name
}

################################################################################
# SageMaker
################################################################################

output "first_model" {
  description = "The first model of profiles.conf: its resources keep the environment's historic names (`<project>-<env>`), and the single-valued outputs below are its."
  value       = local.first_model
}

output "pipeline_name" {
  description = "Name of the first model's SageMaker pipeline, `<project>-<env>-training` (upserted by the CLI's deploy, not by Terraform; every model's: `pipeline_names`)."
  value       = local.pipeline_names[local.first_model]
}

output "pipeline_arn" {
  description = "ARN the first model's pipeline will have once upserted."
  value       = local.pipeline_arns[local.first_model]
}

output "pipeline_names" {
  description = "Map of model name to the name of its SageMaker pipeline in this environment: `<project>-<env>-training` for the first model, `<project>-<env>-<model>-training` for the others."
  value       = local.pipeline_names
}

output "model_package_group_name" {
  description = "Name of the first model's model package group, `<project>-<env>` (every model's: `model_package_groups`)."
  value       = aws_sagemaker_model_package_group.this[local.first_model].model_package_group_name
}

output "model_package_group_arn" {
  description = "ARN of the first model's model package group."
  value       = aws_sagemaker_model_package_group.this[local.first_model].arn
}

output "model_package_groups" {
  description = "Map of model name to its model package group in this environment: `<project>-<env>` for the first model, `<project>-<env>-<model>` for the others."
  value       = { for name, group in aws_sagemaker_model_package_group.this : name => group.model_package_group_name }
}

output "model_package_group_arns" {
  description = "Map of model name to the ARN of its model package group."
  value       = { for name, group in aws_sagemaker_model_package_group.this : name => group.arn }
}

output "training_data_prefixes" {
  description = "Map of model name to where its training data lies in the data bucket: `training/` for the first model, `training-<model>/` for the others."
  value       = { for name, model in local.models : name => model.data_prefix }
}

output "sagemaker_execution_role_arn" {
  description = "ARN of the SageMaker execution role, `<project>-<env>-sagemaker-execution`."
  value       = aws_iam_role.sagemaker_execution.arn
}

output "studio_domain_id" {
  description = "Id of the Studio domain (null unless `create_studio_domain = true`)."
  value       = try(aws_sagemaker_domain.this[0].id, null)
}

################################################################################
# GitHub OIDC
################################################################################

output "github_oidc_provider_arn" {
  description = "ARN of this account's GitHub OIDC provider."
  value       = module.github_oidc_provider.arn
}

output "github_deploy_role_arn" {
  description = "ARN of the deploy role, `<project>-<env>-github-deploy`: the role-to-assume of this environment's deploy job."
  value       = module.github_deploy_role.arn
}

output "github_deploy_role_subjects" {
  description = "The exact `sub` claims the deploy role accepts."
  value       = module.github_deploy_role.subjects
}

################################################################################
# Retraining schedule
################################################################################

output "retrain_schedule_name" {
  description = "Name of the first model's retraining schedule, `<project>-<env>-retrain` (null when profiles.conf says `retrain_schedule = off`)."
  value       = module.retrain_schedule[local.first_model].schedule_name
}

output "scheduler_role_arn" {
  description = "ARN of the role the first model's schedule assumes, `<project>-<env>-scheduler` (null when there is no schedule)."
  value       = module.retrain_schedule[local.first_model].role_arn
}

output "batch_schedule_names" {
  description = "Map of model name to the schedule of its batch pipeline, `<model prefix>-batch` (values null when profiles.conf says `batch_schedule = off` or leaves it out)."
  value       = { for name, schedule in module.batch_schedule : name => schedule.schedule_name }
}

output "batch_transform_role_arn" {
  description = "ARN of the role the batch pipelines' models run as, `<project>-<env>-batch-transform`: reads their models and the batch data, writes predictions/."
  value       = aws_iam_role.batch_transform.arn
}

output "drift_check_role_arn" {
  description = "ARN of the role the drift checks' job runs as, `<project>-<env>-drift-check`: reads captured traffic and baselines, puts MLOps/Drift metrics, and with `drift_action = retrain` starts this environment's training pipelines."
  value       = aws_iam_role.drift_check.arn
}

output "monitor_pipeline_names" {
  description = "Map of model name to its monitoring pipeline, `<model prefix>-monitor`: checks its captured traffic against the served version's baseline (`monitor --env ENV`)."
  value       = local.monitor_pipeline_names
}

output "drift_check_schedule_names" {
  description = "Map of model name to the schedule of its drift check, `<model prefix>-drift-check` (values null when profiles.conf says `drift_check = off` or leaves it out)."
  value       = { for name, schedule in module.drift_check_schedule : name => schedule.schedule_name }
}

output "drift_alarm_names" {
  description = "Map of model name to the CloudWatch alarm on its drift check's verdict, `<model prefix>-drift` (empty when profiles.conf says `drift_check = off`)."
  value       = { for name, alarm in aws_cloudwatch_metric_alarm.drift : name => alarm.alarm_name }
}

output "batch_pipeline_names" {
  description = "Map of model name to its batch pipeline, `<model prefix>-batch`: scores a dataset with the newest Approved version (`predict --env ENV`)."
  value       = local.batch_pipeline_names
}

output "retrain_schedule_names" {
  description = "Map of model name to its retraining schedule, `<model prefix>-retrain` (values null when profiles.conf says `retrain_schedule = off`)."
  value       = { for name, schedule in module.retrain_schedule : name => schedule.schedule_name }
}

output "endpoint_name" {
  description = "Endpoint each newly Approved version of the first model is deployed to, `<project>-<env>` (null when profiles.conf says `endpoint = off`)."
  value       = module.deploy_on_approval[local.first_model].endpoint_name
}

output "deploy_function_name" {
  description = "Lambda function deploying the first model's Approved versions (null when profiles.conf says `endpoint = off`)."
  value       = module.deploy_on_approval[local.first_model].function_name
}

output "endpoint_names" {
  description = "Map of model name to the endpoint its Approved versions are deployed to: `<project>-<env>` for the first model, `<project>-<env>-<model>` for the others (values null when profiles.conf says `endpoint = off`)."
  value       = { for name, deploy in module.deploy_on_approval : name => deploy.endpoint_name }
}

output "deploy_function_names" {
  description = "Map of model name to the Lambda function deploying its Approved versions, `<model prefix>-deploy-on-approval` (values null when profiles.conf says `endpoint = off`)."
  value       = { for name, deploy in module.deploy_on_approval : name => deploy.function_name }
}

output "model_approver_role_arn" {
  description = "ARN of the role a person assumes to approve or reject this environment's model versions, `<prefix>-model-approver` (null unless profiles.conf says `approval = manual`); the only identity that may make a version Approved."
  value       = local.manual_approval ? aws_iam_role.model_approver[0].arn : null
}

output "model_package_group_policies" {
  description = "Map of model name to the resource policy (JSON) of its model package group, as attached when `create_model_package_group_policy` is true."
  value       = { for name, document in data.aws_iam_policy_document.model_package_group : name => document.json }
}

output "endpoint_role_arn" {
  description = "ARN of the role this environment's endpoints run their models with, `<prefix>-endpoint` (null when profiles.conf says `endpoint = off`): it reads the models' artifacts, pulls the inference image and writes the endpoints' logs, nothing else."
  value       = local.settings.endpoint != "off" ? aws_iam_role.endpoint[0].arn : null
}
