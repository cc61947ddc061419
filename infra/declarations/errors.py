"""One error type for every problem in a stack declaration, each with its field's dotted path."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from pydantic import ValidationError


@dataclass(frozen=True, order=True)
class Problem:
    """``path`` is the field's full dotted path (``models[3].scaling.max_instances``): stable, for
    programs. ``subject`` names the thing for a reader (``model 'x' (model_packages/x/...)``), and
    ``field`` is the path within it; a message shows those when set, not a position in a list."""

    path: str
    message: str
    subject: str = ""
    field: str = ""

    def __str__(self) -> str:
        if self.subject:
            return ": ".join(part for part in (self.subject, self.field, self.message) if part)
        return f"{self.path}: {self.message}" if self.path else self.message


class SpecError(ValueError):
    """A stack declaration is invalid (bad input: a ValueError); ``problems`` lists every reason."""

    def __init__(self, problems: Iterable[Problem], source: str = "") -> None:
        self.problems: list[Problem] = list(problems)
        self.source = source
        super().__init__(self.render())

    def render(self) -> str:
        where = f" in {self.source}" if self.source else ""
        lines = [f"{len(self.problems)} problem(s){where}:"]
        lines += [f"  - {problem}" for problem in self.problems]
        return "\n".join(lines)


def dotted_path(location: Sequence[str | int], prefix: str = "") -> str:
    """``("models", 3, "scaling", "max_instances")`` -> ``models[3].scaling.max_instances``."""
    path = prefix
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def problems_from(error: ValidationError, prefix: str = "") -> list[Problem]:
    problems = []
    for item in error.errors():
        # pydantic adds the validator kind ("function-after", a union tag) to the location.
        location = [part for part in item["loc"] if not str(part).startswith("function-")]
        message = item["msg"].removeprefix("Value error, ")
        problems.append(Problem(dotted_path(location, prefix), message))
    return problems


def raising(check: Callable[[str], str | None]) -> Callable[[str], str]:
    """A field validator from a problem check (None when the value is fine): the same check
    serves the rules that report problems and the fields that refuse a value."""

    def validate(value: str) -> str:
        problem = check(value)
        if problem:
            raise ValueError(problem)
        return value

    return validate
