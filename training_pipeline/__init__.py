"""SageMaker training pipeline promoted across AWS accounts by git tags."""
