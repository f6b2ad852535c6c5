"""Promotion by git tags: OIDC trust, GitHub settings, the tag guards, and the offline
GitHub (act and its stand-ins) that runs the workflow files."""
