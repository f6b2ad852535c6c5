"""Scripts that run inside SageMaker Processing and Training jobs, shared by every model.

Each model's code bundle (pipeline/code_bundle.py) is this folder with the model's own folder
(training_pipeline/models/NAME/: its ``schema.json``, and any script of its own, which replaces
the one here) laid over it. The bundle is shipped as the jobs' source directory and each
script is started from inside it (``python3 preprocess.py ...``), in a container that has only
numpy, pandas, scipy, scikit-learn, matplotlib, joblib and boto3 (Python 3.10+). So these
modules never import the SageMaker SDK nor anything outside this folder, and only champion
lookups import boto3, lazily.

Sibling imports: every script imports its siblings with

    if __package__:  # imported as training_pipeline.steps.<name> (tests, tooling)
        from . import schema
    else:  # started as a script from inside its code folder, as the SageMaker job does
        import schema

``__package__`` is empty exactly when the file runs as a top-level script, and the script's own
folder is then first on ``sys.path``. Unlike ``try/except ImportError`` this never hides a real
import error and always loads the sibling from this folder.

Scripts (each: pure functions, then a thin ``main(argv)``; paths default to /opt/ml/...):
    preprocess   validate the input CSVs and split them into train/validation/test
    train        fit a HistGradientBoosting classifier or regressor (SageMaker script mode)
    evaluate     score the challenger and the champion by the model's gate metric, write
                 evaluation.json and plots
    baseline     Model Monitor's statistics and constraints of the training rows and the
                 model's predictions, and their reference sample: the drift baselines
    approved_model  (batch pipeline) name the newest Approved version to score with
Helpers:
    schema       a model's contract (kind, features, label, value rules), read from the
                 schema.json beside the scripts
    errors       the step exceptions; ``run_as_script`` turns them into one stderr line, exit 1
    csvio        reading (header checks, float64, ``file:line`` row locations) and writing CSVs
    artifacts    the model.joblib bundle and model.tar.gz
    champion     find and download the latest Approved model package (boto3 clients passed in)
    plots        confusion matrix, ROC curve, predicted-vs-actual and distribution PNGs (Agg,
                 byte-identical)
    drift        the drift check: captured traffic read back, a Kolmogorov-Smirnov test per
                 column against the baseline, the HTML report
"""
