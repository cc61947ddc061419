"""One model on a multi-model endpoint: its archive in S3, its package group and its registry entry.

Three resources per model and nothing on the endpoint itself, so declaring a model is an upload
plus two records: the endpoint loads ``<archive name>`` on the first request with
``TargetModel=<archive name>``, and a client resolves model -> endpoint + TargetModel from the
registry table, under the team-qualified key ``<team>/<model>`` (``components.data.model_key``).
The version record carries that route (``components.registry_route``); ``route`` is what the
platform writes into the model's served record.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.base import PlatformComponent
from components.registry_records import RegistryTable, record_version, registry_item
from components.registry_route import mme_route
from components.serving.artifacts import publish_archive
from infra.declarations import ModelDeclaration
from infra.declarations.tags import Ownership
from model_packages.packaging import Package


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
        self.declaration = model
        self.route = mme_route(endpoint_name, package.archive_name)
        self.registry_item = None
        if registry is not None:
            item = registry_item(
                model,
                package,
                environment=environment,
                image=image,
                artifact_key=self.artifact_key,
                route=self.route,
                table=registry,
            )
            self.registry_item = record_version(
                f"{name}-registry", registry, item, self.child_opts(depends_on=[self.artifact])
            )
        self.register_outputs(
            {
                "model": model.name,
                "team": model.team,
                "version": model.version,
                # Read by the cost check (cost_model/budgets.py): the model's declared budget.
                "monthlyBudgetUsd": float(model.monthly_budget_usd),
                "endpointName": endpoint_name,
                "targetModel": package.archive_name,
                "artifactKey": self.artifact_key,
                "sha256": package.sha256,
            }
        )
