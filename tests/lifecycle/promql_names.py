"""The metric names a PromQL expression selects, read from its syntax tree (promql-parser)."""

from __future__ import annotations

import promql_parser


def selected_metrics(expr: str) -> set[str]:
    """Every ``name`` of a vector selector in ``expr`` (Grafana's ``$__rate_interval`` and
    ``$var`` placeholders are replaced by values PromQL parses)."""
    for placeholder, value in (("$__rate_interval", "5m"), ("$__interval", "1m")):
        expr = expr.replace(placeholder, value)
    return set(_walk(promql_parser.parse(expr)))


def _walk(node):
    if isinstance(node, promql_parser.VectorSelector):
        if node.name:
            yield node.name
        return
    for child in _children(node):
        yield from _walk(child)


def _children(node):
    if isinstance(node, promql_parser.BinaryExpr):
        return [node.lhs, node.rhs]
    if isinstance(node, promql_parser.MatrixSelector):
        return [node.vector_selector]
    if isinstance(node, promql_parser.Call):
        return list(node.args)
    if isinstance(node, promql_parser.AggregateExpr):
        return [node.expr] + ([node.param] if node.param is not None else [])
    if isinstance(
        node, (promql_parser.ParenExpr, promql_parser.SubqueryExpr, promql_parser.UnaryExpr)
    ):
        return [node.expr]
    if isinstance(node, (promql_parser.NumberLiteral, promql_parser.StringLiteral)):
        return []
    raise TypeError(f"unknown PromQL node {type(node).__name__}")
