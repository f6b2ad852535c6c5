# Workspace `staging`: terraform workspace select -or-create staging && terraform apply -var-file=env/staging.tfvars
# Everything else about staging (account, deploy ref, approval, schedule, endpoint) is in profiles.conf.
environment = "staging"
