"""Budgets meet estimates: the budgets declared in the graph, compared with the estimate.

A model budget is the ``monthly_budget_usd`` a model declares, which its component records in
its outputs (``model``, ``team``, ``monthlyBudgetUsd``). It is checked against the model's
estimate, including its share of a shared endpoint, and is not an AWS Budget: AWS can only
attribute billed resources by tag, and the instances that serve a model (a multi-model endpoint,
EKS nodes) are shared and tagged by team, so a per-model AWS Budget would watch almost nothing.
The team budgets (AWS Budgets on ``mlplat:team``) watch what is actually spent.

A team budget is an ``aws:budgets/budget:Budget`` of type COST whose ``costFilters`` hold the
cost allocation tag ``user:mlplat:team$<team>``; an environment budget has no team filter (at
most an ``user:mlplat:environment$<env>`` one). Budgets filtered on anything else (a service, an
account) cannot be compared with a per-stack estimate and are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from cost_model.estimate import ENVIRONMENT_TAG, Amount, Estimate
from cost_model.graph import Graph, Resource

BUDGET_TYPE = "aws:budgets/budget:Budget"
TEAM_FILTER = "user:mlplat:team$"
ENVIRONMENT_FILTER = "user:mlplat:environment$"
# The output a model's component records its declared monthly budget (USD) in.
MODEL_BUDGET_OUTPUT = "monthlyBudgetUsd"
# Budget periods as months (AWS Budgets' own month: 365/12 days).
MONTHS_PER_PERIOD = {"MONTHLY": 1.0, "QUARTERLY": 3.0, "ANNUALLY": 12.0, "DAILY": 12 / 365}


NOTHING = Amount(0.0, 0.0)


class Scope(StrEnum):
    MODEL = "model"
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
    """Model budgets (from model components), then the AWS Budgets of teams and environments."""
    models = [budget for resource in graph.resources if (budget := _model_budget(resource))]
    aws = [budget for resource in graph.of_type(BUDGET_TYPE) if (budget := _budget(resource))]
    return sorted(models, key=lambda b: b.subject) + aws


def _model_budget(resource: Resource) -> Budget | None:
    limit, model = resource.outputs.get(MODEL_BUDGET_OUTPUT), resource.outputs.get("model")
    if limit is None or not model or resource.type == BUDGET_TYPE:
        return None
    return Budget(resource.urn, Scope.MODEL, str(model), resource.stack, float(limit))


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
        if budget.scope is Scope.ENVIRONMENT:
            amount = estimate.totals_by("environment").get(budget.subject, NOTHING)
        else:  # a model's or a team's cost within the budget's environment
            items = [item for item in estimate.items if item.environment == budget.environment]
            amount = estimate.totals_by(str(budget.scope), items).get(budget.subject, NOTHING)
        checks.append(BudgetCheck(budget, amount))
    return checks
