# profiles.conf (repository root) names the project, the region, the accounts and the
# environments; the workspace, named after one of them, picks the environment.
module "profiles" {
  source = "../modules/profiles"

  path = coalesce(var.profiles_path, "${path.root}/../../profiles.conf")
}

locals {
  environment       = coalesce(var.environment, terraform.workspace)
  project           = module.profiles.project
  region            = module.profiles.region
  github_repository = module.profiles.github_repository
  settings          = module.profiles.environments[local.environment]
  account_id        = local.settings.account_id
  operations_id     = module.profiles.accounts["operations"]
  prefix            = "${local.project}-${local.environment}"
}
