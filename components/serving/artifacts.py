"""Model archives: built for each model, and published to S3 where serving reads them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws

from infra import catalog
from model_packages.packaging import Layout, Package, package_model

if TYPE_CHECKING:  # the endpoint module publishes through this one
    from components.serving.multi_model_endpoint import EndpointPlan


def layout_for(plan: EndpointPlan) -> Layout:
    """Triton loads a model repository entry; framework containers load the model directory."""
    return Layout.TRITON if catalog.TRITON_FRAMEWORK in plan.image else Layout.FRAMEWORK


def publish_archive(
    name: str,
    *,
    package: Package,
    bucket: pulumi.Input[str],
    key: str,
    kms_key_arn: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> aws.s3.BucketObjectv2:
    """The archive as an S3 object, KMS-encrypted, its digest in the object's metadata."""
    return aws.s3.BucketObjectv2(
        name,
        bucket=bucket,
        key=key,
        source=pulumi.FileAsset(str(package.path)),
        content_type="application/gzip",
        server_side_encryption="aws:kms",
        kms_key_id=kms_key_arn,
        metadata={"sha256": package.sha256},
        opts=opts,
    )


def package_hosted_models(plans: list[EndpointPlan]) -> dict[str, Package]:
    """Model name -> its archive (built once, then reused from the cache while unchanged)."""
    return {
        model.name: package_model(
            model.name, model.version, model.artifact, layout=layout_for(plan)
        )
        for plan in plans
        for model in plan.models
    }
