"""Command line: `python -m training_pipeline COMMAND --help`.

Commands are thin: each resolves an environment, makes one library call and prints the result.
Library errors (UserError) become one `Error: ...` line and exit status 1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import TypeVar

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from training_pipeline.aws import embedded
from training_pipeline.config.settings import Settings, load_settings
from training_pipeline.config.workdir import work_dir
from training_pipeline.environment import (
    captured,
    deployment,
    executions,
    model_artifact,
    predictions,
    registry,
    summary,
)
from training_pipeline.errors import ProfilesError, UserError
from training_pipeline.github import promotion
from training_pipeline.tables import format_table

T = TypeVar("T")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args) or 0
    except UserError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Error: interrupted", file=sys.stderr)
        return 130


def cmd_run(args: argparse.Namespace) -> int:
    """Train and register the models of one environment (each model's own pipeline; their
    executions run side by side), or only --model NAME. --data and --param are one pipeline's:
    with several models, they need --model.

    Example: python -m training_pipeline run --env dev --embedded
    """
    settings = load_settings()
    if os.environ.get("GITHUB_ACTIONS") == "true":
        promotion.check_deploy_allowed(settings, args.env, os.environ.get("GITHUB_REF", ""))
    if args.data or args.param:
        _require_model(settings, args, "--data and --param set one model's pipeline run")
    target = deployment.connect(args.env, embedded_aws=args.embedded)
    if args.embedded:
        _provision_embedded(target)
    targets = target.models(args.model)
    on, parameters = _runs_on(target, args), _params(args.param)
    upserted: dict[str, tuple[deployment.Environment, deployment.Upserted]] = {}
    results: dict[str, dict | Exception] = {}
    for model_target in targets:
        _model_heading(targets, model_target)
        pipelines = _outcome(
            partial(
                deployment.upsert_pipelines,
                model_target,
                on=on,
                parameters=parameters,
                data=args.data,
            )
        )
        # One model's trouble (its data missing, say) does not keep the others from running.
        if isinstance(pipelines, Exception):
            results[model_target.model] = pipelines
        else:
            upserted[model_target.model] = model_target, pipelines
    if len(upserted) > 1:
        print()
    results.update(_execute_side_by_side(upserted, on))
    outcomes: dict[str, str] = {}
    for model_target in targets:
        result = results[model_target.model]
        _model_heading(targets, model_target)
        if isinstance(result, Exception):
            print(f"Error: model {model_target.model}: {result}", file=sys.stderr)
            outcomes[model_target.model] = f"not run: {result}"
        else:
            outcomes[model_target.model] = _report_model(model_target, result)
    if len(outcomes) > 1:
        print()
        print(format_table(("model", "outcome"), list(outcomes.items())))
    return 0 if all(outcome == "Succeeded" for outcome in outcomes.values()) else 1


def _require_model(settings: Settings, args: argparse.Namespace, why: str) -> None:
    """Refuse to guess which model is meant when profiles.conf has several."""
    if args.model is None and len(settings.model_names) > 1:
        raise UserError(f"{why}: name it with --model ({' or '.join(settings.model_names)})")


def _runs_on(target: deployment.Environment, args: argparse.Namespace) -> str:
    """--on, else the local runner on the embedded AWS (moto's executions never start a job)
    and SageMaker elsewhere."""
    return args.on or ("local" if deployment.on_embedded_aws(target) else "sagemaker")


def _deployed_pipeline_target(args: argparse.Namespace, why: str) -> deployment.Environment:
    """The environment of `predict` and `monitor`, which run one model's deployed pipeline."""
    _require_model(load_settings(), args, why)
    target = deployment.connect(args.env, embedded_aws=args.embedded, model=args.model)
    if args.embedded:
        _provision_embedded(target)
    return target


def _model_heading(targets: list[deployment.Environment], target: deployment.Environment) -> None:
    if len(targets) > 1:
        print(f"\n== model {target.model}: {target.names.pipeline_name} ==")


def _execute_side_by_side(
    upserted: dict[str, tuple[deployment.Environment, deployment.Upserted]], on: str
) -> dict[str, dict | Exception]:
    """Each model's training pipeline executed, all at once (as SageMaker runs executions of
    different pipelines): their records, or what stopped one, by model. With several, each
    progress line starts with its model's name."""
    if len(upserted) <= 1:
        return {
            model: _outcome(partial(deployment.execute_upserted, target, pipelines, on=on))
            for model, (target, pipelines) in upserted.items()
        }
    lock = threading.Lock()
    results: dict[str, dict | Exception] = {}

    def execute(model: str, target: deployment.Environment, pipelines: deployment.Upserted):
        def log(text: str) -> None:
            with lock:
                for line in text.splitlines() or [""]:
                    print(f"[{model}] {line}", flush=True)

        results[model] = _outcome(
            partial(deployment.execute_upserted, target, pipelines, on=on, log=log)
        )

    # Daemon threads: after Ctrl-C nothing waits for an execution (on SageMaker it goes on).
    threads = [
        threading.Thread(target=execute, args=(model, target.with_own_session(), pipelines))
        for model, (target, pipelines) in upserted.items()
    ]
    for thread in threads:
        thread.daemon = True
        thread.start()
    try:
        for thread in threads:
            thread.join()
    except KeyboardInterrupt:
        from training_pipeline.runner.process import kill_running

        kill_running()  # the local jobs end with the command
        raise
    return {model: results[model] for model in upserted}


def _outcome(execute: Callable[[], T]) -> T | Exception:
    """What ``execute`` returns, or the error that stopped it (a bug's traceback is printed at
    once: the other models still run and report)."""
    try:
        return execute()
    except UserError as error:
        return error
    except Exception as error:
        traceback.print_exc()
        return error


def _report_model(target: deployment.Environment, record: dict) -> str:
    """Print one model's execution: steps, metrics, what became of the model, its registry."""
    _print_record(record)
    report = executions.evaluation_report(target.session, record)
    if report:
        print()
        print(_metrics_table(report))
    print()
    print(f"model: {summary.model_line(target.names, record)}")
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        studio = deployment.studio_url(target)
        with open(os.environ["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as out:
            out.write(summary.markdown(target.names, record, report, studio))
    if record["status"] == "Succeeded":
        versions = registry.list_versions(target.session, target.names.model_package_group)
        print()
        print(f"Model registry {target.names.model_package_group} ({target.names.account_id}):")
        print(_versions_table(versions[:5]))
    return record["status"]


def cmd_local_run(args: argparse.Namespace) -> int:
    """Run any SageMaker pipeline definition (JSON) with the local runner.

    The jobs run as local processes (each sees /opt/ml as in a container where the machine
    allows it); S3 and the SageMaker APIs are those of the account the session reaches: your
    credentials' account, the embedded AWS with --embedded, or an environment's account with
    --env. It need not be this template's pipeline: any definition built from the SDK's
    Processing, Training, Model, RegisterModel, Condition and Fail steps runs.

    Example: python -m training_pipeline local-run pipeline.json --param Epochs=3 --embedded
    """
    from training_pipeline.runner import DefinitionError, LocalRunner

    try:
        definition = json.loads(args.definition.read_text(encoding="utf-8"))
    except OSError as error:
        raise UserError(f"{args.definition}: cannot read it ({error.strerror})") from None
    except json.JSONDecodeError as error:
        raise UserError(f"{args.definition}:{error.lineno}: not JSON: {error.msg}") from None
    settings = load_settings()
    try:
        if args.env:
            session = deployment.connect(args.env, embedded_aws=args.embedded).session
        else:
            if args.embedded:
                server, _ = embedded.ensure_server()
                for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):  # the server's keys, only
                    os.environ.pop(name, None)
                os.environ.update(server.environ(settings.region))
            session = boto3.Session()
            if not session.region_name:
                session = boto3.Session(region_name=settings.region)
        runner = LocalRunner(session, work_dir=work_dir("local-run"))
        result = runner.run(
            definition,
            parameters=_params(args.param),
            pipeline_name=args.name or args.definition.stem,
        )
    except (DefinitionError, ValueError) as error:
        raise UserError(f"{args.definition}: {error}") from None
    except (BotoCoreError, ClientError) as error:
        raise UserError(
            f"cannot reach AWS with these credentials ({error}): set AWS_PROFILE, or use "
            "--embedded or --env ENV"
        ) from None
    print()
    _print_record(result.to_dict())
    return 0 if result.status == "Succeeded" else 1


def cmd_status(args: argparse.Namespace) -> int:
    """Show recent executions of each model's pipeline in the environment (or of --model's),
    or one execution's steps.

    Example: python -m training_pipeline status --env dev --embedded
    """
    target = deployment.connect(args.env, embedded_aws=args.embedded)
    deployment.require_provisioned(target)
    targets = target.models(args.model)
    listed = {
        t.model: executions.list_records(t.session, t.names.artifacts_bucket, t.names.pipeline_name)
        for t in targets
    }
    if args.execution:
        everything = [record for records in listed.values() for record in records]
        record = executions.find_record(everything, args.execution)
        if record.get("runner") == "sagemaker":
            sagemaker = target.session.client("sagemaker")
            record["steps"] = executions.sagemaker_steps(sagemaker, record["execution_arn"])
            record["failure_reason"] = executions.failure_reason(
                record["status"], record["failure_reason"], record["steps"]
            )
        _print_record(record)
        return 0
    for model_target in targets:
        records = listed[model_target.model]
        if len(targets) > 1:
            print(f"== model {model_target.model} ==")
        if not records:
            print(f"no executions of {model_target.names.pipeline_name} yet")
            continue
        rows = [
            (
                r["execution_id"],
                r.get("runner", ""),
                r["status"],
                str(r.get("start_time") or "")[:19],
                (r.get("failure_reason") or "")[:80],
            )
            for r in records[: args.limit]
        ]
        print(format_table(("execution", "runner", "status", "started", "failure"), rows))
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    """List the model registry of each model in the environment (or of --model): version,
    status, metrics, git SHA.

    Example: python -m training_pipeline models --env prod
    """
    target = deployment.connect(args.env, embedded_aws=args.embedded)
    for model_target in target.models(args.model):
        group = model_target.names.model_package_group
        versions = registry.list_versions(model_target.session, group)
        print(f"{group}:" if versions else f"{group}: no model versions yet")
        if versions:
            print(_versions_table(versions))
    return 0


def cmd_set_status(args: argparse.Namespace) -> int:
    """Approve or reject one model version in the environment's registry.

    Example: python -m training_pipeline approve --env prod --model cancer 3 --reason "reviewed"
    """
    _require_model(load_settings(), args, "version numbers are per model")
    target = deployment.connect(args.env, embedded_aws=args.embedded, model=args.model)
    # Only Approved is reserved to the approver role; anyone allowed may reject (the rollback).
    decider = deployment.decider(target) if args.status == "Approved" else target.session
    version = registry.set_status(
        target.session,
        target.names.model_package_group,
        args.version,
        args.status,
        args.reason,
        decider,
    )
    through = "" if decider is target.session else f" (as {target.names.approver_role_arn})"
    print(
        f"{target.names.model_package_group} version {version.version}: {version.status}{through}"
    )
    return 0


def cmd_deploy(args: argparse.Namespace) -> int:
    """Serve an Approved model version from the environment's endpoint (the newest by default).

    What the deploy-on-approval function does after each approval or rejection; by hand, it
    finishes a deployment the function could not (endpoint busy) or pins an older version
    until the next approval. Example: python -m training_pipeline deploy --env prod --model cancer
    """
    _require_model(load_settings(), args, "each model has its own endpoint")
    target = deployment.connect(args.env, embedded_aws=args.embedded, model=args.model)
    deployed = deployment.serve(target, args.version)
    if deployed.action != "updating":
        print(
            f"endpoint {deployed.endpoint_name}: {deployed.action}, serving version "
            f"{deployed.version} (endpoint config {deployed.endpoint_config_name})"
        )
        return 0
    print(
        f"endpoint {deployed.endpoint_name}: updating to version {deployed.version} (endpoint "
        f"config {deployed.endpoint_config_name}), blue/green under its rollback alarms",
        flush=True,
    )
    if args.wait:
        outcome = deployment.await_update(target, deployed, log=print)
        print(f"endpoint {deployed.endpoint_name}: {outcome}, serving version {deployed.version}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve a registry version on this machine, to try it before approving it.

    Downloads the version's model from the environment's own account (the newest version,
    whatever its status, unless --version says which) and runs the model server on it, as the
    endpoint would, until Ctrl-C; then, say,
    curl -s -H 'Content-Type: text/csv' --data-binary @rows.csv localhost:8080/invocations

    Example: python -m training_pipeline serve --env prod --model cancer --version 3
    """
    from inference.serving import serve

    _require_model(load_settings(), args, "each model has its own registry")
    target = deployment.connect(args.env, embedded_aws=args.embedded, model=args.model)
    fetched = model_artifact.fetch(target, args.version, work_dir("serve"))
    print(f"{fetched.name} ({fetched.status}) from {fetched.url}", flush=True)
    recorded = work_dir("serve") / "capture" / fetched.name.replace("/", "-")
    status = serve.main(
        ["--model-dir", str(fetched.folder), "--host", args.host, "--port", str(args.port)]
        + ["--workers", str(args.workers), "--model-digest", fetched.digest]
        + ["--model-version", fetched.name]
        + (["--capture-dir", str(recorded)] if args.capture else [])
    )
    if args.capture and recorded.is_dir():
        count, where = captured.upload(target, recorded)
        print(f"captured {count} request(s) with their answers to {where}")
    return status


def cmd_predict(args: argparse.Namespace) -> int:
    """Score a dataset with the newest Approved version, through the model's batch pipeline.

    --input is a prefix of CSV files in the model's batch data, batch/ (first model) or
    batch-NAME/ of the environment's data bucket, the only data its batch jobs may read
    (default: all of it, which profiles.conf `batch_schedule` scores on a schedule). Their
    rows hold the model's features in the schema's order (a header line, if any, is sent with
    a file's first mini-batch only). Each file FILE gives FILE.out under the artifacts bucket's
    predictions/{pipeline}/{execution}/, one line per mini-batch the server answered. It runs
    the batch pipeline as deployed (`run`, the deploy job, upserts it).

    Example: python -m training_pipeline predict --env prod --model cancer \\
                 --input s3://mlops-demo-prod-data-444444444444/batch/2026-12-07/
    """
    target = _deployed_pipeline_target(args, "each model has its own batch pipeline")
    record = deployment.predict(target, args.input, on=_runs_on(target, args))
    _print_record(record)
    if record["status"] != "Succeeded":
        return 1
    found = predictions.read(target.session, record["predictions_url"])
    print()
    print(f"Predictions in {record['predictions_url']}:")
    print(format_table(predictions.COLUMNS, [predictions.row(f) for f in found]))
    return 0


def cmd_monitor(args: argparse.Namespace) -> int:
    """Check a model's captured traffic for drift now, through its monitoring pipeline.

    The pipeline as deployed (what profiles.conf `drift_check` runs on a schedule): the last
    --window-hours of traffic the endpoint captured (or `serve --capture`), each column
    against the served version's baseline by a Kolmogorov-Smirnov test; a row per column, the
    report's location, and what `drift_action` did. Exits 1 only when the check itself failed.

    Example: python -m training_pipeline monitor --env staging --model cancer --window-hours 6
    """
    target = _deployed_pipeline_target(args, "each model has its own monitoring")
    record = deployment.monitor(target, args.window_hours, on=_runs_on(target, args))
    _print_record(record)
    if record["status"] != "Succeeded":
        return 1
    summary = record["summary"]
    print()
    print(
        f"{summary['model_package_group']} version {summary['served_version']}, "
        f"{summary['window_rows']} captured rows in the last {summary['window']['hours']} h:"
    )
    rows = [
        (
            c["name"],
            f"{c['statistic']:.4f}",
            f"{c['p_value']:.3g}",
            f"{c['threshold']:.3g}",
            "DRIFTED" if c["drifted"] else "no",
        )
        for c in summary["columns"]
    ]
    print(format_table(("column", "KS D", "p-value", "threshold", "drifted"), rows))
    for problem in summary["problems"]:
        print(f"no verdict: {problem}")
    print(f"drifted: {', '.join(summary['drifted']) or 'none'}")
    if summary["retraining"]:
        print(f"drift_action = retrain: started {summary['retraining']}")
    print(f"report: {record['report_url']}")
    return 0


def cmd_definition(args: argparse.Namespace) -> int:
    """Print the pipeline definition JSON of a model in an environment at the current commit.

    Example: python -m training_pipeline definition --env staging > definition.json
    """
    from training_pipeline.config.source import current_revision
    from training_pipeline.pipeline import definitions

    config = deployment.pipeline_config(
        load_settings(), args.env, current_revision(), model=args.model
    )
    print(json.dumps(json.loads(definitions.load_or_build(config)), indent=2, sort_keys=True))
    return 0


def cmd_embedded(args: argparse.Namespace) -> int:
    """Start, stop or show the embedded AWS (moto's server on a loopback port).

    Example: python -m training_pipeline embedded up
    """
    if args.action == "up":
        server, started = embedded.ensure_server()
        state = "started" if started else "already running"
        print(f"embedded AWS {state} at {server.endpoint_url}")
        print(f"export AWS_ENDPOINT_URL={server.endpoint_url}")
    elif args.action == "down":
        print("embedded AWS stopped" if embedded.shutdown() else "embedded AWS was not running")
    else:
        server = embedded.running_server()
        print(f"embedded AWS at {server.endpoint_url}" if server else "embedded AWS is not running")
    return 0


def cmd_infra(args: argparse.Namespace) -> int:
    """Plan or apply the Terraform of one root: --backend, --operations or --env ENV.

    Example: python -m training_pipeline infra apply --env staging --embedded
    """
    from training_pipeline.infra import commands as infra_cli

    return infra_cli.run(args)


def cmd_profiles(args: argparse.Namespace) -> int:
    """Print values of profiles.conf for scripts and workflows.

    Example: python -m training_pipeline profiles get prod.account_id
    """
    from training_pipeline.config.naming import ci_role_arn, environment_names, repository_uri

    settings = load_settings()
    section, _, key = args.key.partition(".")
    if section == "project":
        values = {
            "name": settings.project,
            "region": settings.region,
            "github_repository": settings.github_repository,
            "environments": " ".join(settings.environment_names),
            "models": " ".join(settings.model_names),
        }
    elif section == "operations":
        values = {
            "account_id": settings.accounts["operations"],
            "ci_role_arn": ci_role_arn(settings),
            "training_repository": repository_uri(settings, "training"),
            "inference_repository": repository_uri(settings, "inference"),
        }
    else:
        environment = settings.environment(section)
        values = {
            "account_id": environment.account_id,
            "deploy_role_arn": environment_names(settings, section).deploy_role_arn,
            "approval": environment.approval,
            "retrain_schedule": environment.retrain_schedule,
            "instance_type": environment.instance_type,
        }
    if key not in values:
        raise UserError(f"unknown key {args.key!r}; [{section}] has {', '.join(values)}")
    print(values[key])
    return 0


def cmd_promotion(args: argparse.Namespace) -> int:
    """Which environment a git ref deploys, by profiles.conf's deploy_ref.

    `env-for-ref --ref REF` prints the environment; `check --env ENV --ref REF` fails unless
    REF is ENV's deploy_ref (the deploy workflow's check).
    Example: python -m training_pipeline promotion check --env prod --ref refs/tags/prod
    """
    settings = load_settings()
    if args.what == "env-for-ref":
        print(promotion.environment_for_ref(settings, args.ref))
        return 0
    if not args.env:
        raise UserError("promotion check needs --env")
    promotion.check_deploy_allowed(settings, args.env, args.ref)
    print(f"{args.ref} deploys {args.env}")
    return 0


def cmd_promote(args: argparse.Namespace) -> int:
    """Move an environment's tag onto a commit of main and push it: that deploys the commit.

    Guards: the commit must be on main; for prod (any environment after a tag-deployed one),
    staging must run that commit and have validated it (an Approved model from it in its
    registry). --force --reason '...' skips the staging guards, never the main one.
    Example: python -m training_pipeline promote staging       # main's head to staging
             python -m training_pipeline promote prod 3f2c1ab   # after staging validated it
             python -m training_pipeline promote prod 9e8d7c6   # roll back to an older commit
    """
    settings = load_settings()
    repo = Path(args.repo).resolve()
    if args.force and not args.reason:
        raise UserError("--force needs --reason '...': say why the guards are skipped")

    planned = promotion.plan(
        repo,
        settings,
        args.env,
        args.rev,
        validated=lambda env, sha: deployment.validation_problem(
            env, sha, embedded_aws=args.embedded
        ),
        force_reason=args.reason if args.force else None,
    )
    print(("would move " if args.dry_run else "moving ") + planned.describe(repo))
    if planned.forced_reason:
        print(f"guards after {settings.main_branch} skipped (--force): {planned.forced_reason}")
    if args.dry_run:
        return 0
    promotion.push(repo, planned)
    print(f"pushed {planned.tag}: on_tag.yml deploys {planned.new_sha[:12]} to {args.env}")
    return 0


def cmd_images(args: argparse.Namespace) -> int:
    """Build and push this commit's images to the operations ECR, or check the ones there.

    The images job of on_merge.yml runs it with the CI role's credentials.
    Example: python -m training_pipeline images publish
    """
    from training_pipeline.aws.sessions import account_session
    from training_pipeline.config.source import current_revision
    from training_pipeline.pipeline import images

    settings = load_settings()
    sha = args.sha or current_revision().sha
    if sha.endswith("-dirty"):
        raise UserError("the working tree has uncommitted changes: images are built per commit")
    ecr = account_session(settings, "operations").client("ecr")
    published = images.publish(ecr, settings, sha)
    for name, image in published.items():
        print(f"{name}: {image.uri}")
    return 0


def cmd_story(args: argparse.Namespace) -> int:
    """Play the whole promotion story on the embedded AWS (what `make demo` runs).

    Terraform for the five roots, a throwaway GitHub repository whose pushes run the workflow
    files through act, a merge to main (images, dev retrains), promote staging, promote prod,
    the prod approval, and the three registries side by side.
    Example: python -m training_pipeline story
    """
    from training_pipeline.demo import story

    try:
        story.play(args.work_dir)
    except story.StoryFailed as failure:
        raise UserError(str(failure)) from None
    return 0


def cmd_github(args: argparse.Namespace) -> int:
    """Print (or --apply with the GitHub CLI) the repository settings the trust policies need.

    The OIDC subject claim template, one GitHub Environment per environment of profiles.conf
    (deploy ref, required reviewers), rulesets on the promotion tags and on main.
    Example: python -m training_pipeline github settings > github-settings.sh
    """
    from training_pipeline.github import repository_settings as github_settings

    settings = load_settings()
    if args.apply:
        github_settings.apply(settings)
        print(f"applied the GitHub settings of {settings.github_repository}")
        return 0
    print(github_settings.script(settings), end="")
    return 0


def _provision_embedded(target: deployment.Environment) -> None:
    """On the embedded AWS, create the environment with the real Terraform the first time."""
    try:
        deployment.require_provisioned(target)
    except UserError:
        from training_pipeline.infra import commands as infra_cli

        infra_cli.provision_embedded(target.settings, target.env)


def _params(pairs: Sequence[str]) -> dict[str, str]:
    params = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise UserError(f"--param {pair!r} must look like Name=value")
        params[name] = value
    return params


def _print_record(record: dict) -> None:
    steps = record.get("steps") or []
    if steps:
        rows = [
            (
                s.get("name"),
                s.get("step_type", ""),
                s.get("status"),
                f"{s['duration_s']:.1f}s" if s.get("duration_s") is not None else "",
                "cached" if s.get("cache_hit") else "",
            )
            for s in steps
        ]
        print(format_table(("step", "type", "status", "duration", ""), rows))
    print()
    print(f"execution {record.get('execution_id')}: {record['status']}")
    if record.get("failure_reason"):
        print(f"reason: {record['failure_reason']}")


def _metrics_table(report: dict) -> str:
    """The challenger's test metrics, and the champion's gate metric on the same test split."""
    rows = [(name, f"{value['value']:.4f}") for name, value in report["metrics"].items()]
    gate = report["gate"]
    if report["comparison"]["has_champion"]:
        rows.append((f"champion {gate['metric']}", f"{report['champion']['value']:.4f}"))
        better = f"{gate['direction']} is better"
        rows.append((f"improvement ({better})", f"{gate['improvement']:+.4f}"))
    else:
        rows.append(("champion", "none approved yet"))
    return format_table((f"metric (test split, {report['test_rows']} rows)", "value"), rows)


def _versions_table(versions: list[registry.ModelVersion]) -> str:
    return format_table(registry.VERSION_COLUMNS, [registry.version_row(v) for v in versions])


def _choices() -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
    """The environments and models of profiles.conf, for --env and --model; None while the file
    is broken, so that the command itself reports what is wrong with it."""
    try:
        settings = load_settings()
    except ProfilesError:
        return None, None
    return settings.environment_names, settings.model_names


def _parser() -> argparse.ArgumentParser:
    environments, models = _choices()
    parser = argparse.ArgumentParser(
        prog="python -m training_pipeline",
        description="Build, run and promote the SageMaker training pipeline of each environment.",
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    def command(name: str, handler, **kwargs) -> argparse.ArgumentParser:
        doc = handler.__doc__ or ""
        sub = commands.add_parser(
            name,
            help=doc.splitlines()[0],
            description=doc,
            formatter_class=argparse.RawDescriptionHelpFormatter,
            **kwargs,
        )
        sub.set_defaults(handler=handler)
        return sub

    def env_options(sub: argparse.ArgumentParser, model_help: str | None = None) -> None:
        sub.add_argument("--env", required=True, choices=environments, help="environment")
        sub.add_argument(
            "--model",
            choices=models,
            help=model_help or "model of profiles.conf (default: the first)",
        )
        sub.add_argument(
            "--embedded",
            action="store_true",
            help="use the embedded AWS (moto) instead of real accounts",
        )

    def runs_on_option(sub: argparse.ArgumentParser, what: str) -> None:
        """--on, which _runs_on reads."""
        sub.add_argument(
            "--on",
            choices=("local", "sagemaker"),
            help=f"where the {what}: local runner (default with --embedded) or SageMaker",
        )

    run = command("run", cmd_run)
    env_options(run, "run only this model's pipeline (default: every model's)")
    runs_on_option(run, "jobs run")
    run.add_argument(
        "--param", action="append", default=[], metavar="NAME=VALUE", help="pipeline parameter"
    )
    run.add_argument("--data", type=Path, help="train on this CSV instead of the environment's")

    local_run = command("local-run", cmd_local_run)
    local_run.add_argument("definition", type=Path, help="the pipeline definition, a JSON file")
    local_run.add_argument(
        "--param", action="append", default=[], metavar="NAME=VALUE", help="pipeline parameter"
    )
    local_run.add_argument("--name", help="pipeline name (default: the file's name)")
    local_run.add_argument(
        "--env", choices=environments, help="run in this environment's account (profiles.conf)"
    )
    local_run.add_argument(
        "--embedded", action="store_true", help="use the embedded AWS (moto) instead of AWS"
    )

    status = command("status", cmd_status)
    env_options(status)
    status.add_argument("--execution", help="execution id or ARN to show in detail")
    status.add_argument("--limit", type=int, default=10, help="how many executions to list")

    listing = command("models", cmd_models)
    env_options(listing)

    for name, value, done in (
        ("approve", "Approved", "approved"),
        ("reject", "Rejected", "rejected"),
    ):
        sub = command(name, cmd_set_status)
        env_options(sub)
        sub.add_argument("version", type=int, help="model package version")
        sub.add_argument("--reason", default=f"{done} from the CLI", help="recorded with it")
        sub.set_defaults(status=value)

    deploy = command("deploy", cmd_deploy)
    env_options(deploy)
    deploy.add_argument(
        "--version", type=int, help="model package version (default: newest Approved)"
    )
    deploy.add_argument(
        "--wait",
        action="store_true",
        help="after starting an update, wait until it took or was rolled back (exit 1)",
    )

    served = command("serve", cmd_serve)
    env_options(served)
    served.add_argument(
        "--version", type=int, help="model package version (default: the newest, any status)"
    )
    served.add_argument("--port", type=int, default=8080, help="default: %(default)s")
    served.add_argument(
        "--host", default="127.0.0.1", help="default: %(default)s (this machine only)"
    )
    served.add_argument("--workers", type=int, default=1, help="default: %(default)s")
    served.add_argument(
        "--capture",
        action="store_true",
        help="record every request and answer, as the endpoint's data capture does, and put them "
        "with the endpoint's captured traffic when the server stops (what `monitor` checks)",
    )

    batch = command("predict", cmd_predict)
    env_options(batch)
    batch.add_argument(
        "--input", help="s3:// prefix of the CSV files to score (default: the model's batch/ data)"
    )
    runs_on_option(batch, "jobs run")

    check = command("monitor", cmd_monitor)
    env_options(check)
    check.add_argument(
        "--window-hours", type=int, help="hours of captured traffic (default: the pipeline's, 24)"
    )
    runs_on_option(check, "job runs")

    definition = command("definition", cmd_definition)
    definition.add_argument("--env", required=True, choices=environments, help="environment")
    definition.add_argument("--model", choices=models, help="model (default: the first)")

    emb = command("embedded", cmd_embedded)
    emb.add_argument("action", choices=("up", "down", "status"))

    infra = command("infra", cmd_infra)
    infra.add_argument("action", choices=("plan", "apply"))
    root = infra.add_mutually_exclusive_group(required=True)
    root.add_argument("--env", choices=environments, help="the main root, in this workspace")
    root.add_argument("--operations", action="store_true", help="the operations root")
    root.add_argument("--backend", action="store_true", help="the Terraform state bucket")
    infra.add_argument("--embedded", action="store_true", help="apply to the embedded AWS")
    infra.add_argument("--provider-mirror", type=Path, help="local hashicorp/aws provider mirror")

    which = command("promotion", cmd_promotion)
    which.add_argument("what", choices=("env-for-ref", "check"))
    which.add_argument("--env", choices=environments, help="environment (check)")
    which.add_argument("--ref", required=True, help="a full git ref such as refs/tags/prod")

    promote = command("promote", cmd_promote)
    promote.add_argument("env", choices=environments, help="environment whose tag moves")
    promote.add_argument("rev", nargs="?", help="commit of main (default: main's head)")
    promote.add_argument("--dry-run", action="store_true", help="say what would move, only")
    promote.add_argument("--force", action="store_true", help="skip the staging guards")
    promote.add_argument("--reason", help="why --force (required with it)")
    promote.add_argument("--repo", default=".", help="the git repository (default: here)")
    promote.add_argument(
        "--embedded", action="store_true", help="read registries on the embedded AWS"
    )

    image = command("images", cmd_images)
    image.add_argument("what", choices=("publish",))
    image.add_argument("--sha", help="commit (default: the checked-out one, or GITHUB_SHA)")

    tale = command("story", cmd_story)
    tale.add_argument(
        "--work-dir", type=Path, help="where the throwaway repositories go (default .work/story)"
    )

    github = command("github", cmd_github)
    github.add_argument("what", choices=("settings",))
    github.add_argument("--apply", action="store_true", help="run the calls with `gh`")

    profiles = command("profiles", cmd_profiles)
    profiles.add_argument("what", choices=("get",))
    profiles.add_argument("key", help="SECTION.KEY, e.g. prod.account_id or project.region")
    return parser
