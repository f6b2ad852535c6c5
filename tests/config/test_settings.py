from pathlib import Path

import pytest

from profiles_corpus import BROKEN, VALID, refused_for
from training_pipeline.config.settings import DEFAULT_PATH, ModelSettings, load_settings
from training_pipeline.errors import ProfilesError

GOOD = DEFAULT_PATH.read_text()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "profiles.conf"
    path.write_text(text)
    return path


def test_the_shipped_file_loads():
    settings = load_settings()
    assert settings.project == "mlops-demo"
    assert set(settings.accounts) == {"operations", "dev", "staging", "prod"}
    assert len(set(settings.accounts.values())) == 4
    assert settings.environment("prod").approval_status == "PendingManualApproval"
    assert settings.environment("dev").approval_status == "Approved"
    assert settings.environment("dev").endpoint == "off"
    assert settings.environment("prod").endpoint == "ml.m5.xlarge"


def test_path_from_environment_variable(tmp_path, monkeypatch):
    path = write(tmp_path, GOOD.replace("mlops-demo", "fraud-model"))
    monkeypatch.setenv("PROFILES_CONF", str(path))
    assert load_settings().project == "fraud-model"


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("account_id = 111111111111", "account_id = 11111111111", "a 12-digit AWS account id"),
        ("account_id = 111111111111", "account_id = 1111111111ab", "is not a 12-digit"),
        ("approval         = manual", "approval         = maybe", "must be auto or manual"),
        ("floor         = 0.90", "floor         = 1.5", "must be at most 1 for roc_auc"),
        ("floor_prod    = 0.95", "floor_prod    = 1.5", "floor_prod = '1.5' must be at most 1"),
        ("floor_staging = 0.92", "floor_staging = .9", "floor_staging = '.9' is not a number"),
        ("floor     = 68", "floor     = 68%", "is not a number such as 0.90 or 70"),
        ("metric    = rmse", "metric    = mse", "must be one of roc_auc, accuracy"),
        ("dataset   = sklearn:diabetes", "dataset   = diabetes.csv", "none or sklearn:NAME"),
        ("\n[model diabetes]\n", "\n[model Diabetes]\n", "a model section is [model NAME]"),
        ("\n[prod]\n", "\n[Prod]\n", "a section name is 2-10 lowercase letters or digits"),
        ("region            = eu-west-1", "region            = europe", "is not an AWS region"),
        ("retrain_schedule = off", "retrain_schedule = daily", "off, cron(...) or rate(...)"),
        ("endpoint         = off", "endpoint         = m5.large", "off or an instance type"),
        (
            "deploy_ref       = refs/tags/staging",
            "deploy_ref       = refs/tags/qa",
            "the tag named after it, refs/tags/staging",
        ),
        ("deploy_ref       = refs/heads/main", "deploy_ref       = main", "refs/heads/main"),
        (
            "reviewers        = none",
            "reviewers        = @octocat",
            "is not a GitHub user or ORG/TEAM",
        ),
    ],
)
def test_bad_values_name_file_line_and_reason(tmp_path, old, new, expected):
    text = GOOD.replace(old, new, 1)
    path = write(tmp_path, text)
    with pytest.raises(ProfilesError) as raised:
        load_settings(path)
    message = str(raised.value)
    assert expected in message
    assert message.startswith(f"{path}:{line_of(text, new.strip())}")


def test_direction_must_agree_with_the_metric(tmp_path):
    text = GOOD.replace(
        "metric    = rmse\ndirection = lower", "metric    = rmse\ndirection = higher"
    )
    path = write(tmp_path, text)
    with pytest.raises(ProfilesError) as raised:
        load_settings(path)
    lines = text.splitlines()
    line = lines.index("direction = higher", lines.index("[model diabetes]")) + 1
    assert str(raised.value) == (
        f"{path}:{line}: [model diabetes] direction = 'higher' disagrees with its metric: "
        "rmse is better lower"
    )


def test_duplicated_account_id_names_both_sections(tmp_path):
    text = GOOD.replace("account_id       = 333333333333", "account_id       = 222222222222")
    path = write(tmp_path, text)
    with pytest.raises(ProfilesError, match=r"\[staging\] account_id 222222222222 is already used"):
        load_settings(path)


def test_missing_section(tmp_path):
    start = GOOD.index("\n[operations]\n")
    path = write(tmp_path, GOOD[:start] + GOOD[GOOD.index("\n[dev]\n") :])
    with pytest.raises(ProfilesError, match=r"missing section \[operations\]"):
        load_settings(path)


def test_missing_key(tmp_path):
    path = write(tmp_path, GOOD.replace("instance_type    = ml.m5.large\n", "", 1))
    with pytest.raises(ProfilesError, match=r"section \[dev\] lacks instance_type"):
        load_settings(path)


def test_duplicated_section_and_key(tmp_path):
    path = write(tmp_path, GOOD + "\n[dev]\n")
    with pytest.raises(ProfilesError, match=r"section \[dev\] is defined twice"):
        load_settings(path)
    path = write(tmp_path, GOOD.replace("[operations]\n", "[operations]\naccount_id = 1\n"))
    with pytest.raises(ProfilesError, match="account_id is set twice"):
        load_settings(path)


def test_the_shipped_models_in_file_order():
    settings = load_settings()
    assert settings.model_names == ("cancer", "diabetes")
    assert settings.first_model == "cancer"
    assert settings.model("cancer") == ModelSettings(
        name="cancer",
        dataset="sklearn:breast_cancer",
        metric="roc_auc",
        direction="higher",
        floor=0.90,
        floors={"staging": 0.92, "prod": 0.95},
    )
    assert settings.model("diabetes") == ModelSettings(
        name="diabetes", dataset="sklearn:diabetes", metric="rmse", direction="lower", floor=68.0
    )
    # The floors the environments had before there were models.
    cancer, diabetes = settings.model("cancer"), settings.model("diabetes")
    assert [cancer.floor_in(env) for env in settings.environment_names] == [0.90, 0.92, 0.95]
    assert [diabetes.floor_in(env) for env in settings.environment_names] == [68.0] * 3
    assert diabetes.floors == {}
    # The models are no environments.
    assert settings.environment_names == ("dev", "staging", "prod")


def test_model_sections_may_stand_anywhere_and_the_first_one_is_first(tmp_path):
    settings = load_settings(VALID / "dev_only.conf")
    assert settings.model_names == ("churn",)
    assert settings.first_model == "churn"
    assert (settings.model("churn").dataset, settings.model("churn").floor) == ("none", 0.45)
    cancer_start = GOOD.index("[model cancer]\n")
    diabetes_start = GOOD.index("[model diabetes]\n")
    cancer = GOOD[cancer_start:diabetes_start]
    swapped = GOOD.replace(cancer, "") + "\n" + cancer
    assert load_settings(write(tmp_path, swapped)).model_names == ("diabetes", "cancer")


def test_floor_of_each_environment_the_file_has(tmp_path):
    """floor_<ENV> may name any environment of the file, wherever its section stands; any
    other floor_<NAME> is an unknown key, reported at its line with the keys allowed."""
    qa = load_settings(VALID / "with_qa.conf").model("cancer")
    assert (qa.floor_in("qa"), qa.floor_in("prod")) == (0.90, 0.95)
    text = GOOD.replace("floor_staging = 0.92\n", "floor_dev     = 0.85\n", 1)
    cancer = load_settings(write(tmp_path, text)).model("cancer")
    assert cancer.floors == {"dev": 0.85, "prod": 0.95}
    assert (cancer.floor_in("dev"), cancer.floor_in("staging")) == (0.85, 0.90)
    for name in ("qa", "project", "diabetes", "Prod"):
        text = GOOD.replace("floor_staging = 0.92\n", f"floor_{name} = 0.92\n", 1)
        path = write(tmp_path, text)
        with pytest.raises(ProfilesError) as raised:
            load_settings(path)
        assert str(raised.value) == (
            f"{path}:{line_of(text, f'floor_{name} =')}: unknown key floor_{name} in "
            "[model cancer]; expected one of dataset, metric, direction, floor, floor_dev, "
            "floor_staging, floor_prod"
        )
    path = write(tmp_path, GOOD.replace("floor_prod    = 0.95\n", "floor_prod = 0.95\n" * 2, 1))
    with pytest.raises(ProfilesError, match=r"\[model cancer\] floor_prod is set twice"):
        load_settings(path)


def test_unknown_model_lists_the_valid_ones():
    with pytest.raises(
        ProfilesError, match="unknown model 'fraud': choose one of cancer, diabetes"
    ):
        load_settings().model("fraud")


def test_min_auc_is_no_environment_key_any_more(tmp_path):
    text = GOOD.replace(
        "endpoint         = off\n", "min_auc          = 0.90\nendpoint         = off\n", 1
    )
    path = write(tmp_path, text)
    with pytest.raises(ProfilesError, match=r"unknown key min_auc in \[dev\]") as raised:
        load_settings(path)
    assert str(raised.value).startswith(f"{path}:{line_of(text, 'min_auc')}:")


def test_unknown_environment_lists_the_valid_ones():
    with pytest.raises(ProfilesError, match="unknown environment 'qa': choose one of dev, staging"):
        load_settings().environment("qa")


def test_missing_file(tmp_path):
    with pytest.raises(ProfilesError, match="file not found"):
        load_settings(tmp_path / "nope.conf")


def test_promotion_settings():
    settings = load_settings()
    assert settings.main_branch == "main"
    assert [settings.environment_for_ref(e.deploy_ref) for e in settings.environments.values()] == [
        "dev",
        "staging",
        "prod",
    ]
    assert settings.environment_for_ref("refs/heads/feature") is None
    assert settings.environment("prod").reviewers == ("my-org/ml-leads",)
    assert settings.environment("dev").reviewers == ()
    assert settings.github_ids is None


def test_github_ids_are_optional_and_checked(tmp_path):
    text = GOOD.replace("\n[operations]\n", "\ngithub_ids = 123/456\n\n[operations]\n", 1)
    assert load_settings(write(tmp_path, text)).github_ids == "123/456"
    path = write(tmp_path, text.replace("123/456", "my-org/repo"))
    with pytest.raises(ProfilesError, match="github_ids = 'my-org/repo' is not OWNER_ID/REPO_ID"):
        load_settings(path)


def test_every_section_after_operations_is_an_environment_in_promotion_order():
    settings = load_settings(VALID / "with_qa.conf")
    assert settings.environment_names == ("dev", "staging", "qa", "prod")
    assert settings.accounts["qa"] == "555555555555"
    qa = settings.environment("qa")
    assert (qa.deploy_ref, qa.reviewers) == ("refs/tags/qa", ("my-org/qa-team", "alice"))
    assert settings.environment_for_ref("refs/tags/qa") == "qa"
    assert load_settings(VALID / "dev_only.conf").environment_names == ("dev",)


@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.stem)
def test_each_broken_file_is_refused_with_its_reason(path: Path):
    """The same files the Terraform parser must refuse (tests/terraform/test_profiles_module.py)."""
    with pytest.raises(ProfilesError) as raised:
        load_settings(path)
    assert refused_for(path) in str(raised.value)
    assert str(raised.value).startswith(str(path))


def test_capture_is_optional_and_a_percentage_of_an_endpoints_requests() -> None:
    settings = load_settings()
    assert [settings.environment(env).capture for env in settings.environment_names] == [0, 100, 20]
    # prod's endpoints run two instances, so its updates are canaries.
    instances = [settings.environment(env).endpoint_instances for env in settings.environment_names]
    assert instances == [1, 1, 2]
    assert all(
        settings.environment(env).endpoint != "off"
        for env in settings.environment_names
        if settings.environment(env).capture
    )


def test_batch_schedule_is_optional_and_off_unless_set(tmp_path) -> None:
    settings = load_settings()
    schedules = [settings.environment(env).batch_schedule for env in settings.environment_names]
    assert schedules == ["off", "off", "cron(0 5 ? * * *)"]
    # Set to off explicitly, or to a rate, it reads the same way as retrain_schedule.
    text = (
        Path("profiles.conf")
        .read_text()
        .replace("batch_schedule   = cron(0 5 ? * * *)", "batch_schedule   = rate(6 hours)")
    )
    (tmp_path / "profiles.conf").write_text(text)
    assert load_settings(tmp_path / "profiles.conf").environment("prod").batch_schedule == (
        "rate(6 hours)"
    )
