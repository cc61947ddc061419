"""The pack's rules: every Policy defined at module level in policies/rules/*."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from pulumi_policy import Policy

import policies.rules


@cache
def all_policies() -> tuple[Policy, ...]:
    """Rules in a stable order (module name, then definition order); names are unique."""
    found: list[Policy] = []
    for info in sorted(pkgutil.iter_modules(policies.rules.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{policies.rules.__name__}.{info.name}")
        found.extend(v for v in vars(module).values() if isinstance(v, Policy))
    names = [p.name for p in found]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"policy names must be unique; repeated: {duplicates}")
    return tuple(found)


def policy_named(name: str) -> Policy:
    for policy in all_policies():
        if policy.name == name:
            return policy
    raise KeyError(f"no policy named {name!r}")
