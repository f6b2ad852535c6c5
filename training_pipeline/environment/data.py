"""The datasets: those an installed package ships (profiles.conf's `dataset = sklearn:NAME`),
and a synthetic breast-cancer table at any size. Nothing is downloaded.

A shipped dataset is given its model's columns (models/NAME/schema.json). The synthetic table
has the reference model's (models/cancer: 30 float64 features, then the int64 label
``malignant``), so the same pipeline runs on either.

    python -m training_pipeline.environment.data --rows 1000000 --output /tmp/synthetic.csv
"""

import argparse
import inspect
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from training_pipeline.errors import UserError
from training_pipeline.pipeline.code_bundle import MODELS_DIR
from training_pipeline.steps import csvio
from training_pipeline.steps import schema as schemas

# Share of labels flipped in the synthetic data: without it, 30 separable Gaussian features
# give AUC ~1.0; with it a model scores ~0.95-0.97, about what real data of this kind gives.
LABEL_NOISE = 0.04
# Significant digits kept in synthetic values, like the reference table (e.g. 13.54, 0.1187).
SIGNIFICANT_DIGITS = 4
_BLOCK_ROWS = 65_536


def model_schema(model: str) -> schemas.Schema:
    """The contract of a model of training_pipeline/models/."""
    return schemas.load(MODELS_DIR / model / schemas.FILE)


def load_dataset(spec: str, contract: schemas.Schema) -> pd.DataFrame:
    """A dataset an installed package ships, with the columns of ``contract``.

    ``spec`` is ``sklearn:NAME`` (scikit-learn's ``load_NAME``, unscaled where it offers a
    choice). Column names have their blanks turned into ``_``. A classification label named
    after one of the dataset's classes (``malignant``) is 1 for that class and 0 otherwise;
    any other label is the dataset's target as it is.
    """
    package, _, name = spec.partition(":")
    # Imported here: scikit-learn takes 1-2 s to import, and the deploy commands that read
    # this module for model_schema never load a dataset.
    import sklearn.datasets

    loader = getattr(sklearn.datasets, f"load_{name}", None) if package == "sklearn" else None
    if loader is None:
        raise UserError(f"dataset {spec!r}: expected sklearn:NAME of a scikit-learn load_NAME")
    options = {"scaled": False} if "scaled" in inspect.signature(loader).parameters else {}
    bunch = loader(as_frame=True, **options)
    features = bunch.data.rename(columns=lambda column: str(column).replace(" ", "_"))
    if list(features.columns) != list(contract.features):
        raise UserError(
            f"dataset {spec!r} has the columns {list(features.columns)}, not the model's "
            f"features {list(contract.features)} (its schema.json)"
        )
    frame = features.astype(schemas.FEATURE_DTYPE)
    target = bunch.target.to_numpy()
    names = [str(n) for n in getattr(bunch, "target_names", [])]
    if contract.classification and contract.label in names:
        target = target == names.index(contract.label)
    frame[contract.label] = target.astype(contract.label_dtype)
    return frame


def load_reference_dataset() -> pd.DataFrame:
    """The 569 rows of the reference model (cancer): 30 features (float64) and ``malignant``
    (int64, 1 = malignant; scikit-learn's own target is 0 = malignant)."""
    return load_dataset("sklearn:breast_cancer", _reference_schema())


@cache
def _reference_schema() -> schemas.Schema:
    return model_schema("cancer")


def make_synthetic(rows: int, seed: int = 0) -> pd.DataFrame:
    """``rows`` synthetic rows with the reference schema, dtypes and class balance.

    Each class is a multivariate Gaussian fitted to the reference rows of that class in
    ``log1p`` space (so values stay non-negative and keep their skew and correlations), then
    ``LABEL_NOISE`` of the labels are flipped. Values are rounded to ``SIGNIFICANT_DIGITS``.
    Vectorized, in blocks: 1M rows take 1-2 s and little more memory than the frame itself
    (240 MB). Same ``rows`` and ``seed``, same frame.
    """
    if rows < 0:
        raise ValueError(f"rows must be >= 0, got {rows}")
    schema = _reference_schema()
    prior, means, factors, decimals = _class_model()
    rng = np.random.default_rng(seed)
    labels = (rng.random(rows) < prior).astype(schema.label_dtype)
    values = np.empty((rows, len(schema.features)), dtype=schemas.FEATURE_DTYPE)
    # In blocks, so that the temporaries stay small next to the result.
    for start in range(0, rows, _BLOCK_ROWS):
        block = values[start : start + _BLOCK_ROWS]
        noise = rng.standard_normal(block.shape)
        block_labels = labels[start : start + _BLOCK_ROWS]
        for label in schema.label_values:
            members = block_labels == label
            block[members] = noise[members] @ factors[label].T + means[label]
    np.expm1(values, out=values)
    np.maximum(values, schema.feature_min, out=values)
    # np.round(x, d) is rint(x * 10**d) / 10**d; done on the whole matrix at once.
    scale = 10.0 ** np.asarray(decimals)
    np.multiply(values, scale, out=values)
    np.rint(values, out=values)
    np.divide(values, scale, out=values)
    flip = rng.random(rows) < LABEL_NOISE
    labels[flip] = 1 - labels[flip]
    frame = pd.DataFrame(values, columns=list(schema.features), copy=False)
    frame[schema.label] = labels
    return frame


@cache
def _class_model() -> tuple[float, dict, dict, list[int]]:
    schema, reference = _reference_schema(), load_reference_dataset()
    logs = np.log1p(reference[list(schema.features)].to_numpy())
    labels = reference[schema.label].to_numpy()
    means, factors = {}, {}
    for label in schema.label_values:
        of_class = logs[labels == label]
        means[label] = of_class.mean(axis=0)
        # A small ridge keeps the Cholesky factor defined for near-collinear features
        # (radius, perimeter and area are almost functions of each other).
        covariance = np.cov(of_class, rowvar=False) + 1e-9 * np.eye(logs.shape[1])
        factors[label] = np.linalg.cholesky(covariance)
    medians = np.median(reference[list(schema.features)].to_numpy(), axis=0)
    decimals = [
        max(0, SIGNIFICANT_DIGITS - int(np.ceil(np.log10(m)))) if m > 0 else 6 for m in medians
    ]
    return float(labels.mean()), means, factors, decimals


def write_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` as CSV with a header row (creating parent folders)."""
    return csvio.write_csv(frame, path)


def main(argv: list[str] | None = None) -> None:
    """Write the reference or a synthetic dataset to a CSV file."""
    parser = argparse.ArgumentParser(
        prog="python -m training_pipeline.environment.data", description=main.__doc__
    )
    parser.add_argument(
        "--rows",
        type=int,
        help="synthetic rows to generate (default: the reference data)",
    )
    parser.add_argument("--seed", type=int, default=0, help="synthetic data seed")
    parser.add_argument("--output", type=Path, required=True, help="CSV file to write")
    args = parser.parse_args(argv)
    if args.rows is None:
        frame = load_reference_dataset()
    else:
        frame = make_synthetic(args.rows, seed=args.seed)
    print(f"wrote {len(frame)} rows to {write_csv(frame, args.output)}")


if __name__ == "__main__":
    main()
