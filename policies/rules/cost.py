"""Cost-control rules: spending is watched before the bill arrives.

Issue 7's rule (a team's estimated cost over its budget) belongs in its own module here, next to
the estimator it reads; see policies/rules/__init__.py.
"""

from __future__ import annotations

from pulumi_policy import ReportViolation, Severity, StackValidationArgs

from policies.framework import as_list, dig, is_serving_layer, of_types, stack_rule

BUDGET = "aws:budgets/budget:Budget"
NOTIFICATION_TYPES = ("ACTUAL", "FORECASTED")


def _subscribed(notification: object) -> bool:
    return bool(
        as_list(dig(notification, "subscriberEmailAddresses"))
        or as_list(dig(notification, "subscriberSnsTopicArns"))
    )


@stack_rule(
    name="budget-actual-and-forecasted",
    description="The stack has AWS Budgets, each notifying subscribers on both ACTUAL and "
    "FORECASTED spend.",
    severity=Severity.MEDIUM,
    remediation="Give every aws.budgets.Budget one ACTUAL and one FORECASTED notification with "
    "subscriberSnsTopicArns (the alerts topic) or subscriberEmailAddresses.",
)
def budget_actual_and_forecasted(args: StackValidationArgs, report: ReportViolation) -> None:
    budgets = of_types(args.resources, BUDGET)
    if not budgets:
        # A team's serving stack is watched by its team's budget, in the platform stack.
        if any(r.resource_type.startswith("aws:") for r in args.resources) and not any(
            is_serving_layer(r.urn) for r in args.resources
        ):
            report("the stack creates AWS resources but no budget watches them")
        return
    for budget in budgets:
        notifications = as_list(budget.props.get("notifications"))
        for kind in NOTIFICATION_TYPES:
            matching = [n for n in notifications if dig(n, "notificationType") == kind]
            if not matching:
                report(f"no {kind} notification", budget.urn)
            elif not any(_subscribed(n) for n in matching):
                report(f"{kind} notification has no subscriber", budget.urn)
