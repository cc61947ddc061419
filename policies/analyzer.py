"""The Analyzer gRPC servicer the pack runs, with enforcement that follows the environment.

pulumi_policy reports every violation of a policy at one level. Our rules are mandatory in prod
and advisory (or their declared level) elsewhere, and the environment is known only from the URN
being analyzed, so this servicer remembers the URN of the request it is serving (per thread: the
gRPC server runs several) and resolves the level with `effective_enforcement`, the same function
the offline checker uses.
"""

from __future__ import annotations

import threading

import pulumi_policy.policy as _policy
from pulumi_policy import EnforcementLevel, Policy

from policies.framework import effective_enforcement


class EnvironmentAwareAnalyzer(_policy._PolicyAnalyzerServicer):
    _request = threading.local()

    def Analyze(self, request, context):
        self._request.urn = request.urn
        return super().Analyze(request, context)

    def AnalyzeStack(self, request, context):
        self._request.urn = request.resources[0].urn if request.resources else ""
        return super().AnalyzeStack(request, context)

    def _get_enforcement_level(self, policy: Policy) -> EnforcementLevel:
        configured = super()._get_enforcement_level(policy)
        return effective_enforcement(policy, getattr(self._request, "urn", ""), configured)


def install() -> None:
    """Make `PolicyPack` serve through our servicer (it looks the class up by name)."""
    _policy._PolicyAnalyzerServicer = EnvironmentAwareAnalyzer
