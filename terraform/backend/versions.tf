terraform {
  required_version = ">= 1.10" # S3-native state locking (use_lockfile)

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }

  # No backend block: this root creates the state bucket that every other root uses, so its
  # own state is local (terraform.tfstate next to this file). Keep that file safe, or migrate
  # it into the bucket afterwards (terraform/README.md, "Bootstrapping").
}
