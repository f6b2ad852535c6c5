# profiles.conf (repository root) names the project, the region and the accounts.
module "profiles" {
  source = "../modules/profiles"

  path = coalesce(var.profiles_path, "${path.root}/../../profiles.conf")
}

locals {
  project           = module.profiles.project
  region            = module.profiles.region
  github_repository = module.profiles.github_repository
  account_id        = module.profiles.accounts["operations"]
  environment_account_ids = [
    for name in module.profiles.environment_names : module.profiles.accounts[name]
  ]
}
