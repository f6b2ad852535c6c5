"""Evaluation plots as PNG files, byte-identical for the same inputs."""

from collections.abc import Mapping
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before pyplot: the jobs have no display

import matplotlib.pyplot as plt
import numpy as np

# No "Software" (matplotlib version) entry, and Agg writes no timestamp: same plot, same bytes.
PNG_METADATA = {"Software": None}


def confusion_matrix_png(
    matrix: np.ndarray, path: str | Path, title: str, classes: tuple[str, str]
) -> Path:
    """A 2x2 confusion matrix (rows: actual, columns: predicted) with its counts; ``classes``
    names the negative and the positive class."""
    figure, axes = plt.subplots(figsize=(4.5, 4), dpi=100)
    axes.imshow(matrix, cmap="Blues")
    for (actual, predicted), count in np.ndenumerate(matrix):
        dark = count > matrix.max() / 2
        axes.text(
            predicted,
            actual,
            str(int(count)),
            ha="center",
            va="center",
            color="white" if dark else "black",
        )
    axes.set_xticks([0, 1], list(classes))
    axes.set_yticks([0, 1], list(classes))
    axes.set_xlabel("predicted")
    axes.set_ylabel("actual")
    axes.set_title(title)
    return _save(figure, path)


def roc_curve_png(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray, float]], path: str | Path, title: str
) -> Path:
    """ROC curves, ``{name: (false_positive_rates, true_positive_rates, auc)}``."""
    figure, axes = plt.subplots(figsize=(4.5, 4.5), dpi=100)
    for name, (fpr, tpr, auc) in curves.items():
        axes.plot(fpr, tpr, label=f"{name} (AUC {auc:.4f})")
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=0.8)
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.01)
    axes.set_xlabel("false positive rate")
    axes.set_ylabel("true positive rate")
    axes.set_title(title)
    axes.legend(loc="lower right")
    return _save(figure, path)


def predicted_vs_actual_png(
    series: Mapping[str, tuple[np.ndarray, np.ndarray, float]], path: str | Path, title: str
) -> Path:
    """A regression's predictions against the truth, ``{name: (actual, predicted, rmse)}``;
    points on the diagonal are exact."""
    figure, axes = plt.subplots(figsize=(4.5, 4.5), dpi=100)
    low = min(float(min(a.min(), p.min())) for a, p, _ in series.values())
    high = max(float(max(a.max(), p.max())) for a, p, _ in series.values())
    for name, (actual, predicted, rmse) in series.items():
        axes.scatter(actual, predicted, s=8, alpha=0.6, label=f"{name} (RMSE {rmse:.4g})")
    axes.plot([low, high], [low, high], linestyle="--", color="grey", linewidth=0.8)
    axes.set_xlabel("actual")
    axes.set_ylabel("predicted")
    axes.set_title(title)
    axes.legend(loc="upper left")
    return _save(figure, path)


def distributions_png(
    reference: np.ndarray, window: np.ndarray, path: str | Path, title: str
) -> Path:
    """A column's distribution in the baseline and in captured traffic, as densities over the
    same bins, so samples of different sizes compare."""
    figure, axes = plt.subplots(figsize=(5.5, 3.5), dpi=100)
    values = np.concatenate([reference, window])
    bins = np.histogram_bin_edges(values[np.isfinite(values)], bins=30)
    axes.hist(reference, bins=bins, density=True, alpha=0.55, label="baseline (training)")
    axes.hist(window, bins=bins, density=True, alpha=0.55, label="captured traffic")
    axes.set_ylabel("density")
    axes.set_title(title)
    axes.legend(loc="upper right")
    return _save(figure, path)


def _save(figure: plt.Figure, path: str | Path) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(target, format="png", metadata=PNG_METADATA)
    plt.close(figure)
    return target
