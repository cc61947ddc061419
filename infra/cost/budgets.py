"""Budgets meet estimates: the AWS Budgets declared in the graph, compared with the estimate.

A team budget is an ``aws:budgets/budget:Budget`` of type COST whose ``costFilters`` hold the
cost allocation tag ``user:mlplat:team$<team>``; an environment budget has no team filter (at
most an ``user:mlplat:environment$<env>`` one). Budgets filtered on anything else (a service, an
account) cannot be compared with a per-stack estimate and are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from infra.cost.estimate import ENVIRONMENT_TAG, Amount, Estimate
from infra.cost.graph import Graph, Resource

BUDGET_TYPE = "aws:budgets/budget:Budget"
TEAM_FILTER = "user:mlplat:team$"
ENVIRONMENT_FILTER = "user:mlplat:environment$"
# Budget periods as months (AWS Budgets' own month: 365/12 days).
MONTHS_PER_PERIOD = {"MONTHLY": 1.0, "QUARTERLY": 3.0, "ANNUALLY": 12.0, "DAILY": 12 / 365}


class Scope(StrEnum):
    TEAM = "team"
    ENVIRONMENT = "environment"


class Status(StrEnum):
    WITHIN = "within"
    AT_RISK = "at risk"  # within at the declared minimum, over at the declared maximum
    OVER = "over"


@dataclass(frozen=True)
class Budget:
    urn: str
    scope: Scope
    subject: str  # the team or the environment
    environment: str
    monthly_limit: float


@dataclass(frozen=True)
class BudgetCheck:
    budget: Budget
    estimate: Amount

    @property
    def status(self) -> Status:
        if self.estimate.monthly > self.budget.monthly_limit:
            return Status.OVER
        if self.estimate.max_monthly > self.budget.monthly_limit:
            return Status.AT_RISK
        return Status.WITHIN

    def message(self, currency: str = "USD") -> str:
        low, high = self.estimate.monthly, self.estimate.max_monthly
        return (
            f"{self.budget.scope} {self.budget.subject!r} is estimated at {low:,.2f} {currency}"
            f"/month (up to {high:,.2f} at maximum scale) against a budget of "
            f"{self.budget.monthly_limit:,.2f} {currency}/month"
        )


def budgets_in(graph: Graph) -> list[Budget]:
    return [budget for resource in graph.of_type(BUDGET_TYPE) if (budget := _budget(resource))]


def _budget(resource: Resource) -> Budget | None:
    if (resource.prop("budgetType") or "COST") != "COST":
        return None
    environment = resource.tags.get(ENVIRONMENT_TAG) or resource.environment
    team = None
    for cost_filter in resource.prop("costFilters") or []:
        if cost_filter.get("name") != "TagKeyValue":
            return None
        for value in cost_filter.get("values") or []:
            if value.startswith(TEAM_FILTER):
                team = value.removeprefix(TEAM_FILTER)
            elif value.startswith(ENVIRONMENT_FILTER):
                environment = value.removeprefix(ENVIRONMENT_FILTER)
            else:
                return None
    months = MONTHS_PER_PERIOD.get((resource.prop("timeUnit") or "MONTHLY").upper())
    limit = resource.prop("limitAmount")
    if months is None or limit is None:
        return None
    scope, subject = (Scope.TEAM, team) if team else (Scope.ENVIRONMENT, environment)
    return Budget(resource.urn, scope, subject, environment, float(limit) / months)


def check_budgets(graph: Graph, estimate: Estimate) -> list[BudgetCheck]:
    checks = []
    for budget in budgets_in(graph):
        if budget.scope is Scope.TEAM:
            amount = estimate.total_for_team(budget.subject, budget.environment)
        else:
            amount = estimate.totals_by("environment").get(budget.subject, Amount(0.0, 0.0))
        checks.append(BudgetCheck(budget, amount))
    return checks
