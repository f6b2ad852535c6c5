"""Scripts that run inside SageMaker Processing and Training jobs.

The whole folder is shipped as the jobs' source directory and each script is started from
inside it (``python3 preprocess.py ...``), in a container that has only numpy, pandas,
scikit-learn, matplotlib, joblib and boto3 (Python 3.10+). So these modules never import the
SageMaker SDK nor anything outside this folder, and only champion lookups import boto3, lazily.

Sibling imports: every script imports its siblings with

    if __package__:  # imported as training_pipeline.steps.<name> (tests, tooling)
        from . import schema
    else:  # started as a script from inside steps/, as the SageMaker job does
        import schema

``__package__`` is empty exactly when the file runs as a top-level script, and the script's own
folder is then first on ``sys.path``. Unlike ``try/except ImportError`` this never hides a real
import error and always loads the sibling from this folder.

Scripts (each: pure functions, then a thin ``main(argv)``; paths default to /opt/ml/...):
    preprocess   validate the input CSVs and split them into train/validation/test
    train        fit a HistGradientBoostingClassifier (SageMaker script mode)
    evaluate     score the challenger and the champion, write evaluation.json and plots
Helpers:
    schema       the dataset contract (feature names, label, value rules)
    errors       the step exceptions; ``run_as_script`` turns them into one stderr line, exit 1
    csvio        reading (header checks, float64, ``file:line`` row locations) and writing CSVs
    artifacts    the model.joblib bundle and model.tar.gz
    champion     find and download the latest Approved model package (boto3 clients passed in)
    plots        confusion matrix and ROC curve PNGs (Agg, byte-identical)
"""
