"""A small, honest evaluator of the IAM policies this template writes.

moto does not enforce IAM, so every claim of isolation or least privilege is checked by
evaluating the policies read back from the embedded AWS. This module answers one question, the
way IAM's policy logic does: does this set of policies allow this request? It implements what
the template's policies use and raises :class:`UnsupportedPolicy` for anything else, rather
than guessing:

- ``Effect`` Allow/Deny: an explicit Deny wins, otherwise at least one Allow must match;
- ``Action``/``NotAction`` with IAM wildcards (``*``, ``?``), matched case-insensitively;
- ``Resource``/``NotResource`` with wildcards, case-sensitive (absent in trust policies);
- ``Principal`` (``"*"``, or ``AWS`` account ids, ``:root`` ARNs and role ARNs, ``Federated``,
  ``Service``); ``NotPrincipal`` raises;
- ``Condition`` operators ``String*`` (``Equals``, ``NotEquals``, ``EqualsIgnoreCase``,
  ``NotEqualsIgnoreCase``, ``Like``, ``NotLike``), ``Arn*`` (``Equals``, ``Like``,
  ``NotEquals``, ``NotLike``: the same in IAM, wildcards within each of the ARN's parts),
  ``Bool``, ``Null`` and ``Numeric*``, each with the ``IfExists`` suffix and the
  ``ForAllValues:``/``ForAnyValue:`` prefixes. Values are ORed within a key, keys and
  operators ANDed. A missing key fails a positive operator and passes a negated one, as in
  IAM; condition keys are matched case-insensitively.

Policy variables (``${aws:username}``) raise, since nothing here resolves them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

ContextValue = str | bool | int | float | Sequence[str]


class UnsupportedPolicy(ValueError):
    """The policy uses an element this evaluator does not implement."""


@dataclass(frozen=True)
class Request:
    """One API request as IAM sees it.

    ``principal`` is ``(type, value)``: ``("AWS", role or user ARN)``, ``("Federated",
    provider ARN)`` or ``("Service", "sagemaker.amazonaws.com")``; it is only compared with
    the ``Principal`` of resource and trust policies.
    """

    action: str
    resource: str = "*"
    principal: tuple[str, str] | None = None
    context: Mapping[str, ContextValue] = field(default_factory=dict)


ALLOW, EXPLICIT_DENY, IMPLICIT_DENY = "Allow", "ExplicitDeny", "ImplicitDeny"


def decide(policies: Iterable[Mapping[str, Any]], request: Request) -> str:
    """``Allow``, ``ExplicitDeny`` or ``ImplicitDeny`` for ``request`` under ``policies``."""
    context = {key.lower(): value for key, value in request.context.items()}
    allowed = False
    for policy in policies:
        for statement in statements(policy):
            if not _matches(statement, request, context):
                continue
            effect = statement.get("Effect")
            if effect == "Deny":
                return EXPLICIT_DENY
            if effect != "Allow":
                raise UnsupportedPolicy(f"Effect {effect!r}")
            allowed = True
    return ALLOW if allowed else IMPLICIT_DENY


def allows(policies: Iterable[Mapping[str, Any]], request: Request) -> bool:
    """Whether ``policies`` allow ``request`` (an explicit or implicit deny is False)."""
    return decide(policies, request) == ALLOW


def statements(policy: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found = policy.get("Statement", [])
    return [found] if isinstance(found, Mapping) else list(found)


def _as_list(value: Any) -> list[Any]:
    return [value] if isinstance(value, str | bool | int | float) else list(value)


def wildcard_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM's wildcard matching: ``*`` any run of characters, ``?`` one character."""
    if "${" in pattern:
        raise UnsupportedPolicy(f"policy variable in {pattern!r}")
    regex = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, value, (re.IGNORECASE if ignore_case else 0) | re.DOTALL) is not None


def _matches(statement: Mapping[str, Any], request: Request, context: dict[str, Any]) -> bool:
    if "NotPrincipal" in statement:
        raise UnsupportedPolicy("NotPrincipal")
    if "Principal" in statement and not _principal_matches(
        statement["Principal"], request.principal
    ):
        return False
    if not _listed(statement, "Action", request.action, ignore_case=True):
        return False
    if ("Resource" in statement or "NotResource" in statement) and not _listed(
        statement, "Resource", request.resource, ignore_case=False
    ):
        return False
    return all(
        _condition_holds(operator, tests, context)
        for operator, tests in statement.get("Condition", {}).items()
    )


def _listed(statement: Mapping[str, Any], element: str, value: str, *, ignore_case: bool) -> bool:
    if element in statement:
        patterns = _as_list(statement[element])
        return any(wildcard_match(p, value, ignore_case=ignore_case) for p in patterns)
    negated = f"Not{element}"
    if negated in statement:
        patterns = _as_list(statement[negated])
        return not any(wildcard_match(p, value, ignore_case=ignore_case) for p in patterns)
    raise UnsupportedPolicy(f"statement without {element} or {negated}")


def _principal_matches(principal: Any, requester: tuple[str, str] | None) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, Mapping):
        raise UnsupportedPolicy(f"Principal {principal!r}")
    if requester is None:
        return False
    kind, value = requester
    for listed in _as_list(principal.get(kind, [])):
        if listed == "*" or listed == value:
            return True
        if kind == "AWS" and _account_principal(listed) == _arn_account(value):
            return True  # an account (or its :root) stands for every principal in it
    unknown = set(principal) - {"AWS", "Federated", "Service", "CanonicalUser"}
    if unknown:
        raise UnsupportedPolicy(f"Principal type(s) {sorted(unknown)}")
    return False


def _account_principal(listed: str) -> str | None:
    if re.fullmatch(r"\d{12}", listed):
        return listed
    match = re.fullmatch(r"arn:aws[\w-]*:iam::(\d{12}):root", listed)
    return match.group(1) if match else None


def _arn_account(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 and parts[4] else None


_STRING = {
    "stringequals": (False, False, False),  # (wildcards, negated, ignore case)
    "stringnotequals": (False, True, False),
    "stringequalsignorecase": (False, False, True),
    "stringnotequalsignorecase": (False, True, True),
    "stringlike": (True, False, False),
    "stringnotlike": (True, True, False),
}
# ArnEquals and ArnLike are the same operator in IAM: each of an ARN's six colon-separated
# parts is matched on its own, with wildcards that do not cross a colon.
_ARN = {"arnequals": False, "arnlike": False, "arnnotequals": True, "arnnotlike": True}
_NUMERIC = {
    "numericequals": lambda a, b: a == b,
    "numericnotequals": lambda a, b: a != b,
    "numericlessthan": lambda a, b: a < b,
    "numericlessthanequals": lambda a, b: a <= b,
    "numericgreaterthan": lambda a, b: a > b,
    "numericgreaterthanequals": lambda a, b: a >= b,
}


def _condition_holds(operator: str, tests: Mapping[str, Any], context: dict[str, Any]) -> bool:
    name = operator.lower()
    set_operator = None
    for prefix in ("forallvalues:", "foranyvalue:"):
        if name.startswith(prefix):
            set_operator, name = prefix[:-1], name[len(prefix) :]
    if_exists = name.endswith("ifexists")
    name = name.removesuffix("ifexists")
    if name not in {*_STRING, *_ARN, *_NUMERIC, "bool", "null"}:
        raise UnsupportedPolicy(f"condition operator {operator!r}")
    for key, expected in tests.items():
        actual = context.get(key.lower())
        if name == "null":
            if set_operator or if_exists:
                raise UnsupportedPolicy(f"condition operator {operator!r}")
            holds = (actual is None) == (str(_as_list(expected)[0]).lower() == "true")
        elif actual is None or (set_operator and not _as_list(actual)):
            # IAM: ForAllValues over no values holds, ForAnyValue does not; otherwise a missing
            # key fails a positive operator and passes a negated one or any IfExists.
            positive_default = if_exists or _negated(name)
            holds = (set_operator == "forallvalues") if set_operator else positive_default
        else:
            holds = _values_hold(name, operator, set_operator, _as_list(expected), actual)
        if not holds:
            return False
    return True


def _negated(name: str) -> bool:
    if name in _STRING:
        return _STRING[name][1]
    return _ARN.get(name, False) or name == "numericnotequals"


def arn_match(pattern: str, arn: str) -> bool:
    """IAM's ARN matching: part by part (partition, service, region, account, resource)."""
    patterns, parts = pattern.split(":", 5), arn.split(":", 5)
    return len(patterns) == len(parts) == 6 and all(
        wildcard_match(p, v) for p, v in zip(patterns, parts, strict=True)
    )


def _values_hold(
    name: str, operator: str, set_operator: str | None, expected: list[Any], actual: Any
) -> bool:
    def one(value: Any) -> bool:
        if name in _STRING:
            wildcards, negated, ignore_case = _STRING[name]
            text = str(value)
            found = any(
                wildcard_match(str(e), text, ignore_case=ignore_case)
                if wildcards
                else (str(e).lower() == text.lower() if ignore_case else str(e) == text)
                for e in expected
            )
            return not found if negated else found
        if name in _ARN:
            found = any(arn_match(str(e), str(value)) for e in expected)
            return not found if _ARN[name] else found
        if name == "bool":
            return any(str(e).lower() == str(value).lower() for e in expected)
        if name in _NUMERIC:
            return any(_NUMERIC[name](float(value), float(e)) for e in expected)
        raise UnsupportedPolicy(f"condition operator {operator!r}")

    values = _as_list(actual)
    if set_operator == "forallvalues":
        return all(one(v) for v in values)
    if set_operator == "foranyvalue":
        return any(one(v) for v in values)
    if len(values) != 1:
        raise UnsupportedPolicy(
            f"{operator} on a multi-valued key needs ForAllValues: or ForAnyValue:"
        )
    return one(values[0])
