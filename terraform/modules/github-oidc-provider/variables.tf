################################################################################
# OIDC provider
################################################################################

variable "create" {
  description = "Whether to create the provider. An account has at most one provider per issuer URL: set `false` where it already exists, and the module looks it up instead."
  type        = bool
  default     = true
}

variable "url" {
  description = "Issuer URL of GitHub Actions' OIDC tokens (GitHub Enterprise Server users change it)."
  type        = string
  default     = "https://token.actions.githubusercontent.com"

  validation {
    condition     = startswith(var.url, "https://")
    error_message = "The issuer URL must start with https://."
  }
}

variable "client_id_list" {
  description = "Audiences accepted in the tokens' `aud` claim; `sts.amazonaws.com` is what aws-actions/configure-aws-credentials requests."
  type        = list(string)
  default     = ["sts.amazonaws.com"]
}

variable "thumbprint_list" {
  description = "Certificate thumbprints of the issuer. AWS no longer checks them for GitHub (it trusts its own CA store) but the API still stores them; the defaults are GitHub's published ones."
  type        = list(string)
  default     = ["6938fd4d98bab03faadb97b34396831e3780aea1", "1c58a3a8518e8759bf075b76b750d4f2df264fcd"]
}

variable "tags" {
  description = "Tags added to the provider, in `{'key' = 'value'}` format."
  type        = map(string)
  default     = {}
}
