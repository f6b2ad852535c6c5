"""What the CLI does in one environment's account: run the pipeline, follow its
executions, read and change the model registry, seed data, serve."""
