"""Deploy-on-approval: the Lambda function that serves a group's newest Approved
model, and the endpoint deployment it shares with the CLI."""
