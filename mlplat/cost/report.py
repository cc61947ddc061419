"""Present an estimate, or what a change costs: the JSON documents `mlplat cost --json` prints,
and the tables (mlplat/cli_output.py lays them out for the terminal's width, or plain when
piped)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape

from cost_model.budgets import BudgetCheck, Status
from cost_model.estimate import Estimate, LineItem
from mlplat.cli_output import Column, Rows, show
from mlplat.cost.compare import CENT, AmountChange, CostChange
from mlplat.plan_diff import mark

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
    document["replacements"] = [replaced.to_json() for replaced in change.replaced.values()]
    document["replacements_unjudged"] = change.unjudged
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
    if len(item.shares) == 1:  # a team's line carries no model (route_auth's app clients)
        share = item.shares[0]
        return " / ".join(part for part in (share.team, share.model) if part) or "-"
    if item.shares:
        return "split: " + ", ".join(f"{s.model} {s.fraction:.0%}" for s in item.shares)
    return " / ".join(part for part in (item.team, item.model) if part) or "-"


def _name(urn: str) -> str:
    return escape(urn.rsplit("::", 1)[-1])


def _type(type_: str) -> str:
    return type_.rsplit(":", 1)[-1]


def render(estimate: Estimate, checks: list[BudgetCheck]) -> list[Rows]:
    """The tables `mlplat cost` prints: by resource, totals, and budgets."""
    resources = Rows(
        f"Estimated monthly cost ({estimate.currency}, 730 h/month)",
        (
            Column("Resource"),
            Column("Type"),
            Column("Owner"),
            Column("Monthly", "right"),
            Column("At max", "right"),
            Column("Basis"),
        ),
    )
    for item in _ordered(estimate.items):
        resources.add(
            _name(item.urn),
            _type(item.type),
            escape(_owner(item)),
            _money(item.monthly),
            _money(item.max_monthly),
            escape(item.basis),
        )
    total = estimate.total
    resources.add(
        "Total",
        "",
        "",
        _money(total.monthly),
        _money(total.max_monthly),
        "",
        section=True,
        bold=True,
    )

    totals = Rows(
        "Totals",
        (Column("By"), Column("Name"), Column("Monthly", "right"), Column("At max", "right")),
    )
    for dimension in DIMENSIONS:
        for index, (name, amount) in enumerate(estimate.totals_by(dimension).items()):
            totals.add(
                dimension,
                escape(name),
                _money(amount.monthly),
                _money(amount.max_monthly),
                section=index == 0,
            )
    return [resources, totals, *_budget_table(checks)]


def render_change(change: CostChange, checks: list[BudgetCheck]) -> list[Rows]:
    """The tables `mlplat cost --against BASE` prints: what changes, by resource and in total."""
    currency = change.new.currency
    amounts = (
        Column("Base", "right"),
        Column("New", "right"),
        Column("Change", "right"),
        Column("Change at max", "right"),
    )
    resources = Rows(
        f"Monthly cost change against the base ({currency}, 730 h/month)",
        (
            Column(""),
            Column("Resource"),
            Column("Type"),
            Column("Owner"),
            *amounts,
            Column("Basis"),
        ),
    )
    for item in change.items():
        amount = item.amount
        resources.add(
            mark(item.kind),
            _name(item.item.urn),
            _type(item.item.type),
            escape(_owner(item.item)),
            *_amounts(amount),
            escape(item.item.basis),
        )
    resources.add("", "Total", "", "", *_amounts(change.total), "", section=True, bold=True)

    totals = Rows("Totals the change moves", (Column("By"), Column("Name"), *amounts))
    for dimension in DIMENSIONS:
        for index, (name, amount) in enumerate(change.by(dimension).items()):
            totals.add(dimension, escape(name), *_amounts(amount), section=index == 0)
    return [resources, totals, *_replaced_table(change), *_budget_table(checks)]


def _replaced_table(change: CostChange) -> list[Rows]:
    """Every resource the change replaces, priced or not: a replaced endpoint configuration is
    free, but its endpoint runs a second fleet until the swap completes."""
    if not change.replaced:
        return []
    table = Rows(
        "Resources the change replaces (a new one is created, then the old one deleted)",
        (Column(""), Column("Resource"), Column("Type"), Column("Why")),
    )
    for replaced in change.replaced.values():
        table.add(
            mark(replaced.kind),
            _name(replaced.urn),
            _type(replaced.resource.type),
            escape(replaced.why),
        )
    return [table]


def _amounts(amount: AmountChange) -> tuple[str, str, str, str]:
    return (
        _money(amount.base.monthly),
        _money(amount.new.monthly),
        _signed(amount.delta.monthly),
        _signed(amount.delta.max_monthly),
    )


def _signed(value: float) -> str:
    return ("+" if value >= CENT else "-" if value <= -CENT else "") + _money(abs(value))


_STATUS_STYLE = {Status.OVER: "bold red", Status.AT_RISK: "yellow", Status.WITHIN: "green"}


def _budget_table(checks: list[BudgetCheck]) -> list[Rows]:
    if not checks:
        return []
    budgets = Rows(
        "Budgets (at risk: within at the minimum scale, over at the maximum)",
        (
            Column("Scope"),
            Column("Subject"),
            Column("Budget", "right"),
            Column("Estimate", "right"),
            Column("At max", "right"),
            Column("Status"),
        ),
    )
    for check in checks:
        budgets.add(
            str(check.budget.scope),
            escape(check.budget.subject),
            _money(check.budget.monthly_limit),
            _money(check.estimate.monthly),
            _money(check.estimate.max_monthly),
            f"[{_STATUS_STYLE[check.status]}]{check.status}[/]",
        )
    return [budgets]


def print_report(
    estimate: Estimate,
    checks: list[BudgetCheck],
    console: Console,
    change: CostChange | None = None,
) -> None:
    show(console, *(render(estimate, checks) if change is None else render_change(change, checks)))
    if change is not None and change.unjudged:
        console.print(f"replacements not judged: {escape(change.unjudged)}", soft_wrap=True)
    for check in checks:
        if check.status is Status.OVER:
            console.print(
                f"[bold red]over budget:[/] {escape(check.message(estimate.currency))}",
                soft_wrap=not console.is_terminal,
            )
