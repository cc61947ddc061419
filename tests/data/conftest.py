"""Fixtures for the data/identity/cost/observability tests: each stack's offline export, once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

STACKS = ("dev", "staging", "prod")

# Where each resource type keeps a JSON policy document, and what kind of document it is.
POLICY_PROPERTIES = {
    "aws:iam/role:Role": ("assumeRolePolicy", "trust"),
    "aws:iam/rolePolicy:RolePolicy": ("policy", "identity"),
    "aws:iam/policy:Policy": ("policy", "identity"),
    "aws:s3/bucketPolicy:BucketPolicy": ("policy", "resource"),
    "aws:sns/topicPolicy:TopicPolicy": ("policy", "resource"),
    "aws:kms/key:Key": ("policy", "resource"),
}


@dataclass(frozen=True)
class PolicyDocument:
    stack: str
    urn: str
    type_: str
    kind: str  # identity, trust or resource
    text: str

    @property
    def document(self) -> dict:
        return json.loads(self.text)

    @property
    def statements(self) -> list[dict]:
        statements = self.document["Statement"]
        return statements if isinstance(statements, list) else [statements]


@pytest.fixture(scope="session")
def exports(stack_export) -> dict[str, dict[str, Any]]:
    return {stack: stack_export(stack) for stack in STACKS}


def resources(export: dict, type_: str | None = None) -> list[dict]:
    return [r for r in export["deployment"]["resources"] if type_ is None or r["type"] == type_]


def policy_documents(stack: str, export: dict) -> Iterator[PolicyDocument]:
    for resource in resources(export):
        if resource["type"] in POLICY_PROPERTIES:
            prop, kind = POLICY_PROPERTIES[resource["type"]]
            text = resource["inputs"].get(prop)
            if text:
                yield PolicyDocument(stack, resource["urn"], resource["type"], kind, text)


@pytest.fixture(scope="session")
def all_policy_documents(exports) -> list[PolicyDocument]:
    return [doc for stack, export in exports.items() for doc in policy_documents(stack, export)]
