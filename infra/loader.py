"""Turns a stack file and its Pulumi config into one validated ``EnvironmentSpec``.

This is the one place untyped input is parsed. Every problem is collected and raised together as a
``SpecError`` before the program registers any resource.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from infra.declarations import EnvironmentSettings, EnvironmentSpec, ModelDeclaration, Team
from infra.declarations.errors import Problem, SpecError, problems_from
from infra.declarations.model import ModelOverride
from infra.declarations.rules import (
    model_problems,
    production_problems,
    settings_problems,
    stack_problems,
)
from infra.project import PROJECT_ROOT

CONFIG_NAMESPACE = "mlplat"


def stack_config_path(stack: str) -> Path:
    return PROJECT_ROOT / f"Pulumi.{stack}.yaml"


def read_stack_config(stack: str) -> dict[str, str]:
    """``Pulumi.<stack>.yaml``'s config as the engine hands it over: object values as JSON text."""
    path = stack_config_path(stack)
    if not path.exists():
        raise SpecError([Problem("", f"no stack configuration {path.name}")], source=str(path))
    document = yaml.safe_load(path.read_text()) or {}
    return {
        key: value if isinstance(value, str) else json.dumps(value)
        for key, value in (document.get("config") or {}).items()
    }


def settings_data(config: Mapping[str, str]) -> dict[str, Any]:
    """The ``mlplat:`` namespace as a dict (JSON values decoded), with ``aws:region`` as region."""
    data: dict[str, Any] = {}
    for key, raw in config.items():
        namespace, _, name = key.partition(":")
        if namespace == "aws" and name == "region":
            data["region"] = raw
        elif namespace == CONFIG_NAMESPACE:
            data[name] = _decode(raw)
    return data


def _decode(raw: str) -> Any:
    if raw[:1] in "[{":
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw
    return raw


def load_environment(stack: str, config: Mapping[str, str]) -> EnvironmentSpec:
    """Validate ``stacks/<stack>.py`` with its config; raise ``SpecError`` listing every problem."""
    stack_file = _import_stack_file(stack)
    return parse_environment(
        stack,
        teams=list(getattr(stack_file, "teams", ())),
        models=list(getattr(stack_file, "models", ())),
        config=config,
    )


def parse_environment(
    stack: str, *, teams: list[Any], models: list[Any], config: Mapping[str, str]
) -> EnvironmentSpec:
    """Teams and models (declarations, overrides or plain dicts) plus config, as one valid spec."""
    problems: list[Problem] = []
    if stack not in {"dev", "staging", "prod"}:
        problems.append(
            Problem("stack", f"unknown environment {stack!r}; use dev, staging or prod")
        )

    settings = _parse(EnvironmentSettings, settings_data(config), "config", problems)
    # `region` comes from the provider's key, `aws:region`: name the key the user writes.
    problems[:] = [
        Problem("config.aws:region", p.message) if p.path == "config.region" else p
        for p in problems
    ]
    if settings is not None:
        problems += settings_problems(settings)
        if stack == "prod":
            problems += production_problems(settings)

    parsed_teams = [
        _parse(Team, _as_data(item), f"teams[{i}]", problems) for i, item in enumerate(teams)
    ]
    parsed_models = [
        _parse(ModelDeclaration, _as_data(item), f"models[{i}]", problems)
        for i, item in enumerate(models)
    ]
    for index, model in enumerate(parsed_models):
        if model is not None:
            problems += model_problems(model, f"models[{index}]")
    problems += stack_problems(parsed_teams, parsed_models)
    if not teams:
        problems.append(Problem("teams", "a stack needs at least one team"))

    if problems:
        raise SpecError(problems, source=f"stacks/{stack}.py + Pulumi.{stack}.yaml")
    return EnvironmentSpec(
        name=stack, settings=settings, teams=tuple(parsed_teams), models=tuple(parsed_models)
    )


def _import_stack_file(stack: str):
    try:
        return importlib.import_module(f"stacks.{stack}")
    except ModuleNotFoundError as error:
        if error.name == f"stacks.{stack}":
            raise SpecError(
                [Problem("stack", f"no stack file stacks/{stack}.py")], source="stacks/"
            ) from None
        raise
    except ValidationError as error:
        # A declaration in a model package (imported by the stack file) is itself invalid.
        raise SpecError(
            problems_from(error, prefix=error.title), source=f"stacks/{stack}.py"
        ) from None


def _as_data(item: Any) -> Any:
    if isinstance(item, ModelOverride):
        return item.as_data()
    if isinstance(item, BaseModel):
        return item.model_dump(mode="python")
    return item


def _parse(kind: type[BaseModel], data: Any, path: str, problems: list[Problem]):
    try:
        return kind.model_validate(data)
    except ValidationError as error:
        problems += problems_from(error, prefix=path)
        return None
