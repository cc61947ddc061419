"""The registry records the platform writes: one per model version, one served record per model.

What the records say is ``components.registry_route``; this module declares them as
``aws.dynamodb.TableItem`` resources. The provider creates a TableItem with a conditional
PutItem (``attribute_not_exists`` on the hash key: "Explode if item exists. We didn't create it",
terraform-provider-aws internal/service/dynamodb/table_item.go), so a record whose key already
exists cannot be created by a second resource. Hence:
- a version record is retained on delete (history) and never re-created: declaring a version that
  was recorded before (a rollback, or a backend move without a version bump) fails at ``up``
  until its old record is removed or imported;
- the served record has one resource per model at a URN that does not depend on the backend
  (parented to the tables, named after the model), so a version bump or a move between backends
  is an in-place update of the same item, never a create of an existing key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.registry_route import (
    REGISTRY_HASH_KEY,
    REGISTRY_RANGE_KEY,
    Route,
    dynamodb_json,
    model_key,
    served_fields,
)
from infra.declarations import ModelDeclaration
from model_packages.packaging import Package


@dataclass(frozen=True)
class RegistryTable:
    """The DynamoDB table model versions are recorded in (keys ``modelKey``, ``version``)."""

    name: pulumi.Input[str]
    hash_key: str = REGISTRY_HASH_KEY
    range_key: str = REGISTRY_RANGE_KEY


def registry_item(
    model: ModelDeclaration,
    package: Package,
    *,
    environment: str,
    image: str,
    artifact_key: str,
    route: Route,
    table: RegistryTable,
) -> dict:
    """The registry record of one model version, in DynamoDB's attribute-value JSON."""
    return dynamodb_json(
        {
            table.hash_key: model_key(model.team, model.name),
            table.range_key: model.version,  # numeric, so versions sort as numbers
            "model": model.name,
            "team": model.team,
            "framework": model.framework,
            "frameworkVersion": model.framework_version,
            "image": image,
            "artifactKey": artifact_key,
            "sha256": package.sha256,
            "environment": environment,
            **route.attributes(),
        }
    )


def _item(
    name: str, table: RegistryTable, item: pulumi.Input[dict], opts: pulumi.ResourceOptions
) -> aws.dynamodb.TableItem:
    return aws.dynamodb.TableItem(
        name,
        table_name=table.name,
        hash_key=table.hash_key,
        range_key=table.range_key,
        item=pulumi.Output.from_input(item).apply(lambda value: json.dumps(value, sort_keys=True)),
        opts=opts,
    )


def record_version(
    name: str, table: RegistryTable, item: pulumi.Input[dict], opts: pulumi.ResourceOptions
) -> aws.dynamodb.TableItem:
    """A version record: a new version replaces this resource and the old record stays."""
    return _item(
        name,
        table,
        item,
        pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(retain_on_delete=True)),
    )


def record_served(
    model: ModelDeclaration,
    route: pulumi.Input[Route],
    *,
    environment: str,
    table: RegistryTable,
    opts: pulumi.ResourceOptions,
) -> aws.dynamodb.TableItem:
    """The served record: ``opts`` must give it a parent that does not change with the backend."""
    item = pulumi.Output.from_input(route).apply(
        lambda r: dynamodb_json(served_fields(model.team, model.name, model.version, r))
    )
    return _item(f"mlplat-{environment}-{model.name}-served", table, item, opts)
