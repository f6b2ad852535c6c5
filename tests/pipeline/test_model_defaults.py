"""A model folder's pipeline.json: the hyperparameter defaults that suit the model."""

from __future__ import annotations

import json

import pytest

from training_pipeline.errors import UserError
from training_pipeline.pipeline.model_defaults import load_defaults


def test_a_model_without_pipeline_json_keeps_the_template_defaults():
    assert load_defaults("cancer") == {"MaxIter": 200, "LearningRate": 0.1, "MaxDepth": 3}


def test_the_shipped_regression_sets_gentler_defaults():
    assert load_defaults("diabetes") == {"MaxIter": 100, "LearningRate": 0.05, "MaxDepth": 2}


def test_a_partial_file_overrides_only_what_it_names(tmp_path):
    (tmp_path / "churn").mkdir()
    (tmp_path / "churn" / "pipeline.json").write_text(json.dumps({"MaxDepth": 5}))
    defaults = load_defaults("churn", models_dir=tmp_path)
    assert defaults == {"MaxIter": 200, "LearningRate": 0.1, "MaxDepth": 5}
    assert type(defaults["MaxDepth"]) is int


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('{"MaxIter": 0}', "MaxIter must be an integer >= 1, got 0"),
        ('{"MaxIter": 2.5}', "MaxIter must be an integer >= 1, got 2.5"),
        ('{"LearningRate": 0}', "LearningRate must be a number > 0, got 0"),
        ('{"LearningRate": "fast"}', "LearningRate must be a number > 0, got 'fast'"),
        ('{"Epochs": 3}', "unknown parameter 'Epochs' (known: MaxIter, LearningRate, MaxDepth)"),
        ("[100]", 'expected an object such as {"MaxIter": 100}'),
        ('{"MaxIter": }', ":1: not JSON: Expecting value"),
    ],
)
def test_a_bad_file_is_refused_with_where_and_what(tmp_path, content, problem):
    (tmp_path / "churn").mkdir()
    path = tmp_path / "churn" / "pipeline.json"
    path.write_text(content)
    with pytest.raises(UserError) as refused:
        load_defaults("churn", models_dir=tmp_path)
    assert str(refused.value).startswith(str(path))
    assert problem in str(refused.value)
