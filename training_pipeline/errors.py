"""Domain errors. The CLI turns each into one `Error: ...` line; the library never prints."""


class TemplateError(Exception):
    """Base class for errors a user can act on."""


class ProfilesError(TemplateError):
    """profiles.conf is missing, malformed or inconsistent."""


class AwsAccessError(TemplateError):
    """AWS cannot be reached, or the credentials do not work."""


class NotFoundError(TemplateError):
    """A named resource (model version, execution, bucket) does not exist."""
