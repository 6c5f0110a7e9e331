"""Options several commands share, typed once (enums, so `--help` lists the choices and Typer
rejects any other value)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from ..models.profiles import PROFILES


class Precision(StrEnum):
    fp32 = "fp32"
    int8 = "int8"


#: the profiles `--profile` accepts
Profile = StrEnum("Profile", {name: name for name in PROFILES})

PrecisionOption = Annotated[Precision, typer.Option(
    help="fp32, or int8: quantised versions of the networks that agree with fp32 (BENCHMARKS.md); "
    "an int8 model is another annotator, e.g. yahoo/open_nsfw@int8.")]

DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="DuckDB file; defaults to $CENSUS_DB or warehouse/census.duckdb."),
]

ModelsDirOption = Annotated[Path | None, typer.Option(help="Folder of user-supplied weights ($CENSUS_MODELS).")]

# The commands that read the marts describe one dataset (ingest.outputs.scope) and say when the marts
# are older than the raw rows (ingest.outputs.freshness); --build runs `dbt build` first.
ScopeDatasetOption = Annotated[str | None, typer.Option(
    "--dataset", help="The dataset to describe (default: the warehouse's only one; with several, name one).")]
ScopeAnnotatorOption = Annotated[str | None, typer.Option(
    "--annotator", help="Only this model's rows, in every mart that names it (default: every model).")]
BuildOption = Annotated[bool, typer.Option(
    "--build", help="Run `dbt build` on the warehouse first, so the marts include the latest runs.")]
