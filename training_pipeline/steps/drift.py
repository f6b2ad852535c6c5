"""Drift of served traffic against the served version's baseline: the drift job's statistics.

The method (documented, so a person can check a verdict by hand): each column of the baseline's
reference sample (the training rows' features and the model's predictions on them, baseline.py)
is compared with the same column of the window of captured traffic by the two-sample
Kolmogorov-Smirnov test (scipy.stats.ks_2samp). A column has drifted when its p-value is below
``alpha / columns`` (Bonferroni: the chance that one window of unchanged traffic flags any
column is at most ``alpha``, 5% by default) **and** the test's statistic D, the largest gap
between the two distribution functions (what Model Monitor's "Robust" comparison measures), is
above ``MIN_DISTANCE``, Model Monitor's default ``comparison_threshold`` of 0.1: a large window
makes even a negligible shift significant, and only a shift that matters should retrain.

Why not a drift library: evidently and nannyml install hundreds of MB (and pin pandas), and
alibi-detect brings a deep-learning stack; each would run the same univariate tests on these
numeric columns. scipy is already in the training image, and its KS test gives exact p-values.

Captured traffic arrives in SageMaker's data-capture format: JSON lines, one per request, with
``captureData.endpointInput`` (the request body: CSV or JSON, possibly base64) and
``captureData.endpointOutput`` (the server's answer, whose predictions are the baseline's
prediction column). ``read_capture`` turns such lines into one row per instance, and counts
what it could not read instead of guessing.
"""

import base64
import binascii
import csv
import html
import io
import json
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

if __package__:  # see steps/__init__.py
    from . import plots
else:
    import plots

ALPHA = 0.05
# The smallest gap between the distribution functions that counts as drift.
MIN_DISTANCE = 0.1
# Below this many rows in the window, no verdict: too few to tell drift from chance.
MIN_ROWS = 50


@dataclass(frozen=True)
class ColumnDrift:
    name: str
    statistic: float  # Kolmogorov-Smirnov D; drifted only above MIN_DISTANCE
    p_value: float
    threshold: float  # the p-value below which the column has drifted (alpha / columns)
    drifted: bool
    reference_mean: float
    window_mean: float
    window_rows: int


@dataclass(frozen=True)
class Verdict:
    """The drift check of one window: per column, and the problems that kept any from it."""

    columns: list[ColumnDrift]
    window_rows: int
    problems: list[str] = field(default_factory=list)

    @property
    def drifted(self) -> list[str]:
        return [column.name for column in self.columns if column.drifted]

    @property
    def actionable(self) -> bool:
        """Drift found in a window without problems: what may start a retrain."""
        return bool(self.drifted) and not self.problems

    def summary(self) -> dict:
        return {
            "window_rows": self.window_rows,
            "drifted": self.drifted,
            "problems": self.problems,
            "method": (
                f"two-sample Kolmogorov-Smirnov per column: drifted when p < {ALPHA:g} / "
                f"columns (Bonferroni) and D > {MIN_DISTANCE:g}"
            ),
            "columns": [column.__dict__ for column in self.columns],
        }


@dataclass
class Capture:
    """The instances of a window of captured requests, with what could not be read."""

    rows: pd.DataFrame
    unreadable: int = 0  # capture lines that are not a capture record
    refused: list[str] = field(default_factory=list)  # why (the first few)
    other_versions: int = 0  # requests another model version answered: not this one's traffic


def compare(reference: pd.DataFrame, window: pd.DataFrame, alpha: float = ALPHA) -> Verdict:
    """The drift verdict of `window` against `reference`, column by column.

    Columns of the reference the window lacks, an empty window or one below MIN_ROWS give no
    verdict (nothing drifted) and a problem saying why.
    """
    missing = [name for name in reference.columns if name not in window.columns]
    if missing:
        return Verdict(
            [], len(window), [f"the captured traffic lacks column(s) {', '.join(missing)}"]
        )
    if len(window) < MIN_ROWS:
        return Verdict(
            [],
            len(window),
            [f"{len(window)} captured rows in the window: at least {MIN_ROWS} are needed"],
        )
    threshold = alpha / len(reference.columns)
    columns, problems = [], []
    for name in reference.columns:
        expected = reference[name].dropna().to_numpy(dtype=np.float64)
        seen = window[name].dropna().to_numpy(dtype=np.float64)
        if not seen.size:
            problems.append(f"column {name} has no values in the window")
            continue
        result = stats.ks_2samp(expected, seen)
        columns.append(
            ColumnDrift(
                name=name,
                statistic=float(result.statistic),
                p_value=float(result.pvalue),
                threshold=threshold,
                drifted=bool(result.pvalue < threshold and result.statistic > MIN_DISTANCE),
                reference_mean=float(expected.mean()),
                window_mean=float(seen.mean()) if seen.size else float("nan"),
                window_rows=int(seen.size),
            )
        )
    return Verdict(columns, len(window), problems)


def read_capture(
    lines: Iterable[bytes | str],
    features: Sequence[str],
    prediction: str,
    model_version: str | None = None,
) -> Capture:
    """The instances of captured requests (SageMaker's data-capture JSON lines) as rows of
    `features` and `prediction`. CSV inputs without a header are in the features' order. With
    `model_version`, requests another version answered (before an update took, a canary's old
    fleet, a version tried with `serve`) are left out and counted."""
    frames, capture = [], Capture(pd.DataFrame(columns=[*features, prediction]))
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)["captureData"]
            answer = json.loads(_decoded(data["endpointOutput"]))
            if model_version and answer.get("model_version") != model_version:
                capture.other_versions += 1
                continue
            frames.append(_record_rows(data["endpointInput"], answer, features, prediction))
        except (ValueError, KeyError, TypeError, IndexError, binascii.Error) as problem:
            capture.unreadable += 1
            if len(capture.refused) < 5:
                capture.refused.append(f"line {number}: {problem}")
    if frames:
        capture.rows = pd.concat(frames, ignore_index=True)
    return capture


def _record_rows(
    request_part: dict, answer: dict, features: Sequence[str], prediction: str
) -> pd.DataFrame:
    request = _decoded(request_part)
    kind = request_part.get("observedContentType", "").split(";")[0].strip().lower()
    if kind == "application/json":
        rows = _json_rows(json.loads(request), features)
    else:
        rows = _csv_rows(request, features)
    predictions = [item[prediction] for item in answer["predictions"]]
    if len(predictions) != len(rows):
        raise ValueError(f"{len(rows)} instances but {len(predictions)} predictions")
    return rows.assign(**{prediction: np.asarray(predictions, dtype=np.float64)})


def _decoded(part: dict) -> str:
    text = part["data"]
    if part.get("encoding", "").upper() == "BASE64":
        # utf-8-sig: the server takes a body that starts with a byte-order mark
        return base64.b64decode(text, validate=True).decode("utf-8-sig")
    return text.removeprefix("\ufeff")


def _csv_rows(text: str, features: Sequence[str]) -> pd.DataFrame:
    records = [r for r in csv.reader(io.StringIO(text)) if r and any(c.strip() for c in r)]
    if records and [c.strip() for c in records[0]] and not _numeric(records[0]):
        header, records = [c.strip() for c in records[0]], records[1:]
    else:
        header = list(features)
    for record in records:
        if len(record) != len(header):
            raise ValueError(f"a CSV row has {len(record)} values, expected {len(header)}")
    frame = pd.DataFrame(records, columns=header).astype(np.float64)
    return frame[list(features)]


def _json_rows(document: object, features: Sequence[str]) -> pd.DataFrame:
    instances = document["instances"] if isinstance(document, dict) else document
    if instances and isinstance(instances[0], dict):
        return pd.DataFrame(instances)[list(features)].astype(np.float64)
    return pd.DataFrame(instances, columns=list(features)).astype(np.float64)


def _numeric(cells: Sequence[str]) -> bool:
    try:
        [float(cell) for cell in cells]
    except ValueError:
        return False
    return True


def html_report(verdict: Verdict, reference: pd.DataFrame, window: pd.DataFrame, title: str) -> str:
    """A page a person opens: the verdict, a row per column, a plot per drifted column."""
    rows = "".join(
        "<tr{}><td>{}</td><td>{:.4f}</td><td>{:.3g}</td><td>{:.3g}</td><td>{:.4g}</td>"
        "<td>{:.4g}</td><td>{}</td></tr>".format(
            ' class="drifted"' if c.drifted else "",
            html.escape(c.name),
            c.statistic,
            c.p_value,
            c.threshold,
            c.reference_mean,
            c.window_mean,
            "yes" if c.drifted else "no",
        )
        for c in verdict.columns
    )
    plots_html = "".join(
        f'<h3>{html.escape(name)}</h3><img alt="{html.escape(name)}" '
        f'src="data:image/png;base64,{_plot(reference[name], window[name], name)}">'
        for name in verdict.drifted
    )
    if not verdict.columns:
        outcome = "No verdict: " + "; ".join(map(html.escape, verdict.problems))
    else:
        found = len(verdict.drifted)
        outcome = (
            f"Drift in {found} of {len(verdict.columns)} columns"
            if found
            else f"No drift in {len(verdict.columns)} columns"
        )
        if verdict.problems:
            outcome += " (not acted on: " + "; ".join(map(html.escape, verdict.problems)) + ")"
    return (
        "<!doctype html><html><head><meta charset=utf-8>"
        f"<title>{html.escape(title)}</title><style>"
        "body{font-family:sans-serif;margin:2em}td,th{padding:2px 10px;text-align:right}"
        "td:first-child,th:first-child{text-align:left}tr.drifted{background:#fdd}"
        f"</style></head><body><h1>{html.escape(title)}</h1>"
        f"<p><b>{outcome}</b> ({verdict.window_rows} captured rows; two-sample "
        f"Kolmogorov-Smirnov per column, drifted when p &lt; threshold = {ALPHA:g} / columns "
        f"and D &gt; {MIN_DISTANCE:g})</p>"
        "<table><tr><th>column</th><th>KS D</th><th>p-value</th><th>threshold</th>"
        f"<th>baseline mean</th><th>traffic mean</th><th>drifted</th></tr>{rows}</table>"
        f"{plots_html}</body></html>\n"
    )


def _plot(reference: pd.Series, window: pd.Series, name: str) -> str:
    with tempfile.TemporaryDirectory() as scratch:
        path = plots.distributions_png(
            reference.dropna().to_numpy(dtype=np.float64),
            window.dropna().to_numpy(dtype=np.float64),
            f"{scratch}/plot.png",
            name,
        )
        return base64.b64encode(path.read_bytes()).decode("ascii")
