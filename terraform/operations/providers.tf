provider "aws" {
  region              = local.region
  allowed_account_ids = [local.account_id]

  # Set assume_role_name to reach the operations account from another identity (for example
  # OrganizationAccountAccessRole from the management account); null uses the ambient
  # credentials, which must then belong to the operations account.
  dynamic "assume_role" {
    for_each = var.assume_role_name == null ? [] : [var.assume_role_name]

    content {
      role_arn     = "arn:aws:iam::${local.account_id}:role/${assume_role.value}"
      session_name = "terraform-${local.project}-operations"
    }
  }

  default_tags {
    tags = {
      Project   = local.project
      Account   = "operations"
      ManagedBy = "terraform/operations"
    }
  }
}
