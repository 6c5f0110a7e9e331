"""The review server's own store: a SQLite file beside the warehouse that holds the queue
snapshot and every answer given in the page, so that reviewing never needs the warehouse.

SQLite rather than a second DuckDB file: DuckDB lets one process open a file for writing and
no other process open it at all meanwhile, so a DuckDB store would itself be a lock between
the server and `ingest review land`. SQLite in WAL mode takes one short write at a time,
never blocks readers and is safe across processes: the server, `ingest review land` and a
second server on the same store can all use it at once.

Answers are only ever inserted: the key is the reviewer's review_id for the item, so a
second answer of the same reviewer to the same item is refused, and another reviewer's
answer is another row. ``landed_at`` records when an answer reached raw.reviews."""

from __future__ import annotations

import contextlib
import functools
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from ..core.config import database_path
from ..core.errors import CensusError
from ..warehouse.db import transaction
from .questions import QUESTIONS, item_key, review_id

#: labels per item the queue aims for (two reviewers give an agreement measure)
LABELS_PER_ITEM = 2

SCHEMA = """
create table if not exists answers (
    review_id text primary key,
    dataset text not null,
    reviewer text not null,
    item_key text not null,
    question text not null,
    image_id text not null,
    annotator text,
    face_idx integer,
    answer text not null,
    reviewed_at text not null,
    note text,
    landed_at text
);
create index if not exists answers_item on answers (dataset, item_key);
create table if not exists queue_items (
    dataset text not null,
    item_key text not null,
    question text not null,
    image_id text not null,
    annotator text,
    face_idx integer,
    rel_path text not null,
    split text,
    wnid text,
    x1 real, y1 real, x2 real, y2 real,
    det_score real,
    age real,
    nsfw_score real,
    reason text,
    priority integer not null,
    primary key (dataset, item_key)
);
create index if not exists queue_order on queue_items (dataset, question, priority);
create index if not exists queue_paths on queue_items (dataset, rel_path);
create table if not exists prior_labels (
    dataset text not null,
    item_key text not null,
    reviewer text not null,
    primary key (dataset, item_key, reviewer)
);
create table if not exists snapshots (
    dataset text primary key,
    taken_at text not null,
    warehouse text not null,
    n_items integer not null
);
"""

QUEUE_COLUMNS = ("question", "image_id", "annotator", "face_idx", "rel_path", "split", "wnid", "x1", "y1", "x2",
                 "y2", "det_score", "age", "nsfw_score", "reason", "priority")


def default_store_path(db: Path | None = None) -> Path:
    """``<warehouse stem>.reviews.sqlite`` beside the warehouse file."""
    db = Path(db or database_path())
    return db.with_name(f"{db.stem}.reviews.sqlite")


@functools.cache
def _schema_columns() -> dict[str, set[str]]:
    """The columns of each table of SCHEMA (an existing file's tables must have them)."""
    con = sqlite3.connect(":memory:")
    try:
        con.executescript(SCHEMA)
        tables = [row[0] for row in con.execute("select name from sqlite_master where type = 'table'")]
        return {table: {row[1] for row in con.execute(f"pragma table_info({table})")} for table in tables}
    finally:
        con.close()


def utc_now() -> str:
    return datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


class AlreadyAnswered(Exception):
    """The reviewer has answered this item before; answers are never overwritten."""


@dataclass(frozen=True)
class Snapshot:
    taken_at: str
    warehouse: str
    n_items: int


class ReviewStore:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with self.connect() as con:
                self._check_tables(con)  # before anything is written into someone else's file
                con.execute("pragma journal_mode = wal")
                con.executescript(SCHEMA)
        except sqlite3.Error as error:
            raise self._not_a_store(f"SQLite says: {error}") from None

    def _not_a_store(self, why: str) -> CensusError:
        return CensusError(f"{self.path} is not a review store ({why}); name the review answers' own file "
                           "with --store, or leave --store out for the default beside the warehouse.")

    def _check_tables(self, con: sqlite3.Connection) -> None:
        """A SQLite file of another program (same table names, other columns) is refused."""
        for table, columns in _schema_columns().items():
            have = {row[1] for row in con.execute(f"pragma table_info({table})")}
            if have and not columns <= have:
                raise self._not_a_store(f"its table {table} lacks {', '.join(sorted(columns - have))}")

    @contextlib.contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A short-lived connection (one per request: sqlite3 objects stay in their thread)."""
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        con.row_factory = sqlite3.Row
        try:
            con.execute("pragma busy_timeout = 30000")
            yield con
        finally:
            con.close()

    # ------------------------------------------------------------ the queue snapshot

    def replace_queue(self, dataset: str, items: pd.DataFrame, prior: pd.DataFrame, warehouse: str) -> Snapshot:
        """Swap in a new snapshot of the dataset's queue and of the labels already landed."""
        rows = []
        for item in items.itertuples(index=False):
            values = {c: _plain(getattr(item, c)) for c in QUEUE_COLUMNS}
            for column in ("face_idx", "priority"):
                values[column] = None if values[column] is None else int(values[column])
            key = item_key(values["question"], values["image_id"], values["annotator"], values["face_idx"])
            rows.append((dataset, key, *values.values()))
        prior_rows = {(dataset, item_key(p.question, p.image_id, _plain(p.annotator), _plain(p.face_idx)), p.reviewer)
                      for p in prior.itertuples(index=False) if p.question in QUESTIONS}
        snapshot = Snapshot(utc_now(), warehouse, len(rows))
        marks = ", ".join("?" * (2 + len(QUEUE_COLUMNS)))
        with self.connect() as con, transaction(con, "begin immediate"):
            con.execute("delete from queue_items where dataset = ?", [dataset])
            con.execute("delete from prior_labels where dataset = ?", [dataset])
            con.executemany(f"insert into queue_items (dataset, item_key, {', '.join(QUEUE_COLUMNS)}) "
                            f"values ({marks})", rows)
            con.executemany("insert or ignore into prior_labels values (?, ?, ?)", sorted(prior_rows))
            con.execute("insert or replace into snapshots values (?, ?, ?, ?)",
                        [dataset, snapshot.taken_at, warehouse, snapshot.n_items])
        return snapshot

    def snapshot(self, dataset: str) -> Snapshot | None:
        with self.connect() as con:
            row = con.execute("select taken_at, warehouse, n_items from snapshots where dataset = ?",
                              [dataset]).fetchone()
        return Snapshot(*row) if row else None

    def has_image(self, dataset: str, rel_path: str) -> bool:
        """Whether the image is in the dataset's queue (the only images the page shows)."""
        with self.connect() as con:
            return con.execute("select 1 from queue_items where dataset = ? and rel_path = ? limit 1",
                               [dataset, rel_path]).fetchone() is not None

    def item(self, dataset: str, key: str) -> dict | None:
        with self.connect() as con:
            row = con.execute("select * from queue_items where dataset = ? and item_key = ?", [dataset, key]).fetchone()
        return dict(row) if row else None

    # ------------------------------------------------------------ reviewers' view

    _LABELLED = """
        (select count(*) from (
            select reviewer from answers a where a.dataset = q.dataset and a.item_key = q.item_key
            union
            select reviewer from prior_labels p where p.dataset = q.dataset and p.item_key = q.item_key))"""
    _MINE = """
        (exists (select 1 from answers a where a.dataset = q.dataset and a.item_key = q.item_key and a.reviewer = ?)
         or exists (select 1 from prior_labels p where p.dataset = q.dataset and p.item_key = q.item_key
                    and p.reviewer = ?))"""

    def next_item(self, dataset: str, question: str, reviewer: str) -> dict | None:
        """The reviewer's next item: one they have not answered, first those that still lack
        LABELS_PER_ITEM labels, then by the queue's priority. None when they have done all."""
        with self.connect() as con:
            row = con.execute(
                f"select q.*, {self._LABELLED} as n_labels from queue_items q "
                f"where q.dataset = ? and q.question = ? and not {self._MINE} "
                f"order by {self._LABELLED} >= ?, q.priority limit 1",
                [dataset, question, reviewer, reviewer, LABELS_PER_ITEM]).fetchone()
        return dict(row) if row else None

    def progress(self, dataset: str, reviewer: str | None) -> dict[str, dict[str, int]]:
        """Per question: items in the queue, answered by this reviewer, with >= 2 labels."""
        result = {name: {"total": 0, "mine": 0, "complete": 0} for name in QUESTIONS}
        with self.connect() as con:
            rows = con.execute(
                f"select q.question, count(*), sum({self._MINE}), sum({self._LABELLED} >= ?) "
                "from queue_items q where q.dataset = ? group by q.question",
                [reviewer or "", reviewer or "", LABELS_PER_ITEM, dataset]).fetchall()
        for question, total, mine, complete in rows:
            if question in result:
                result[question] = {"total": total, "mine": int(mine or 0), "complete": int(complete or 0)}
        return result

    def reviewers(self, dataset: str) -> list[str]:
        with self.connect() as con:
            rows = con.execute("select reviewer from answers where dataset = ? union "
                               "select reviewer from prior_labels where dataset = ? order by 1",
                               [dataset, dataset]).fetchall()
        return [r[0] for r in rows]

    # ------------------------------------------------------------ answers

    def add_answer(self, dataset: str, reviewer: str, item: dict, answer: str, note: str | None) -> str:
        """Insert one answer; AlreadyAnswered when this reviewer answered the item before."""
        rid = review_id(dataset, reviewer, item["question"], item["image_id"], item["annotator"], item["face_idx"])
        with self.connect() as con:
            try:
                with transaction(con, "begin immediate"):
                    landed = con.execute("select 1 from prior_labels where dataset = ? and item_key = ? "
                                         "and reviewer = ?", [dataset, item["item_key"], reviewer]).fetchone()
                    if landed:
                        raise AlreadyAnswered
                    con.execute(
                        "insert into answers (review_id, dataset, reviewer, item_key, question, image_id, annotator,"
                        " face_idx, answer, reviewed_at, note) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [rid, dataset, reviewer, item["item_key"], item["question"], item["image_id"],
                         item["annotator"], item["face_idx"], answer, utc_now(), note or None])
            except sqlite3.IntegrityError:
                raise AlreadyAnswered from None
        return rid

    def answers(self, *, pending_only: bool = False) -> pd.DataFrame:
        where = " where landed_at is null" if pending_only else ""
        with self.connect() as con:
            return pd.read_sql_query(
                "select review_id, dataset, reviewer, image_id, annotator, face_idx, question, answer, reviewed_at,"
                f" note, landed_at from answers{where} order by reviewed_at, review_id", con)

    def mark_landed(self, review_ids: list[str]) -> None:
        stamp = utc_now()
        with self.connect() as con, transaction(con, "begin immediate"):
            con.executemany("update answers set landed_at = ? where review_id = ? and landed_at is null",
                            [(stamp, rid) for rid in review_ids])


def _plain(value):
    """A pandas/numpy scalar as a plain Python value (NaN and NA as None)."""
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value.item() if hasattr(value, "item") else value
