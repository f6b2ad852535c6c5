"""The deploy job's summary (``$GITHUB_STEP_SUMMARY``): what ran where, and what it registered.

GitHub shows this Markdown on the run's page, so a reviewer of a promotion sees, without opening
AWS: the environment and its account, the commit and ref, the execution and each step's status
and duration, the challenger's metrics against the champion's, and the version registered (or
why none was), with where to find them in SageMaker Studio.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from training_pipeline.config.naming import EnvironmentNames


def markdown(
    names: EnvironmentNames,
    record: Mapping[str, Any],
    report: Mapping[str, Any] | None,
    studio_url: str | None = None,
) -> str:
    status = record["status"]
    icon = {"Succeeded": "✅", "Failed": "❌"}.get(status, "⚠️")
    lines = [
        f"## {icon} {names.env}, model {names.model}: pipeline {status.lower()}",
        "",
        "| | |",
        "|---|---|",
        f"| environment | `{names.env}`, account `{names.account_id}` ({names.region}) |",
        f"| commit | `{record.get('git_sha', '')[:12]}` from `{record.get('git_ref', '')}` |",
        f"| pipeline | `{names.pipeline_name}` |",
        f"| execution | `{record.get('execution_id', '')}` ({record.get('runner', '')} runner) |",
        f"| model | {model_line(names, record)} |",
    ]
    if record.get("failure_reason"):
        lines.append(f"| reason | {_cell(record['failure_reason'])} |")
    steps = record.get("steps") or []
    if steps:
        lines += ["", "### Steps", "", "| step | type | status | duration | |", "|---" * 5 + "|"]
        for step in steps:
            duration = step.get("duration_s")
            lines.append(
                f"| {step['name']} | {step.get('step_type', '')} | {step['status']} | "
                f"{'' if duration is None else f'{duration:.1f}s'} | "
                f"{'cached' if step.get('cache_hit') else ''} |"
            )
    if report:
        lines += _metrics(report)
    lines += ["", "### In SageMaker Studio", ""]
    execution = f"Pipelines › `{names.pipeline_name}` › execution `{record.get('execution_id')}`"
    registry = f"Models › `{names.model_package_group}`"
    if studio_url:
        page = f"{studio_url.rstrip('/')}/pipelines/view/{names.pipeline_name}"
        lines += [f"- [{execution}]({page})", f"- {registry}"]
    else:
        lines += [
            f"- {execution}",
            f"- {registry}",
            "",
            f"(account `{names.account_id}` has no Studio domain `{names.project}-{names.env}` "
            "to link to; `create_studio_domain = true` in terraform/main adds one)",
        ]
    return "\n".join(lines) + "\n"


def model_line(names: EnvironmentNames, record: Mapping[str, Any]) -> str:
    """What the execution did to the registry, in one line."""
    model = record.get("model")
    if not model:
        return "nothing registered"
    where = f"`{names.model_package_group}` version {model['version']} ({model['status']})"
    if model.get("registered"):
        return f"registered {where}"
    return f"nothing new registered: the model is identical to {where}"


def _metrics(report: Mapping[str, Any]) -> list[str]:
    has_champion = report["comparison"]["has_champion"]
    lines = [
        "",
        f"### Metrics on the test split ({report['test_rows']} rows)",
        "",
        "| metric | challenger | champion |" if has_champion else "| metric | challenger |",
        "|---|---|---|" if has_champion else "|---|---|",
    ]
    gate = report["gate"]
    for name, value in report["metrics"].items():
        row = f"| {name} | {value['value']:.4f} |"
        if has_champion:
            champion = report["champion"]["value"] if name == gate["metric"] else None
            row += f" {'' if champion is None else f'{champion:.4f}'} |"
        lines.append(row)
    if has_champion:
        lines += [
            "",
            f"{gate['metric']} improvement on the champion ({gate['direction']} is better): "
            f"{gate['improvement']:+.4f}",
        ]
    else:
        lines += ["", "No Approved champion yet: only the absolute floor applied."]
    return lines


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")[:500]
