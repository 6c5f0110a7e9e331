"""The stage registry: every kind of model output the census records, and where it lands.

A stage names its raw result table, that table's key, how one image's model outcome becomes
rows, and (when rows of it can be imported) the checks an imported file goes through. The
writer, the importer, merge, the summary and the schema all read this registry; adding a
stage is its model file, one ``register`` line here (or in the model's own module) and its
dbt staging model.

The run-level tables (``runs``, ``images``, ``image_runs``) are common to every stage."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: tables every run writes, with their keys, in the order a batch lands them
CORE_TABLES: dict[str, tuple[str, ...]] = {
    "runs": ("run_id",),
    "images": ("image_id",),
    "image_runs": ("run_id", "image_id"),
}


@dataclass(frozen=True)
class Stage:
    name: str  # raw.runs.stage, `--stages`, a model's ``stage``
    table: str  # its raw result table (also the `ingest import --kind`)
    key: tuple[str, ...]  # the table's key after (run_id, image_id)
    to_rows: Callable[[Any], list[dict]]  # one image's outcome -> rows, without run_id and image_id
    #: counters for the run summary, from one image's rows and the face threshold
    tally: Callable[[list[dict], float], dict[str, int]] | None = None
    #: an imported file's columns -> the table's rows, bad values reported (None: not importable)
    import_rows: Callable | None = None
    #: ``create table if not exists raw.<table> ...`` for a table the packaged schema lacks
    ddl: str | None = None
    #: further raw tables the stage's imports fill beside its own, each with its key after
    #: (run_id, image_id), e.g. faces -> face_attributes keyed by (face_idx, attribute). They
    #: land in the same transaction as the stage's rows; merge copies them, and a shard
    #: written before such a table existed merges without it.
    extra_tables: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: False for a stage only imports fill (no model runs it, e.g. image-level reference labels):
    #: `--stages` does not offer it, and a shard written before its table existed merges without it
    runnable: bool = True

    @property
    def full_key(self) -> tuple[str, ...]:
        return ("run_id", "image_id", *self.key)


STAGES: dict[str, Stage] = {}


def register(stage: Stage) -> Stage:
    """Add a stage (or replace one of the same name); returns it."""
    STAGES[stage.name] = stage
    return stage


def stage_names() -> tuple[str, ...]:
    """The stages a run can run (`--stages`, profiles)."""
    return tuple(name for name, stage in STAGES.items() if stage.runnable)


#: raw tables outside any run (no run_id), with their keys: merge carries them when a shard has them
SIDE_TABLES: dict[str, tuple[str, ...]] = {
    "captions": ("image_id",),
    "reviews": ("review_id",),
    "label_synsets": ("label_set", "wnid"),
}


def raw_tables() -> tuple[str, ...]:
    """Every raw table: the run-level ones first, then each stage's (its own table, then its
    extra tables), in registry order."""
    return (*CORE_TABLES, *dict.fromkeys(t for s in STAGES.values() for t in (s.table, *dict(s.extra_tables))))


def extra_tables() -> tuple[str, ...]:
    """The stages' extra tables (optional in a shard: older warehouses lack them)."""
    return tuple(dict.fromkeys(t for s in STAGES.values() for t, _ in s.extra_tables))


def optional_tables() -> tuple[str, ...]:
    """Raw tables a shard may lack (older warehouses): the extra tables and the tables of the
    import-only stages."""
    return (*extra_tables(), *(s.table for s in STAGES.values() if not s.runnable))


def table_keys() -> dict[str, tuple[str, ...]]:
    keys = {**CORE_TABLES, **{s.table: s.full_key for s in STAGES.values()}}
    keys.update({t: ("run_id", "image_id", *key) for s in STAGES.values() for t, key in s.extra_tables})
    return keys


def importable() -> dict[str, Stage]:
    """Stages whose rows `ingest import` accepts, by ``--kind`` (the table name)."""
    return {s.table: s for s in STAGES.values() if s.import_rows is not None}


def _checks(name: str) -> Callable:
    """The import check of that name, imported when used (pandas stays out of CLI start-up)."""

    def run(*args: Any) -> Any:
        from . import import_checks

        return getattr(import_checks, name)(*args)

    return run


def _faces_tally(rows: list[dict], min_score: float) -> dict[str, int]:
    return {"faces": len(rows), "faces_kept": sum(kept_face(row, min_score) for row in rows)}


def kept_face(row: dict, min_score: float) -> bool:
    """Whether the census keeps a face row: a verifying annotator's decision where it made one,
    else det_score >= ``min_score`` (the dbt macro kept_face says the same)."""
    if row.get("verified") is not None:
        return bool(row["verified"])
    return row["det_score"] is not None and row["det_score"] >= min_score


register(Stage("faces", "faces", ("face_idx",), to_rows=list, tally=_faces_tally,
               import_rows=_checks("faces_rows"),
               # group attributes of a face (reference labels: skin type, ...), from attr_<name> columns
               extra_tables=(("face_attributes", ("face_idx", "attribute")),)))
register(Stage("nsfw", "nsfw", (), to_rows=lambda value: [value], import_rows=_checks("nsfw_rows")))
register(Stage("classify", "predictions", ("rank",), to_rows=list, import_rows=_checks("predictions_rows")))


def _image_face_labels(*args: Any) -> Any:
    from .import_checks import image_face_labels_rows

    return image_face_labels_rows(*args)


# image-level reference labels (yes/no/depiction/unsure per image): imported, never run
register(Stage("image_faces", "image_face_labels", (), to_rows=list, import_rows=_image_face_labels,
               runnable=False))
