"""Processing step: the drift baseline of a trained model, in SageMaker Model Monitor's formats.

    python3 baseline.py [--model-dir /opt/ml/processing/model]
                        [--train-dir /opt/ml/processing/train]
                        [--output-dir /opt/ml/processing/baseline] [--schema schema.json]

What served traffic is compared with later: the training rows' features, and the model's own
predictions on them in a column named as the server names them (``<label>_probability`` for a
classifier, ``<label>`` for a regression). Writes to ``--output-dir``:

    statistics.json   per column: count, mean, sum, standard deviation, min, max and a KLL
                      distribution (10 buckets), Model Monitor's statistics schema
    constraints.json  per column: type, completeness, non-negativity; Model Monitor's
                      constraints schema, with its distribution comparison settings
    reference.csv     the same columns for up to 10,000 of the rows (a seeded sample): the
                      sample the drift job tests captured traffic against

The pipeline attaches the first two to the registered version (its data-quality metrics and
drift-check baselines) and records where the three are, so the served version's baseline is
always the one a drift check uses.
"""

import argparse
import json
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

if __package__:  # see steps/__init__.py
    from . import artifacts, csvio, errors, schema
    from .errors import ModelArtifactError
    from .schema import Schema
else:
    import artifacts
    import csvio
    import errors
    import schema
    from errors import ModelArtifactError
    from schema import Schema

REFERENCE_ROWS = 10_000
BUCKETS = 10  # what Model Monitor materialises
# A KLL sketch's parameters as Model Monitor writes them; with no more values than k, the sketch
# is exact: one level holding every value.
KLL_C, KLL_K = 0.64, 2048
# Model Monitor's distribution check: the largest distance between the baseline's and the
# window's distribution functions ("Robust": the Kolmogorov-Smirnov statistic) above which a
# column has drifted.
COMPARISON_THRESHOLD = 0.1
SEED = 42


def prediction_column(contract: Schema) -> str:
    """The name the server gives the model's answer, and so the baseline's column of it."""
    return f"{contract.label}_probability" if contract.classification else contract.label


def with_predictions(bundle: dict, frame: pd.DataFrame, contract: Schema) -> pd.DataFrame:
    """The model's features of `frame`, in the schema's order, and its predictions on them.

    Raises:
        ModelArtifactError: the model needs a feature the rows lack.
    """
    features = list(bundle["features"])
    missing = [name for name in features if name not in frame.columns]
    if missing:
        raise ModelArtifactError(
            f"the model needs feature(s) {', '.join(map(repr, missing))} the training rows lack"
        )
    rows = frame[list(contract.features)].astype(np.float64)
    model = bundle["model"]
    if contract.classification:
        predicted = model.predict_proba(frame[features])[:, 1]
    else:
        predicted = model.predict(frame[features])
    return rows.assign(**{prediction_column(contract): np.asarray(predicted, dtype=np.float64)})


def statistics(frame: pd.DataFrame) -> dict:
    """Model Monitor's statistics.json of every column of `frame` (all numeric)."""
    return {
        "version": 0.0,
        "dataset": {"item_count": len(frame)},
        "features": [_column_statistics(name, frame[name]) for name in frame.columns],
    }


def constraints(stats: dict) -> dict:
    """Model Monitor's constraints.json suggested by `stats`, as its baselining job suggests."""
    features = []
    for feature in stats["features"]:
        numbers = feature["numerical_statistics"]
        common = numbers["common"]
        present = common["num_present"] / max(common["num_present"] + common["num_missing"], 1)
        features.append(
            {
                "name": feature["name"],
                "inferred_type": feature["inferred_type"],
                "completeness": present,
                "num_constraints": {"is_non_negative": bool(numbers["min"] >= 0)},
            }
        )
    return {
        "version": 0.0,
        "features": features,
        "monitoring_config": {
            "evaluate_constraints": "Enabled",
            "emit_metrics": "Enabled",
            "datatype_check_threshold": 1.0,
            "domain_content_threshold": 1.0,
            "distribution_constraints": {
                "perform_comparison": "Enabled",
                "comparison_threshold": COMPARISON_THRESHOLD,
                "comparison_method": "Robust",
            },
        },
    }


def reference_sample(frame: pd.DataFrame, rows: int = REFERENCE_ROWS) -> pd.DataFrame:
    """At most `rows` of `frame`, drawn with a fixed seed: the same data, the same sample."""
    return frame if len(frame) <= rows else frame.sample(n=rows, random_state=SEED)


def _column_statistics(name: str, values: pd.Series) -> dict:
    present = values.dropna().to_numpy(dtype=np.float64)
    integral = bool(present.size) and bool(np.all(np.equal(np.mod(present, 1), 0)))
    numbers: dict = {
        "common": {"num_present": int(present.size), "num_missing": int(values.isna().sum())}
    }
    if present.size:
        low, high = float(present.min()), float(present.max())
        counts, edges = np.histogram(present, bins=BUCKETS, range=(low, high))
        ordered = np.sort(present)
        if ordered.size > KLL_K:  # one level of evenly spaced order statistics
            ordered = ordered[np.linspace(0, ordered.size - 1, KLL_K).round().astype(int)]
        numbers.update(
            mean=float(present.mean()),
            sum=float(present.sum()),
            std_dev=float(present.std()),
            min=low,
            max=high,
            distribution={
                "kll": {
                    "buckets": [
                        {"lower_bound": float(a), "upper_bound": float(b), "count": int(c)}
                        for a, b, c in zip(edges[:-1], edges[1:], counts, strict=True)
                    ],
                    "sketch": {
                        "parameters": {"c": KLL_C, "k": KLL_K},
                        "data": [ordered.tolist()],
                    },
                }
            },
        )
    return {
        "name": name,
        "inferred_type": "Integral" if integral else "Fractional",
        "numerical_statistics": numbers,
    }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line; every path defaults to its place in the processing container."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-dir", type=Path, default="/opt/ml/processing/model")
    parser.add_argument("--train-dir", type=Path, default="/opt/ml/processing/train")
    parser.add_argument("--output-dir", type=Path, default="/opt/ml/processing/baseline")
    parser.add_argument("--schema", type=Path, default=None, help="default: beside this script")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> dict:
    """Write statistics.json, constraints.json and reference.csv of the training rows."""
    args = parse_args(argv)
    contract = schema.load(args.schema)
    frame, _ = csvio.read_csvs(csvio.list_csv_files(args.train_dir), contract)
    with tempfile.TemporaryDirectory() as scratch:
        bundle = artifacts.load_model_dir(args.model_dir, Path(scratch) / "model")
        baseline = with_predictions(bundle, frame, contract)
    stats = statistics(baseline)
    out = args.output_dir
    out.mkdir(parents=True, exist_ok=True)
    for name, document in (("statistics", stats), ("constraints", constraints(stats))):
        (out / f"{name}.json").write_text(json.dumps(document, indent=2) + "\n")
    csvio.write_csv(reference_sample(baseline), out / "reference.csv")
    print(f"baseline of {len(baseline)} training rows, {baseline.shape[1]} columns")
    return stats


if __name__ == "__main__":
    errors.run_as_script(main)
