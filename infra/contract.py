"""The interface between the layers: what a platform stack exports for its serving stacks.

It is one typed, versioned value (``PlatformContract``), exported as the stack output
``platformContract`` and validated on both ends: when the platform stack exports it and when a
serving stack reads it through its ``pulumi.StackReference``. A serving stack sees nothing else of
the platform (the kubeconfig, a secret, travels as its own output so the rest stays plain).

Change it compatibly (add an optional field) without a new version; anything else (a removed or
renamed field, a changed meaning) raises ``CONTRACT_VERSION``, and serving stacks built for another
version refuse the platform's contract with a message naming both versions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.alias_generators import to_camel

CONTRACT_VERSION = 1
CONTRACT_OUTPUT = "platformContract"
KUBECONFIG_OUTPUT = "platformKubeconfig"


class ContractError(ValueError):
    """The platform stack's outputs are not a contract this serving program can use."""


class _Contract(BaseModel):
    model_config = ConfigDict(
        frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True
    )


class ClusterContract(_Contract):
    name: str = Field(min_length=1)
    oidc_provider_arn: str = Field(pattern=r"^arn:aws[a-z-]*:iam::\d{12}:oidc-provider/.+")
    oidc_issuer: str = Field(min_length=1, description="Issuer host/path, without https://.")


class StreamingContract(_Contract):
    """Prediction events on Kafka (components/streaming.py), when the environment has them."""

    cluster_arn: str = Field(pattern=r"^arn:aws[a-z-]*:kafka:[a-z0-9-]+:\d{12}:cluster/.+/.+")
    # Team -> its topic.
    topics: dict[str, str]
    # The brokers' SASL/IAM (TLS, 9098) addresses, for the events gateways (added compatibly).
    bootstrap_brokers: str | None = None


class PrometheusContract(_Contract):
    """The AMP workspace (components/monitoring.py) a serving stack puts its alert rules in."""

    workspace_id: str = Field(min_length=1)
    workspace_arn: str = Field(pattern=r"^arn:aws[a-z-]*:aps:[a-z0-9-]+:\d{12}:workspace/.+")


class RouteAuthContract(_Contract):
    """The token issuer the teams' load balancers verify against (components/route_auth.py)."""

    issuer: str = Field(
        pattern=r"^https://cognito-idp\.[a-z0-9-]+\.amazonaws\.com/[\w-]+_[0-9a-zA-Z]+$"
    )
    jwks_url: str = Field(pattern=r"^https://.+/\.well-known/jwks\.json$")


class PlatformContract(_Contract):
    """Everything a team's serving stack may use of its environment's platform stack."""

    version: int
    environment: str
    region: str
    account: str = Field(pattern=r"^\d{12}$")
    kms_key_arn: str = Field(pattern=r"^arn:aws[a-z-]*:kms:")
    artifacts_bucket: str
    artifacts_bucket_arn: str = Field(pattern=r"^arn:aws[a-z-]*:s3:::")
    capture_bucket: str
    capture_bucket_arn: str = Field(pattern=r"^arn:aws[a-z-]*:s3:::")
    registry_table: str
    alerts_topic_arn: str = Field(pattern=r"^arn:aws[a-z-]*:sns:")
    # Team -> its alert topic (its endpoints' alarms go there); added compatibly (optional).
    team_alert_topic_arns: dict[str, str] = {}
    cluster: ClusterContract
    # Team -> its Kubernetes namespace (created, with quotas and RBAC, by the platform).
    namespaces: dict[str, str]
    # The bucket the teams' load balancers write access logs to (optional: added compatibly).
    access_logs_bucket: str | None = None
    # Optional (added compatibly): none when the routes have no HTTPS listener to verify tokens on.
    route_auth: RouteAuthContract | None = None
    # Optional (added compatibly): none when the environment has no Kafka.
    streaming: StreamingContract | None = None
    # Optional (added compatibly): none when the environment has no Prometheus.
    prometheus: PrometheusContract | None = None

    @field_validator("version")
    @classmethod
    def _known_version(cls, value: int) -> int:
        if value != CONTRACT_VERSION:
            raise ValueError(
                f"the platform exports contract version {value}; this program reads version "
                f"{CONTRACT_VERSION}: deploy the platform and serving stacks from one commit"
            )
        return value

    @classmethod
    def parse(cls, data: Any, *, source: str) -> PlatformContract:
        """Validate ``data`` (the output as read); ContractError lists every field at fault."""
        if not isinstance(data, Mapping):
            raise ContractError(
                f"{source}: no {CONTRACT_OUTPUT} output (got {type(data).__name__})"
            )
        try:
            return cls.model_validate(data)
        except ValidationError as error:
            problems = "; ".join(
                f"{CONTRACT_OUTPUT}.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                for e in error.errors()
            )
            raise ContractError(f"{source}: {problems}") from None

    def document(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


def export_contract(kubeconfig: pulumi.Input[str], **fields: pulumi.Input[Any]) -> None:
    """Export the contract (validated here too, so a broken platform never publishes one)."""
    contract = pulumi.Output.all(**fields).apply(
        lambda values: PlatformContract(version=CONTRACT_VERSION, **values).document()
    )
    pulumi.export(CONTRACT_OUTPUT, contract)
    pulumi.export(KUBECONFIG_OUTPUT, pulumi.Output.secret(kubeconfig))


def read_contract(reference: pulumi.StackReference, stack: str) -> pulumi.Output[PlatformContract]:
    """The contract a platform stack exported, validated for this program's version."""
    return reference.get_output(CONTRACT_OUTPUT).apply(
        lambda data: PlatformContract.parse(data, source=f"stack {stack}")
    )
