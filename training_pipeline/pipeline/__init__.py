"""The pipeline build: the only code that imports the SageMaker SDK (builder.py, one
build_*_step per step), the definition it makes and its templates, the code bundle and the
container images the jobs run."""
