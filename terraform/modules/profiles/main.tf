################################################################################
# Parse profiles.conf
################################################################################
# The file is plain INI: `[section]` lines, `key = value` lines, `#` comment lines. Splitting on
# a newline followed by `[` yields one chunk per section (the first chunk is the preamble); each
# chunk starts with `name]` and holds that section's `key = value` lines. Comment lines never
# match because a key must be the first thing on its line. training_pipeline/config/settings.py reads
# the same file with the same rules; tests/data/broken_profiles holds the files both must refuse.

locals {
  # A section name is also part of resource names, tags and GitHub Environments. A section
  # whose name is `model` and a blank is a model, [model NAME], with a NAME of the same form.
  section_name = "[a-z][a-z0-9]{1,9}"
  model_like   = "^model[ \\t]"
  model_header = "^model (${local.section_name})$"
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

  # project, operations, model or environment, for every section.
  kind = {
    for name in keys(local.sections) : name => (
      contains(["project", "operations"], name) ? name : can(regex(local.model_like, name)) ? "model" : "environment"
    )
  }

  # Every section but [project], [operations] and the [model NAME] ones is an environment, in
  # promotion order.
  environment_names = distinct([for s in local.section_list : s.name if local.kind[s.name] == "environment"])

  # The models in file order (the first keeps the historic resource names), by their sections.
  model_sections = distinct([for s in local.section_list : s.name if can(regex(local.model_header, s.name))])
  model_names    = [for section in local.model_sections : regex(local.model_header, section)[0]]

  required_keys = {
    project     = ["name", "region", "github_repository"]
    operations  = ["account_id"]
    model       = ["dataset", "metric", "direction", "floor"]
    environment = ["account_id", "deploy_ref", "reviewers", "approval", "retrain_schedule", "instance_type", "endpoint"]
  }
  # A model section may also set floor_<ENV> for any environment of the file: that
  # environment's floor for the model, instead of `floor`.
  floor_keys    = [for env in local.environment_names : "floor_${env}"]
  optional_keys = { project = ["github_ids"], operations = [], model = local.floor_keys, environment = ["capture", "endpoint_instances", "batch_schedule", "drift_check", "drift_action"] }
  allowed_keys  = { for kind, keys in local.required_keys : kind => concat(keys, local.optional_keys[kind]) }

  problems = concat(
    [
      for line in split("\n", local.text) : "a line that is not `key = value`, a [section] or a # comment: ${trim(line, " \t")}"
      if !(trim(line, " \t") == "" || startswith(trim(line, " \t"), "#") || can(regex("^\\[[^\\]]*\\][ \\t]*$", line)) || can(regex(local.entry, line)))
    ],
    [for s in local.section_list : "section [${s.name}]: a section name is 2-10 lowercase letters or digits, starting with a letter" if !can(regex(local.model_like, s.name)) && !can(regex("^${local.section_name}$", s.name))],
    [for s in local.section_list : "section [${s.name}]: a model section is [model NAME]: `model`, one space, a NAME of 2-10 lowercase letters or digits, starting with a letter" if can(regex(local.model_like, s.name)) && !can(regex(local.model_header, s.name))],
    [for pair in local.preamble_pairs : "${pair[0]} is outside any [section]"],
    [for name, found in local.grouped : "section [${name}] is defined twice" if length(found) > 1],
    [for name in ["project", "operations"] : "missing section [${name}]" if !contains(keys(local.sections), name)],
    length(local.environment_names) == 0 ? ["no environment section: add [dev] (and the ones it is promoted to)"] : [],
    length(local.model_names) == 0 ? ["no model section: add [model NAME] with its dataset, metric, direction and floor"] : [],
    flatten([
      for name, entries in local.sections : concat(
        [for key, found in entries : "[${name}] ${key} is set twice" if length(found) > 1],
        [for key in keys(entries) : "unknown key ${key} in [${name}]; expected one of ${join(", ", local.allowed_keys[local.kind[name]])}" if !contains(local.allowed_keys[local.kind[name]], key)],
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

  environment_values = {
    for name in local.environment_names : name => {
      account_id       = local.accounts[name]
      deploy_ref       = lookup(local.values[name], "deploy_ref", "")
      reviewers        = lookup(local.values[name], "reviewers", "")
      approval         = lookup(local.values[name], "approval", "")
      retrain_schedule = lookup(local.values[name], "retrain_schedule", "")
      instance_type    = lookup(local.values[name], "instance_type", "")
      endpoint         = lookup(local.values[name], "endpoint", "")
      raw_capture      = lookup(local.values[name], "capture", "off")
      raw_instances    = lookup(local.values[name], "endpoint_instances", null)
      batch_schedule   = lookup(local.values[name], "batch_schedule", "off")
      drift_check      = lookup(local.values[name], "drift_check", "off")
      drift_action     = lookup(local.values[name], "drift_action", "alarm")
    }
  }
  # `capture` as a number: the percentage of requests captured, 0 when off (or unreadable: the
  # precondition names it).
  captures = {
    for name, env in local.environment_values : name => can(regex("^([1-9][0-9]?|100)$", env.raw_capture)) ? tonumber(env.raw_capture) : 0
  }
  environments = {
    for name, env in local.environment_values : name => merge(
      { for key, value in env : key => value if !contains(["raw_capture", "raw_instances"], key) },
      {
        capture            = local.captures[name]
        endpoint_instances = can(regex("^([1-9]|10)$", env.raw_instances)) ? tonumber(env.raw_instances) : 1
      },
    )
  }

  # The floors as written (`floor`, then the floor_<ENV> the section sets, in promotion order);
  # `floor` and `floors` are their numbers (null where one is not: the checks name it).
  number = "^[0-9]+(\\.[0-9]+)?$"
  model_values = {
    for i, section in local.model_sections : local.model_names[i] => {
      dataset   = lookup(local.values[section], "dataset", "")
      metric    = lookup(local.values[section], "metric", "")
      direction = lookup(local.values[section], "direction", "")
      raw_floor = lookup(local.values[section], "floor", "")
      raw_floors = {
        for env in local.environment_names : env => local.values[section]["floor_${env}"]
        if contains(keys(local.values[section]), "floor_${env}")
      }
      first = i == 0
    }
  }
  models = {
    for name, model in local.model_values : name => {
      dataset   = model.dataset
      metric    = model.metric
      direction = model.direction
      floor     = can(regex(local.number, model.raw_floor)) ? tonumber(model.raw_floor) : null
      floors    = { for env, raw in model.raw_floors : env => can(regex(local.number, raw)) ? tonumber(raw) : null }
      first     = model.first
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

  # The gate metrics the evaluation step reports, and which way each is better; the metrics
  # that are scores between 0 and 1 (a floor above 1 could never be met).
  metric_directions = {
    roc_auc   = "higher"
    accuracy  = "higher"
    precision = "higher"
    recall    = "higher"
    f1        = "higher"
    log_loss  = "lower"
    rmse      = "lower"
    mae       = "lower"
    r2        = "higher"
  }
  metric_list = ["roc_auc", "accuracy", "precision", "recall", "f1", "log_loss", "rmse", "mae", "r2"]
  at_most_one = ["roc_auc", "accuracy", "precision", "recall", "f1", "r2"]

  # {project}-{env}-{model}-deploy-on-approval names a Lambda function (at most 64 characters).
  max_project_environment_and_model = 42
  too_long = flatten([
    for env in local.environment_names : [
      for model in local.model_names : "${local.project}-${env}-${model}"
      if length(local.project) + length(env) + length(model) > local.max_project_environment_and_model
    ]
  ])

  bad_dataset   = [for name, m in local.model_values : name if !can(regex("^(none|sklearn:[a-z_]+)$", m.dataset))]
  v_names       = [for name in local.model_names : name if startswith(name, "v")]
  bad_metric    = [for name, m in local.model_values : name if !contains(local.metric_list, m.metric)]
  bad_direction = [for name, m in local.model_values : name if !contains(["higher", "lower"], m.direction)]
  disagreeing = [
    for name, m in local.model_values : "[model ${name}] direction disagrees with its metric: ${m.metric} is better ${local.metric_directions[m.metric]}"
    if contains(local.metric_list, m.metric) && contains(["higher", "lower"], m.direction) && m.direction != lookup(local.metric_directions, m.metric, "")
  ]
  # Every floor of every model: `floor`, then its floor_<ENV> in promotion order.
  floor_entries = flatten([
    for name, m in local.model_values : concat(
      [{ model = name, metric = m.metric, key = "floor", raw = m.raw_floor }],
      [for env in local.environment_names : { model = name, metric = m.metric, key = "floor_${env}", raw = m.raw_floors[env] } if contains(keys(m.raw_floors), env)],
    )
  ])
  bad_floor = [
    for f in local.floor_entries : "[model ${f.model}] ${f.key} = '${f.raw}' is not a number such as 0.90 or 70"
    if !can(regex(local.number, f.raw))
  ]
  floor_above_one = [
    for f in local.floor_entries : "[model ${f.model}] ${f.key} = '${f.raw}' must be at most 1 for ${f.metric} (a score between 0 and 1)"
    if can(regex(local.number, f.raw)) && contains(local.at_most_one, f.metric) && try(tonumber(f.raw) > 1, false)
  ]
}
