"""The layers together are the single stack: one-to-one URNs (what `pulumi state move` relies on),
each team's resources in its own serving stack, and a contract as the only way between them."""

from __future__ import annotations

from collections import Counter

import pytest

from infra.contract import CONTRACT_OUTPUT, KUBECONFIG_OUTPUT, ContractError, PlatformContract
from infra.declarations import SpecError
from infra.declarations.tags import TAG_TEAM
from infra.layers import Layer, parse_stack
from infra.tagging import STACK_TYPE
from mlplat.offline.engine import capture_stack, stack_outputs
from tests.layers.conftest import resources

# What the layered stacks have and the single stack does not: each stack's root and default
# providers (per stack, never moved), the platform's team deployers (a role per team, with its
# access to the team's namespace), and each serving stack's glue to the platform: its
# StackReference, its Kubernetes provider from the contract's kubeconfig, its own dashboard.
TEAM_DEPLOYER = "mlplat:identity:TeamDeployer"
GLUE_TYPES = {
    STACK_TYPE,
    "pulumi:pulumi:StackReference",
    "pulumi:providers:kubernetes",
    "mlplat:observability:Observability",
    "aws:cloudwatch/dashboard:Dashboard",
    # A shard's AMP rule namespaces' parent (its namespaces alias the single stack's).
    "mlplat:monitoring:TeamRuleNamespaces",
}


def as_single(urn: str, environment: str) -> str:
    stack = urn.split("::", 1)[0].removeprefix("urn:pulumi:")
    return urn.replace(f"urn:pulumi:{stack}::", f"urn:pulumi:{environment}::", 1)


def is_default_provider(resource: dict) -> bool:
    return resource["type"].startswith("pulumi:providers:") and resource["urn"].rsplit("::", 1)[
        -1
    ].startswith("default")


def test_every_resource_of_the_single_stack_is_in_exactly_one_layer(stack_export, layer_exports):
    single = {r["urn"] for r in resources(stack_export("dev")) if r["type"] != STACK_TYPE}
    single -= {r["urn"] for r in resources(stack_export("dev")) if is_default_provider(r)}
    moved: Counter[str] = Counter()
    extra: list[dict] = []
    for document in layer_exports("dev").values():
        for resource in resources(document):
            if is_default_provider(resource):
                continue
            # A resource whose URN changed keeps the single stack's as an alias (same resource).
            urns = [as_single(u, "dev") for u in (resource["urn"], *resource.get("aliases", []))]
            urn = next((u for u in urns if u in single), urns[0])
            if urn in single:
                moved[urn] += 1
            elif urn.split("::")[2].split("$")[0] != TEAM_DEPLOYER:
                extra.append(resource)
    assert set(moved) == single, f"not in any layer: {sorted(single - set(moved))[:5]}"
    assert [urn for urn, count in moved.items() if count > 1] == []
    assert {r["type"] for r in extra} <= GLUE_TYPES, [r["urn"] for r in extra]
    # The glue is the serving stacks' only: the platform stack adds its root (and deployers).
    platform_extra = [r for r in extra if r["urn"].startswith("urn:pulumi:dev.platform::")]
    assert [r["type"] for r in platform_extra] == [STACK_TYPE]


def test_a_serving_stack_holds_only_its_own_teams_resources(layer_exports):
    for stack, document in layer_exports("dev").items():
        name = parse_stack(stack)
        if name.layer is not Layer.SERVING:
            continue
        owners = {
            (r["inputs"].get("tags") or {}).get(TAG_TEAM)
            for r in resources(document)
            if isinstance(r["inputs"].get("tags"), dict)
        }
        assert owners == {name.team}, (stack, owners)


def test_the_platform_stack_holds_no_teams_models(layer_exports):
    platform = layer_exports("dev")["dev.platform"]
    models = [
        r["urn"] for r in resources(platform) if (r["inputs"].get("tags") or {}).get("mlplat:model")
    ]
    assert models == []


def test_the_platform_exports_a_valid_contract_and_its_kubeconfig_as_a_secret(layer_exports):
    root = resources(layer_exports("dev")["dev.platform"])[0]
    assert root["type"] == STACK_TYPE
    contract = PlatformContract.parse(root["outputs"][CONTRACT_OUTPUT], source="dev.platform")
    assert contract.environment == "dev"
    assert set(contract.namespaces) == {"fraud", "growth"}
    assert "plaintext" in root["outputs"][KUBECONFIG_OUTPUT]  # secret-marked


@pytest.fixture(scope="module")
def platform_outputs():
    return stack_outputs(capture_stack("dev.platform"))


def test_a_serving_stack_needs_nothing_but_the_contract(platform_outputs):
    only_contract = {key: platform_outputs[key] for key in (CONTRACT_OUTPUT, KUBECONFIG_OUTPUT)}
    capture = capture_stack("dev.serving.growth", platform_outputs=only_contract)
    assert any(r.type == "aws:sagemaker/endpoint:Endpoint" for r in capture.registrations)


def test_a_contract_of_another_version_is_refused_naming_both(platform_outputs):
    outputs = dict(platform_outputs)
    outputs[CONTRACT_OUTPUT] = {**outputs[CONTRACT_OUTPUT], "version": 2}
    with pytest.raises(SpecError) as raised:
        capture_stack("dev.serving.fraud", platform_outputs=outputs)
    assert "exports contract version 2; this program reads version 1" in raised.value.render()


def test_a_contract_missing_a_field_is_refused_naming_it(platform_outputs):
    contract = dict(platform_outputs[CONTRACT_OUTPUT])
    del contract["kmsKeyArn"]
    with pytest.raises(ContractError, match=r"platformContract\.kmsKeyArn: Field required"):
        PlatformContract.parse(contract, source="dev.platform")
    with pytest.raises(ContractError, match=r"platformContract\.vpcId: Extra inputs"):
        PlatformContract.parse({**platform_outputs[CONTRACT_OUTPUT], "vpcId": "vpc-1"}, source="p")


def test_the_platform_grants_on_the_name_each_teams_execution_role_really_gets(layer_exports):
    """Layered, the platform cannot see a team's execution role: it grants PassRole on the names
    auto-naming can give it. The role the serving stack creates must be one of them."""
    import json
    from fnmatch import fnmatchcase

    layers = layer_exports("dev")
    for team in ("fraud", "growth"):
        serving = resources(layers[f"dev.serving.{team}"])[0]
        role_arn = serving["outputs"]["executionRole"]
        policy = next(
            r
            for r in resources(layers["dev.platform"])
            if r["type"] == "aws:iam/rolePolicy:RolePolicy"
            and f"mlplat-dev-{team}-ml-engineer" in r["urn"]
        )
        passable = [
            resource
            for statement in json.loads(policy["inputs"]["policy"])["Statement"]
            if "iam:PassRole" in statement["Action"]
            for resource in (
                statement["Resource"]
                if isinstance(statement["Resource"], list)
                else [statement["Resource"]]
            )
        ]
        assert any(fnmatchcase(role_arn, pattern) for pattern in passable), (role_arn, passable)
        other = "growth" if team == "fraud" else "fraud"
        assert not any(fnmatchcase(role_arn.replace(team, other), p) for p in passable)


def test_a_serving_stacks_load_balancers_verify_tokens_against_the_contracts_issuer(
    platform_outputs,
):
    import json

    auth = platform_outputs[CONTRACT_OUTPUT]["routeAuth"]
    capture = capture_stack("dev.serving.growth", platform_outputs=platform_outputs)
    ingresses = [r for r in capture.registrations if r.type.endswith(":Ingress")]
    assert ingresses
    for ingress in ingresses:
        annotations = ingress.inputs["metadata"]["annotations"]
        config = json.loads(annotations["alb.ingress.kubernetes.io/jwt-validation"])
        assert (config["issuer"], config["jwksEndpoint"]) == (auth["issuer"], auth["jwksUrl"])


def test_https_routes_refuse_a_platform_contract_without_a_token_issuer(platform_outputs):
    """A platform deployed before the token issuer: the serving stack must not publish routes
    that verify nobody; it names what to deploy first. (Judged on the contract itself: raised
    inside a running program, the error would outlive it in this test process.)"""
    from infra.serving import _route_auth

    without = {k: v for k, v in platform_outputs[CONTRACT_OUTPUT].items() if k != "routeAuth"}
    contract = PlatformContract.parse(without, source="dev.platform")
    assert contract.route_auth is None  # still a valid contract: the field is optional
    with pytest.raises(ContractError, match="no routeAuth in its contract.*deploy the platform"):
        _route_auth(contract)
    full = PlatformContract.parse(platform_outputs[CONTRACT_OUTPUT], source="dev.platform")
    assert _route_auth(full) == full.route_auth
