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

output "pipeline_name" {
  description = "Name of the SageMaker pipeline the deploy job upserts, `<project>-<env>-training` (created by the CLI, not by Terraform)."
  value       = local.pipeline_name
}

output "pipeline_arn" {
  description = "ARN the pipeline will have once upserted."
  value       = local.pipeline_arn
}

output "model_package_group_name" {
  description = "Name of the environment's model package group, `<project>-<env>`."
  value       = aws_sagemaker_model_package_group.this.model_package_group_name
}

output "model_package_group_arn" {
  description = "ARN of the environment's model package group."
  value       = aws_sagemaker_model_package_group.this.arn
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
  description = "Name of the retraining schedule, `<project>-<env>-retrain` (null when profiles.conf says `retrain_schedule = off`)."
  value       = module.retrain_schedule.schedule_name
}

output "scheduler_role_arn" {
  description = "ARN of the role the schedule assumes, `<project>-<env>-scheduler` (null when there is no schedule)."
  value       = module.retrain_schedule.role_arn
}

output "endpoint_name" {
  description = "Endpoint each newly Approved model is deployed to (null when profiles.conf says `endpoint = off`)."
  value       = module.deploy_on_approval.endpoint_name
}

output "deploy_function_name" {
  description = "Lambda function deploying Approved models (null when profiles.conf says `endpoint = off`)."
  value       = module.deploy_on_approval.function_name
}
