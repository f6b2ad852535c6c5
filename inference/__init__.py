"""Serving the trained model: request handling (``handler``) and the HTTP server (``serve``).

These two modules use only the standard library, numpy, pandas, scikit-learn and joblib, and
never import ``training_pipeline``: the inference image copies them alone (see ``Dockerfile``).
"""
