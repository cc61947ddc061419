"""Budgets meet estimates: the stack's estimated monthly cost against its declared budgets.

The estimate is the cost estimator's (cost_model/), computed from the same graph the pack judges,
at the declared minimum scale; a budget is exceeded when that minimum already costs more. The
budgets are each model's declared ``monthly_budget_usd`` and the team and environment AWS
Budgets (cost_model/budgets.py); `mlplat cost` also shows which would be exceeded at maximum scale.
"""

from __future__ import annotations

from pulumi_policy import ReportViolation, Severity, StackValidationArgs

from policies.framework import setting, stack_rule

CONFIG = {
    "spotDiscount": {
        "type": "number",
        "minimum": 0,
        "maximum": 0.99,
        "default": 0.6,
        "description": "Saving against on-demand assumed for spot nodes without a spot price.",
    }
}


@stack_rule(
    name="estimated-cost-within-budget",
    description="Each model's, team's and environment's estimated monthly cost (at the declared "
    "minimum scale, from the price snapshot) is within its budget: the model's declared "
    "monthly_budget_usd, the team's and the environment's AWS Budget.",
    severity=Severity.MEDIUM,
    remediation="Raise the budget (a model's monthly_budget_usd, a team's or the environment's "
    "limit), lower the models' minimum instances or move them to a cheaper instance type; "
    "`mlplat cost --stack <env>` shows the estimate line by line.",
    config=CONFIG,
)
def estimated_cost_within_budget(args: StackValidationArgs, report: ReportViolation) -> None:
    from cost_model.budgets import Status, budgets_in, check_budgets
    from cost_model.estimate import EstimateError, EstimateOptions, estimate
    from cost_model.graph import Graph
    from cost_model.prices import SnapshotError, load_snapshot

    graph = Graph.from_policy_resources(args.resources)
    if not budgets_in(graph):
        return
    try:
        options = EstimateOptions(spot_discount=float(setting(args, CONFIG, "spotDiscount")))
        result = estimate(graph, load_snapshot(), options)
    except (EstimateError, SnapshotError) as error:
        report(f"the budgets cannot be checked: {error}", None)
        return
    for check in check_budgets(graph, result):
        if check.status is Status.OVER:
            report(check.message(result.currency), check.budget.urn)
