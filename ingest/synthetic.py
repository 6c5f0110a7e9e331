"""A synthetic, ImageNet-sized raw warehouse for benchmarks and demos (no images, no models).

Everything is generated inside DuckDB with set-based SQL. Randomness comes from hashing
(image key, purpose, seed), so a given (scale, seed) always writes the same rows, whatever
the number of threads. At scale 1.0: 1,281,167 train + 50,000 val images over the 1000
ILSVRC-2012 classes, ~130k faces for each of two correlated face annotators, one NSFW score
per image, and top-5 predictions of two classifiers (~6.7M rows each).

The rows follow the raw contract (ingest/data/schema.sql): image_id = left(sha256(dataset ||
'/' || rel_path), 16); every run is `complete`; about 0.1% of the images of each run are
`error` rows without results; faces below the detector threshold are present (the census
filters them); the face annotator `synthetic/faces-a` ran in two shards.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

from .config import IMAGENET_CLASSES_CSV as CLASSES_CSV
from .config import SCHEMA_SQL
from .errors import CensusError
from .stages import raw_tables
from .warehouse import connect

DATASET = "imagenet"
N_TRAIN = 1_281_167
N_VAL = 50_000

# (run_id, stage, annotator, shard filter on the image key, started_at)
RUNS = (
    ("synthetic-faces-a-0", "faces", "synthetic/faces-a", "k % 2 = 0", "2024-01-01 00:00:00"),
    ("synthetic-faces-a-1", "faces", "synthetic/faces-a", "k % 2 = 1", "2024-01-01 00:00:01"),
    ("synthetic-faces-b", "faces", "synthetic/faces-b", "true", "2024-01-02 00:00:00"),
    ("synthetic-nsfw", "nsfw", "synthetic/nsfw", "true", "2024-01-03 00:00:00"),
    ("synthetic-classify-a", "classify", "synthetic/classifier-a", "true", "2024-01-04 00:00:00"),
    ("synthetic-classify-b", "classify", "synthetic/classifier-b", "true", "2024-01-05 00:00:00"),
)


def _classes() -> list[tuple[int, str]]:
    with CLASSES_CSV.open(newline="") as handle:
        return sorted((int(row["class_index"]), row["wnid"]) for row in csv.DictReader(handle))


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


def generate_warehouse(db_path: Path, scale: float = 1.0, seed: int = 0, *, force: bool = False) -> dict:
    """Write a synthetic raw warehouse into db_path (created with the raw schema if needed).

    A warehouse that holds raw rows is refused unless ``force``; then its raw rows are
    replaced. Returns the number of rows per raw table.
    """
    if not math.isfinite(scale) or scale <= 0:
        raise CensusError(f"--scale must be a positive number, not {scale}.")
    if not force:
        refuse_live_warehouse(Path(db_path))
    n_train = max(1, round(N_TRAIN * scale))
    n_val = max(1, round(N_VAL * scale))
    seed = int(seed)  # interpolated into the u() macro below: an int, never text
    con = connect(Path(db_path))
    try:
        con.execute("set enable_progress_bar = false")
        con.execute(SCHEMA_SQL.read_text())
        for table in ("predictions", "nsfw", "faces", "image_runs", "images", "runs"):
            con.execute(f"delete from raw.{table}")
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
        con.execute("create or replace temp table classes (class_index integer, wnid varchar)")
        con.executemany("insert into classes values (?, ?)", _classes())
        # Class-level traits: face prevalence, mean apparent gender and age, NSFW, accuracy.
        con.execute(
            """
            create or replace temp table class_traits as
            select
                class_index,
                wnid,
                0.01 + 0.24 * power(u(class_index, 'face'), 3) as p_face,
                0.15 + 0.7 * u(class_index, 'gender') as gender_mean,
                18 + 25 * u(class_index, 'age') as age_mean,
                0.02 + 0.6 * power(u(class_index, 'nsfw'), 4) as nsfw_mean,
                0.5 + 0.45 * u(class_index, 'acc-a') as acc1_a,
                0.45 + 0.45 * u(class_index, 'acc-b') as acc1_b
            from classes
            """
        )
        con.execute(
            """
            create or replace temp table synth_images as
            with keys as (
                select
                    range as k,
                    case when range < $n_train then 'train' else 'val' end as split,
                    case
                        when range < $n_train then range % 1000
                        else floor(u(range, 'val-class') * 1000)::integer
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
                end as rel_path
            from keys
            inner join class_traits on keys.class_index = class_traits.class_index
            """,
            {"n_train": n_train, "n_total": n_train + n_val},
        )
        con.execute("alter table synth_images add column image_id varchar")
        con.execute("update synth_images set image_id = left(sha256(? || '/' || rel_path), 16)", [DATASET])
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
        params = json.dumps({"synthetic": True, "scale": scale, "seed": seed})
        con.executemany(
            "insert into raw.runs (run_id, stage, annotator, model_digest, params, dataset, started_at, "
            "finished_at, status, tool_version) values (?, ?, ?, NULL, ?, ?, ?::timestamp, "
            "?::timestamp + interval 1 hour, 'complete', 'synthetic')",
            [(run_id, stage, annotator, params, DATASET, start, start) for run_id, stage, annotator, _, start in RUNS],
        )
        for run_id, _, _, shard, _ in RUNS:  # shard: a fixed SQL filter from RUNS, not input
            con.execute(
                f"""
                insert into raw.image_runs (run_id, image_id, status, error)
                select
                    $run_id, image_id,
                    case when u(k, $run_id || '.err') < 0.001 then 'error' else 'ok' end,
                    case when u(k, $run_id || '.err') < 0.001 then 'synthetic decode error' end
                from synth_images
                where {shard}
                order by k
                """,
                {"run_id": run_id},
            )
        con.execute(
            """
            create or replace temp table ok_images as
            select image_runs.run_id, synth_images.*
            from raw.image_runs as image_runs
            inner join synth_images on image_runs.image_id = synth_images.image_id
            where image_runs.status = 'ok'
            """
        )
        # Persons in the images (the "truth" both face annotators see, each with its own noise).
        con.execute(
            """
            create or replace temp table persons as
            select
                synth_images.k,
                synth_images.image_id,
                face.face_idx,
                synth_images.gender_mean + 0.3 * z(synth_images.k * 4 + face.face_idx, 'gender') as gender,
                synth_images.age_mean + 12 * z(synth_images.k * 4 + face.face_idx, 'age') as age
            from synth_images
            cross join range(3) as face(face_idx)
            where
                u(synth_images.k, 'has-face') < synth_images.p_face
                and face.face_idx
                < 1 + (u(synth_images.k, 'n2') < 0.3)::integer + (u(synth_images.k, 'n3') < 0.1)::integer
            """
        )
        for annotator, detect, noise in (("synthetic/faces-a", 1.0, 0.05), ("synthetic/faces-b", 0.9, 0.1)):
            con.execute(
                """
                insert into raw.faces (run_id, image_id, face_idx, det_score, x1, y1, x2, y2, age, gender_score)
                select
                    ok_images.run_id,
                    persons.image_id,
                    persons.face_idx,
                    1 - 0.25 * power(u(persons.k * 4 + persons.face_idx, $annotator || '.det'), 2),
                    50.0 + 100 * persons.face_idx, 50.0, 120.0 + 100 * persons.face_idx, 140.0,
                    greatest(0.5, persons.age + 4 * z(persons.k * 4 + persons.face_idx, $annotator || '.age')),
                    least(1, greatest(0, persons.gender
                        + $noise * z(persons.k * 4 + persons.face_idx, $annotator || '.gender')))
                from persons
                inner join ok_images on persons.image_id = ok_images.image_id
                inner join raw.runs as runs on ok_images.run_id = runs.run_id
                where
                    runs.annotator = $annotator
                    and u(persons.k * 4 + persons.face_idx, $annotator || '.detect') < $detect
                order by persons.k, persons.face_idx
                """,
                {"annotator": annotator, "detect": detect, "noise": noise},
            )
        con.execute(
            """
            insert into raw.nsfw (run_id, image_id, nsfw_score)
            select
                ok_images.run_id,
                ok_images.image_id,
                power(u(ok_images.k, 'nsfw-score'), 1 / ok_images.nsfw_mean - 1)
            from ok_images
            where ok_images.run_id = 'synthetic-nsfw'
            order by ok_images.k
            """
        )
        # acc: a column of class_traits, from this fixed list; the run id is bound.
        for run_id, acc in (("synthetic-classify-a", "acc1_a"), ("synthetic-classify-b", "acc1_b")):
            con.execute(
                f"""
                insert into raw.predictions (run_id, image_id, rank, class_index, wnid, prob)
                with hits as (
                    select
                        ok_images.run_id,
                        ok_images.image_id,
                        ok_images.k,
                        ok_images.class_index,
                        case
                            when u(ok_images.k, $run_id || '.hit') < ok_images.{acc} then 1
                            when u(ok_images.k, $run_id || '.hit') < ok_images.{acc} + 0.7 * (1 - ok_images.{acc})
                                then 2 + floor(u(ok_images.k, $run_id || '.rank') * 4)::integer
                            else 0
                        end as label_rank,
                        0.3 + 0.6 * u(ok_images.k, $run_id || '.prob') as top_prob
                    from ok_images
                    where ok_images.run_id = $run_id
                ),
                ranked as (
                    select
                        hits.run_id,
                        hits.image_id,
                        hits.k,
                        r.rank,
                        case
                            when r.rank = hits.label_rank then hits.class_index
                            else (hits.class_index + 7 * r.rank) % 1000
                        end as class_index,
                        hits.top_prob / power(2, r.rank - 1) as prob
                    from hits
                    cross join range(1, 6) as r(rank)
                )
                select ranked.run_id, ranked.image_id, ranked.rank, ranked.class_index, classes.wnid, ranked.prob
                from ranked
                inner join classes on ranked.class_index = classes.class_index
                order by ranked.k, ranked.rank
                """,
                {"run_id": run_id},
            )
        for temp in ("persons", "ok_images", "synth_images", "class_traits", "classes"):
            con.execute(f"drop table if exists {temp}")
        counts = {table: con.execute(f"select count(*) from raw.{table}").fetchone()[0] for table in raw_tables()}
        con.execute("checkpoint")
        return counts
    finally:
        con.close()
