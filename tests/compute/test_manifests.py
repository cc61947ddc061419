"""Every Kubernetes object validates against the cluster version's OpenAPI schema, and every one
goes through the explicit provider built from the cluster's kubeconfig."""

from __future__ import annotations

import kubernetes_validate
import pytest
from kubernetes_validate.utils import all_versions, major_minor

from components.eks_model import pod_spec, selector_labels
from tests.compute.conftest import manifest
from tests.compute.test_eks_models import GPU_MODEL, SPOT_MODEL

pytestmark = pytest.mark.slow


def schema_version(cluster_version: str) -> str:
    """The newest shipped schema of the cluster's minor, or the nearest minor shipped."""
    shipped = all_versions()
    same_minor = [v for v in shipped if major_minor(v) == cluster_version]
    if same_minor:
        return same_minor[-1]
    minor = int(cluster_version.split(".")[1])
    return min(shipped, key=lambda v: abs(int(major_minor(v).split(".")[1]) - minor))


def test_the_cluster_version_has_its_own_schema():
    # Stated, and checked: kubernetes-validate ships 1.35, the version all stacks run.
    assert schema_version("1.35") == "1.35.0"


def test_every_manifest_validates_strictly(plan):
    version = schema_version(plan.spec.settings.cluster.kubernetes_version)
    objects = plan.kubernetes_objects
    assert len(objects) >= 8 * len(plan.spec.teams)
    for resource in objects:
        try:
            kubernetes_validate.validate(manifest(resource), version, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{resource['urn']}: {error.message} at {list(error.path)}")


def test_validation_would_catch_a_misspelt_field(plan):
    deployment = manifest(plan.workloads[0])
    broken = {**deployment, "spec": {**deployment["spec"], "replica": 2}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, schema_version("1.35"), strict=True)


@pytest.mark.parametrize("model", [GPU_MODEL, SPOT_MODEL], ids=lambda m: m.name)
def test_gpu_and_spot_pods_validate(model):
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": model.name, "namespace": model.team},
        "spec": {
            "selector": {"matchLabels": selector_labels(model)},
            "template": {
                "metadata": {"labels": selector_labels(model)},
                "spec": pod_spec(
                    model,
                    image="img",
                    service_account=model.name,
                    archive_uri="s3://b/p/m-v1.tar.gz",
                ),
            },
        },
    }
    kubernetes_validate.validate(deployment, schema_version("1.35"), strict=True)


def test_every_kubernetes_resource_uses_the_explicit_provider(plan):
    (provider,) = plan.of_type("pulumi:providers:kubernetes")
    assert provider["urn"].endswith(f"::mlplat-{plan.stack}-k8s")
    cluster = plan.one("eks:index:Cluster")
    assert provider["inputs"]["kubeconfig"] == cluster["outputs"]["kubeconfigJson"]
    reference = f"{provider['urn']}::{provider['id']}"
    kubernetes = [r for r in plan.resources if r["type"].startswith("kubernetes:")]
    assert kubernetes
    for resource in kubernetes:
        assert resource["provider"] == reference, resource["urn"]
