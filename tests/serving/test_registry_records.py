"""The registry records as declared, in-process (no stack preview): what each record says, which
resource holds it, and which outlives its resource. The stacks' records are checked in
tests/serving/test_preview.py; these run where the preview cannot (the mutation run)."""

from __future__ import annotations

import json
from pathlib import Path

import pulumi
import pytest
from boto3.dynamodb.types import TypeDeserializer

from components import registry_records
from components.registry_records import (
    RegistryTable,
    record_served,
    record_version,
    registry_item,
)
from components.registry_route import (
    SERVED_VERSION,
    Backend,
    MalformedRoute,
    Route,
    dynamodb_json,
    eks_route,
    load_balanced,
    mme_route,
    model_key,
)
from infra.declarations import ModelDeclaration, ServingTarget
from model_packages.packaging import Package

_plain = TypeDeserializer()


def _model(name: str = "dispute-triage", version: int = 7, team: str = "fraud"):
    return ModelDeclaration(
        name=name,
        version=version,
        team=team,
        framework="sklearn",
        framework_version="1.9-0",
        artifact="model_packages/chargeback_risk/mlflow_model",
        serving=ServingTarget.SAGEMAKER_MME,
        resources={"memory_mb": 128},
        scaling={"min_instances": 1, "max_instances": 2},
        monthly_budget_usd=50,
    )


def _package(model: ModelDeclaration) -> Package:
    return Package(
        model=model.name,
        version=model.version,
        archive_name=f"{model.name}-v{model.version}.tar.gz",
        path=Path("unused"),
        sha256="ab" * 32,
    )


def _plain_item(item: dict) -> dict:
    return {name: _plain.deserialize(value) for name, value in item.items()}


@pytest.mark.parametrize(
    "route",
    [
        mme_route("mlplat-dev-fraud-cpu-0", "dispute-triage-v7.tar.gz"),
        load_balanced(eks_route("dispute-triage", "fraud"), "https://lb/", "dispute-triage", 7),
    ],
    ids=["mme", "eks"],
)
@pytest.mark.parametrize(
    "table",
    [RegistryTable("registry"), RegistryTable("registry", hash_key="pk", range_key="sk")],
    ids=["default-keys", "other-keys"],
)
def test_a_version_record_says_what_was_deployed_and_how_to_reach_it(route, table):
    model = _model()
    package = _package(model)
    item = registry_item(
        model,
        package,
        environment="staging",
        image="123.dkr.ecr/sklearn:1.9-0",
        artifact_key="fraud/dispute-triage/v7.tar.gz",
        route=route,
        table=table,
    )
    # Versions are numbers, so that a query sorts them as numbers (v10 after v9).
    assert item[table.range_key] == {"N": "7"}
    assert _plain_item(item) == {
        table.hash_key: "fraud/dispute-triage",
        table.range_key: 7,
        "model": "dispute-triage",
        "team": "fraud",
        "framework": "sklearn",
        "frameworkVersion": "1.9-0",
        "image": "123.dkr.ecr/sklearn:1.9-0",
        "artifactKey": "fraud/dispute-triage/v7.tar.gz",
        "sha256": package.sha256,
        "environment": "staging",
        **route.attributes(),
    }
    assert Route.from_attributes(_plain_item(item)) == route


class _Declared:
    """Stands in for ``aws.dynamodb.TableItem``: keeps what the record was declared with."""

    made: list[_Declared] = []

    def __init__(self, name, *, table_name, hash_key, range_key, item, opts):
        self.name, self.table_name, self.hash_key, self.range_key = (
            name,
            table_name,
            hash_key,
            range_key,
        )
        self.item, self.opts = item, opts
        _Declared.made.append(self)


@pytest.fixture
def declared(monkeypatch) -> list[_Declared]:
    _Declared.made = []
    monkeypatch.setattr(registry_records.aws.dynamodb, "TableItem", _Declared)
    return _Declared.made


def assert_equal(actual, expected) -> None:
    assert actual == expected


def _item_of(record: _Declared, check) -> pulumi.Output:
    """The item's JSON, sorted by key as declared, then `check`ed as plain values."""

    def judge(text: str) -> None:
        assert text == json.dumps(json.loads(text), sort_keys=True)
        check(_plain_item(json.loads(text)))

    return record.item.apply(judge)


@pulumi.runtime.test
def test_a_version_record_outlives_its_resource_and_keeps_the_callers_options(declared):
    table = RegistryTable("mlplat-dev-registry", hash_key="pk", range_key="sk")
    parent_opts = pulumi.ResourceOptions(protect=True, ignore_changes=["item"])
    item = {"pk": {"S": "fraud/m"}, "sk": {"N": "2"}, "b": {"S": "x"}, "a": {"NULL": True}}
    record_version("m-registry", table, item, parent_opts)
    (record,) = declared
    assert (record.name, record.table_name) == ("m-registry", "mlplat-dev-registry")
    assert (record.hash_key, record.range_key) == ("pk", "sk")
    # Retained: the provider creates an item only where its key is free, so a deleted version
    # record could never be re-created; the history stays instead.
    assert record.opts.retain_on_delete is True
    assert record.opts.protect is True and record.opts.ignore_changes == ["item"]
    expected = {"pk": "fraud/m", "sk": 2, "b": "x", "a": None}
    return _item_of(record, lambda plain: assert_equal(plain, expected))


@pytest.mark.parametrize("version", [1, 12])
@pytest.mark.parametrize("environment", ["dev", "prod"])
@pulumi.runtime.test
def test_the_served_record_names_the_model_and_the_version_callers_reach(
    declared, version, environment
):
    model = _model(name="churn", version=version, team="growth")
    route = pulumi.Output.from_input(mme_route("mlplat-x-growth-cpu-1", f"churn-v{version}.tar.gz"))
    opts = pulumi.ResourceOptions(protect=True)
    record_served(model, route, environment=environment, table=RegistryTable("t"), opts=opts)
    (record,) = declared
    # One resource per model and environment, whatever its backend: a move updates it in place.
    assert record.name == f"mlplat-{environment}-churn-served"
    assert (record.table_name, record.hash_key, record.range_key) == ("t", "modelKey", "version")
    # Not retained: removing the model removes the record, so callers are not sent to it.
    assert not record.opts.retain_on_delete
    assert record.opts.protect is True

    def check(plain: dict) -> None:
        assert plain == {
            "modelKey": "growth/churn",
            "version": SERVED_VERSION,
            "model": "churn",
            "team": "growth",
            "servedVersion": version,
            "backend": Backend.SAGEMAKER_MME.value,
            "endpoint": "mlplat-x-growth-cpu-1",
            "targetModel": f"churn-v{version}.tar.gz",
            "serviceUrl": None,
            "loadBalancerUrl": None,
        }

    return _item_of(record, check)


@pulumi.runtime.test
def test_a_served_route_known_only_at_deployment_is_recorded_when_it_resolves(declared):
    model = _model(name="churn", version=3, team="growth")
    route = load_balanced(eks_route("churn", "growth"), "http://lb.example", "churn", 3)
    record_served(
        model,
        pulumi.Output.from_input("lb").apply(lambda _: route),
        environment="dev",
        table=RegistryTable("t"),
        opts=pulumi.ResourceOptions(),
    )
    (record,) = declared
    return _item_of(
        record,
        lambda plain: assert_equal(Route.from_attributes(plain), route),
    )


# --- the route vocabulary the records and the client share (components.registry_route) ---------


@pytest.mark.parametrize("team", ["", "fraud/ops"])
def test_a_model_key_needs_a_team_that_cannot_reach_into_another_teams_keys(team):
    with pytest.raises(ValueError) as refused:
        model_key(team, "churn")
    assert str(refused.value) == f"team must be a non-empty name without '/', got {team!r}"


def test_a_model_key_is_the_team_then_the_model():
    assert model_key("fraud", "churn") == "fraud/churn"
    assert model_key("f", "a-b") == "f/a-b"


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"backend": "lambda"}, "unknown backend 'lambda'"),
        ({}, "unknown backend None"),
        ({"backend": "sagemaker-mme"}, "sagemaker-mme route without endpoint, target_model"),
        (
            {"backend": "sagemaker-mme", "endpoint": "ep", "targetModel": ""},
            "sagemaker-mme route without target_model",
        ),
        (
            {"backend": "sagemaker-mme", "targetModel": "m.tar.gz", "endpoint": None},
            "sagemaker-mme route without endpoint",
        ),
        (
            {"backend": "eks", "serviceUrl": ""},
            "eks route without service_url or load_balancer_url",
        ),
        # an EKS route is not judged by the fields of the other backend
        (
            {"backend": "eks", "endpoint": "ep", "targetModel": "m"},
            "eks route without service_url or load_balancer_url",
        ),
    ],
)
def test_a_record_that_reaches_no_backend_is_malformed_and_says_what_is_missing(item, message):
    with pytest.raises(MalformedRoute) as malformed:
        Route.from_attributes(item)
    assert str(malformed.value) == message


@pytest.mark.parametrize(
    "route",
    [
        mme_route("ep", "m-v1.tar.gz"),
        Route(Backend.EKS, service_url="http://m.t.svc.cluster.local/invocations"),
        Route(Backend.EKS, load_balancer_url="https://t-0.example/m/v1/invocations"),
        load_balanced(eks_route("m", "t"), "https://t-0.example", "m", 1),
    ],
)
def test_every_reachable_route_reads_back_as_written(route):
    assert Route.from_attributes(route.attributes()) == route


@pytest.mark.parametrize(
    "base",
    # only trailing slashes go, whatever else the base ends with (a host as configured, any case)
    ["https://t-0.example", "https://t-0.example/", "http://lb//", "https://FRAUD-0.MODELS.BOX"],
)
def test_a_load_balanced_route_adds_the_models_path_to_the_base_once(base):
    inside = eks_route("churn", "growth")
    route = load_balanced(inside, base, "churn", 12)
    assert route.backend is Backend.EKS and route.service_url == inside.service_url
    assert route.load_balancer_url == base.rstrip("/") + "/churn/v12/invocations"


def test_only_eks_routes_go_through_a_load_balancer():
    with pytest.raises(ValueError) as refused:
        load_balanced(mme_route("ep", "m"), "https://lb", "m", 1)
    assert str(refused.value) == "only EKS routes go through a load balancer, not sagemaker-mme"


def test_record_values_are_typed_as_dynamodb_reads_them():
    assert dynamodb_json({"s": "x", "n": 3, "zero": 0, "empty": "", "none": None}) == {
        "s": {"S": "x"},
        "n": {"N": "3"},
        "zero": {"N": "0"},
        "empty": {"S": ""},
        "none": {"NULL": True},
    }


@pytest.mark.parametrize("value", [True, False, 1.5, b"x", ["a"]])
def test_values_dynamodb_would_store_otherwise_are_refused_by_field(value):
    # bool is an int in Python, but DynamoDB has its own BOOL type: never written as a number.
    with pytest.raises(TypeError) as refused:
        dynamodb_json({"ok": "x", "servedVersion": value})
    assert str(refused.value) == f"servedVersion: {value!r} is not a string, integer or None"
