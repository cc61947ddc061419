"""The pack under the real CLI's protocol.

`pulumi preview --policy-pack policies` has the Python language host run `python <pack dir>
<engine address>` in the pack directory, reads the port the pack prints on its first stdout line,
and speaks the Analyzer gRPC service to it. This test does exactly that, with the protobufs that
ship in the Pulumi SDK, and checks that violations come back with our rule names and the
environment's enforcement level.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest
from google.protobuf import empty_pb2, struct_pb2
from policy_cases import (
    bucket_stack,
    budget,
    changed,
    document,
    endpoint_stack,
    export,
    in_stack,
    kms_key,
    role,
    table,
)
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from mlplat.policy_check import check
from policies.registry import all_policies

PACK_DIR = Path(__file__).resolve().parents[2] / "policies"
STARTUP_SECONDS = 60
RPC_SECONDS = 30


def _read_port(process: subprocess.Popen, deadline: float) -> int:
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    line = b""
    while not line.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        if remaining <= 0 or process.poll() is not None:
            raise RuntimeError(f"the pack printed no port (exit code {process.poll()})")
        if selector.select(timeout=remaining):
            chunk = os.read(process.stdout.fileno(), 1)
            if not chunk:
                continue
            line += chunk
    return int(line.strip())


@pytest.fixture(scope="module")
def analyzer():
    env = {
        **os.environ,
        "PULUMI_PROJECT": "mlplat",
        "PULUMI_STACK": "prod",
        "PULUMI_DRY_RUN": "true",
    }
    # The engine address the CLI passes; this pulumi_policy version does not dial it.
    process = subprocess.Popen(
        [sys.executable, str(PACK_DIR), "127.0.0.1:1"],
        cwd=PACK_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    channel = None
    try:
        port = _read_port(process, time.monotonic() + STARTUP_SECONDS)
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(channel).result(timeout=RPC_SECONDS)
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
    except Exception:
        process.kill()
        _, stderr = process.communicate(timeout=10)
        tail = stderr.decode(errors="replace")[-2000:]
        raise RuntimeError(f"policy pack failed: {tail}") from None
    finally:
        if channel is not None:
            channel.close()
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)


def _struct(props: dict) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(json.loads(json.dumps(props)))
    return struct


def _analyze(stub, entry: dict) -> list:
    name = entry["urn"].rsplit("::", 1)[-1]
    request = analyzer_pb2.AnalyzeRequest(
        type=entry["type"],
        properties=_struct(entry["inputs"]),
        urn=entry["urn"],
        name=name,
        options=analyzer_pb2.AnalyzerResourceOptions(protect=entry["protect"]),
    )
    return list(stub.Analyze(request, timeout=RPC_SECONDS).diagnostics)


def _analyze_stack(stub, entries: list[dict]) -> list:
    resources = [
        analyzer_pb2.AnalyzerResource(
            type=e["type"],
            properties=_struct(e["outputs"]),
            urn=e["urn"],
            name=e["urn"].rsplit("::", 1)[-1],
            options=analyzer_pb2.AnalyzerResourceOptions(protect=e["protect"]),
            propertyDependencies={
                prop: analyzer_pb2.AnalyzerPropertyDependencies(urns=urns)
                for prop, urns in e["propertyDependencies"].items()
            },
        )
        for e in entries
    ]
    request = analyzer_pb2.AnalyzeStackRequest(resources=resources)
    return list(stub.AnalyzeStack(request, timeout=RPC_SECONDS).diagnostics)


def _by_policy(diagnostics) -> dict[str, int]:
    return {d.policyName: d.enforcementLevel for d in diagnostics}


def test_get_analyzer_info_lists_every_rule(analyzer):
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty(), timeout=RPC_SECONDS)
    assert info.name == "mlplat-guardrails"
    served = {p.name: p for p in info.policies}
    assert set(served) == {p.name for p in all_policies()}
    rotation = served["kms-key-rotation"]
    assert rotation.severity == analyzer_pb2.POLICY_SEVERITY_MEDIUM
    assert rotation.remediation_steps and rotation.description
    assert served["s3-versioning"].policy_type == analyzer_pb2.POLICY_TYPE_STACK
    assert "allowedVersions" in served["eks-version-allowed"].configSchema.properties


def test_analyze_reports_violations_with_the_environments_level(analyzer):
    unrotated = changed(kms_key(), "enableKeyRotation", False)
    assert _by_policy(_analyze(analyzer, unrotated)) == {"kms-key-rotation": analyzer_pb2.MANDATORY}
    assert _by_policy(_analyze(analyzer, in_stack(unrotated, "dev"))) == {
        "kms-key-rotation": analyzer_pb2.ADVISORY
    }


def test_analyze_passes_a_compliant_resource(analyzer):
    assert _analyze(analyzer, table()) == []
    assert _analyze(analyzer, kms_key()) == []


def test_analyze_stack_relates_buckets_to_their_configurations(analyzer):
    compliant = bucket_stack()
    assert [d for d in _analyze_stack(analyzer, compliant) if d.policyName.startswith("s3-")] == []
    bucket, _, versioning, encryption = compliant
    diagnostics = _analyze_stack(analyzer, [bucket, versioning, encryption])  # no access block
    assert _by_policy(diagnostics)["s3-public-access-block"] == analyzer_pb2.MANDATORY
    violation = next(d for d in diagnostics if d.policyName == "s3-public-access-block")
    assert violation.urn == bucket["urn"]


def _mixed_stack(stack: str) -> list[dict]:
    bucket, _, versioning, encryption = bucket_stack()
    config, endpoint, target, _ = endpoint_stack()
    open_trust = document(
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}
    )
    entries = [
        changed(kms_key(), "enableKeyRotation", False),
        changed(table(), "pointInTimeRecovery.enabled", False),
        changed(role(), "assumeRolePolicy", open_trust),
        bucket,
        versioning,
        encryption,  # no public access block
        config,
        endpoint,
        target,  # no scaling policy
        budget(),
    ]
    return [in_stack(e, stack) for e in entries]


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_the_engine_and_the_offline_runner_agree(analyzer, stack):
    entries = export(*_mixed_stack(stack), stack=stack)["deployment"]["resources"]
    served = set()
    for entry in entries:
        for d in _analyze(analyzer, {**entry, "protect": entry.get("protect", False)}):
            served.add((d.policyName, d.urn or entry["urn"], d.enforcementLevel))
    stack_entries = [{"propertyDependencies": {}, "protect": False, **e} for e in entries]
    for d in _analyze_stack(analyzer, stack_entries):
        served.add((d.policyName, d.urn, d.enforcementLevel))
    levels = {"advisory": analyzer_pb2.ADVISORY, "mandatory": analyzer_pb2.MANDATORY}
    offline = {
        (v.policy, v.urn, levels[v.enforcement])
        for v in check(export(*_mixed_stack(stack), stack=stack))
    }
    assert served == offline
    assert {name for name, _, _ in served} >= {
        "kms-key-rotation",
        "dynamodb-pitr",
        "iam-no-wildcard-principal",
        "s3-public-access-block",
        "sagemaker-variant-autoscaling",
    }


def test_configure_tunes_a_rule(analyzer):
    old = changed(table(), "deletionProtectionEnabled", False)
    assert "dynamodb-deletion-protection" in _by_policy(_analyze(analyzer, old))

    def configure(level) -> None:
        analyzer.Configure(
            analyzer_pb2.ConfigureAnalyzerRequest(
                policyConfig={
                    "dynamodb-deletion-protection": analyzer_pb2.PolicyConfig(
                        enforcementLevel=level
                    ),
                }
            ),
            timeout=RPC_SECONDS,
        )

    configure(analyzer_pb2.DISABLED)
    try:
        assert "dynamodb-deletion-protection" not in _by_policy(_analyze(analyzer, old))
    finally:
        configure(analyzer_pb2.ADVISORY)  # the rule's declared level: the pack as it started
    # Restored for the module's other tests (the analyzer is shared): the rule judges again.
    assert "dynamodb-deletion-protection" in _by_policy(_analyze(analyzer, old))
