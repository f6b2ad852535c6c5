"""The drift job's statistics: verdicts on synthetic windows, and captured traffic read back."""

import base64
import json

import numpy as np
import pandas as pd
import pytest

from training_pipeline.environment.data import make_synthetic
from training_pipeline.steps import drift

FEATURES = [c for c in make_synthetic(1).columns if c != "malignant"]
SHIFTED = ["mean_radius", "mean_texture", "worst_smoothness"]


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return make_synthetic(2_000, seed=0)[FEATURES]


def test_a_window_like_the_reference_has_not_drifted(reference) -> None:
    verdict = drift.compare(reference, make_synthetic(1_000, seed=11)[FEATURES])
    assert verdict.drifted == [] and verdict.problems == []
    assert len(verdict.columns) == len(FEATURES)
    assert {c.threshold for c in verdict.columns} == {drift.ALPHA / len(FEATURES)}


def test_half_a_standard_deviation_in_three_features_is_found_there(reference) -> None:
    window = make_synthetic(1_000, seed=12)[FEATURES]
    window[SHIFTED] += 0.5 * reference[SHIFTED].std()

    verdict = drift.compare(reference, window)

    assert verdict.drifted == SHIFTED
    shifted = {c.name: c for c in verdict.columns if c.name in SHIFTED}
    for column in shifted.values():
        assert column.p_value < column.threshold and column.statistic > 0.1
        assert column.window_mean > column.reference_mean
    summary = verdict.summary()
    assert summary["drifted"] == SHIFTED and summary["window_rows"] == 1_000
    json.dumps(summary)  # the report's JSON as is


def test_the_report_has_a_row_per_column_and_a_plot_per_drifted_one(reference, tmp_path) -> None:
    window = make_synthetic(1_000, seed=12)[FEATURES]
    window[SHIFTED] += 0.5 * reference[SHIFTED].std()
    verdict = drift.compare(reference, window)

    page = drift.html_report(verdict, reference, window, "mlops-demo-staging drift")

    assert "Drift in 3 of 30 columns" in page
    assert page.count("<tr") == 1 + len(FEATURES) and page.count('class="drifted"') == 3
    images = page.split('src="data:image/png;base64,')[1:]
    assert len(images) == 3
    for image in images:
        assert base64.b64decode(image.split('"', 1)[0]).startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("window", "problem"),
    [
        (pd.DataFrame(columns=FEATURES), "0 captured rows in the window: at least 50 are needed"),
        (
            make_synthetic(49, seed=1)[FEATURES],
            "49 captured rows in the window: at least 50 are needed",
        ),
        (
            make_synthetic(500, seed=1)[FEATURES].drop(columns=["worst_area"]),
            "the captured traffic lacks column(s) worst_area",
        ),
    ],
    ids=["empty", "too-few", "missing-column"],
)
def test_a_window_that_cannot_be_judged_says_why_and_flags_nothing(
    reference, window, problem
) -> None:
    verdict = drift.compare(reference, window)
    assert verdict.drifted == [] and verdict.columns == []
    assert verdict.problems == [problem]


def record(body: str, answer: dict, content_type: str = "text/csv", base64_input=False) -> str:
    data = base64.b64encode(body.encode()).decode() if base64_input else body
    return json.dumps(
        {
            "captureData": {
                "endpointInput": {
                    "observedContentType": content_type,
                    "mode": "INPUT",
                    "data": data,
                    "encoding": "BASE64" if base64_input else "CSV",
                },
                "endpointOutput": {
                    "observedContentType": "application/json",
                    "mode": "OUTPUT",
                    "data": json.dumps(answer),
                    "encoding": "JSON",
                },
            },
            "eventMetadata": {"eventId": "e", "inferenceTime": "2026-12-07T12:00:00Z"},
            "eventVersion": "0",
        }
    )


def test_captured_requests_in_every_form_the_server_takes_become_rows() -> None:
    rows = make_synthetic(6, seed=3)[FEATURES]
    answer = {"predictions": [{"malignant_probability": p} for p in (0.1, 0.2)]}
    lines = [
        record(rows.iloc[:2].to_csv(index=False, header=False), answer),
        # A header in another order, base64 as SageMaker writes binary-unsafe bodies.
        record(rows.iloc[2:4][FEATURES[::-1]].to_csv(index=False), answer, base64_input=True),
        record(json.dumps(rows.iloc[4:6].to_dict("records")), answer, "application/json"),
        "",
    ]

    capture = drift.read_capture(lines, FEATURES, "malignant_probability")

    assert capture.unreadable == 0
    expected = rows.reset_index(drop=True).assign(malignant_probability=[0.1, 0.2] * 3)
    pd.testing.assert_frame_equal(capture.rows, expected, check_dtype=False)


def test_unreadable_capture_lines_are_counted_not_guessed() -> None:
    rows = make_synthetic(2, seed=4)[FEATURES]
    two = {"predictions": [{"malignant_probability": 0.5}] * 2}
    lines = [
        "{not json",
        record(rows.to_csv(index=False, header=False), {"predictions": [{"p": 1}]}),
        record("1,2,3\n", two),
        record(rows.to_csv(index=False, header=False), two),
    ]

    capture = drift.read_capture(lines, FEATURES, "malignant_probability")

    assert capture.unreadable == 3 and len(capture.rows) == 2
    assert capture.refused[0].startswith("line 1:")
    assert "a CSV row has 3 values, expected 30" in capture.refused[2]
    assert np.isfinite(capture.rows.to_numpy()).all()
