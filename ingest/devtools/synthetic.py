"""A synthetic, ImageNet-sized raw warehouse for benchmarks and demos (no images, no models).

Everything is generated inside DuckDB with set-based SQL, written a block of images at a time
(``BLOCK``), so no table ever passes through Python and memory stays bounded at any scale. Randomness comes from hashing
(image key, purpose, seed), so a given (scale, seed) always writes the same rows, whatever
the number of threads. At scale 1.0: 1,281,167 train + 50,000 val images over the 1000
ILSVRC-2012 classes, ~130k faces for each of two correlated face annotators, one NSFW score
per image, and top-5 predictions of two classifiers (~6.7M rows each).

The rows follow the raw contract (ingest/data/schema.sql): image_id = left(sha256(dataset ||
'/' || rel_path), 16); every run is `complete`; about 0.1% of the images of each run are
`error` rows without results; faces below the detector threshold are present (the census
filters them); the face annotator `synthetic/faces-a` ran in two shards.

``classes="21k"`` writes an ImageNet-21k-shaped warehouse instead: the 21,843 wnids of
Google's release (ingest/data/imagenet21k_goog_synsets.txt), 14,197,122 train images at
scale 1.0 with the same per-image mix; the classifiers still predict the 1,000 ILSVRC-2012
classes, so an image can be classified right only when its class is one of them.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Literal

from ..core.config import IMAGENET_CLASSES_CSV as CLASSES_CSV
from ..core.config import SCHEMA_SQL
from ..core.errors import CensusError
from ..core.stages import raw_tables
from ..warehouse.db import connect

DATASET = "imagenet"
N_TRAIN = 1_281_167
N_VAL = 50_000
#: ImageNet-21k (fall 2011 release): images at scale 1.0, all of them train
N_21K = 14_197_122
CLASS_SETS = ("1k", "21k")
#: images written per statement: bounds DuckDB's memory whatever the scale
BLOCK = 2_000_000

# (run_id, stage, annotator, shard filter on the image key, started_at)
RUNS = (
    ("synthetic-faces-a-0", "faces", "synthetic/faces-a", "k % 2 = 0", "2024-01-01 00:00:00"),
    ("synthetic-faces-a-1", "faces", "synthetic/faces-a", "k % 2 = 1", "2024-01-01 00:00:01"),
    ("synthetic-faces-b", "faces", "synthetic/faces-b", "true", "2024-01-02 00:00:00"),
    ("synthetic-nsfw", "nsfw", "synthetic/nsfw", "true", "2024-01-03 00:00:00"),
    ("synthetic-classify-a", "classify", "synthetic/classifier-a", "true", "2024-01-04 00:00:00"),
    ("synthetic-classify-b", "classify", "synthetic/classifier-b", "true", "2024-01-05 00:00:00"),
)

#: face annotator -> (share of the persons it detects, noise of its apparent gender)
FACE_ANNOTATORS = {"synthetic/faces-a": (1.0, 0.05), "synthetic/faces-b": (0.9, 0.1)}


def _classes() -> list[tuple[int, str]]:
    with CLASSES_CSV.open(newline="") as handle:
        return sorted((int(row["class_index"]), row["wnid"]) for row in csv.DictReader(handle))


def _classes_21k() -> list[tuple[int, str]]:
    from importlib import resources

    text = resources.files("ingest.data").joinpath("imagenet21k_goog_synsets.txt").read_text()
    return list(enumerate(line.strip() for line in text.splitlines() if line.strip()))


def rows_held(db_path: Path) -> dict[str, int]:
    """The non-empty raw tables of the warehouse at db_path and their row counts."""
    if not db_path.exists():
        return {}
    con = connect(db_path, read_only=True)
    try:
        present = {r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = 'raw'").fetchall()}
        counts = {t: con.execute(f"select count(*) from raw.{t}").fetchone()[0]
                  for t in raw_tables() if t in present}
    finally:
        con.close()
    return {t: n for t, n in counts.items() if n}


def refuse_live_warehouse(db_path: Path) -> None:
    """Raise, naming what would be lost, if db_path holds any raw row."""
    held = rows_held(db_path)
    if held:
        lost = ", ".join(f"raw.{t} {n:,}" for t, n in held.items())
        raise CensusError(f"{db_path} already holds rows ({lost}) that a synthetic warehouse would "
                          "replace; pass --force to overwrite them, or --db a new file.")


def generate_warehouse(db_path: Path, scale: float = 1.0, seed: int = 0, *, force: bool = False,
                       classes: Literal["1k", "21k"] = "1k") -> dict:
    """Write a synthetic raw warehouse into db_path (created with the raw schema if needed).

    A warehouse that holds raw rows is refused unless ``force``; then its raw rows are
    replaced. ``classes``: ImageNet-1k's shape (1.33M images at scale 1) or ImageNet-21k's
    (14.2M). Returns the number of rows per raw table.
    """
    if not math.isfinite(scale) or scale <= 0:
        raise CensusError(f"--scale must be a positive number, not {scale}.")
    if classes not in CLASS_SETS:
        raise CensusError(f"--classes must be one of {', '.join(CLASS_SETS)}, not {classes!r}.")
    if not force:
        refuse_live_warehouse(Path(db_path))
    if classes == "1k":
        n_train, n_val, label_set = max(1, round(N_TRAIN * scale)), max(1, round(N_VAL * scale)), _classes()
    else:
        n_train, n_val, label_set = max(1, round(N_21K * scale)), 0, _classes_21k()
    seed = int(seed)  # interpolated into the u() macro below: an int, never text
    con = connect(Path(db_path))
    try:
        con.execute("set enable_progress_bar = false")
        con.execute(SCHEMA_SQL.read_text())
        for table in ("predictions", "nsfw", "faces", "image_runs", "images", "runs"):
            con.execute(f"delete from raw.{table}")
        _macros(con, seed)
        _class_tables(con, label_set)
        _images(con, n_train, n_train + n_val, len(label_set))
        params = json.dumps({"synthetic": True, "scale": scale, "seed": seed, "classes": classes})
        con.executemany(
            "insert into raw.runs (run_id, stage, annotator, model_digest, params, dataset, started_at, "
            "finished_at, status, tool_version) values (?, ?, ?, NULL, ?, ?, ?::timestamp, "
            "?::timestamp + interval 1 hour, 'complete', 'synthetic')",
            [(run_id, stage, annotator, params, DATASET, start, start) for run_id, stage, annotator, _, start in RUNS],
        )
        total = n_train + n_val
        for low in range(0, total, BLOCK):
            _block(con, low, min(total, low + BLOCK))
        for temp in ("synth_images", "class_traits", "classes", "classes_1k"):
            con.execute(f"drop table if exists {temp}")
        counts = {table: con.execute(f"select count(*) from raw.{table}").fetchone()[0] for table in raw_tables()}
        con.execute("checkpoint")
        return counts
    finally:
        con.close()


def _macros(con, seed: int) -> None:
    # u(k, purpose): a uniform number in [0, 1) from 53 bits of a hash.
    con.execute(
        f"create or replace temp macro u(k, purpose) as "
        f"(hash(k, purpose, {seed}) >> 11)::double / 9007199254740992::double"
    )
    # z(k, purpose): a standard normal number (Box-Muller).
    con.execute(
        "create or replace temp macro z(k, purpose) as "
        "sqrt(-2 * ln(1 - u(k, purpose || '.1'))) * cos(2 * pi() * u(k, purpose || '.2'))"
    )
    # ok(k, run_id): the image's row of that run is ok (about 0.1% are errors)
    con.execute("create or replace temp macro ok(k, run_id) as u(k, run_id || '.err') >= 0.001")


def _class_tables(con, label_set: list[tuple[int, str]]) -> None:
    """classes (the label set), classes_1k (what the classifiers predict) and class_traits:
    face prevalence, mean apparent gender and age, NSFW and accuracy per class, with the
    class's ILSVRC-2012 index where it has one (``index_1k``)."""
    con.execute("create or replace temp table classes (class_index integer, wnid varchar)")
    con.executemany("insert into classes values (?, ?)", label_set)
    con.execute("create or replace temp table classes_1k (class_index integer, wnid varchar)")
    con.executemany("insert into classes_1k values (?, ?)", _classes())
    con.execute(
        """
        create or replace temp table class_traits as
        select
            classes.class_index,
            classes.wnid,
            0.01 + 0.24 * power(u(classes.class_index, 'face'), 3) as p_face,
            0.15 + 0.7 * u(classes.class_index, 'gender') as gender_mean,
            18 + 25 * u(classes.class_index, 'age') as age_mean,
            0.02 + 0.6 * power(u(classes.class_index, 'nsfw'), 4) as nsfw_mean,
            0.5 + 0.45 * u(classes.class_index, 'acc-a') as acc1_a,
            0.45 + 0.45 * u(classes.class_index, 'acc-b') as acc1_b,
            classes_1k.class_index as index_1k
        from classes
        left join classes_1k on classes.wnid = classes_1k.wnid
        """
    )


def _images(con, n_train: int, n_total: int, n_classes: int) -> None:
    """synth_images (one row per image: key, split, class traits, path, id) and raw.images."""
    con.execute(
        """
        create or replace temp table synth_images as
        with keys as (
            select
                range as k,
                case when range < $n_train then 'train' else 'val' end as split,
                case
                    when range < $n_train then range % $n_classes
                    else floor(u(range, 'val-class') * $n_classes)::integer
                end as class_index
            from range($n_total)
        )
        select
            keys.k,
            keys.split,
            class_traits.*,
            case
                when keys.split = 'train'
                    then 'train/' || class_traits.wnid || '/' || class_traits.wnid || '_' || keys.k || '.JPEG'
                else 'val/ILSVRC2012_val_' || lpad((keys.k - $n_train + 1)::varchar, 8, '0') || '.JPEG'
            end as rel_path,
            left(sha256($dataset || '/' || rel_path), 16) as image_id
        from keys
        inner join class_traits on keys.class_index = class_traits.class_index
        order by keys.k
        """,
        {"n_train": n_train, "n_total": n_total, "dataset": DATASET, "n_classes": n_classes},
    )
    con.execute(
        """
        insert into raw.images (image_id, dataset, split, wnid, rel_path, file_bytes, width, height)
        select
            image_id, ?, split, wnid, rel_path,
            60000 + floor(u(k, 'bytes') * 120000)::bigint, 500, 375
        from synth_images
        order by k
        """,
        [DATASET],
    )


def _block(con, low: int, high: int) -> None:
    """Every result row of the images with keys in [low, high), in key order."""
    con.execute("create or replace temp table block as select * from synth_images where k >= $low and k < $high",
                {"low": low, "high": high})
    for run_id, _, _, shard, _ in RUNS:  # shard: a fixed SQL filter from RUNS, not input
        con.execute(
            f"""
            insert into raw.image_runs (run_id, image_id, status, error)
            select
                $run_id, image_id,
                case when ok(k, $run_id) then 'ok' else 'error' end,
                case when not ok(k, $run_id) then 'synthetic decode error' end
            from block
            where {shard}
            order by k
            """,
            {"run_id": run_id},
        )
    # Persons in the images (the "truth" both face annotators see, each with its own noise).
    con.execute(
        """
        create or replace temp table persons as
        select
            block.k,
            block.image_id,
            face.face_idx,
            block.gender_mean + 0.3 * z(block.k * 4 + face.face_idx, 'gender') as gender,
            block.age_mean + 12 * z(block.k * 4 + face.face_idx, 'age') as age
        from block
        cross join range(3) as face(face_idx)
        where
            u(block.k, 'has-face') < block.p_face
            and face.face_idx < 1 + (u(block.k, 'n2') < 0.3)::integer + (u(block.k, 'n3') < 0.1)::integer
        """
    )
    for run_id, stage, annotator, shard, _ in RUNS:  # shard filters on k, a column of persons
        if stage != "faces":
            continue
        detect, noise = FACE_ANNOTATORS[annotator]
        con.execute(
            f"""
            insert into raw.faces (run_id, image_id, face_idx, det_score, x1, y1, x2, y2, age, gender_score)
            select
                $run_id,
                persons.image_id,
                persons.face_idx,
                1 - 0.25 * power(u(persons.k * 4 + persons.face_idx, $annotator || '.det'), 2),
                50.0 + 100 * persons.face_idx, 50.0, 120.0 + 100 * persons.face_idx, 140.0,
                greatest(0.5, persons.age + 4 * z(persons.k * 4 + persons.face_idx, $annotator || '.age')),
                least(1, greatest(0, persons.gender
                    + $noise * z(persons.k * 4 + persons.face_idx, $annotator || '.gender')))
            from persons
            where
                ok(persons.k, $run_id)
                and {shard}
                and u(persons.k * 4 + persons.face_idx, $annotator || '.detect') < $detect
            order by persons.k, persons.face_idx
            """,
            {"annotator": annotator, "detect": detect, "noise": noise, "run_id": run_id},
        )
    con.execute(
        """
        insert into raw.nsfw (run_id, image_id, nsfw_score)
        select 'synthetic-nsfw', image_id, power(u(k, 'nsfw-score'), 1 / nsfw_mean - 1)
        from block
        where ok(k, 'synthetic-nsfw')
        order by k
        """
    )
    # acc: a column of class_traits, from this fixed list; the run id is bound.
    for run_id, acc in (("synthetic-classify-a", "acc1_a"), ("synthetic-classify-b", "acc1_b")):
        con.execute(
            f"""
            insert into raw.predictions (run_id, image_id, rank, class_index, wnid, prob)
            with hits as (
                select
                    block.image_id,
                    block.k,
                    block.index_1k,
                    coalesce(block.index_1k, block.class_index % 1000) as near_1k,
                    case
                        when block.index_1k is null then 0
                        when u(block.k, $run_id || '.hit') < block.{acc} then 1
                        when u(block.k, $run_id || '.hit') < block.{acc} + 0.7 * (1 - block.{acc})
                            then 2 + floor(u(block.k, $run_id || '.rank') * 4)::integer
                        else 0
                    end as label_rank,
                    0.3 + 0.6 * u(block.k, $run_id || '.prob') as top_prob
                from block
                where ok(block.k, $run_id)
            ),
            ranked as (
                select
                    hits.image_id,
                    hits.k,
                    r.rank,
                    case
                        when r.rank = hits.label_rank then hits.index_1k
                        else (hits.near_1k + 7 * r.rank) % 1000
                    end as class_index,
                    hits.top_prob / power(2, r.rank - 1) as prob
                from hits
                cross join range(1, 6) as r(rank)
            )
            select $run_id, ranked.image_id, ranked.rank, ranked.class_index, classes_1k.wnid, ranked.prob
            from ranked
            inner join classes_1k on ranked.class_index = classes_1k.class_index
            order by ranked.k, ranked.rank
            """,
            {"run_id": run_id},
        )
    for temp in ("persons", "block"):
        con.execute(f"drop table if exists {temp}")
