# Workspace `prod`: terraform workspace select -or-create prod && terraform apply -var-file=env/prod.tfvars
# Everything else about prod (account, deploy ref, approval, schedule, endpoint) is in profiles.conf.
environment = "prod"
