"""Run the guardrail pack offline over any `pulumi stack export` (version 3) document.

The same rule objects the CrossGuard pack serves are called with the same argument types
pulumi_policy's Analyzer builds from the engine's requests (`ResourceValidationArgs` per resource
with its inputs, `StackValidationArgs` with every resource's state), and each violation gets the
level `effective_enforcement` gives it, exactly as under `pulumi preview --policy-pack policies`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from inspect import isawaitable
from pathlib import Path
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import (
    SPECIAL_SECRET_SIG,
    SPECIAL_SIG_KEY,
    deserialize_properties,
)
from pulumi_policy.proxy import unknown_checking_proxy

from mlplat.cost.graph import ExportError, Graph, read_export
from policies.framework import effective_enforcement

__all__ = ["ExportError", "PolicyConfigError", "Violation", "check", "has_mandatory", "load_export"]

STACK_TYPE = "pulumi:pulumi:Stack"
ENCRYPTED_SECRET = "[secret]"

# Pack config as `pulumi preview --policy-pack-config` takes it:
# {"<policy>": "<level>" | {"enforcementLevel": "<level>", "<property>": value, ...}}
PackConfig = Mapping[str, Any]


class PolicyConfigError(ValueError):
    """The pack config names an unknown policy or level."""


@dataclass(frozen=True)
class Violation:
    policy: str
    enforcement: str
    severity: str
    urn: str
    message: str

    @property
    def mandatory(self) -> bool:
        return self.enforcement == EnforcementLevel.MANDATORY.value

    def to_json(self) -> dict[str, str]:
        return asdict(self)


def load_export(path: Path) -> dict[str, Any]:
    try:
        document = read_export(path)
    except ExportError as error:
        raise ExportError(f"cannot read {path}: {error}") from None
    _resources(document)
    return document


def _resources(document: Any) -> list[Mapping[str, Any]]:
    # One definition of a readable export, shared with the cost estimator's reader.
    Graph.from_export(document)
    return document["deployment"]["resources"]


class _Graph:
    """The export's resources as pulumi_policy sees them."""

    def __init__(self, entries: Sequence[Mapping[str, Any]]) -> None:
        self.entries = entries
        self.by_urn = {e["urn"]: e for e in entries}
        self.stack_urn = next((e["urn"] for e in entries if e["type"] == STACK_TYPE), "")

    @staticmethod
    def name(entry: Mapping[str, Any]) -> str:
        return entry["urn"].rsplit("::", 1)[-1]

    @staticmethod
    def options(entry: Mapping[str, Any]) -> PolicyResourceOptions:
        return PolicyResourceOptions(
            protect=bool(entry.get("protect")),
            ignore_changes=list(entry.get("ignoreChanges") or []),
            delete_before_replace=entry.get("deleteBeforeReplace"),
            aliases=[str(a) for a in entry.get("aliases") or []],
            custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
            additional_secret_outputs=list(entry.get("additionalSecretOutputs") or []),
            parent=entry.get("parent") or None,
        )

    def provider(self, entry: Mapping[str, Any]) -> PolicyProviderResource | None:
        # A provider reference is "<provider urn>::<provider id>".
        reference = entry.get("provider") or ""
        provider = self.by_urn.get(reference.rsplit("::", 1)[0])
        if provider is None:
            return None
        return PolicyProviderResource(
            provider["type"], self.state(provider), provider["urn"], self.name(provider)
        )

    @staticmethod
    def inputs(entry: Mapping[str, Any]) -> Mapping[str, Any]:
        # Deserialized and wrapped exactly as the Analyzer does, so rules meet the same types.
        inputs = _wire_secrets(dict(entry.get("inputs") or {}))
        return unknown_checking_proxy(deserialize_properties(inputs))

    @staticmethod
    def state(entry: Mapping[str, Any]) -> Mapping[str, Any]:
        """What a stack validation sees: the outputs (inputs where none were recorded)."""
        merged = {**(entry.get("inputs") or {}), **(entry.get("outputs") or {})}
        return unknown_checking_proxy(deserialize_properties(_wire_secrets(merged)))

    def resource_args(
        self, entry: Mapping[str, Any], config: Mapping[str, Any] | None
    ) -> ResourceValidationArgs:
        return ResourceValidationArgs(
            entry["type"],
            self.inputs(entry),
            entry["urn"],
            self.name(entry),
            self.options(entry),
            self.provider(entry),
            config,
        )

    def policy_resources(self) -> list[PolicyResource]:
        """All resources, with parents and (property) dependencies linked as the Analyzer does."""
        resources = {
            e["urn"]: PolicyResource(
                e["type"],
                self.state(e),
                e["urn"],
                self.name(e),
                self.options(e),
                self.provider(e),
                None,
                [],
                {},
            )
            for e in self.entries
        }
        for entry in self.entries:
            resource = resources[entry["urn"]]
            resource.parent = resources.get(entry.get("parent") or "")
            resource.dependencies = [
                resources[u] for u in entry.get("dependencies") or [] if u in resources
            ]
            resource.property_dependencies = {
                prop: [resources[u] for u in urns if u in resources]
                for prop, urns in (entry.get("propertyDependencies") or {}).items()
            }
        return list(resources.values())


def _wire_secrets(value: Any) -> Any:
    """Secrets as the engine sends them to an analyzer ({sig, "value"}), from the export's form.

    `pulumi stack export --show-secrets` writes {sig, "plaintext": <JSON text>}; a plain export
    writes {sig, "ciphertext"}, which only the stack's secrets provider can read, so its value
    is a placeholder.
    """
    if isinstance(value, list):
        return [_wire_secrets(v) for v in value]
    if not isinstance(value, dict):
        return value
    if value.get(SPECIAL_SIG_KEY) == SPECIAL_SECRET_SIG and "value" not in value:
        plaintext = value.get("plaintext")
        secret = _decoded(plaintext) if plaintext is not None else ENCRYPTED_SECRET
        return {SPECIAL_SIG_KEY: SPECIAL_SECRET_SIG, "value": secret}
    return {k: _wire_secrets(v) for k, v in value.items()}


def _decoded(plaintext: Any) -> Any:
    """The CLI writes a secret's plaintext as JSON text; the offline export writes the value
    itself (mlplat/offline/monitor.py): a string that is not JSON is that value."""
    if not isinstance(plaintext, str):
        return plaintext
    try:
        return json.loads(plaintext)
    except json.JSONDecodeError:
        return plaintext


def _policy_config(policy: Policy, config: PackConfig) -> tuple[EnforcementLevel | None, dict]:
    """The configured level and properties of one policy; "all" sets every policy's level."""
    value = config.get(policy.name) or {}
    if isinstance(value, str):
        value = {"enforcementLevel": value}
    properties = {k: v for k, v in value.items() if k != "enforcementLevel"}
    level = value.get("enforcementLevel") or config.get("all")
    try:
        return (EnforcementLevel(level) if level else None), properties
    except ValueError:
        raise PolicyConfigError(f"{policy.name}: unknown enforcementLevel {level!r}") from None


def check(
    document: Mapping[str, Any],
    policies: Iterable[Policy] | None = None,
    config: PackConfig | None = None,
) -> list[Violation]:
    """Every violation of `policies` (the whole pack by default) in the exported stack."""
    if policies is None:
        from policies.registry import all_policies

        policies = all_policies()
    policies = list(policies)
    config = config or {}
    if not isinstance(config, Mapping) or not all(
        isinstance(value, str | Mapping) for value in config.values()
    ):
        raise PolicyConfigError(
            "the pack config must be an object of policy name -> enforcement level or settings"
        )
    unknown = sorted(set(config) - {p.name for p in policies} - {"all"})
    if unknown:
        raise PolicyConfigError(f"the config names unknown policies: {unknown}")
    graph = _Graph(_resources(document))
    stack_resources: list[PolicyResource] | None = None
    violations: list[Violation] = []

    for policy in policies:
        configured, properties = _policy_config(policy, config)
        if effective_enforcement(policy, graph.stack_urn, configured) is EnforcementLevel.DISABLED:
            continue

        def reporter(default_urn: str, policy: Policy = policy, configured=configured):
            def report(message: str, urn: str | None = None) -> None:
                at = urn or default_urn
                violations.append(
                    Violation(
                        policy=policy.name,
                        enforcement=effective_enforcement(policy, at, configured).value,
                        severity=policy.severity.value if policy.severity else "",
                        urn=at,
                        message=message or policy.description,
                    )
                )

            return report

        if isinstance(policy, ResourceValidationPolicy):
            for entry in graph.entries:
                _run(
                    policy.validate(graph.resource_args(entry, properties), reporter(entry["urn"]))
                )
        elif isinstance(policy, StackValidationPolicy):
            if stack_resources is None:
                stack_resources = graph.policy_resources()
            _run(
                policy.validate(
                    StackValidationArgs(stack_resources, properties), reporter(graph.stack_urn)
                )
            )
    return violations


def _run(result: Any) -> None:
    """Rules may be async (pulumi_policy allows it); the Analyzer awaits them, so do we."""
    if isawaitable(result):
        asyncio.run(result)


def has_mandatory(violations: Iterable[Violation]) -> bool:
    return any(v.mandatory for v in violations)
