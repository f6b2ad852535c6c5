"""Serving the trained model: request handling (``handler``) and the HTTP server (``serve``).

Both modules use only the standard library, numpy, pandas and scikit-learn, and never import
``training_pipeline``: the inference image copies this folder alone (see ``Dockerfile``).
"""
