################################################################################
# Parse profiles.conf
################################################################################
# The file is plain INI: `[section]` lines, `key = value` lines, `#` comment lines. Splitting on
# a newline followed by `[` yields one chunk per section (the first chunk is the preamble); each
# chunk starts with `name]` and holds that section's `key = value` lines. Comment lines never
# match because a key must be the first thing on its line. training_pipeline/config/settings.py reads
# the same file with the same rules; tests/data/broken_profiles holds the files both must refuse.

locals {
  # A section name is also part of resource names, tags and GitHub Environments.
  section_name = "[a-z][a-z0-9]{1,9}"
  entry        = "^[ \\t]*([A-Za-z_][A-Za-z0-9_]*)[ \\t]*=[ \\t]*(.*?)[ \\t]*$"

  text   = replace(file(var.path), "\r\n", "\n")
  chunks = split("\n[", "\n${local.text}")

  # Every section in file order, duplicates included (they are reported, not merged). Blanks
  # are spaces and tabs only (trim, not trimspace), as in training_pipeline/config/settings.py.
  section_list = [
    for chunk in slice(local.chunks, 1, length(local.chunks)) : {
      name  = regex("^([^\\]\\n]*)\\]?", chunk)[0]
      pairs = regexall("(?m)${local.entry}", chunk)
    }
  ]
  preamble_pairs = regexall("(?m)${local.entry}", local.chunks[0])

  grouped  = { for s in local.section_list : s.name => s.pairs... }
  sections = { for name, found in local.grouped : name => { for pair in found[0] : pair[0] => pair[1]... } }
  values   = { for name, entries in local.sections : name => { for key, found in entries : key => found[0] } }

  # Every section but [project] and [operations] is an environment, in promotion order.
  environment_names = distinct([
    for s in local.section_list : s.name if !contains(["project", "operations"], s.name)
  ])

  required_keys = {
    project     = ["name", "region", "github_repository"]
    operations  = ["account_id"]
    environment = ["account_id", "deploy_ref", "reviewers", "approval", "retrain_schedule", "instance_type", "min_auc", "endpoint"]
  }
  optional_keys = { project = ["github_ids"], operations = [], environment = [] }
  kind          = { for name in keys(local.sections) : name => contains(["project", "operations"], name) ? name : "environment" }

  problems = concat(
    [
      for line in split("\n", local.text) : "a line that is not `key = value`, a [section] or a # comment: ${trim(line, " \t")}"
      if !(trim(line, " \t") == "" || startswith(trim(line, " \t"), "#") || can(regex("^\\[[^\\]]*\\][ \\t]*$", line)) || can(regex(local.entry, line)))
    ],
    [for s in local.section_list : "section [${s.name}]: a section name is 2-10 lowercase letters or digits, starting with a letter" if !can(regex("^${local.section_name}$", s.name))],
    [for pair in local.preamble_pairs : "${pair[0]} is outside any [section]"],
    [for name, found in local.grouped : "section [${name}] is defined twice" if length(found) > 1],
    [for name in ["project", "operations"] : "missing section [${name}]" if !contains(keys(local.sections), name)],
    length(local.environment_names) == 0 ? ["no environment section: add [dev] (and the ones it is promoted to)"] : [],
    flatten([
      for name, entries in local.sections : concat(
        [for key, found in entries : "[${name}] ${key} is set twice" if length(found) > 1],
        [for key in keys(entries) : "unknown key ${key} in [${name}]" if !contains(concat(local.required_keys[local.kind[name]], local.optional_keys[local.kind[name]]), key)],
        [for key in local.required_keys[local.kind[name]] : "section [${name}] lacks ${key}" if !contains(keys(entries), key)],
      )
    ]),
  )

  # Missing values read as "" so that the checks below name them instead of failing to index.
  project           = lookup(lookup(local.values, "project", {}), "name", "")
  region            = lookup(lookup(local.values, "project", {}), "region", "")
  github_repository = lookup(lookup(local.values, "project", {}), "github_repository", "")
  github_ids        = lookup(lookup(local.values, "project", {}), "github_ids", null)

  accounts = {
    for name in concat(["operations"], local.environment_names) :
    name => lookup(lookup(local.values, name, {}), "account_id", "")
  }

  environments = {
    for name in local.environment_names : name => {
      account_id       = local.accounts[name]
      deploy_ref       = lookup(local.values[name], "deploy_ref", "")
      reviewers        = lookup(local.values[name], "reviewers", "")
      approval         = lookup(local.values[name], "approval", "")
      retrain_schedule = lookup(local.values[name], "retrain_schedule", "")
      instance_type    = lookup(local.values[name], "instance_type", "")
      min_auc          = lookup(local.values[name], "min_auc", "")
      endpoint         = lookup(local.values[name], "endpoint", "")
    }
  }
}

locals {
  # The first environment deploys merges to its branch; that branch holds the reviewed deploy
  # workflow that every environment's deployment runs (see the github-oidc-role module).
  first_ref   = try(local.environments[local.environment_names[0]].deploy_ref, "")
  main_branch = trimprefix(local.first_ref, "refs/heads/")

  # Names an environment cannot have: a Terraform target (infra --backend), Terraform's own
  # workspace, the branch the first environment deploys from. And {project}-{env}-artifacts-
  # {account id} is an S3 bucket name, at most 63 characters.
  reserved_names              = ["backend", "default", local.main_branch]
  max_project_and_environment = 63 - length("--artifacts-") - 12
  after_first                 = [for i, name in local.environment_names : name if i > 0]
}
