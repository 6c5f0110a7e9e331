"""The commands that read the census marts: `ingest card`, `report` and `summary`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .console import console, out, out_folder
from .options import BuildOption, DbOption, ScopeAnnotatorOption, ScopeDatasetOption


def prepare_marts(db: Path | None, build: bool) -> None:
    """--build: dbt build first; otherwise one sentence on stderr where the marts are stale."""
    from ..outputs.freshness import build as dbt_build
    from ..outputs.freshness import check

    if build:
        dbt_build(db)
        return
    stale = check(db)
    if stale:
        console.print(f"stale: {stale}", soft_wrap=True, highlight=False, markup=False)


#: the file `ingest card --out DIR` writes
CARD_FILE = "audit_card.md"


def card(
    output: Annotated[Path | None, typer.Option(
        "--out", help=f"Folder to write {CARD_FILE} into (created; default: print the card).")] = None,
    top: Annotated[int, typer.Option(min=1, help="Rows per ranked section.")] = 5,
    dataset: ScopeDatasetOption = None,
    annotator: ScopeAnnotatorOption = None,
    build: BuildOption = False,
    db: DbOption = None,
) -> None:
    """Write a dataset audit card (Markdown) from the census marts: coverage, humans, NSFW
    shortlist, apparent minors, annotator agreement, the human-delta test, for one dataset.
    Run dbt build first (or add --build)."""
    from ..outputs.card import build_card

    if output is not None:
        out_folder(output, CARD_FILE)
    if build:
        prepare_marts(db, build)
    text = build_card(db, top, dataset=dataset, annotator=annotator)
    if output is None:
        out.print(text, soft_wrap=True, markup=False, highlight=False)
    else:
        output.mkdir(parents=True, exist_ok=True)
        path = output / CARD_FILE
        tmp = path.with_name(f".{CARD_FILE}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        prepare_marts(db, build=False)
        out.print(f"Audit card written to {path}", markup=False, highlight=False, soft_wrap=True)


def report(
    output: Annotated[Path, typer.Option("--out", help="Folder to write report.html into (created).")] = Path(
        "warehouse/report"),
    dataset: ScopeDatasetOption = None,
    annotator: ScopeAnnotatorOption = None,
    build: BuildOption = False,
    db: DbOption = None,
) -> None:
    """Write the audit report of one dataset: one self-contained HTML file (charts and their
    JavaScript inlined, opens from disk with no network) built from the census marts only. Run
    dbt build first (or add --build); sections whose mart is missing or empty say "no data"."""
    from ..outputs.report import REPORT_FILE, write_report

    out_folder(output, REPORT_FILE)
    prepare_marts(db, build)
    path = write_report(output, db, dataset=dataset, annotator=annotator)
    out.print(f"Report written to {path}", markup=False, highlight=False, soft_wrap=True)


def summary(
    dataset: ScopeDatasetOption = None,
    annotator: ScopeAnnotatorOption = None,
    build: BuildOption = False,
    db: DbOption = None,
) -> None:
    """Print a short census summary: raw row counts, then per-annotator coverage, top classes and
    shares of one dataset. Stale marts are named in one sentence; --build runs dbt build first."""
    from ..outputs.summary import print_summary

    if build:
        prepare_marts(db, build)
    print_summary(out, db, dataset=dataset, annotator=annotator)
