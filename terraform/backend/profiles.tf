# profiles.conf (repository root) names the project, the region and the accounts.
module "profiles" {
  source = "../modules/profiles"

  path = coalesce(var.profiles_path, "${path.root}/../../profiles.conf")
}

locals {
  project    = module.profiles.project
  region     = module.profiles.region
  account_id = module.profiles.accounts["operations"]
}
