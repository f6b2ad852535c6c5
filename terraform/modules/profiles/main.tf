################################################################################
# Parse profiles.conf
################################################################################
# The file is plain INI: `[section]` lines, `key = value` lines, `#` comment lines. Splitting on
# a newline followed by `[` yields one chunk per section (the first chunk is the preamble); each
# chunk starts with `name]` and holds that section's `key = value` lines. Comment lines never
# match because a key must be the first thing on its line.

locals {
  environment_names = ["dev", "staging", "prod"]

  text   = replace(file(var.path), "\r\n", "\n")
  chunks = split("\n[", "\n${local.text}")

  sections = {
    for chunk in local.chunks : trimspace(regex("^([^\\]\\n]+)\\]", chunk)[0]) => {
      for pair in regexall("(?m)^[ \\t]*([A-Za-z_][A-Za-z0-9_]*)[ \\t]*=[ \\t]*(.*?)[ \\t]*$", chunk) :
      pair[0] => pair[1]
    }
    if can(regex("^([^\\]\\n]+)\\]", chunk))
  }

  project           = lookup(lookup(local.sections, "project", {}), "name", "")
  region            = lookup(lookup(local.sections, "project", {}), "region", "")
  github_repository = lookup(lookup(local.sections, "project", {}), "github_repository", "")
  github_ids        = lookup(lookup(local.sections, "project", {}), "github_ids", null)

  accounts = {
    for name in concat(["operations"], local.environment_names) :
    name => lookup(lookup(local.sections, name, {}), "account_id", "")
  }

  environments = {
    for name in local.environment_names : name => {
      account_id       = local.accounts[name]
      deploy_ref       = lookup(lookup(local.sections, name, {}), "deploy_ref", "")
      reviewers        = lookup(lookup(local.sections, name, {}), "reviewers", "")
      approval         = lookup(lookup(local.sections, name, {}), "approval", "")
      retrain_schedule = lookup(lookup(local.sections, name, {}), "retrain_schedule", "off")
      instance_type    = lookup(lookup(local.sections, name, {}), "instance_type", "")
      min_auc          = lookup(lookup(local.sections, name, {}), "min_auc", "")
      endpoint         = lookup(lookup(local.sections, name, {}), "endpoint", "off")
    }
  }
}

locals {
  # The first environment deploys merges to its branch; that branch holds the reviewed deploy
  # workflow that every environment's deployment runs (see the github-oidc-role module).
  main_branch = trimprefix(local.environments[local.environment_names[0]].deploy_ref, "refs/heads/")
}
