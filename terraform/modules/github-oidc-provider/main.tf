################################################################################
# OIDC provider
################################################################################

resource "aws_iam_openid_connect_provider" "this" {
  count = var.create ? 1 : 0

  url             = var.url
  client_id_list  = var.client_id_list
  thumbprint_list = var.thumbprint_list

  tags = var.tags
}

data "aws_iam_openid_connect_provider" "this" {
  count = var.create ? 0 : 1

  url = var.url
}
