"""The serving container: the SageMaker contract (/ping, /invocations) over one model."""
