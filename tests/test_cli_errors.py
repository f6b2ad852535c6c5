"""The CLI's failures: one `Error:` line that says what is wrong and what to do."""

import pytest

from training_pipeline import cli


def command_names() -> list[str]:
    actions = cli._parser()._subparsers._group_actions[0]
    return sorted(actions.choices)


@pytest.mark.parametrize("name", command_names())
def test_every_command_has_help_with_an_example(name, capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main([name, "--help"])
    assert exited.value.code == 0
    assert "Example: python -m training_pipeline" in capsys.readouterr().out


def test_unknown_environment(capsys):
    with pytest.raises(SystemExit):
        cli.main(["models", "--env", "qa"])
    assert "invalid choice: 'qa'" in capsys.readouterr().err


def test_missing_credentials(monkeypatch, capsys):
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    assert cli.main(["models", "--env", "dev"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: no AWS credentials found") and "--embedded" in err


def test_unreachable_endpoint(monkeypatch, capsys):
    from training_pipeline.aws.embedded import free_port

    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    assert cli.main(["models", "--env", "dev"]) == 1
    err = capsys.readouterr().err
    assert "Error: cannot reach http://127.0.0.1:" in err and "embedded up" in err


def test_unprovisioned_environment(monkeypatch, capsys):
    from training_pipeline.aws import embedded

    server = embedded.start_server()  # its own: the session's server may be provisioned
    try:
        for key, value in server.environ("eu-west-1").items():
            monkeypatch.setenv(key, value)
        assert cli.main(["status", "--env", "staging"]) == 1
    finally:
        embedded.stop_server(server)
    err = capsys.readouterr().err
    assert "does not exist in account 333333333333" in err
    assert "infra apply` --backend, then --operations, then --env staging" in err


def test_bad_param_syntax(embedded_env, capsys):
    assert cli.main(["run", "--env", "dev", "--model", "cancer", "--param", "MaxIter"]) == 1
    assert "--param 'MaxIter' must look like Name=value" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--env", "dev", "--param", "GateThreshold=0.95"],
        ["run", "--env", "dev", "--data", "my.csv"],
        ["approve", "--env", "prod", "3"],
        ["reject", "--env", "prod", "3"],
        ["deploy", "--env", "prod"],
    ],
    ids=["param", "data", "approve", "reject", "deploy"],
)
def test_what_is_one_models_needs_the_model_named(argv, capsys):
    """With two models, a parameter (in the metric's units), a CSV, a version number or an
    endpoint is one model's: the CLI asks which instead of picking the first."""
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: ") and "name it with --model (cancer or diabetes)" in err
