variable "path" {
  description = "Path of profiles.conf, the INI file that names the project, the region, the GitHub repository, the AWS accounts and the environments (for example \"$${path.root}/../../profiles.conf\")."
  type        = string

  validation {
    condition     = fileexists(var.path)
    error_message = "The profiles file does not exist: copy profiles.conf from the template root or pass its path."
  }
}
