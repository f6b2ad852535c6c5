"""An offline GitHub: the repository's workflow files run for real, through act, on pushes.

origin.py    a throwaway origin repository that plays GitHub (its post-receive hook)
receive.py   the hook: each pushed ref is an event that runs the workflows it triggers
events.py    the event payloads GitHub sends
act.py       running a workflow file with act on the host, with the stand-ins
jobs.py      which job is running, read from the workflow files (for its OIDC token)
credentials.py, setup_python.py, docker.py
             the stand-ins for configure-aws-credentials (GitHub's issuer and AWS STS),
             setup-python and the runner's docker (.github/offline/ holds their actions)
"""
