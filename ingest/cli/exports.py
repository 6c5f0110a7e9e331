"""`ingest export`: the census marts, the blocklist, a face-blurred copy, a Croissant description."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from .app import group
from .console import console, measure_table, notice, out, out_folder
from .marts import prepare_marts
from .options import BuildOption, DbOption, ScopeAnnotatorOption, ScopeDatasetOption


class ExportFormat(StrEnum):
    parquet = "parquet"
    csv = "csv"


class _ExportGroup(typer.core.TyperGroup):
    """`ingest export` is a group only. An option straight after it (the marts' export was once
    `ingest export --out DIR`) gets one sentence naming `ingest export marts`, not "No such option"."""

    def parse_args(self, ctx, args: list[str]) -> list[str]:
        if args and args[0].startswith("-") and args[0] not in ctx.help_option_names:
            ctx.fail("`ingest export` takes a subcommand first: `ingest export marts --out DIR` exports the census "
                     "marts (the others: `ingest export --help`).")
        return super().parse_args(ctx, args)


# `ingest export marts` (the census marts), `blocklist` and `blurred` (the review's remediation
# exports) and `croissant` (the dataset's description): every one writes into --out DIR.
export_app = group(cls=_ExportGroup, help=(
    "Export the census: the marts as files, the reviewers' blocklist, a face-blurred copy of the dataset, "
    "a Croissant description. Each writes into the folder --out DIR."))


@export_app.command("marts")
def export_marts_command(
    output: Annotated[Path, typer.Option(
        "--out", help="Folder for one file per mart (<mart>.parquet or <mart>.csv) and README.md (created).")
    ] = Path("warehouse/export"),
    fmt: Annotated[ExportFormat, typer.Option("--format", help="File format of each mart.")] = ExportFormat.parquet,
    with_image_rows: Annotated[bool, typer.Option(
        "--with-image-rows", help="Also export the marts with one row per image or face (review lists).")] = False,
    dataset: ScopeDatasetOption = None,
    annotator: ScopeAnnotatorOption = None,
    build: BuildOption = False,
    db: DbOption = None,
) -> None:
    """Export every census mart as one file (the paper's meta-datasets), with a README listing
    each mart's columns and their definitions from the dbt docs. Marts only: no raw rows, no
    face crops, no embeddings of faces; marts with one row per image or face (the review work
    lists, naming photos and reviewers) only with --with-image-rows."""
    from ..outputs.export import export_marts

    out_folder(output, f"one <mart>.{fmt.value} per mart and README.md")
    prepare_marts(db, build)
    written = export_marts(output, fmt.value, db, image_rows=with_image_rows, dataset=dataset, annotator=annotator)
    out.print(f"Exported {len(written)} marts to {output} (README.md lists their columns).",
              markup=False, highlight=False, soft_wrap=True)


#: the files `ingest export blocklist --out DIR` writes (as ingest.outputs.exports.blocklist names them)
BLOCKLIST_FILES = ("blocklist.csv", "blocklist.parquet")


@export_app.command("blocklist")
def export_blocklist(
    output: Annotated[Path, typer.Option(
        "--out", help=f"Folder to write {' and '.join(BLOCKLIST_FILES)} into (created).")
    ] = Path("warehouse/blocklist"),
    dataset: Annotated[str | None, typer.Option(help="Only this dataset (default: all).")] = None,
    db: DbOption = None,
) -> None:
    """Images whose flags reviewers confirmed (confirmed_flags): dataset, rel_path, image_id,
    reason (nsfw:<category> or apparent_minor) and evidence (model scores and the review
    consensus, as JSON), as CSV and Parquet."""
    from ..outputs.exports.blocklist import export_blocklist as write

    out_folder(output, " and ".join(BLOCKLIST_FILES))
    result = write(output, dataset=dataset, db=db)
    out.print(f"Blocklist: {result['rows']:,} rows for {result['images']:,} images in {result['csv']} and "
              f"{result['parquet']}.", markup=False, highlight=False)


@export_app.command("blurred")
def export_blurred(
    dataset_root: Annotated[Path, typer.Argument(help="The dataset folder (as given to `ingest run`).")],
    output: Annotated[Path, typer.Option(
        "--out", help="Folder for the copy: new or empty, outside the dataset (same file names inside).")],
    dataset: Annotated[str | None, typer.Option(help="Dataset name in the warehouse; default: folder name.")] = None,
    annotator: Annotated[list[str] | None, typer.Option(
        metavar="<str>", help="Blur the kept faces of this face annotator (repeatable; default: every face "
        "annotator).")] = None,
    margin: Annotated[float, typer.Option(help="Grow each box by this share of its size on every side.")] = 0.2,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as one JSON line.")] = False,
    db: DbOption = None,
) -> None:
    """A copy of the dataset with every kept face blurred (Gaussian, box grown by --margin),
    same file names, EXIF kept; other files copied as they are. Run `dbt build` first: the
    faces are those the marts count."""
    from rich.markup import escape

    from ..outputs.exports.blurred import export_blurred as write

    out_folder(output, "the blurred copy of the dataset")
    name = dataset or dataset_root.resolve().name
    report = write(dataset_root, output, dataset=name, annotators=annotator or None, margin=margin, db=db)
    left_out = report["images_failed"] + report["images_missing"] + report["other_files_failed"]
    if as_json:
        out.print(json.dumps(report), soft_wrap=True)
        if left_out:
            raise typer.Exit(1)
        return
    labels = {"files": "files written", "images_blurred": "images with faces blurred",
              "faces_blurred": "faces blurred", "faces_kept": "kept faces (as the marts count them)",
              "faces_confirmed_by_review": "faces below the threshold confirmed by review",
              "faces_without_box": "kept faces without a box (not blurred)",
              "links_skipped": "links skipped", "special_files_skipped": "special files skipped",
              "images_failed": "images left out (could not be blurred)",
              "images_missing": "images with faces not found on disk",
              "other_files_failed": "other files that could not be copied"}
    out.print(measure_table(f"ingest export blurred: {name} -> {output}",
                             [(label, f"{report[key]:,}") for key, label in labels.items()]))
    for rel_path, error in list(report["failed"].items())[:20]:
        notice(escape(f"{rel_path} was left out: {error}"))
    for rel_path in report["missing"]:
        notice(escape(f"{rel_path} has faces in the warehouse but is not in {dataset_root}, so it was not written."))
    for rel_path, error in list(report["not_copied"].items())[:20]:
        notice(escape(f"{rel_path} could not be copied: {error}"))
    if left_out:
        console.print(f"[bold red]error:[/] {left_out:,} image(s) or file(s) are not in the copy in "
                      f"{escape(str(output))} (named above; an image with faces is never copied sharp); fix "
                      "them and run the export again into a new folder.", soft_wrap=True, highlight=False)
        raise typer.Exit(1)


@export_app.command("croissant")
def export_croissant(
    output: Annotated[Path, typer.Option("--out", help="Folder for croissant.json and its census/ tables (created).")
                      ] = Path("warehouse/croissant"),
    dataset: ScopeDatasetOption = None,
    build: BuildOption = False,
    db: DbOption = None,
) -> None:
    """The audited dataset as Croissant 1.0 JSON-LD with the census in the Responsible-AI
    vocabulary (rai:dataBiases, rai:personalSensitiveInformation, rai:machineAnnotationTools,
    rai:annotationsPerItem, rai:dataAnnotationAnalysis, rai:dataLimitations), from the marts only,
    and the class-level census tables beside it as Parquet."""
    from ..outputs.exports.croissant import UNKNOWN_PROPERTIES
    from ..outputs.exports.croissant import export_croissant as write

    out_folder(output, "croissant.json and its census/ tables")
    prepare_marts(db, build)
    result = write(output, dataset=dataset, db=db)
    models, tables = result["models"], len(result["tables"])
    out.print(f"Croissant description of {result['dataset']} written to {result['path']} ({models} "
              f"model{'s' if models != 1 else ''}, {tables} census table{'s' if tables != 1 else ''}). The warehouse "
              "does not know the dataset's "
              f"{UNKNOWN_PROPERTIES}: add them before publishing it.", markup=False, highlight=False, soft_wrap=True)
