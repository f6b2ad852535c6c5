# Workspace `staging`: terraform workspace select -or-create staging && terraform apply -var-file=env/staging.tfvars
environment = "staging"

# The staging deploy role accepts only the tag `staging` (git tag -f staging SHA; a job without
# `environment:`).
github_oidc_subjects = ["ref:refs/tags/staging"]
