"""``ingest evaluate faces``: measure every face model of the warehouse on a labelled sample.

The labels (image-level: ``file_name`` or ``rel_path``, ``label`` yes/no/depiction/unsure,
``n_faces``, ``note``; or a built-in set such as ``imagenet-sample-dev``) are imported as a
reference annotator (``ingest/labels/image_labels.py``; a file imported before is a note, not an
error), dbt builds the evaluation marts, and the mart ``annotator_image_evaluation`` is
printed: per face model, overall and per supercategory, image-level precision and recall
with 95 % Wilson intervals and the counts behind them. Everything printed is read from the
marts.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from rich.table import Table
from rich.text import Text

from ..core.config import database_path, dbt_env
from ..core.errors import CensusError
from ..core.import_checks import REFERENCE_PREFIX
from ..outputs.marts import MART_SCHEMA, PROJECT_DIR, built_marts, dbt_executable
from ..warehouse.db import connect

#: what `ingest evaluate faces` builds: the evaluation marts and what they need
MARTS = ("annotator_image_evaluation", "corrected_face_share", "corrected_supercategory_share",
         "supercategory_face_share")
KIND = "image_face_labels"
COLUMNS = ("annotator", "group_kind", "group_value", "n_images", "n_excluded", "n_positive_reference",
           "n_predicted_positive", "tp", "fp", "fn", "precision", "precision_lo", "precision_hi", "recall",
           "recall_lo", "recall_hi")


@dataclass(frozen=True)
class Imported:
    reference: str
    message: str  # what happened, one sentence
    already: bool  # the same file was imported before


def reference_name(name: str | None, default: str) -> str:
    """``--reference``: ``reference/<name>``, the prefix added where it is missing."""
    if name is None:
        return default
    name = name.strip()
    if not name or name == REFERENCE_PREFIX:
        raise CensusError("--reference needs a name, e.g. --reference my-labels (stored as reference/my-labels).")
    return name if name.startswith(REFERENCE_PREFIX) else f"{REFERENCE_PREFIX}{name}"


def import_labels(labels: str, *, dataset: str, reference: str | None, db: Path | None) -> Imported:
    """Import the labels as the reference's image-level labels of the dataset (once per file)."""
    from ..warehouse.importer import AlreadyImported, import_file
    from .image_labels import resolve_labels

    path, default = resolve_labels(labels)
    annotator = reference_name(reference, default)
    try:
        result = import_file(path, kind=KIND, annotator=annotator, dataset=dataset, db=db)
    except AlreadyImported:
        return Imported(annotator, f"{labels} is already imported as {annotator} for dataset {dataset}; "
                                   "its labels are used as they are.", True)
    return Imported(annotator, f"Imported {result['rows']:,} image labels of {labels} as {annotator} (run "
                               f"{result['run_id']}).", False)


def dbt_command() -> list[str]:
    """dbt build of the evaluation marts, their ancestors and their own tests."""
    select = ["--select", *(f"+{mart}" for mart in MARTS)]
    return [*dbt_executable(f"dbt build {' '.join(select)}"), "build", *select, "--indirect-selection", "cautious",
            "--profiles-dir", str(PROJECT_DIR), "--project-dir", str(PROJECT_DIR), "--quiet"]


def build_marts(db: Path | None) -> None:
    """Run dbt on the warehouse; a failure is one sentence with dbt's last lines."""
    if not (PROJECT_DIR / "dbt_project.yml").is_file():
        raise CensusError("No dbt project here (dbt_project.yml): run this from the census-warehouse checkout, or "
                          f"build the marts there with `dbt build --select {' '.join('+' + m for m in MARTS)}`.")
    command = dbt_command()
    env = dbt_env(Path(db or database_path()).resolve())
    done = subprocess.run(command, cwd=PROJECT_DIR, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        # dbt's last words, without the brackets of its log lines (the CLI prints sentences as Rich markup)
        tail = " ".join((done.stdout + done.stderr).split()[-60:]).replace("[", "(").replace("]", ")")
        raise CensusError(f"dbt build of the evaluation marts failed ({tail}); run `{' '.join(command)}` to see "
                          "all of it. The labels stay imported.")


def read_evaluation(db: Path | None, reference: str, dataset: str) -> pd.DataFrame:
    """annotator_image_evaluation rows of the reference and dataset: `all` first, then the
    supercategories by size."""
    con = connect(db, read_only=True)
    try:
        if "annotator_image_evaluation" not in built_marts(con):
            raise CensusError("The mart annotator_image_evaluation is not built: run `dbt build --select "
                              "+annotator_image_evaluation` (or drop --no-build).")
        frame = con.execute(
            f"select {', '.join(COLUMNS)} from {MART_SCHEMA}.annotator_image_evaluation "
            "where reference = ? and dataset = ? "
            "order by annotator, group_kind = 'supercategory', n_images desc, group_value",
            [reference, dataset]).df()
    finally:
        con.close()
    return frame


def _interval(value, lo, hi) -> str:
    if value is None or pd.isna(value):
        return "-"
    return f"{value:.2f} [{lo:.2f}, {hi:.2f}]"


def evaluation_tables(frame: pd.DataFrame, reference: str, dataset: str) -> list[Table]:
    """One table per face model, one row per group: counts, precision and recall with their
    intervals."""
    tables = []
    for annotator, rows in frame.groupby("annotator", sort=True):
        table = Table(title=Text(f"{annotator} against {reference} on {dataset}: image shows a real face "
                                 "(depiction, unsure excluded)"))
        for name in ("group", "images", "excluded", "ref. yes", "model yes", "tp", "fp", "fn"):
            table.add_column(name, justify="left" if name == "group" else "right")
        for name in ("precision [95 % CI]", "recall [95 % CI]"):
            table.add_column(name, justify="right", no_wrap=True)
        for row in rows.itertuples(index=False):
            group = "all" if row.group_kind == "all" else row.group_value
            table.add_row(Text(group), *(f"{int(v):,}" for v in (
                row.n_images, row.n_excluded, row.n_positive_reference, row.n_predicted_positive, row.tp, row.fp,
                row.fn)), _interval(row.precision, row.precision_lo, row.precision_hi),
                _interval(row.recall, row.recall_lo, row.recall_hi))
        tables.append(table)
    return tables


def notes(frame: pd.DataFrame, dataset: str) -> list[str]:
    """What the table cannot show, in sentences."""
    if frame.empty:
        return [f"No face model has processed the labelled images of dataset {dataset}: run `ingest run` on the "
                "dataset, then this command again."]
    found = []
    if not (frame["group_kind"] == "supercategory").any():
        found.append("No labelled image has an ILSVRC-2012 class (raw.images.wnid), so there are no "
                     "per-supercategory rows: run the dataset with each image's wnid (e.g. a manifest; see the "
                     "README, \"Measuring a face model on real photos\").")
    small = frame[(frame["group_kind"] == "supercategory") & (frame["n_images"] < 30)]
    if len(small):
        found.append(f"{small['group_value'].nunique()} supercategories have fewer than 30 labelled images: "
                     "read their intervals, not their point values.")
    return found
