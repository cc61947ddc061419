"""Guardrail rules, one module per service.

Every pulumi_policy `Policy` defined at module level here is part of the pack (see
policies/registry.py): to add rules, add a module (for example cost estimates against budgets) and
declare them with `policies.framework.resource_rule` / `stack_rule`.
"""
