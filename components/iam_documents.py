"""Typed IAM policy statements, rendered to the JSON documents AWS takes.

Every policy the platform writes is built from ``Statement`` values, so the shape is checked once
here: an ``Allow`` may never grant every action on every resource, and a statement names its
actions and resources explicitly. ``render`` gives the exact JSON text (stable key order, so
exports are deterministic).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import pulumi

VERSION = "2012-10-17"

Effect = Literal["Allow", "Deny"]
# {"ConditionOperator": {"key": value-or-values}}
Conditions = Mapping[str, Mapping[str, str | tuple[str, ...]]]


@dataclass(frozen=True)
class Principal:
    """Who a resource or trust policy names: ``kind`` is AWS, Service, Federated, or ``*``."""

    kind: Literal["AWS", "Service", "Federated", "*"]
    values: tuple[str, ...] = ()

    @classmethod
    def anyone(cls) -> Principal:
        return cls("*")

    @classmethod
    def account(cls, account: str) -> Principal:
        return cls("AWS", (f"arn:aws:iam::{account}:root",))

    @classmethod
    def service(cls, *services: str) -> Principal:
        return cls("Service", tuple(services))

    @classmethod
    def federated(cls, provider_arn: str) -> Principal:
        return cls("Federated", (provider_arn,))

    def to_json(self) -> str | dict[str, str | list[str]]:
        if self.kind == "*":
            return "*"
        return {self.kind: _one_or_many(self.values)}


@dataclass(frozen=True)
class Statement:
    sid: str
    actions: tuple[str, ...]
    resources: tuple[str, ...] = ()
    effect: Effect = "Allow"
    principal: Principal | None = None
    conditions: Conditions = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.sid.isalnum():
            raise ValueError(f"statement id {self.sid!r} must be alphanumeric (IAM's rule)")
        if not self.actions:
            raise ValueError(f"{self.sid}: a statement needs at least one action")
        if self.effect == "Allow" and "*" in self.actions and "*" in self.resources:
            raise ValueError(f"{self.sid}: Allow of every action on every resource")
        if self.principal is None and not self.resources:
            raise ValueError(f"{self.sid}: an identity statement needs resources")

    def to_json(self) -> dict:
        statement: dict = {"Sid": self.sid, "Effect": self.effect}
        if self.principal is not None:
            statement["Principal"] = self.principal.to_json()
        statement["Action"] = _one_or_many(self.actions)
        if self.resources:
            statement["Resource"] = _one_or_many(self.resources)
        if self.conditions:
            statement["Condition"] = {
                operator: {
                    key: _one_or_many(value) if isinstance(value, tuple) else value
                    for key, value in sorted(keys.items())
                }
                for operator, keys in sorted(self.conditions.items())
            }
        return statement


def render(statements: Iterable[Statement]) -> str:
    """The policy document as JSON text."""
    listed = list(statements)
    sids = [s.sid for s in listed]
    duplicates = sorted({sid for sid in sids if sids.count(sid) > 1})
    if duplicates:
        raise ValueError(f"duplicate statement ids: {', '.join(duplicates)}")
    return json.dumps({"Version": VERSION, "Statement": [s.to_json() for s in listed]})


def render_output(build, *inputs: pulumi.Input) -> pulumi.Output[str]:
    """A document whose statements need resolved values (ARNs): ``build(*values) -> statements``."""
    return pulumi.Output.all(*inputs).apply(lambda values: render(build(*values)))


def assume_role(
    principal: Principal,
    *,
    action: str = "sts:AssumeRole",
    conditions: Conditions | None = None,
    sid: str = "Trust",
) -> str:
    """A trust policy with one statement."""
    return render([Statement(sid, (action,), principal=principal, conditions=conditions or {})])


def _one_or_many(values: tuple[str, ...] | str) -> str | list[str]:
    if isinstance(values, str):
        return values
    return values[0] if len(values) == 1 else list(values)
