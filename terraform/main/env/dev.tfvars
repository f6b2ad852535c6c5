# Workspace `dev`: terraform workspace select -or-create dev && terraform apply -var-file=env/dev.tfvars
# Everything else about dev (account, deploy ref, approval, schedule, endpoint) is in profiles.conf.
environment = "dev"
