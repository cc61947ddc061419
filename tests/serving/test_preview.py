"""The serving layer in the offline preview: what stacks show, what adding a model changes."""

from __future__ import annotations

import json
import tarfile
from collections import Counter

import pytest
from boto3.dynamodb.types import TypeDeserializer

from components.registry_route import SERVED_VERSION, Backend, Route, model_path
from components.serving.artifacts import package_hosted_models
from components.serving.placement import plan_endpoints
from cost_model.graph import Graph
from infra.declarations import ModelDeclaration, ModelOverride, ServingTarget
from infra.loader import load_environment, read_stack_config
from mlplat.plan_diff import Change, diff
from model_packages.packaging import archive_name

STACKS = ("dev", "staging", "prod")
MME = "mlplat:serving:MultiModelEndpoint"
PER_ENDPOINT = (
    "aws:sagemaker/model:Model",
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration",
    "aws:sagemaker/endpoint:Endpoint",
    "aws:appautoscaling/target:Target",
    "aws:appautoscaling/policy:Policy",
)
PER_MODEL = (
    "aws:s3/bucketObjectv2:BucketObjectv2",
    "aws:dynamodb/tableItem:TableItem",
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup",
)


@pytest.mark.parametrize("stack", STACKS)
def test_every_model_and_endpoint_has_its_resources(stack, stack_export):
    resources = stack_export(stack)["deployment"]["resources"]
    endpoints = [r for r in resources if r["type"] == MME]
    assert endpoints
    for endpoint in endpoints:
        children = Counter(r["type"] for r in resources if r.get("parent") == endpoint["urn"])
        assert all(children[kind] == 1 for kind in PER_ENDPOINT), (endpoint["urn"], children)
        name = endpoint["outputs"]["endpointName"]
        assert endpoint["outputs"]["modelDataUrl"].endswith(
            f"/teams/{endpoint['outputs']['models'][0]['team']}/endpoints/{name}/"
        )
    hosted = {m["name"] for e in endpoints for m in e["outputs"]["models"]}
    for model in hosted:
        owned = Counter(
            r["type"]
            for r in resources
            if r["type"] in PER_MODEL and f"-{model}-" in r["urn"] and not _is_served_record(r)
        )
        assert all(owned[kind] == 1 for kind in PER_MODEL), (model, owned)
        for r in resources:
            if r["type"] in PER_MODEL and f"-{model}-" in r["urn"] and "tags" in r["inputs"]:
                assert r["inputs"]["tags"]["mlplat:model"] == model, r["urn"]


def _computes_on_gpu(package) -> bool:
    """Where a model archive computes: a Triton Python-backend model runs on the GPU only with an
    execution environment that brings GPU libraries (the image's Python has numpy alone), and
    then says so with a KIND_GPU instance group; framework archives here run on CPU images."""
    with tarfile.open(package.path) as tar:
        configs = [m for m in tar.getmembers() if m.name.endswith("/config.pbtxt")]
        if not configs:
            return False
        config = tar.extractfile(configs[0]).read().decode()
    gpu = "KIND_GPU" in config
    if 'backend: "python"' in config and "EXECUTION_ENV_PATH" not in config:
        assert not gpu, f"{package.model}: a numpy-only Python model claims a GPU instance group"
    return gpu


@pytest.mark.parametrize("stack", STACKS)
def test_endpoints_scale_on_a_metric_of_where_their_models_compute(stack, stack_export):
    """Issue 11: GPUUtilization only where every model computes on the GPU; else invocations."""
    spec = load_environment(stack, read_stack_config(stack))
    plans = plan_endpoints(spec)
    packages = package_hosted_models(plans)
    resources = stack_export(stack)["deployment"]["resources"]
    by_urn = {r["urn"]: r for r in resources}
    policies = {
        by_urn[r["parent"]]["outputs"]["endpointName"]: r
        for r in resources
        if r["type"] == "aws:appautoscaling/policy:Policy"
    }
    assert set(policies) == {plan.endpoint_name for plan in plans}
    for plan in plans:
        config = policies[plan.endpoint_name]["inputs"]["targetTrackingScalingPolicyConfiguration"]
        if all(_computes_on_gpu(packages[m.name]) for m in plan.models):
            metric = config["customizedMetricSpecification"]["metricName"]
            assert metric == "GPUUtilization", plan.endpoint_name
        else:
            metric = config["predefinedMetricSpecification"]["predefinedMetricType"]
            assert metric == "SageMakerVariantInvocationsPerInstance", plan.endpoint_name
            assert config["targetValue"] == plan.target_invocations_per_instance


def _extra_model(**scaling) -> ModelDeclaration:
    return ModelDeclaration(
        name="dispute-triage",
        version=1,
        team="fraud",
        framework="sklearn",
        framework_version="1.9-0",
        artifact="model_packages/chargeback_risk/mlflow_model",
        serving=ServingTarget.SAGEMAKER_MME,
        resources={"memory_mb": 128},
        scaling={"min_instances": 1, "max_instances": 6} | scaling,
        monthly_budget_usd=50,
    )


def _changed_inputs(old: dict, new: dict) -> set[str]:
    return {k for k in old.keys() | new.keys() if old.get(k) != new.get(k)}


def _changed_widgets(old_body: str, new_body: str) -> list[tuple[dict, dict]]:
    old, new = json.loads(old_body)["widgets"], json.loads(new_body)["widgets"]
    return [(o, n) for o, n in zip(old, new, strict=False) if o != n]


def _hosting(resources: dict, model: str) -> dict:
    return next(
        r
        for r in resources.values()
        if r["type"] == MME and model in {m["name"] for m in r["outputs"]["models"]}
    )


def _below(resources: dict, component_urn: str) -> set[str]:
    """The URNs under a component, itself included."""
    found, grew = {component_urn}, True
    while grew:
        more = {urn for urn, r in resources.items() if r.get("parent") in found} - found
        grew, found = bool(more), found | more
    return found


@pytest.mark.parametrize(
    ("scaling", "joins"),
    [({"max_instances": 4}, True), ({"max_instances": 6}, False)],  # fraud's endpoint: at most 4
)
def test_adding_a_model_changes_nothing_of_another_model(
    scaling, joins, stack_export, preview_with_models
):
    """Issues 4 and 14: only the new model's resources are added (and an endpoint of its own
    when no endpoint of its team gives what it asks), nothing is replaced or deleted, and the one
    update is the shared dashboard: no endpoint, configuration or scaling another model uses."""
    base = stack_export("dev")
    new = preview_with_models("dev", lambda models: (*models, _extra_model(**scaling)))
    plan = diff(Graph.from_export(base), Graph.from_export(new))
    before = {r["urn"]: r for r in base["deployment"]["resources"]}
    after = {r["urn"]: r for r in new["deployment"]["resources"]}
    host = _hosting(after, "dispute-triage")

    assert plan.count(Change.DELETE) == 0  # nothing removed or renamed
    added = {c.urn for c in plan.changes if c.kind is Change.CREATE}
    own = {urn for urn in added if "dispute-triage" in urn}
    assert Counter(after[urn]["type"] for urn in own if after[urn]["custom"]) == Counter(
        (*PER_MODEL, "aws:dynamodb/tableItem:TableItem")  # its version and served records
    )
    assert len(own) <= 5  # its component, archive, two registry records and package group
    assert (host["urn"] in before) is joins  # on fraud's endpoint, or one of its own
    if joins:
        assert added == own
    else:  # the new endpoint (its SageMaker resources, scaling and alarms), named after it
        endpoint = host["outputs"]["endpointName"]
        assert _below(after, host["urn"]) - own <= added
        assert all(endpoint in urn for urn in added - own)
    if not joins:
        assert host["outputs"]["models"] == [
            {"name": "dispute-triage", "team": "fraud", "memoryMb": 128}
        ]
        assert host["outputs"]["maxInstances"] == 6

    # What the engine would update (ignored properties, such as the endpoint configuration's
    # initial instance count, left out as the engine leaves them): the dashboard only.
    changed = {c.urn: c.keys for c in plan.changes if c.kind is Change.UPDATE}
    dashboard = next(
        urn for urn, r in after.items() if r["type"] == "aws:cloudwatch/dashboard:Dashboard"
    )
    assert set(changed) <= {dashboard}, changed
    for urn, resource in before.items():  # every other model's endpoint, as it was
        if resource["type"] == MME:
            assert after[urn]["outputs"]["instanceType"] == resource["outputs"]["instanceType"]
            assert after[urn]["outputs"]["maxInstances"] == resource["outputs"]["maxInstances"]


def _shared_model(models) -> str:
    """A multi-model endpoint model of the stack that shares its endpoint (whatever is declared)."""
    spec = load_environment("dev", read_stack_config("dev"))
    shared = [p for p in plan_endpoints(spec) if len(p.models) > 1]
    assert shared, "dev must co-host models on one endpoint for this test"
    return shared[0].models[0].name


def _name_of(model) -> str:
    return (model.base if isinstance(model, ModelOverride) else model).name


def _edit(models, name: str, **changes):
    out = []
    for model in models:
        if _name_of(model) != name:
            out.append(model)
        elif changes:
            base = model.base if isinstance(model, ModelOverride) else model
            before = dict(model.changes) if isinstance(model, ModelOverride) else {}
            out.append(ModelOverride(base=base, changes=before | changes))
    return out


@pytest.mark.parametrize(
    "changes",
    [
        {},  # removed
        {"scaling": {"min_instances": 1, "max_instances": 9}},  # asks more than its endpoint gives
        {"data_capture_percent": 100},
        {"resources": {"memory_mb": 9000}},
    ],
    ids=["removed", "rescaled", "recaptured", "grown"],
)
def test_removing_or_changing_a_co_hosted_model_touches_no_neighbour(
    changes, stack_export, preview_with_models
):
    """Issue 14: the neighbour's endpoint (model, configuration, endpoint, scaling) is neither
    replaced nor updated; the only updates outside the model's own resources are team-wide
    lists of models: the dashboard and the team's drift configuration (a monitored model leaves
    it) — at most two shared resources, as the issue allows."""
    base = stack_export("dev")
    name = _shared_model(None)
    new = preview_with_models("dev", lambda models: _edit(models, name, **changes))
    plan = diff(Graph.from_export(base), Graph.from_export(new))
    before = {r["urn"]: r for r in base["deployment"]["resources"]}
    after = {r["urn"]: r for r in new["deployment"]["resources"]}
    old_host = _hosting(before, name)
    neighbours = _below(before, old_host["urn"])
    touched = {c.urn for c in plan.changes if c.kind in (Change.UPDATE, Change.DELETE)}
    dashboard = {u for u, r in after.items() if r["type"] == "aws:cloudwatch/dashboard:Dashboard"}
    # The shared endpoint's own resources stay; only the model's own children go or change.
    assert {u for u in touched & neighbours if name not in u} == set(), touched & neighbours
    drift_configs = {u for u in after if "-lifecycle-drift-config-" in u}
    shared = {u for u in touched - neighbours if name not in u}
    assert shared <= dashboard | drift_configs and len(shared) <= 2, shared
    assert old_host["urn"] in after  # the neighbour's endpoint is still there, unrenamed
    if changes:
        assert name in {m["name"] for m in _hosting(after, name)["outputs"]["models"]}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_only_instance_store_endpoints_go_without_a_kms_key(stack, stack_export):
    """SageMaker rejects KmsKeyId for instance types with local NVMe storage (g5): it encrypts
    those in hardware; every other endpoint configuration carries the platform key."""
    from infra.catalog import has_local_storage

    configs = [
        r
        for r in stack_export(stack)["deployment"]["resources"]
        if r["type"] == "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
    ]
    kinds = {
        has_local_storage(c["inputs"]["productionVariants"][0]["instanceType"]) for c in configs
    }
    assert kinds == {True, False}  # the stacks have both kinds
    for config in configs:
        local = has_local_storage(config["inputs"]["productionVariants"][0]["instanceType"])
        assert ("kmsKeyArn" in config["inputs"]) is not local, config["urn"]


TABLE_ITEM = "aws:dynamodb/tableItem:TableItem"
_plain = TypeDeserializer()


def _is_served_record(resource: dict) -> bool:
    return resource["type"] == TABLE_ITEM and json.loads(resource["inputs"]["item"])["version"][
        "N"
    ] == str(SERVED_VERSION)


def _registry(export: dict) -> tuple[dict, dict]:
    """Version records by (model, version) and served records by model, as plain values."""
    versions, served = {}, {}
    for r in export["deployment"]["resources"]:
        if r["type"] != TABLE_ITEM:
            continue
        item = {k: _plain.deserialize(v) for k, v in json.loads(r["inputs"]["item"]).items()}
        item["resource"] = r
        if _is_served_record(r):
            served[item["model"]] = item
        else:
            versions[(item["model"], int(item["version"]))] = item
    return versions, served


def test_registry_records_outlive_their_resource(stack_export):
    """A version bump replaces the version record, which stays; the served record is updated in
    place and leaves with its model, so a removed model is not routed to."""
    versions, served = _registry(stack_export("dev"))
    assert versions and served
    assert all(v["resource"]["retainOnDelete"] for v in versions.values())
    assert not any(s["resource"].get("retainOnDelete") for s in served.values())


@pytest.mark.parametrize("stack", STACKS)
def test_each_served_model_records_how_to_reach_it(stack, stack_export):
    export = stack_export(stack)
    resources = export["deployment"]["resources"]
    versions, served = _registry(export)
    spec = load_environment(stack, config=read_stack_config(stack))
    assert set(served) == {m.name for m in spec.models}
    (tables,) = (r for r in resources if r["type"] == "mlplat:data:DataTables")
    hosting = {
        m["name"]: e["outputs"]["endpointName"]
        for e in resources
        if e["type"] == MME
        for m in e["outputs"]["models"]
    }
    for model in spec.models:
        record = served[model.name]
        # The served record's URN does not depend on the backend: a move updates it in place.
        assert record["resource"]["parent"] == tables["urn"]
        assert int(record["servedVersion"]) == model.version
        route = Route.from_attributes(record)
        if model.serving is ServingTarget.EKS:
            assert route.backend is Backend.EKS
            assert route.service_url == (
                f"http://{model.name}.{model.team}.svc.cluster.local/invocations"
            )
            # Callers go through the team's load balancer (tests/compute/test_model_routes.py).
            assert route.load_balancer_url.endswith(model_path(model.name, model.version))
            # The version record keeps the in-cluster route it was deployed with.
            version_route = Route.from_attributes(versions[(model.name, model.version)])
            assert version_route.service_url == route.service_url
        else:
            assert route.backend is Backend.SAGEMAKER_MME
            assert route.endpoint == hosting[model.name]
            assert route.target_model == archive_name(model.name, model.version)
            # The version record carries the same route.
            assert Route.from_attributes(versions[(model.name, model.version)]) == route


def test_moving_a_model_to_a_multi_model_endpoint_updates_only_its_records(
    stack_export, preview_with_models
):
    """The caller's view of a move: the same served record (same URN, same key) now names the
    endpoint and TargetModel; no other model's registry record changes."""
    base = stack_export("dev")
    _, before = _registry(base)
    moved = next(name for name, r in before.items() if r["backend"] == Backend.EKS.value)

    def to_mme(models):
        def move(m):
            base = getattr(m, "base", m)  # a stack lists declarations or their overrides
            if base.name != moved:
                return m
            return ModelOverride(base=base, changes={**getattr(m, "changes", {}), **mme})

        # What a multi-model endpoint refuses goes with the move: spot, and publishing events
        # (an endpoint captures its requests instead).
        mme = {"serving": ServingTarget.SAGEMAKER_MME, "accepts_spot": False, "events": None}
        return [move(m) for m in models]

    versions, after = _registry(preview_with_models("dev", to_mme))
    assert after[moved]["resource"]["urn"] == before[moved]["resource"]["urn"]
    assert after[moved]["modelKey"] == before[moved]["modelKey"]
    route = Route.from_attributes(after[moved])
    assert route.backend is Backend.SAGEMAKER_MME and route.endpoint and route.target_model
    for name, record in before.items():
        if name != moved:
            assert after[name]["resource"]["inputs"] == record["resource"]["inputs"], name
