"""Entry point of the mlplat-guardrails CrossGuard pack.

`pulumi preview --policy-pack policies` runs `python policies <engine-address>` (the pack folder,
not the package), so the repository root is put on the path for `policies.*` and `infra.*` to
import. Building the PolicyPack starts the Analyzer gRPC server, prints its port and blocks.
"""

import sys
from pathlib import Path

if not __package__:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import EnforcementLevel, PolicyPack  # noqa: E402

from policies import analyzer  # noqa: E402
from policies.registry import all_policies  # noqa: E402

analyzer.install()
PolicyPack(
    name="mlplat-guardrails",
    policies=list(all_policies()),
    # The pack-wide default; each rule declares its own level and is mandatory in prod.
    enforcement_level=EnforcementLevel.ADVISORY,
    description="Guardrails for the mlplat ML serving platform: security, resilience and cost.",
)
