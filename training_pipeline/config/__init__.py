"""profiles.conf, read and validated, and the names and revision derived from it."""
