"""A small, honest evaluator of IAM role trust policies for GitHub OIDC tokens.

It answers one question: may a GitHub Actions job holding a token with these claims call
``sts:AssumeRoleWithWebIdentity`` on a role with this trust policy, through this account's OIDC
provider? It implements only what such trust policies use, and refuses (raises) anything else
rather than guessing:

- ``Effect`` Allow/Deny; an explicit Deny wins, otherwise at least one Allow must match;
- ``Principal``/``NotPrincipal``: ``"*"`` or ``{"Federated": ARN or [ARNs]}`` (other principal
  types never match a web-identity caller); ``NotPrincipal`` raises;
- ``Action``/``NotAction`` with IAM wildcards (``*``, ``?``), case-insensitive;
- ``Condition`` operators StringEquals, StringNotEquals, StringLike, StringNotLike (with the
  ``IfExists`` suffix and the ``ForAnyValue:``/``ForAllValues:`` prefixes raising), values ORed
  within a key, keys and operators ANDed; a missing key fails a positive operator and passes a
  negative one, as in IAM.

Condition keys are matched case-insensitively, values case-sensitively (as IAM does for the
string operators).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ISSUER = "token.actions.githubusercontent.com"
ACTION = "sts:AssumeRoleWithWebIdentity"


class UnsupportedPolicy(ValueError):
    """The policy uses an element this evaluator does not implement."""


@dataclass(frozen=True)
class Claims:
    """The claims of a GitHub Actions OIDC token that trust policies can test."""

    sub: str
    aud: str = "sts.amazonaws.com"

    def context(self) -> dict[str, str]:
        return {f"{ISSUER}:sub": self.sub, f"{ISSUER}:aud": self.aud}


def oidc_provider_arn(account_id: str) -> str:
    return f"arn:aws:iam::{account_id}:oidc-provider/{ISSUER}"


def allows(policy: Mapping[str, Any], *, provider_arn: str, claims: Claims) -> bool:
    """Whether ``policy`` lets a token with ``claims``, presented to ``provider_arn``, assume
    the role."""
    context = {key.lower(): value for key, value in claims.context().items()}
    allowed = False
    for statement in _statements(policy):
        if not _matches(statement, provider_arn, context):
            continue
        effect = statement.get("Effect")
        if effect == "Deny":
            return False
        if effect != "Allow":
            raise UnsupportedPolicy(f"Effect {effect!r}")
        allowed = True
    return allowed


def _statements(policy: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    statements = policy.get("Statement", [])
    return [statements] if isinstance(statements, Mapping) else list(statements)


def _as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _wildcard(pattern: str, value: str, *, ignore_case: bool) -> bool:
    regex = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    flags = re.IGNORECASE if ignore_case else 0
    return re.fullmatch(regex, value, flags | re.DOTALL) is not None


def _matches(statement: Mapping[str, Any], provider_arn: str, context: dict[str, str]) -> bool:
    if "NotPrincipal" in statement:
        raise UnsupportedPolicy("NotPrincipal")
    if not _principal_matches(statement.get("Principal"), provider_arn):
        return False
    if "Action" in statement:
        if not any(_wildcard(a, ACTION, ignore_case=True) for a in _as_list(statement["Action"])):
            return False
    elif "NotAction" in statement:
        if any(_wildcard(a, ACTION, ignore_case=True) for a in _as_list(statement["NotAction"])):
            return False
    else:
        raise UnsupportedPolicy("statement without Action or NotAction")
    return all(
        _condition_holds(operator, tests, context)
        for operator, tests in statement.get("Condition", {}).items()
    )


def _principal_matches(principal: Any, provider_arn: str) -> bool:
    if principal is None:
        raise UnsupportedPolicy("trust policy statement without Principal")
    if principal == "*":
        return True
    if not isinstance(principal, Mapping):
        raise UnsupportedPolicy(f"Principal {principal!r}")
    if "Federated" in principal:
        return provider_arn in _as_list(principal["Federated"])
    # AWS, Service or CanonicalUser principals never match a web-identity caller.
    return False


_OPERATORS = {
    "stringequals": (False, False),  # (wildcards, negated)
    "stringlike": (True, False),
    "stringnotequals": (False, True),
    "stringnotlike": (True, True),
}


def _condition_holds(operator: str, tests: Mapping[str, Any], context: dict[str, str]) -> bool:
    name = operator.lower()
    if name not in _OPERATORS:
        raise UnsupportedPolicy(f"condition operator {operator!r}")
    wildcards, negated = _OPERATORS[name]
    for key, expected in tests.items():
        actual = context.get(key.lower())
        if actual is None:
            holds = negated  # a missing key fails StringEquals/Like, passes StringNot*
        else:
            found = any(
                _wildcard(value, actual, ignore_case=False) if wildcards else value == actual
                for value in _as_list(expected)
            )
            holds = not found if negated else found
        if not holds:
            return False
    return True
