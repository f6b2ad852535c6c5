"""Scripts that run inside SageMaker Processing and Training jobs.

The whole folder is shipped as the jobs' source directory and each script is started from
inside it (``python3 preprocess.py ...``), in a container that has only numpy, pandas,
scikit-learn, matplotlib, joblib and boto3. So these modules never import the SageMaker SDK nor
anything outside this folder.

Sibling imports: every script imports its siblings with

    if __package__:  # imported as training_pipeline.steps.<name> (tests, tooling)
        from . import schema
    else:  # started as a script from inside steps/, as the SageMaker job does
        import schema

``__package__`` is empty exactly when the file runs as a top-level script, and the script's own
folder is then first on ``sys.path``. Unlike ``try/except ImportError`` this never hides a real
import error and always loads the sibling from this folder.

Modules:
    schema       the dataset contract (feature names, label, value rules)
    errors       the step exceptions and the one-line-on-stderr script entry point
    csvio        reading and writing the CSV splits
    preprocess   validate the input CSVs and split them into train/validation/test
    train        fit a HistGradientBoostingClassifier (SageMaker script mode)
    evaluate     score the challenger and the champion, write evaluation.json and plots
    champion     find and fetch the approved model package (boto3 clients passed in)
"""
