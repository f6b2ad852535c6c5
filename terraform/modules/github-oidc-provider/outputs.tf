################################################################################
# OIDC provider
################################################################################

output "arn" {
  description = "ARN of the account's GitHub OIDC provider, created here or looked up when `create = false`."
  value       = var.create ? try(aws_iam_openid_connect_provider.this[0].arn, null) : try(data.aws_iam_openid_connect_provider.this[0].arn, null)
}

output "issuer" {
  description = "Issuer host without `https://`, the prefix of the condition keys in trust policies (`<issuer>:sub`, `<issuer>:aud`)."
  value       = trimprefix(var.url, "https://")
}
