provider "aws" {
  region              = local.region
  allowed_account_ids = [local.account_id]

  # Set assume_role_name to reach this environment's account from another identity (for example
  # OrganizationAccountAccessRole from the management or operations account); null uses the
  # ambient credentials, which must then belong to this environment's account.
  dynamic "assume_role" {
    for_each = var.assume_role_name == null ? [] : [var.assume_role_name]

    content {
      role_arn     = "arn:aws:iam::${local.account_id}:role/${assume_role.value}"
      session_name = "terraform-${local.prefix}"
    }
  }

  default_tags {
    tags = {
      Project     = local.project
      Environment = local.environment
      ManagedBy   = "terraform/main"
    }
  }
}
