"""The work list of a run, kept in a scratch DuckDB file on disk rather than in Python
objects, so the memory of `ingest run` does not grow with the dataset: listing ImageNet,
checking its labels, skipping what is done and sharding are SQL over that file, and the
images to do stream out in order, a chunk at a time."""

from __future__ import annotations

import itertools
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from ..core.ids import image_id
from ..sources.layouts import ImageRef, check_labels, no_images

CHUNK = 50_000


@dataclass(frozen=True, slots=True)
class WorkItem:
    ref: ImageRef
    image_id: str
    stages: tuple[int, ...]  # indices into the model list still to run on this image


SCRATCH_PREFIX = "census-worklist-"


def remove_stale_scratch(folder: Path | None = None) -> int:
    """Delete scratch folders of runs whose process is gone (killed with -9, power cut)."""
    import shutil

    import psutil

    removed = 0
    for path in Path(folder or tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*-*"):
        pid = path.name[len(SCRATCH_PREFIX):].split("-", 1)[0]
        if path.is_dir() and not path.is_symlink() and pid.isdigit() and not psutil.pid_exists(int(pid)):
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
    return removed


class WorkList:
    def __init__(self) -> None:
        remove_stale_scratch()
        self._tmp = tempfile.TemporaryDirectory(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-")
        self.con = duckdb.connect(str(Path(self._tmp.name) / "worklist.duckdb"))
        self.con.execute("set memory_limit = '256MB'")
        self.con.execute("set preserve_insertion_order = true")
        self.con.execute("""create table refs (seq bigint, fs_path blob, rel_path varchar, split varchar,
                            wnid varchar, image_id varchar, shard_key ubigint)""")
        self.con.execute("create table done (model integer, image_id varchar)")
        self.con.execute("create table texts (image_id varchar, caption varchar, meta varchar)")
        self._texts: list[tuple[str, str | None, str | None]] = []
        self.n_models = 0
        self._pending: Iterator[ImageRef] | None = None  # the rest of a paused listing
        self._dataset = ""
        self._seq = 0

    def close(self) -> None:
        if self._pending is not None and hasattr(self._pending, "close"):
            self._pending.close()  # a paused listing may hold a shard or a Parquet file open
        self.con.close()
        self._tmp.cleanup()

    def __enter__(self) -> WorkList:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- filling ---------------------------------------------------------------------
    def add_images(self, refs: Iterable[ImageRef], dataset: str, pause: bool = False) -> int:
        """List the images; returns how many are listed. With ``pause``, listing stops after its
        first chunk and goes on only as far as :meth:`list_until_todo` needs (a run with
        ``--limit`` need not list a dataset of millions of images to do five)."""
        self._pending, self._dataset = iter(refs), dataset
        while self._list_chunk() and not pause:
            pass
        return self._seq

    def _list_chunk(self) -> bool:
        """List the next chunk of the listing; False once the listing is complete."""
        if self._pending is None:
            return False
        chunk = list(itertools.islice(self._pending, CHUNK))
        self._seq = self._append(chunk, self._dataset, self._seq)
        if len(chunk) < CHUNK:
            self._pending = None
        return self._pending is not None

    @property
    def complete(self) -> bool:
        """Whether the whole dataset is listed."""
        return self._pending is None

    def list_until_todo(self, shard: tuple[int, int] | None, limit: int | None) -> int:
        """Go on with a paused listing until ``limit`` images of the shard are to do (with the
        done images known), or to its end without a limit; returns the images listed."""
        while not self.complete and (limit is None or self.count_todo(shard, None) < limit):
            self._list_chunk()
        return self._seq

    def text_sink(self, dataset: str):
        """A listing's ``on_text(rel_path, caption, meta)``: captions and metadata of samples
        (webdataset, parquet) kept on disk beside the work list until the run copies them."""

        def add(rel_path: str, caption: str | None, meta: str | None) -> None:
            self._texts.append((image_id(dataset, rel_path), caption, meta))
            if len(self._texts) >= CHUNK:
                self.flush_texts()

        return add

    def flush_texts(self) -> None:
        if self._texts:
            ids, captions, metas = zip(*self._texts, strict=True)
            self.con.register("_texts", pa.table({"image_id": list(ids), "caption": pa.array(captions, pa.string()),
                                                  "meta": pa.array(metas, pa.string())}))
            self.con.execute("insert into texts select * from _texts")
            self.con.unregister("_texts")
            self._texts = []

    def count_texts(self) -> int:
        """Captions and metadata listed with the images (webdataset, parquet)."""
        self.flush_texts()
        return self.con.execute("select count(*) from texts").fetchall()[0][0]

    def copy_captions(self, warehouse: duckdb.DuckDBPyConnection, dataset: str) -> int:
        """Copy the listed captions of images the warehouse now holds into raw.captions (an
        image's first caption stays: the key is image_id); returns the rows added."""
        self.flush_texts()
        target = warehouse.cursor()  # the warehouse connection may hold an unfinished result
        before = target.execute("select count(*) from raw.captions").fetchall()[0][0]
        cursor = self.con.cursor()
        for batch in cursor.sql("select * from texts").to_arrow_reader(CHUNK):
            target.register("_captions", pa.Table.from_batches([batch]))
            target.execute("""
                insert into raw.captions (image_id, dataset, caption, meta)
                select distinct on (c.image_id) c.image_id, ?, c.caption, c.meta::json
                from _captions c join raw.images i on i.image_id = c.image_id and i.dataset = ?
                on conflict do nothing""", [dataset, dataset])
            target.unregister("_captions")
        cursor.close()
        added = target.execute("select count(*) from raw.captions").fetchall()[0][0] - before
        target.close()
        return added

    def _append(self, refs: list[ImageRef], dataset: str, seq: int) -> int:
        if not refs:
            return seq
        keys = [image_id(dataset, r.stored_path) for r in refs]
        table = pa.table({
            "seq": pa.array(range(seq, seq + len(refs)), pa.int64()),
            "fs_path": pa.array([os.fsencode(r.rel_path) for r in refs], pa.binary()),
            "rel_path": [r.stored_path for r in refs],
            "split": [r.split for r in refs],
            "wnid": [r.wnid for r in refs],
            "image_id": keys,
            "shard_key": pa.array([int(k[:8], 16) for k in keys], pa.uint64()),
        })
        self.con.register("_refs", table)
        self.con.execute("insert into refs select * from _refs")
        self.con.unregister("_refs")
        return seq + len(refs)

    def validate(self, labels: str, layout: str, root: Path) -> int:
        count = self.con.execute("select count(*) from refs").fetchall()[0][0]
        if count == 0 and layout != "manifest":
            raise no_images(root, layout)
        wnids = {r[0] for r in self.con.execute("select distinct wnid from refs").fetchall()}
        check_labels(wnids, labels, layout)
        return count

    def add_done(self, model: int, warehouse: duckdb.DuckDBPyConnection, annotator: str, dataset: str,
                 retry_errors: bool) -> None:
        """Copy the image ids this annotator already has from the warehouse, in chunks."""
        status_filter = "and ir.status = 'ok'" if retry_errors else ""
        cursor = warehouse.cursor()  # a reader of its own; the warehouse connection may hold a result
        reader = cursor.sql(f"""
            select distinct ?::integer as model, ir.image_id
            from raw.image_runs ir join raw.runs r using (run_id)
            where r.annotator = ? and r.dataset = ? {status_filter}""",
            params=[model, annotator, dataset]).to_arrow_reader(CHUNK)
        self.add_done_ids(model, (pa.Table.from_batches([batch]) for batch in reader))
        cursor.close()

    def add_done_ids(self, model: int, tables: Iterable[pa.Table]) -> None:
        """Record image ids (a column ``image_id`` of each table) this model has done already,
        e.g. from a run's Parquet parts; an id given twice counts once."""
        for table in tables:
            self.con.register("_done", table)
            self.con.execute("insert into done select ?::integer, image_id from _done", [model])
            self.con.unregister("_done")
        self.n_models = max(self.n_models, model + 1)

    # -- reading ---------------------------------------------------------------------
    def _todo_sql(self, shard: tuple[int, int] | None) -> str:
        shard_filter = f"and r.shard_key % {int(shard[1])} = {int(shard[0])}" if shard else ""
        return f"""
            with done_models as (
                select image_id, list(distinct model order by model) as models from done group by image_id
            )
            select r.seq, r.fs_path, r.split, r.wnid, r.image_id, coalesce(d.models, []) as done_models
            from refs r left join done_models d using (image_id)
            where len(coalesce(d.models, [])) < {self.n_models} {shard_filter}
            order by r.seq"""

    def count_todo(self, shard: tuple[int, int] | None, limit: int | None) -> int:
        count = self.con.execute(f"select count(*) from ({self._todo_sql(shard)})").fetchall()[0][0]
        return min(count, limit) if limit is not None else count

    def count_in_shard(self, shard: tuple[int, int] | None) -> int:
        """Images of the listing this shard covers (all of them without a shard)."""
        if shard is None:
            return self.con.execute("select count(*) from refs").fetchall()[0][0]
        return self.con.execute("select count(*) from refs where shard_key % ? = ?",
                                [int(shard[1]), int(shard[0])]).fetchall()[0][0]

    def todo(self, shard: tuple[int, int] | None, limit: int | None) -> Iterator[WorkItem]:
        """Work items in listing order, streamed from disk."""
        sql = self._todo_sql(shard) + (f" limit {int(limit)}" if limit is not None else "")
        cursor = self.con.cursor()
        reader = cursor.sql(sql).to_arrow_reader(10_000)
        for batch in reader:
            for row in batch.to_pylist():
                ref = ImageRef(os.fsdecode(row["fs_path"]), row["split"], row["wnid"])
                done = set(row["done_models"])
                stages = tuple(i for i in range(self.n_models) if i not in done)
                yield WorkItem(ref, row["image_id"], stages)
        cursor.close()
