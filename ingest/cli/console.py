"""Where the commands print: results on stdout, notes and errors on stderr, and the shared
shapes of what they print (a measure table, the --out folder check)."""

from __future__ import annotations

import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from ..core.errors import CensusError

console = Console(stderr=True)
# Logs and pipes get 120 columns rather than Rich's default 80, so tables stay readable.
out = Console() if sys.stdout.isatty() else Console(width=120)

#: endings of file names: an --out that ends so names a file, not the folder --out takes
FILE_SUFFIXES = frozenset({".md", ".html", ".htm", ".csv", ".tsv", ".parquet", ".pq", ".json", ".jsonld", ".txt"})


def notice(message: str) -> None:
    console.print(f"[yellow]note:[/] {message}", soft_wrap=True, highlight=False)


def measure_table(title: str, rows: list[tuple[str, str]]) -> Table:
    table = Table(title=title)
    table.add_column("measure")
    table.add_column("value", justify="right")
    for row in rows:
        table.add_row(*row)
    return table


def out_folder(output: Path, writes: str) -> None:
    """Every --out names a folder the command writes fixed file names into; a file name is
    refused in one sentence (saying what would be written) rather than guessed at."""
    if output.exists() and not output.is_dir():
        raise CensusError(f"--out {output} is a file: --out takes a folder (created if missing) and writes "
                          f"{writes} into it.")
    if output.suffix.lower() in FILE_SUFFIXES and not output.is_dir():
        raise CensusError(f"--out takes a folder and writes {writes} into it, but {output} looks like a file name: "
                          f"name the folder, e.g. --out {output.parent}.")
