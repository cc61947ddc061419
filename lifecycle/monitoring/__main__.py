"""``python -m lifecycle.monitoring --stack <env> --out DIR``: write the stack's AMP rules files,
one ``<namespace>.yaml`` per rule groups namespace (what ``promtool check rules`` reads)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from infra.declarations import SpecError
from infra.loader import load_environment, read_stack_config
from lifecycle.monitoring.amp_namespaces import RuleNamespace, pack, quota_problems
from lifecycle.monitoring.prometheus_rules import rule_groups


def stack_namespaces(stack: str) -> list[RuleNamespace]:
    """The rule groups namespaces for every EKS model the stack declares."""
    spec = load_environment(stack, read_stack_config(stack))
    return pack(stack, rule_groups(spec.models))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lifecycle.monitoring")
    parser.add_argument("--stack", "-s", required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        namespaces = stack_namespaces(args.stack)
    except SpecError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    problems = quota_problems(namespaces)
    if problems:
        print(f"error: stacks/{args.stack}.py: " + "; ".join(problems), file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    for namespace in namespaces:
        (args.out / f"{namespace.name}.yaml").write_text(namespace.data)
        print(f"{namespace.name}: {namespace.rule_count} rules")
    return 0


if __name__ == "__main__":
    sys.exit(main())
