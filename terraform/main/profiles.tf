# profiles.conf (repository root) names the project, the region and the accounts; the workspace
# (dev, staging or prod) picks the environment.
module "profiles" {
  source = "../modules/profiles"

  path = coalesce(var.profiles_path, "${path.root}/../../profiles.conf")
}

locals {
  environment       = var.environment
  project           = module.profiles.project
  region            = module.profiles.region
  github_repository = module.profiles.github_repository
  settings          = module.profiles.environments[local.environment]
  account_id        = local.settings.account_id
  operations_id     = module.profiles.accounts["operations"]
  prefix            = "${local.project}-${local.environment}"
}
