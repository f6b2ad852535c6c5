"""Domain errors. The CLI turns each into one `Error: ...` line; the library never prints."""


class UserError(Exception):
    """Base class for errors a user can act on."""


class ProfilesError(UserError):
    """profiles.conf is missing, malformed or inconsistent."""


class AwsAccessError(UserError):
    """AWS cannot be reached, or the credentials do not work."""


class NotFoundError(UserError):
    """A named resource (model version, execution, bucket) does not exist."""
