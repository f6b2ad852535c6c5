# Workspace `dev`: terraform workspace select -or-create dev && terraform apply -var-file=env/dev.tfvars
environment = "dev"

# The dev deploy role accepts only pushes to main (a job without `environment:`).
github_oidc_subjects = ["ref:refs/heads/main"]
