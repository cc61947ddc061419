"""Present an estimate, or what a change costs: the JSON documents `mlplat cost --json` prints,
and the rich tables."""

from __future__ import annotations

from typing import Any

from rich.console import Console, Group
from rich.table import Table

from infra.cost.budgets import BudgetCheck, Status
from infra.cost.compare import CENT, AmountChange, CostChange
from infra.cost.estimate import Estimate, LineItem
from infra.plan_diff import mark

DIMENSIONS = ("model", "team", "environment")


def _cents(value: float) -> float:
    return round(value, 2) + 0.0  # + 0.0: no "-0.0" for a difference that rounds to nothing


def to_json(estimate: Estimate, checks: list[BudgetCheck]) -> dict[str, Any]:
    total = estimate.total
    document: dict[str, Any] = {
        "currency": estimate.currency,
        "total_monthly": _cents(total.monthly),
        "total_range": [_cents(total.monthly), _cents(total.max_monthly)],
    }
    for dimension in DIMENSIONS:
        totals = estimate.totals_by(dimension)
        document[f"by_{dimension}"] = {name: _cents(a.monthly) for name, a in totals.items()}
        document[f"by_{dimension}_range"] = {
            name: [_cents(a.monthly), _cents(a.max_monthly)] for name, a in totals.items()
        }
    document["resources"] = [_resource(item) for item in _ordered(estimate.items)]
    document["budgets"] = _budgets(checks)
    return document


def change_to_json(change: CostChange, checks: list[BudgetCheck]) -> dict[str, Any]:
    """What `mlplat cost --against BASE --json` prints: the difference, then the new budgets."""
    total = change.total
    document: dict[str, Any] = {
        "currency": change.new.currency,
        "base_total_monthly": _cents(total.base.monthly),
        "total_monthly": _cents(total.new.monthly),
        "delta_monthly": _cents(total.delta.monthly),
        "delta_range": [_cents(total.delta.monthly), _cents(total.delta.max_monthly)],
    }
    for dimension in DIMENSIONS:
        document[f"by_{dimension}"] = {
            name: _amount_change(amount) for name, amount in change.by(dimension).items()
        }
    document["resources"] = [
        {
            "urn": item.item.urn,
            "type": item.item.type,
            "change": str(item.kind),
            **_amount_change(item.amount),
            "basis": item.item.basis,
        }
        for item in change.items()
    ]
    document["budgets"] = _budgets(checks)
    return document


def _amount_change(amount: AmountChange) -> dict[str, Any]:
    return {
        "base": _cents(amount.base.monthly),
        "new": _cents(amount.new.monthly),
        "delta": _cents(amount.delta.monthly),
        "delta_range": [_cents(amount.delta.monthly), _cents(amount.delta.max_monthly)],
    }


def _budgets(checks: list[BudgetCheck]) -> list[dict[str, Any]]:
    return [
        {
            "urn": check.budget.urn,
            "scope": str(check.budget.scope),
            "subject": check.budget.subject,
            "limit_monthly": _cents(check.budget.monthly_limit),
            "estimate_monthly": _cents(check.estimate.monthly),
            "estimate_range": [_cents(check.estimate.monthly), _cents(check.estimate.max_monthly)],
            "status": str(check.status),
        }
        for check in checks
    ]


def _resource(item: LineItem) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "urn": item.urn,
        "type": item.type,
        "monthly": _cents(item.monthly),
        "range": [_cents(item.monthly), _cents(item.max_monthly)],
        "basis": item.basis,
        "region": item.region,
        "environment": item.environment,
        "team": item.team,
        "model": item.model,
    }
    if item.shares:
        entry["shares"] = [
            {"model": s.model, "team": s.team, "fraction": round(s.fraction, 6)}
            for s in item.shares
        ]
    return entry


def _ordered(items: tuple[LineItem, ...]) -> list[LineItem]:
    return sorted(items, key=lambda item: (-item.monthly, item.urn))


def _money(value: float) -> str:
    return f"${value:,.2f}"


def _owner(item: LineItem) -> str:
    if len(item.shares) == 1:
        return f"{item.shares[0].team} / {item.shares[0].model}"
    if item.shares:
        return "split: " + ", ".join(f"{s.model} {s.fraction:.0%}" for s in item.shares)
    return " / ".join(part for part in (item.team, item.model) if part) or "-"


def render(estimate: Estimate, checks: list[BudgetCheck]) -> Group:
    """The tables `mlplat cost` prints: by resource, totals, and budgets."""
    resources = Table(title=f"Estimated monthly cost ({estimate.currency}, 730 h/month)")
    for column in ("Resource", "Type", "Owner"):
        resources.add_column(column, overflow="fold")
    resources.add_column("Monthly", justify="right")
    resources.add_column("At max", justify="right")
    resources.add_column("Basis", overflow="fold", ratio=1)
    for item in _ordered(estimate.items):
        resources.add_row(
            item.urn.rsplit("::", 1)[-1],
            item.type.rsplit(":", 1)[-1],
            _owner(item),
            _money(item.monthly),
            _money(item.max_monthly),
            item.basis,
        )
    total = estimate.total
    resources.add_section()
    resources.add_row(
        "Total", "", "", _money(total.monthly), _money(total.max_monthly), "", style="bold"
    )

    totals = Table(title="Totals")
    for column in ("By", "Name"):
        totals.add_column(column)
    totals.add_column("Monthly", justify="right")
    totals.add_column("At max", justify="right")
    for dimension in DIMENSIONS:
        for name, amount in estimate.totals_by(dimension).items():
            totals.add_row(dimension, name, _money(amount.monthly), _money(amount.max_monthly))
        totals.add_section()

    return Group(resources, totals, *_budget_table(checks))


def render_change(change: CostChange, checks: list[BudgetCheck]) -> Group:
    """The tables `mlplat cost --against BASE` prints: what changes, by resource and in total."""
    currency = change.new.currency
    resources = Table(title=f"Monthly cost change against the base ({currency}, 730 h/month)")
    for column in ("", "Resource", "Type", "Owner"):
        resources.add_column(column, overflow="fold")
    for column in ("Base", "New", "Change", "Change at max"):
        resources.add_column(column, justify="right")
    resources.add_column("Basis", overflow="fold", ratio=1)
    for item in change.items():
        amount = item.amount
        resources.add_row(
            mark(item.kind),
            item.item.urn.rsplit("::", 1)[-1],
            item.item.type.rsplit(":", 1)[-1],
            _owner(item.item),
            _money(amount.base.monthly),
            _money(amount.new.monthly),
            _signed(amount.delta.monthly),
            _signed(amount.delta.max_monthly),
            item.item.basis,
        )
    total = change.total
    resources.add_section()
    resources.add_row(
        "",
        "Total",
        "",
        "",
        _money(total.base.monthly),
        _money(total.new.monthly),
        _signed(total.delta.monthly),
        _signed(total.delta.max_monthly),
        "",
        style="bold",
    )

    totals = Table(title="Totals the change moves")
    for column in ("By", "Name"):
        totals.add_column(column)
    for column in ("Base", "New", "Change", "Change at max"):
        totals.add_column(column, justify="right")
    for dimension in DIMENSIONS:
        for name, amount in change.by(dimension).items():
            totals.add_row(
                dimension,
                name,
                _money(amount.base.monthly),
                _money(amount.new.monthly),
                _signed(amount.delta.monthly),
                _signed(amount.delta.max_monthly),
            )
        totals.add_section()
    return Group(resources, totals, *_budget_table(checks))


def _signed(value: float) -> str:
    return ("+" if value >= CENT else "-" if value <= -CENT else "") + _money(abs(value))


def _budget_table(checks: list[BudgetCheck]) -> list[Table]:
    if not checks:
        return []
    budgets = Table(title="Budgets")
    for column in ("Scope", "Subject", "Budget", "Estimate", "At max", "Status"):
        budgets.add_column(column)
    style = {Status.OVER: "bold red", Status.AT_RISK: "yellow", Status.WITHIN: "green"}
    for check in checks:
        budgets.add_row(
            str(check.budget.scope),
            check.budget.subject,
            _money(check.budget.monthly_limit),
            _money(check.estimate.monthly),
            _money(check.estimate.max_monthly),
            f"[{style[check.status]}]{check.status}[/]",
        )
    return [budgets]


def print_report(
    estimate: Estimate,
    checks: list[BudgetCheck],
    console: Console,
    change: CostChange | None = None,
) -> None:
    console.print(render(estimate, checks) if change is None else render_change(change, checks))
    for check in checks:
        if check.status is Status.OVER:
            console.print(f"[bold red]over budget:[/] {check.message(estimate.currency)}")
