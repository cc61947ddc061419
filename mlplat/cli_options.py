"""The conventions every `mlplat` command shares: its options and how it reports an error.

- ``--stack/-s`` names a stack everywhere, with no default (a command never guesses which
  environment it touches); an unknown name is refused with the list of stacks that exist.
- Commands that read a stack or an export take exactly one of ``--stack`` and ``--file``.
- Every error is one ``error: <message>`` on stderr, exit 2 for bad input; help is plain text
  wrapped at word boundaries, and imports nothing heavy (commands import their SDKs when run).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

try:  # typer vendors click since 0.2x: its usage errors are not the click package's
    from typer._click.exceptions import ClickException, NoArgsIsHelpError
except ImportError:  # pragma: no cover - an older typer on the real click
    from click.exceptions import ClickException, NoArgsIsHelpError

from infra.layers import environment_of
from infra.project import PROJECT_ROOT

STACK_HELP = (
    "The stack (environment) to use: {stacks}; or one layer of it, <env>.platform or "
    "<env>.serving.<team>, or <env>.* for all its layers."
)


def known_stacks() -> list[str]:
    """The stacks with a configuration file, ``Pulumi.<stack>.yaml``."""
    return sorted({path.name.split(".")[1] for path in PROJECT_ROOT.glob("Pulumi.*.yaml")})


def _known_stack(value: str | None) -> str | None:
    # A layer of an environment (dev.platform, dev.serving.<team>, dev.*) reads that environment's
    # files; its name itself is checked when the program runs.
    if value is not None and environment_of(value) not in known_stacks():
        raise typer.BadParameter(
            f"unknown stack {value!r} (no Pulumi.{value}.yaml); "
            f"the stacks are {', '.join(known_stacks())}"
        )
    return value


def stack_option() -> Any:
    return typer.Option(
        "--stack",
        "-s",
        help=STACK_HELP.format(stacks=", ".join(known_stacks()) or "none yet"),
        callback=_known_stack,
        show_default=False,
    )


StackOption = Annotated[str, stack_option()]
# For commands that read either a stack or an export file (exactly one of them).
OptionalStackOption = Annotated[str | None, stack_option()]


def existing_file(help: str) -> Any:
    """An option naming a file that must exist (typer refuses a missing one with exit 2)."""
    return typer.Option(help=help, exists=True, dir_okay=False)


def json_option(what: str) -> Any:
    return typer.Option("--json", help=f"Print {what} as JSON instead of a table.")


def stack_or_file(stack: str | None, file: Path | None) -> None:
    if (stack is None) == (file is None):
        raise typer.BadParameter("give exactly one of --stack or --file")


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``error: <message>`` on stderr and return the exit to raise (2: bad input)."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


class Group(TyperGroup):
    """The root command: usage errors printed as ``error: ...`` like every other error."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except ClickException as error:
            if not standalone_mode:
                raise
            if isinstance(error, NoArgsIsHelpError):  # `mlplat models`: the group's help
                typer.echo(error.format_message(), err=True)
                sys.exit(error.exit_code)
            context = getattr(error, "ctx", None)
            typer.echo(f"error: {error.format_message()}", err=True)
            if context is not None:
                typer.echo(f"(see '{context.command_path} --help')", err=True)
            sys.exit(error.exit_code)
        except typer.Abort:
            if not standalone_mode:
                raise
            typer.echo("error: aborted", err=True)
            sys.exit(1)
        if standalone_mode:
            sys.exit(result if isinstance(result, int) else 0)
        return result


def typer_app(help: str) -> typer.Typer:
    """A command group with the shared conventions: plain help, no pretty tracebacks."""
    return typer.Typer(
        help=help,
        no_args_is_help=True,
        rich_markup_mode=None,
        pretty_exceptions_enable=False,
        cls=Group,
    )
