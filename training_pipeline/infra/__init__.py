"""The Terraform driver: applies terraform/ to the accounts of profiles.conf."""
