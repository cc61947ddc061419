"""`mlplat prerequisites`: each account check against AWS's real API shapes (botocore Stubber)."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber
from typer.testing import CliRunner

from components.cost_controls import COST_ALLOCATION_TAGS
from infra.declarations import ServingTarget
from infra.loader import load_environment, read_stack_config
from infra.project import PROJECT_ROOT
from mlplat import prerequisites
from mlplat.cli import app
from mlplat.prerequisites import Finding


class StubbedSession:
    """A boto3 session whose clients answer from stubs; any unstubbed call fails the test."""

    def __init__(self) -> None:
        self._session = boto3.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
        )
        self.stubs: dict[str, Stubber] = {}
        self._clients: dict[str, object] = {}

    def client(self, service: str, region_name: str | None = None):
        if service not in self._clients:
            client = self._session.client(service, region_name=region_name or "us-east-1")
            self._clients[service] = client
            self.stubs[service] = Stubber(client)
            self.stubs[service].activate()
        return self._clients[service]

    def stub(self, service: str) -> Stubber:
        self.client(service)
        return self.stubs[service]


@pytest.fixture
def session() -> StubbedSession:
    return StubbedSession()


def test_billing_alerts_on_off_and_unknown(session):
    billing = session.stub("billing")
    request = {"features": ["BILLING_ALERTS"]}
    for value in ("ENABLED", "DISABLED"):
        billing.add_response(
            "get_billing_preferences",
            {"billingPreferences": [{"feature": "BILLING_ALERTS", "key": "k", "value": value}]},
            request,
        )
    billing.add_client_error("get_billing_preferences", "AccessDeniedException")
    on, off, denied = (prerequisites.billing_alerts(session) for _ in range(3))
    assert (on.ok, off.ok, denied.ok) == (True, False, None)
    assert "missing data" in off.detail and "AccessDeniedException" in denied.detail
    assert on.command.startswith("aws billing get-billing-preferences --features BILLING_ALERTS")


def test_cost_allocation_tags_must_be_active(session):
    ce = session.stub("ce")
    request = {"TagKeys": list(COST_ALLOCATION_TAGS), "Type": "UserDefined"}

    def answer(*tags):
        return {
            "CostAllocationTags": [
                {"TagKey": key, "Type": "UserDefined", "Status": status} for key, status in tags
            ]
        }

    ce.add_response(
        "list_cost_allocation_tags", answer(*((k, "Active") for k in COST_ALLOCATION_TAGS)), request
    )
    first, *rest = COST_ALLOCATION_TAGS
    ce.add_response("list_cost_allocation_tags", answer((first, "Inactive")), request)
    active = prerequisites.cost_allocation_tags(session)
    missing = prerequisites.cost_allocation_tags(session)
    assert active.ok is True
    assert missing.ok is False
    assert f"update-cost-allocation-tags-status --cost-allocation-tags-status TagKey={first}" in (
        missing.detail
    )
    assert all(key in missing.detail.split("not seen yet:")[1] for key in rest)


def test_endpoint_quota_applied_value_else_aws_default(session):
    quotas = session.stub("service-quotas")
    name = "ml.g5.xlarge for endpoint usage"

    def page(*entries):
        return {
            "Quotas": [
                {"ServiceCode": "sagemaker", "QuotaName": n, "QuotaCode": f"L-{i}", "Value": v}
                for i, (n, v) in enumerate(entries)
            ]
        }

    # Applied value 1 for g5 (too few for 2, though its default is 4); nothing applied for m5:
    # its default (4) counts.
    quotas.add_response(
        "list_aws_default_service_quotas",
        page((name, 4.0), ("ml.m5.xlarge for endpoint usage", 4.0)),
        {"ServiceCode": "sagemaker"},
    )
    quotas.add_response(
        "list_service_quotas",
        page(("ml.m4.xlarge for endpoint usage", 2.0), (name, 1.0)),
        {"ServiceCode": "sagemaker"},
    )
    g5, m5 = prerequisites.endpoint_quotas(
        session, "us-east-1", {"ml.g5.xlarge": 2, "ml.m5.xlarge": 4}
    )
    assert (g5.ok, m5.ok) == (False, True)  # a quota exactly at the need suffices
    assert "1 < 2" in g5.detail and "4 >= 4" in m5.detail
    assert f"QuotaName=='{name}'" in g5.command


def test_endpoint_needs_cover_every_sagemaker_model_at_maximum_scale():
    spec = load_environment("dev", read_stack_config("dev"))
    needs = prerequisites.endpoint_instance_needs(spec)
    models = spec.models_served_by(ServingTarget.SAGEMAKER_MME)
    assert models
    for model in models:
        assert needs[model.effective_instance_type] >= model.scaling.max_instances, model.name


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_endpoint_needs_add_up_the_endpoints_sharing_an_instance_type(stack):
    """The quota is per instance type: endpoints of one type scale out together, so their
    maxima add up (each endpoint at the largest maximum of the models it hosts)."""
    from components.serving.placement import plan_endpoints

    spec = load_environment(stack, read_stack_config(stack))
    together: dict[str, int] = {}
    for plan in plan_endpoints(spec):
        largest = max(m.scaling.max_instances for m in plan.models)
        together[plan.instance_type] = together.get(plan.instance_type, 0) + largest
    needs = prerequisites.endpoint_instance_needs(spec)
    assert set(needs) == set(together)
    for instance_type, need in together.items():
        assert needs[instance_type] >= need, instance_type


def test_state_bucket_must_keep_versions(session):
    s3 = session.stub("s3")
    s3.add_response("get_bucket_versioning", {"Status": "Enabled"}, {"Bucket": "state"})
    s3.add_response("get_bucket_versioning", {}, {"Bucket": "state"})  # never enabled
    assert prerequisites.state_backend(session, "s3://state/mlplat?region=us-east-1").ok is True
    off = prerequisites.state_backend(session, "s3://state")
    assert off.ok is False and "put-bucket-versioning --bucket state" in off.detail
    assert prerequisites.state_backend(session, "https://api.pulumi.com").ok is True
    assert prerequisites.state_backend(session, None).ok is None


@pytest.mark.parametrize(
    ("oks", "code"), [((True, True), 0), ((True, False), 1), ((True, None), 1)]
)
def test_the_command_exits_nonzero_unless_every_check_passes(monkeypatch, oks, code):
    findings = [Finding(f"check {i}", ok, "detail", "aws ...") for i, ok in enumerate(oks)]
    monkeypatch.setattr(prerequisites, "check_account", lambda *args: findings)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("COLUMNS", "200")
    result = CliRunner().invoke(app, ["prerequisites", "--stack", "dev"])
    assert result.exit_code == code, result.output
    assert "check 0" in result.output


def test_without_credentials_the_command_says_so(monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    result = CliRunner().invoke(app, ["prerequisites", "--stack", "dev"])
    assert result.exit_code == 2
    assert "no AWS credentials" in result.output


def test_an_unknown_stack_is_bad_input():
    result = CliRunner().invoke(app, ["prerequisites", "--stack", "nope"])
    assert result.exit_code == 2
    assert "Pulumi.nope.yaml" in result.output


def _readme_section() -> str:
    text = (PROJECT_ROOT / "README.md").read_text()
    section = text.split("## Before the first `pulumi up`", 1)[1].split("\n## ", 1)[0]
    return " ".join(section.replace("\\\n", " ").split())


def test_the_readme_shows_the_command_behind_every_check(session):
    """The README's manual commands are the ones the checks print, so neither can drift."""
    session.stub("billing").add_client_error("get_billing_preferences", "AccessDeniedException")
    session.stub("ce").add_client_error("list_cost_allocation_tags", "AccessDeniedException")
    session.stub("service-quotas").add_client_error(
        "list_aws_default_service_quotas", "AccessDeniedException"
    )
    session.stub("s3").add_client_error("get_bucket_versioning", "AccessDenied")
    findings = [
        prerequisites.billing_alerts(session),
        prerequisites.cost_allocation_tags(session),
        *prerequisites.endpoint_quotas(session, "us-east-1", {"ml.g5.xlarge": 1}),
        prerequisites.state_backend(session, "s3://<state-bucket>"),
    ]
    section = _readme_section()
    for finding in findings:
        assert " ".join(finding.command.split()) in section, finding.command
