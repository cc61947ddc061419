"""What an AWS account needs before a stack's first `pulumi up` that the program cannot do itself.

Each check makes read-only calls, reports what it found, and names the AWS CLI command that
checks the same by hand (the README's "Before the first `pulumi up`" lists them):

- billing alerts on (the billing alarm's metric, ``AWS/Billing EstimatedCharges``, exists only
  then); Billing API ``GetBillingPreferences`` for the ``BILLING_ALERTS`` feature;
- the cost allocation tags the budgets filter on are *active* (Cost Explorer
  ``ListCostAllocationTags``); a key appears only after resources carrying it were billed, up
  to 24 h after the first `up`, and only an organization's management account may activate it;
- a SageMaker quota "<instance type> for endpoint usage" (Service Quotas, per account and region)
  large enough for every endpoint of the stack at its maximum scale; new accounts often have 0
  for GPU types, and SageMaker refuses a scale-out beyond it;
- the state backend bucket keeps versions (S3 ``GetBucketVersioning``), so a bad state write can
  be rolled back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlparse

from botocore.exceptions import BotoCoreError, ClientError

from components.cost_controls import BILLING_REGION, COST_ALLOCATION_TAGS
from components.serving.placement import plan_endpoints
from infra.declarations import EnvironmentSpec


@dataclass(frozen=True)
class Finding:
    check: str
    ok: bool | None  # None: could not tell (no access, nothing to check)
    detail: str
    command: str  # the AWS CLI command that checks the same


def required_cost_allocation_tags() -> tuple[str, ...]:
    """The tag keys the budgets filter on (``components.cost_controls``)."""
    return COST_ALLOCATION_TAGS


def endpoint_instance_needs(spec: EnvironmentSpec) -> dict[str, int]:
    """Instances of each type the stack's endpoints may run together, at maximum scale."""
    needs: dict[str, int] = {}
    for plan in plan_endpoints(spec):
        needs[plan.instance_type] = needs.get(plan.instance_type, 0) + plan.max_instances
    return dict(sorted(needs.items()))


def _cannot_tell(check: str, error: Exception, command: str) -> Finding:
    reason = error.response["Error"]["Code"] if isinstance(error, ClientError) else str(error)
    return Finding(check, None, f"could not check ({reason})", command)


def billing_alerts(session) -> Finding:
    check = "billing alerts"
    command = "aws billing get-billing-preferences --features BILLING_ALERTS --region us-east-1"
    try:
        answer = session.client("billing", region_name=BILLING_REGION).get_billing_preferences(
            features=["BILLING_ALERTS"]
        )
    except (ClientError, BotoCoreError) as error:
        return _cannot_tell(check, error, command)
    values = {p.get("value") for p in answer.get("billingPreferences", [])}
    if "ENABLED" in values:
        return Finding(check, True, "on: CloudWatch receives EstimatedCharges", command)
    return Finding(
        check,
        False,
        "off: the billing alarm will alarm on missing data; switch on billing alerts in the "
        "Billing console's preferences (management account, for an organization)",
        command,
    )


def cost_allocation_tags(session, keys: tuple[str, ...] = COST_ALLOCATION_TAGS) -> Finding:
    check = "cost allocation tags"
    command = (
        f"aws ce list-cost-allocation-tags --type UserDefined --tag-keys {' '.join(keys)} "
        "--region us-east-1"
    )
    try:
        answer = session.client("ce", region_name=BILLING_REGION).list_cost_allocation_tags(
            TagKeys=list(keys), Type="UserDefined"
        )
    except (ClientError, BotoCoreError) as error:
        return _cannot_tell(check, error, command)
    status = {tag["TagKey"]: tag["Status"] for tag in answer.get("CostAllocationTags", [])}
    unseen = [key for key in keys if key not in status]
    inactive = [key for key in keys if status.get(key) == "Inactive"]
    if not unseen and not inactive:
        return Finding(check, True, f"active: {', '.join(keys)}", command)
    problems = []
    if inactive:
        pairs = " ".join(f"TagKey={key},Status=Active" for key in inactive)
        problems.append(
            f"inactive: {', '.join(inactive)} (activate: aws ce update-cost-allocation-tags-status"
            f" --cost-allocation-tags-status {pairs})"
        )
    if unseen:
        problems.append(
            f"not seen yet: {', '.join(unseen)} (AWS lists a key up to 24 h after resources "
            "carrying it are billed: run the first `up`, then activate)"
        )
    return Finding(check, False, "budgets track $0 until then; " + "; ".join(problems), command)


def _quota_name(instance_type: str) -> str:
    return f"{instance_type} for endpoint usage"


def _sagemaker_quotas(client) -> dict[str, float]:
    """SageMaker's quotas by name: AWS's defaults, overridden by the values applied here."""
    values: dict[str, float] = {}
    for operation in ("list_aws_default_service_quotas", "list_service_quotas"):
        for page in client.get_paginator(operation).paginate(ServiceCode="sagemaker"):
            values |= {q["QuotaName"]: float(q["Value"]) for q in page.get("Quotas", [])}
    return values


def endpoint_quotas(session, region: str, needs: Mapping[str, int]) -> list[Finding]:
    def command(name: str) -> str:
        return (
            "aws service-quotas list-service-quotas --service-code sagemaker "
            f"--region {region} --query \"Quotas[?QuotaName=='{name}'].[QuotaCode,Value]\""
        )

    try:
        quotas = _sagemaker_quotas(session.client("service-quotas", region_name=region))
    except (ClientError, BotoCoreError) as error:
        return [
            _cannot_tell(f"quota: {_quota_name(t)}", error, command(_quota_name(t))) for t in needs
        ]
    findings = []
    for instance_type, need in needs.items():
        name = _quota_name(instance_type)
        value = quotas.get(name)
        if value is None:
            detail, ok = "no such quota in this region", None
        elif value >= need:
            detail, ok = f"{value:g} >= {need} needed", True
        else:
            detail, ok = (
                f"{value:g} < {need} needed at maximum scale (the quota is shared by every "
                "stack in this account and region): request an increase in Service Quotas",
                False,
            )
        findings.append(Finding(f"quota: {name}", ok, detail, command(name)))
    return findings


def state_backend(session, backend_url: str | None) -> Finding:
    check = "state backend"
    if not backend_url:
        return Finding(check, None, "no backend given (--backend-url or PULUMI_BACKEND_URL)", "")
    url = urlparse(backend_url)
    if url.scheme != "s3":
        return Finding(check, True, f"{url.scheme or 'local'} backend: no bucket to check", "")
    bucket = url.netloc
    command = f"aws s3api get-bucket-versioning --bucket {bucket}"
    try:
        answer = session.client("s3").get_bucket_versioning(Bucket=bucket)
    except (ClientError, BotoCoreError) as error:
        return _cannot_tell(check, error, command)
    if answer.get("Status") == "Enabled":
        return Finding(check, True, f"s3://{bucket} keeps versions", command)
    return Finding(
        check,
        False,
        f"s3://{bucket} does not keep versions: aws s3api put-bucket-versioning --bucket "
        f"{bucket} --versioning-configuration Status=Enabled",
        command,
    )


def check_account(session, spec: EnvironmentSpec, backend_url: str | None) -> list[Finding]:
    """Every check, for one stack's spec."""
    return [
        billing_alerts(session),
        cost_allocation_tags(session, required_cost_allocation_tags()),
        *endpoint_quotas(session, spec.settings.region, endpoint_instance_needs(spec)),
        state_backend(session, backend_url),
    ]
