"""One model on a multi-model endpoint: its archive in S3, its package group and its registry entry.

Three resources per model and nothing on the endpoint itself, so declaring a model is an upload
plus two records: the endpoint loads ``<archive name>`` on the first request with
``TargetModel=<archive name>``, and a client resolves model -> endpoint + TargetModel from the
registry table, under the team-qualified key ``<team>/<model>`` (``components.data.model_key``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.base import PlatformComponent
from components.data import REGISTRY_HASH_KEY, REGISTRY_RANGE_KEY, model_key
from components.serving.artifacts import publish_archive
from infra.declarations import ModelDeclaration
from infra.tagging import Ownership
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
    endpoint_name: str,
    image: str,
    artifact_key: str,
    table: RegistryTable,
) -> dict:
    """The registry record of one model version, in DynamoDB's attribute-value JSON."""
    fields = {
        table.hash_key: model_key(model.team, model.name),
        "model": model.name,
        "team": model.team,
        "framework": model.framework,
        "frameworkVersion": model.framework_version,
        "image": image,
        "artifactKey": artifact_key,
        "targetModel": package.archive_name,
        "sha256": package.sha256,
        "endpoint": endpoint_name,
        "environment": environment,
    }
    item = {key: {"S": value} for key, value in fields.items()}
    item[table.range_key] = {"N": str(model.version)}  # numeric, so versions sort as numbers
    return item


class HostedModel(PlatformComponent):
    TYPE = "mlplat:serving:HostedModel"

    def __init__(
        self,
        name: str,
        *,
        model: ModelDeclaration,
        package: Package,
        environment: str,
        endpoint_name: str,
        image: str,
        artifacts_bucket: pulumi.Input[str],
        key_prefix: str,
        kms_key_arn: pulumi.Input[str],
        registry: RegistryTable | None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(name, owner=Ownership(team=model.team, model=model.name), opts=opts)
        self.artifact_key = f"{key_prefix}{package.archive_name}"
        self.artifact = publish_archive(
            f"{name}-artifact",
            package=package,
            bucket=artifacts_bucket,
            key=self.artifact_key,
            kms_key_arn=kms_key_arn,
            opts=self.child_opts(),
        )
        self.package_group = aws.sagemaker.ModelPackageGroup(
            f"{name}-package-group",
            model_package_group_name=f"mlplat-{environment}-{model.name}",
            model_package_group_description=(
                model.description or f"{model.name}, owned by {model.team}"
            )[:1024],
            opts=self.child_opts(),
        )
        self.registry_item = None
        if registry is not None:
            item = registry_item(
                model,
                package,
                environment=environment,
                endpoint_name=endpoint_name,
                image=image,
                artifact_key=self.artifact_key,
                table=registry,
            )
            self.registry_item = aws.dynamodb.TableItem(
                f"{name}-registry",
                table_name=registry.name,
                hash_key=registry.hash_key,
                range_key=registry.range_key,
                item=json.dumps(item, sort_keys=True),
                # A new version replaces this resource; the old version's record stays in the
                # registry (its history), so Pulumi only forgets it.
                opts=self.child_opts(depends_on=[self.artifact], retain_on_delete=True),
            )
        self.register_outputs(
            {
                "model": model.name,
                "team": model.team,
                "version": model.version,
                # Read by the cost check (infra/cost/budgets.py): the model's declared budget.
                "monthlyBudgetUsd": float(model.monthly_budget_usd),
                "endpointName": endpoint_name,
                "targetModel": package.archive_name,
                "artifactKey": self.artifact_key,
                "sha256": package.sha256,
            }
        )
