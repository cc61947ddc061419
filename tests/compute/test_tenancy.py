"""Team tenancy: a namespace per team, quota, limits, default-deny networking, scoped RBAC."""

from __future__ import annotations

import pytest

from components.batch_tenancy import batch_namespace, quota_spec
from components.monitoring import COLLECTOR_ROLE, COLLECTOR_RULES, COLLECTOR_USER
from components.tenancy import (
    DeployingPrincipal,
    PersonaArns,
    access_plan,
    deployer_group,
    deploying_principal,
    quota_hard,
    viewer_group,
)
from lifecycle.monitoring.scrape_config import MONITORING_NAMESPACE

pytestmark = pytest.mark.slow


def team_namespaces(plan) -> list[dict]:
    """The namespaces of the teams' workloads (the exporters' own is the platform's)."""
    return [
        ns
        for ns in plan.kube("Namespace")
        if ns["inputs"]["metadata"]["name"] != MONITORING_NAMESPACE
    ]


def test_one_tenancy_set_per_team(plan):
    namespaces = {ns["inputs"]["metadata"]["name"] for ns in team_namespaces(plan)}
    batch = {batch_namespace(t.name) for t in plan.spec.teams if t.batch_quota is not None}
    assert namespaces == {team.name for team in plan.spec.teams} | batch
    for team in plan.spec.teams:  # a batch namespace's quota is the team's declared one
        if team.batch_quota is not None:
            (quota,) = plan.kube("ResourceQuota", batch_namespace(team.name))
            assert quota["inputs"]["spec"]["hard"] == quota_spec(team.batch_quota)
    assert MONITORING_NAMESPACE not in {team.name for team in plan.spec.teams}
    for team in plan.spec.teams:
        ns = team.name
        (quota,) = plan.kube("ResourceQuota", ns)
        assert quota["inputs"]["spec"]["hard"] == quota_hard(team)
        assert set(quota_hard(team)) == {
            "requests.cpu",
            "requests.memory",
            "requests.nvidia.com/gpu",
            "pods",
        }
        (limits,) = plan.kube("LimitRange", ns)
        assert limits["inputs"]["spec"]["limits"][0]["defaultRequest"]


def test_every_namespace_has_a_quota_and_default_deny(plan):
    for namespace in team_namespaces(plan):
        name = namespace["inputs"]["metadata"]["name"]
        assert plan.kube("ResourceQuota", name), name
        deny = [
            p
            for p in plan.kube("NetworkPolicy", name)
            if p["inputs"]["spec"]["podSelector"] == {}
            and set(p["inputs"]["spec"]["policyTypes"]) == {"Ingress", "Egress"}
            and not p["inputs"]["spec"].get("ingress")
            and not p["inputs"]["spec"].get("egress")
        ]
        assert len(deny) == 1, name


def test_dns_egress_is_allowed_only_to_kube_dns(plan):
    for team in plan.spec.teams:
        (dns,) = [
            p
            for p in plan.kube("NetworkPolicy", team.name)
            if p["inputs"]["metadata"]["name"] == "allow-dns"
        ]
        (rule,) = dns["inputs"]["spec"]["egress"]
        assert rule["to"][0]["podSelector"] == {"matchLabels": {"k8s-app": "kube-dns"}}
        assert {p["port"] for p in rule["ports"]} == {53}


def test_a_teams_role_bindings_reach_only_its_namespace(plan):
    # The only cluster-wide binding is the AMP scraper's, to a read-only role.
    for binding in plan.kube("ClusterRoleBinding"):
        assert binding["inputs"]["roleRef"]["name"] == COLLECTOR_ROLE
        assert binding["inputs"]["subjects"][0]["name"] == COLLECTOR_USER
    for rule in COLLECTOR_RULES:
        assert set(rule["verbs"]) <= {"describe", "get", "list", "watch"}
    teams = {team.name for team in plan.spec.teams}
    batch = {batch_namespace(t.name) for t in plan.spec.teams if t.batch_quota is not None}
    every = plan.kube("RoleBinding")
    bindings = [b for b in every if b["inputs"]["metadata"]["namespace"] not in batch]
    # In a batch namespace, only EMR on EKS's user, to its namespaced Role (batch_tenancy.py).
    for emr in (b["inputs"] for b in every if b["inputs"]["metadata"]["namespace"] in batch):
        assert emr["roleRef"] == {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "Role",
            "name": "emr-containers",
        }
        assert emr["subjects"] == [
            {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "emr-containers"}
        ]
    assert len(bindings) == 2 * len(teams)
    for binding in bindings:
        inputs = binding["inputs"]
        namespace = inputs["metadata"]["namespace"]
        assert namespace in teams
        assert inputs["roleRef"]["kind"] == "ClusterRole"
        assert inputs["roleRef"]["name"] in {"edit", "view"}
        expected = (
            deployer_group(namespace)
            if inputs["roleRef"]["name"] == "edit"
            else viewer_group(namespace)
        )
        assert inputs["subjects"] == [
            {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": expected}
        ]


def test_access_entries_map_team_roles_to_their_own_groups(plan):
    entries = plan.of_type("aws:eks/accessEntry:AccessEntry")
    for team in plan.spec.teams:
        for persona in ("ml-engineer", "data-scientist"):
            (entry,) = [e for e in entries if e["urn"].endswith(f"-{team.name}-{persona}")]
            groups = entry["inputs"]["kubernetesGroups"]
            if persona == "ml-engineer" and plan.stack != "prod":
                assert groups == [deployer_group(team.name)]
            else:
                assert groups == [viewer_group(team.name)]
    views = [
        a
        for a in plan.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
        if not a["inputs"]["policyArn"].endswith("/AmazonEKSClusterAdminPolicy")
    ]
    assert all(v["inputs"]["policyArn"].endswith("/AmazonEKSViewPolicy") for v in views)
    assert len(views) == (2 if plan.stack == "prod" else 1)  # auditor (+ platform admin in prod)


def test_access_plan_without_personas_grants_nothing():
    assert access_plan(PersonaArns(), production=True) == ({}, [])


def test_access_plan_humans_are_read_only_in_prod():
    personas = PersonaArns(ci_deployer="ci", platform_admin="admin", ml_engineer={"fraud": "mle"})
    admins, grants = access_plan(personas, production=True)
    assert admins == {"ci-deployer": "ci"}
    by_key = {g.key: g for g in grants}
    assert by_key["platform-admin"].cluster_view and not by_key["platform-admin"].groups
    assert by_key["fraud-ml-engineer"].groups == (viewer_group("fraud"),)
    admins, grants = access_plan(personas, production=False)
    assert admins == {"ci-deployer": "ci", "platform-admin": "admin"}
    assert {g.key: g.groups for g in grants} == {"fraud-ml-engineer": (deployer_group("fraud"),)}


def test_the_deploying_principal_is_admin_unless_it_already_has_an_entry():
    personas = PersonaArns(ci_deployer="ci", platform_admin="admin", auditor="audit")
    someone = DeployingPrincipal("arn:aws:iam::1:role/aws-reserved/sso.amazonaws.com/Admin")
    admins, _ = access_plan(personas, production=True, deployer=someone)
    assert admins == {"ci-deployer": "ci", "deployer": someone.arn}
    ci = DeployingPrincipal("arn:aws:iam::1:role/mlplat-prod-ci-deployer", "ci-deployer")
    assert access_plan(personas, production=True, deployer=ci)[0] == {"ci-deployer": "ci"}
    admin = DeployingPrincipal("arn:aws:iam::1:role/mlplat-dev-platform-admin", "platform-admin")
    assert "deployer" not in access_plan(personas, production=False, deployer=admin)[0]
    # Prod's platform admin only views the cluster: EKS allows it one entry, not an admin one.
    with pytest.raises(ValueError, match="may not administer this cluster"):
        access_plan(personas, production=True, deployer=admin)


def test_the_deploying_principal_is_an_iam_role_or_user_with_its_persona():
    sso = "arn:aws:iam::1:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123"
    assert deploying_principal(sso, "dev") == DeployingPrincipal(sso, None)
    ci = "arn:aws:iam::1:role/mlplat-dev-ci-deployer"
    assert deploying_principal(ci, "dev").persona == "ci-deployer"
    assert deploying_principal(ci, "prod").persona is None  # another environment's role
    assert deploying_principal("arn:aws:iam::1:user/alice", "dev").persona is None
    with pytest.raises(ValueError, match="STS session"):
        deploying_principal("arn:aws:sts::1:assumed-role/r/s", "dev")


def test_a_team_cannot_take_a_system_namespace():
    from components.tenancy import TeamTenancy
    from infra.declarations import Team

    with pytest.raises(ValueError, match="reserved namespace"):  # refused before registering
        TeamTenancy(
            "t",
            team=Team(name="default", monthly_budget_usd=1),
            provider=None,
            vpc_cidr="10.0.0.0/16",
        )


def test_eks_models_fit_their_teams_quota(plan):
    for model in plan.spec.models_served_by("eks"):
        quota = plan.spec.team(model.team).quota
        peak = model.scaling.max_instances
        assert peak * model.resources.cpu <= quota.cpu, model.name
        assert peak * model.resources.memory_mb <= quota.memory_gib * 1024, model.name
        assert peak * model.resources.gpus <= quota.gpus, model.name
