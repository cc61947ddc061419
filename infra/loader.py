"""Turns a stack file and its Pulumi config into one validated ``EnvironmentSpec``.

This is the one place untyped input is parsed. Every problem is collected and raised together as a
``SpecError`` before the program registers any resource, each naming the model, team or setting
it is about and the file it is written in.
"""

from __future__ import annotations
import __future__

import difflib
import importlib
import json
import traceback
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from infra.declarations import EnvironmentSettings, EnvironmentSpec, ModelDeclaration, Team
from infra.declarations.batch import batch_problems
from infra.declarations.environment import ClusterSettings, ServingSettings
from infra.declarations.errors import Problem, SpecError, problems_from
from infra.declarations.events import events_problems
from infra.declarations.lifecycle import lifecycle_problems
from infra.declarations.model import (
    Declaration,
    ModelOverride,
    collecting_declarations,
    written_outside,
)
from infra.declarations.routes import route_issuer_problems
from infra.declarations.rules import (
    model_problems,
    production_problems,
    settings_problems,
    stack_problems,
)
from infra.declarations.scheduling import allocatable, scheduling_problems
from infra.declarations.streaming import StreamingSettings, streaming_problems
from infra.project import PROJECT_ROOT

CONFIG_NAMESPACE = "mlplat"

# What a stack file may define at top level (besides imports, and helpers named with a leading _).
# ``serves_no_models = True`` is the named opt-in for a stack that stops serving every model its
# placement lock holds: without it, an empty (or misspelt) models list is an error, since `up`
# would delete them all.
STACK_FILE_NAMES = ("teams", "models", "serves_no_models")


def stack_config_path(stack: str) -> Path:
    return PROJECT_ROOT / f"Pulumi.{stack}.yaml"


def read_stack_config(stack: str) -> dict[str, str]:
    """``Pulumi.<stack>.yaml``'s config as the engine hands it over: object values as JSON text."""
    path = stack_config_path(stack)
    if not path.exists():
        raise SpecError([Problem("", f"no stack configuration {path.name}")], source=str(path))
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise SpecError([_yaml_problem(path.name, error)], source=path.name) from None
    config = document.get("config") if isinstance(document, dict) else None
    if not isinstance(config or {}, dict):
        raise SpecError(
            [Problem("config", f"{path.name}: `config:` must be a mapping of key: value")],
            source=path.name,
        )
    return {
        key: value if isinstance(value, str) else json.dumps(value)
        for key, value in (config or {}).items()
    }


def _yaml_problem(name: str, error: yaml.YAMLError) -> Problem:
    """``Pulumi.dev.yaml:5: not valid YAML (expected ',' or ']', but got ':'; while parsing a
    flow sequence started at line 4)``: where the parser stopped, and what it was reading."""
    mark, context = getattr(error, "problem_mark", None), getattr(error, "context_mark", None)
    line = f":{mark.line + 1}" if mark is not None else ""
    reason = getattr(error, "problem", None) or str(error)
    if context is not None and getattr(error, "context", None):
        reason += f"; {error.context} started at line {context.line + 1}"
    return Problem("", f"{name}{line}: not valid YAML ({reason}); fix the syntax there")


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
    problems: list[Problem] = []
    stack_file = _import_stack_file(stack, problems)
    if stack_file is None:  # still validate the config: every problem at once
        return parse_environment(stack, teams=None, models=None, config=config, problems=problems)
    problems += _stack_file_problems(stack, stack_file)
    models = list(getattr(stack_file, "models", ()))
    serves_no_models = bool(getattr(stack_file, "serves_no_models", False))
    if not models and not serves_no_models:
        problems += _emptied_problems(stack)
    return parse_environment(
        stack,
        teams=list(getattr(stack_file, "teams", ())),
        models=models,
        config=config,
        problems=problems,
        serves_no_models=serves_no_models,
    )


def parse_environment(
    stack: str,
    *,
    teams: list[Any] | None,
    models: list[Any] | None,
    config: Mapping[str, str],
    problems: list[Problem] | None = None,
    serves_no_models: bool = False,
) -> EnvironmentSpec:
    """Teams and models (declarations, overrides or plain dicts) plus config, as one valid spec.
    ``None`` for teams and models: the stack file could not be read (its problem is in
    ``problems``), so only the config is checked."""
    problems = list(problems or ())
    if stack not in {"dev", "staging", "prod"}:
        problems.append(
            Problem("stack", f"unknown environment {stack!r}; use dev, staging or prod")
        )

    data = settings_data(config)
    settings = _parse(EnvironmentSettings, data, "config", problems)
    # `region` comes from the provider's key, `aws:region`: name the key the user writes.
    problems[:] = [
        Problem("config.aws:region", p.message) if p.path == "config.region" else p
        for p in problems
    ]
    if settings is not None:
        problems += settings_problems(settings)
        if stack == "prod":
            problems += production_problems(settings)
    # Models are checked against these sections even when another section is invalid.
    serving = settings.serving if settings else _section(ServingSettings, data.get("serving"))
    cluster = settings.cluster if settings else _section(ClusterSettings, data.get("cluster"))

    subjects: dict[str, str] = {}
    parsed_teams: list[Team | None] = []
    for index, item in enumerate(teams or ()):
        subjects[f"teams[{index}]"] = _subject("team", item, index, stack)
        parsed_teams.append(_parse(Team, _as_data(item), f"teams[{index}]", problems))
    parsed_models: list[ModelDeclaration | None] = []
    for index, item in enumerate(models or ()):
        subjects[f"models[{index}]"] = _subject("model", item, index, stack)
        parsed_models.append(_parse(ModelDeclaration, _as_data(item), f"models[{index}]", problems))
    for index, model in enumerate(parsed_models):
        if model is not None:
            region = settings.region if settings else None
            problems += model_problems(model, f"models[{index}]", serving, region)
            problems += lifecycle_problems(model, f"models[{index}]", stack == "prod", settings)
            problems += events_problems(model, f"models[{index}]", settings)
            problems += batch_problems(
                model.batch, f"models[{index}]", spot_nodes=_spot_pods(cluster)
            )
    invalid_teams = [
        _written_name(item)
        for item, team in zip(teams or (), parsed_teams, strict=True)
        if team is None
    ]
    if settings is not None:
        problems += streaming_problems(
            settings.streaming, settings.network.availability_zones, len(teams or ())
        )
        problems += route_issuer_problems(settings.routes, len(teams or ()), "teams")
    problems += stack_problems(parsed_teams, parsed_models, filter(None, invalid_teams))
    # Whether pods run the events gateway, even when another section is invalid.
    streaming = (
        settings.streaming if settings else _section(StreamingSettings, data.get("streaming"))
    )
    kafka = streaming is not None and streaming.enabled
    problems += scheduling_problems(parsed_models, parsed_teams, cluster, kafka)
    if teams is not None and not teams:
        problems.append(Problem("teams", f"stacks/{stack}.py: a stack needs at least one team"))

    if problems:
        raise SpecError(
            [_named(problem, subjects) for problem in problems],
            source=f"stacks/{stack}.py + Pulumi.{stack}.yaml",
        )
    return EnvironmentSpec(
        name=stack,
        settings=settings,
        teams=tuple(parsed_teams),
        models=tuple(parsed_models),
        serves_no_models=serves_no_models,
    )


def _spot_pods(cluster: ClusterSettings | None) -> list | None:
    """(vCPU, MiB) pods may use on each spot node type: where batch executors run."""
    if cluster is None:
        return None
    nodes = filter(None, map(allocatable, cluster.spot_nodes.instance_types))
    return [(node.cpu, node.memory_mb) for node in nodes]


# --- the stack file ---------------------------------------------------------------------------


def _import_stack_file(stack: str, problems: list[Problem]) -> ModuleType | None:
    """The stack module, or None with the reason in ``problems`` (file and line, no traceback).
    Declarations built while it is imported collect their problems instead of raising."""
    try:
        with collecting_declarations():
            return importlib.import_module(f"stacks.{stack}")
    except ModuleNotFoundError as error:
        if error.name == f"stacks.{stack}":
            raise SpecError(
                [Problem("stack", f"no stack file stacks/{stack}.py")], source="stacks/"
            ) from None
        problems.append(_code_problem(stack, error, "import it from where it is defined"))
    except SyntaxError as error:
        where = f"{_relative(error.filename)}:{error.lineno}" if error.filename else "?"
        problems.append(
            Problem("stack", f"invalid Python: {error.msg}; fix the syntax", subject=where)
        )
    except Exception as error:  # the user's code failed (NameError, TypeError, ...)
        problems.append(_code_problem(stack, error, _hint(error)))
    return None


def _hint(error: Exception) -> str:
    if isinstance(error, NameError):
        return f"define or import {error.name!r}" if error.name else "define or import it"
    if isinstance(error, ValidationError):
        return "fix the declaration's fields"
    if isinstance(error, TypeError):
        return "check the call's arguments (declarations take keyword arguments only)"
    return "fix the code there"


def _code_problem(stack: str, error: Exception, hint: str) -> Problem:
    """Points at the deepest line of the project's own code in the error's traceback."""
    frames = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if _is_project_file(frame.filename)
    ]
    where = (
        f"{_relative(frames[-1].filename)}:{frames[-1].lineno}" if frames else f"stacks/{stack}.py"
    )
    message = str(error).splitlines()[0] if str(error) else ""
    return Problem("stack", f"{type(error).__name__}: {message}; {hint}", subject=where)


def _stack_file_problems(stack: str, module: ModuleType) -> list[Problem]:
    """A top-level name a stack file does not define is a misspelling (``modles = [...]``)."""
    problems = []
    for name, value in vars(module).items():
        if name.startswith("_") or name in STACK_FILE_NAMES or _is_import(value):
            continue
        close = difflib.get_close_matches(name, STACK_FILE_NAMES, n=1)
        suggestion = f"did you mean {close[0]!r}? " if close else ""
        problems.append(
            Problem(
                "stack",
                f"unknown top-level name {name!r}: {suggestion}a stack file defines "
                f"{', '.join(STACK_FILE_NAMES)} (name helpers with a leading '_')",
                subject=f"stacks/{stack}.py",
            )
        )
    return problems


def _is_import(value: Any) -> bool:
    """Modules, classes, functions, declarations and `from __future__` features."""
    return callable(value) or isinstance(
        value, ModuleType | type | Declaration | ModelOverride | __future__._Feature
    )


def _emptied_problems(stack: str) -> list[Problem]:
    from components.serving.placement import read_placement_lock  # the lock's one reader

    placed = dict(read_placement_lock(stack).models)
    if not placed:
        return []
    return [_emptied_problem(stack, f"stacks/{stack}.placement.json places", placed)]


def refuse_emptying(
    spec: EnvironmentSpec, deployed: Iterable[str], where: str, team: str | None = None
) -> None:
    """A stack that declares no models while ``where`` (a base export, the live stack) has
    resources of some ``deployed`` models is a SpecError, unless it opts in: `up` would delete
    them. The placement lock is checked at load; this covers models the lock never held (EKS).
    ``team``: the stack is that team's serving layer, which serves only the team's models."""
    deployed = sorted(set(deployed))
    declared = [model for model in spec.models if team is None or model.team == team]
    if deployed and not declared and not spec.serves_no_models:
        stack = spec.name.value
        raise SpecError(
            [_emptied_problem(stack, f"{where} has resources of", deployed, team)],
            source=f"stacks/{stack}.py",
        )


def _emptied_problem(
    stack: str, holder: str, models: Iterable[str], team: str | None = None
) -> Problem:
    models = sorted(models)
    of_team = f" of team '{team}'" if team else ""
    return Problem(
        "models",
        f"declares no models{of_team}, but {holder} {len(models)} ({', '.join(models)}): "
        "`up` would delete them. Check the spelling of `models = [...]`; to really serve none, set "
        "`serves_no_models = True`",
        subject=f"stacks/{stack}.py",
    )


# --- naming things, not positions -------------------------------------------------------------


def _subject(kind: str, item: Any, index: int, stack: str) -> str:
    """``model 'x' (model_packages/x/__init__.py:5)``: what a reader looks for, and where."""
    if isinstance(item, ModelOverride):
        name, origin = _written_name(item.base), item.base.origin
        if item.origin:
            origin = f"{origin}, overridden at {item.origin}" if origin else item.origin
    else:
        name, origin = _written_name(item), getattr(item, "origin", None)
    label = (
        f"{kind} {name!r}" if isinstance(name, str) else f"{kind}s[{index}] of stacks/{stack}.py"
    )
    return f"{label} ({origin})" if origin else label


def _written_name(item: Any) -> Any:
    if isinstance(item, Declaration):
        return item.__dict__.get("name")
    return item.get("name") if isinstance(item, Mapping) else None


def _named(problem: Problem, subjects: Mapping[str, str]) -> Problem:
    if problem.subject:
        return problem
    head, _, rest = problem.path.partition(".")
    subject = subjects.get(head)
    if subject is None:
        return problem
    return Problem(problem.path, problem.message, subject=subject, field=rest)


def _as_data(item: Any) -> Any:
    if isinstance(item, ModelOverride):
        return item.as_data()
    if isinstance(item, Declaration):
        return item.as_input()
    if isinstance(item, BaseModel):
        return item.model_dump(mode="python")
    return item


def _section(kind: type[BaseModel], data: Any) -> Any:
    """A config section on its own (its problems are already reported with the whole)."""
    try:
        return kind.model_validate(data or {})
    except ValidationError:
        return None


def _parse(kind: type[BaseModel], data: Any, path: str, problems: list[Problem]):
    try:
        return kind.model_validate(data)
    except ValidationError as error:
        problems += problems_from(error, prefix=path)
        return None


def _is_project_file(filename: str) -> bool:
    """The user's own code: not the interpreter's or a library's, not this loader's package."""
    if filename.startswith("<"):  # frozen importlib
        return False
    return written_outside(filename, Path(__file__).resolve().parent)


def _relative(filename: str) -> str:
    path = Path(filename).resolve()
    return str(path.relative_to(PROJECT_ROOT)) if path.is_relative_to(PROJECT_ROOT) else filename
