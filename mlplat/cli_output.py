"""How every `mlplat` command prints: tables that read well in a terminal of any width, and plain,
greppable text when the output is piped.

- In a terminal, a table is drawn with its box when every column fits at a word boundary; when
  it does not (80 columns and a long basis), each row becomes a record, one field per line,
  values wrapped at word boundaries. Nothing is cut or broken inside a word.
- Piped (not a terminal), a table is plain aligned columns, one line per row, no box drawing and
  no colour, as wide as its content (``kubectl get`` style): ``grep`` finds a whole row.

Commands build a ``Rows`` (title, columns, rows of rich-markup cells) and call ``show``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.status import Status
from rich.table import Table
from rich.text import Text

Justify = Literal["left", "right"]


@dataclass(frozen=True)
class Column:
    header: str
    justify: Justify = "left"


@dataclass
class Rows:
    """One table's content: cells are rich markup (styles are dropped when piped)."""

    title: str
    columns: Sequence[Column]
    rows: list[tuple[str, ...]] = field(default_factory=list)
    # Indices of rows that start a new section (a rule above them in a terminal).
    sections: set[int] = field(default_factory=set)
    bold: set[int] = field(default_factory=set)

    def add(self, *cells: str, section: bool = False, bold: bool = False) -> None:
        if section and self.rows:
            self.sections.add(len(self.rows))
        if bold:
            self.bold.add(len(self.rows))
        self.rows.append(tuple(cells))


def stdout() -> Console:
    return Console()


def stderr() -> Console:
    return Console(stderr=True)


def progress(message: str) -> Status:
    """A spinner on stderr while something slow runs (first imports, a preview); shown only in a
    terminal, so piped and CI output stay quiet."""
    return stderr().status(message)


def show(console: Console, *tables: Rows) -> None:
    for rows in tables:
        if console.is_terminal:
            _show_in_terminal(console, rows)
        else:
            _show_plain(console, rows)


def _table(rows: Rows, *, plain: bool) -> Table:
    table = Table(
        title=rows.title,
        title_justify="left",
        box=None if plain else box.SQUARE,
        show_edge=not plain,
        pad_edge=not plain,
        padding=(0, 2, 0, 0) if plain else (0, 1),
    )
    for column in rows.columns:
        # Words are never folded: a cell wraps at spaces only, or (piped) not at all.
        table.add_column(column.header, justify=column.justify, overflow="ellipsis", no_wrap=plain)
    for index, cells in enumerate(rows.rows):
        if index in rows.sections and not plain:
            table.add_section()
        table.add_row(*cells, style="bold" if index in rows.bold else None)
    return table


def _measure(console: Console, table: Table) -> Measurement:
    return Measurement.get(console, console.options.update_width(100_000), table)


def _show_plain(console: Console, rows: Rows) -> None:
    table = _table(rows, plain=True)
    width = _measure(console, table).maximum
    # A console as wide as the table: rows are never wrapped or cut (print(width=) only narrows).
    wide = Console(width=max(width, 20), color_system=None, highlight=False)
    with wide.capture() as captured:
        wide.print(table)
    text = "\n".join(line.rstrip() for line in captured.get().splitlines())
    console.file.write(text + "\n\n")


def _show_in_terminal(console: Console, rows: Rows) -> None:
    table = _table(rows, plain=False)
    # Measured unconstrained: the narrowest width at which no word of any cell is cut.
    if _measure(console, table).minimum <= console.width:
        console.print(table)
        return
    console.print(f"[bold]{rows.title}[/bold]")
    for cells in rows.rows:
        console.print(_record(rows.columns, cells))


def _record(columns: Sequence[Column], cells: Iterable[str]) -> Table:
    """One row as "header  value" lines, the first cell as the record's heading."""
    pairs = [(c.header, cell) for c, cell in zip(columns, cells, strict=True) if cell.strip()]
    grid = Table.grid(padding=(0, 2), pad_edge=True)
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column(overflow="fold")
    for header, cell in pairs:
        grid.add_row(header or " ", Text.from_markup(cell))
    grid.add_row("", "")
    return grid
