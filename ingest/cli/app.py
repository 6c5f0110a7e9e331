"""The root Typer app, and the one place a CensusError becomes one sentence and exit code 2."""

from __future__ import annotations

import functools
import re

import typer

from ..core.errors import CensusError
from .console import console


def fail(message: str) -> None:
    """One sentence on the console and exit code 2; the message is printed as written (a file
    name or SQL with brackets is never read as Rich markup)."""
    from rich.markup import escape

    console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True, highlight=False)
    raise typer.Exit(2)


class CensusGroup(typer.core.TyperGroup):
    """The root group: every command and subgroup runs inside its ``invoke``, so a CensusError
    from any of them is turned into one sentence here."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except CensusError as error:
            fail(str(error))


app = typer.Typer(
    cls=CensusGroup,
    help=(
        "Census of large image datasets: run face, apparent age/gender, NSFW and ImageNet "
        "models over a dataset and land the rows in DuckDB (CENSUS_DB, default "
        "warehouse/census.duckdb). Then `dbt build` turns them into census tables."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # plain Click output: a usage error (a bad --device, --layout, ...) is one line on stderr,
    # like every other error of the CLI, and --help reads well in logs and pipes
    rich_markup_mode=None,
)


def group(help: str, cls: type[typer.core.TyperGroup] | None = None) -> typer.Typer:
    """A command group, shown as plainly as the root app."""
    return typer.Typer(help=help, no_args_is_help=True, rich_markup_mode=None,
                       **({"cls": cls} if cls else {}))


def _plain_list_type(display_type_rich):
    """Typer shows an argument that takes several values as `<list[Path]>`; show `<path>`, as
    every other argument and option shows its type (the name column already ends in "...")."""

    @functools.wraps(display_type_rich)
    def plain(self, ctx) -> str | None:
        label = display_type_rich(self, ctx)
        match = re.fullmatch(r"<list\[(\w+)\]>", label or "")
        return f"<{match[1].lower()}>" if match else label

    return plain


typer.core.TyperArgument.display_type_rich = _plain_list_type(typer.core.TyperArgument.display_type_rich)
