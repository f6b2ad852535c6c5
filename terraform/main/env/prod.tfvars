# Workspace `prod`: terraform workspace select -or-create prod && terraform apply -var-file=env/prod.tfvars
environment = "prod"

# The prod deploy role accepts only jobs that name `environment: prod`. GitHub then puts
# `environment:prod` in the token's sub claim whatever the ref, so the GitHub environment `prod`
# must allow only the tag `prod` (deployment tag rule) and require reviewers: see
# terraform/README.md, "GitHub settings".
github_oidc_subjects = ["environment:prod"]
