"""Nothing is left out of `mlplat cost` silently: every type a stack holds is priced or listed
with its reason, and a type that is neither is reported, never dropped."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from rich.console import Console

from cost_model.estimate import PRICED_TYPES, EstimateOptions, estimate
from cost_model.graph import Graph
from cost_model.prices import load_snapshot
from cost_model.unpriced import NOT_PRICED, NOT_PRICED_PREFIXES, Kind, why_not_priced
from mlplat.cli_output import show
from mlplat.cost.report import render, to_json
from tests.cost.cost_exports import export, resource

OPTIONS = EstimateOptions(as_of=dt.date(2026, 11, 28))
UNHEARD_OF = "aws:newservice/gadget:Gadget"


def _text(result) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=200, color_system=None)
    show(console, *render(result, []))
    return buffer.getvalue()


@pytest.mark.slow
@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_every_type_a_shipped_stack_holds_is_priced_or_explained(stack_export, stack):
    result = estimate(Graph.from_export(stack_export(stack)), load_snapshot(), OPTIONS)
    unknown = [u.type for u in result.unpriced if u.kind is Kind.UNKNOWN]
    assert unknown == [], "price these in cost_model/estimate.py or list them in unpriced.py"
    assert result.unpriced, "a whole platform with nothing free or usage-charged is implausible"


def test_a_type_is_either_priced_or_listed_never_both():
    assert set(NOT_PRICED) & PRICED_TYPES == set()
    # The prefixes may cover priced types (the Ingress); a priced type is never asked why.
    assert all(not t.startswith(tuple(NOT_PRICED_PREFIXES)) for t in NOT_PRICED)


def test_an_unknown_type_is_reported_not_dropped():
    result = estimate(
        Graph.from_export(export(resource(UNHEARD_OF, "a"), resource(UNHEARD_OF, "b"))),
        load_snapshot(),
        OPTIONS,
    )
    (left_out,) = [u for u in result.unpriced if u.type == UNHEARD_OF]
    assert (left_out.type, left_out.count, left_out.kind) == (UNHEARD_OF, 2, Kind.UNKNOWN)
    assert {"type": UNHEARD_OF, "count": 2, "kind": "unknown", "reason": left_out.reason} in (
        to_json(result, [])["not_priced"]
    )
    text = _text(result)
    assert "Not in the estimate" in text and "Gadget" in text and "no price known" in text


def test_usage_charged_types_are_shown_and_free_ones_are_quiet():
    log_group, role = "aws:cloudwatch/logGroup:LogGroup", "aws:iam/role:Role"
    assert why_not_priced(log_group)[0] is Kind.USAGE
    assert why_not_priced(role)[0] is Kind.FREE
    result = estimate(
        Graph.from_export(export(resource(log_group, "logs"), resource(role, "role"))),
        load_snapshot(),
        OPTIONS,
    )
    text = _text(result)
    assert "LogGroup" in text and "per GB ingested" in text
    assert "Role" not in text  # free: in --json only
    kinds = {entry["type"]: entry["kind"] for entry in to_json(result, [])["not_priced"]}
    assert kinds[role] == "free" and kinds[log_group] == "usage"


def test_free_and_priced_only_prints_no_extra_table():
    role = resource("aws:iam/role:Role", "role")
    result = estimate(Graph.from_export(export(role)), load_snapshot(), OPTIONS)
    assert "Not in the estimate" not in _text(result)


@pytest.mark.parametrize(
    ("type_", "kind"),
    [
        ("kubernetes:apps/v1:Deployment", Kind.ELSEWHERE),
        ("mlplat:serving:MultiModelEndpoint", Kind.ELSEWHERE),
        ("pulumi:providers:aws", Kind.FREE),
        ("grafana:oss/folder:Folder", Kind.FREE),
        ("aws:kms/alias:Alias", Kind.FREE),
        (UNHEARD_OF, Kind.UNKNOWN),
    ],
)
def test_why_a_type_is_not_priced(type_, kind):
    assert why_not_priced(type_)[0] is kind


def test_a_type_nobody_listed_is_said_to_be_left_out_of_the_estimate():
    assert why_not_priced(UNHEARD_OF)[1] == "no price known: the estimate does not include it"


def test_the_container_insights_add_on_is_shown_as_charged_by_use():
    """The platform's one EKS add-on (amazon-cloudwatch-observability) sends metrics CloudWatch
    bills as custom metrics and logs it bills per GB: not free, so the report names it."""
    addon = "aws:eks/addon:Addon"
    assert why_not_priced(addon)[0] is Kind.USAGE
    result = estimate(
        Graph.from_export(export(resource(addon, "insights"))), load_snapshot(), OPTIONS
    )
    assert "Addon" in _text(result) and "Container Insights" in _text(result)
