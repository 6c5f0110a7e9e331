"""Row mapping: one finished image -> its raw rows (images, image_runs and each stage's table,
as the stage registry says), and the run's running totals."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.rows import ImageRow, ImageRunRow
from ..core.stages import STAGES
from ..models import Model
from ..warehouse.db import Batch
from .prepare import Prepared


@dataclass
class Stats:
    seen: int = 0
    ok: int = 0
    errors: int = 0
    counters: dict[str, int] = field(default_factory=dict)  # from each stage's tally, e.g. faces_kept
    stage_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def faces(self) -> int:
        return self.counters.get("faces", 0)

    @property
    def faces_kept(self) -> int:
        return self.counters.get("faces_kept", 0)

    def add_time(self, key: str, seconds: float) -> None:
        self.stage_seconds[key] = self.stage_seconds.get(key, 0.0) + seconds

    def count(self, counters: dict[str, int]) -> None:
        for key, value in counters.items():
            self.counters[key] = self.counters.get(key, 0) + value


@dataclass(frozen=True)
class RowMapper:
    """Turns finished images into raw rows for one run of these models."""

    models: list[Model]
    run_ids: list[str]  # one per model, in the same order
    dataset: str
    face_min_score: float

    def rows(self, done: Prepared, stats: Stats) -> Batch:
        batch = Batch()
        ref, decoded, key = done.item.ref, done.decoded, done.item.image_id
        stats.seen += 1
        for seconds_key, seconds in done.seconds.items():
            stats.add_time(seconds_key, seconds)
        image: ImageRow = {
            "image_id": key, "dataset": self.dataset, "split": ref.split, "wnid": ref.wnid,
            "rel_path": ref.stored_path, "file_bytes": decoded.file_bytes, "sha256": decoded.sha256,
            "width": decoded.width, "height": decoded.height, "decode_error": decoded.error,
        }
        batch.add("images", [image])
        any_error = decoded.error is not None
        for index in done.item.stages:
            run_id = self.run_ids[index]
            error = decoded.error or done.errors.get(index)
            if error is None and index not in done.outcomes:
                error = f"{self.models[index].stage}: no result"  # never silent
            outcome: ImageRunRow = {"run_id": run_id, "image_id": key, "status": "error" if error else "ok",
                                    "error": error}
            batch.add("image_runs", [outcome])
            if error is not None:
                any_error = True
                continue
            self._result_rows(batch, index, run_id, key, done.outcomes[index], stats)
        if any_error:
            stats.errors += 1
        else:
            stats.ok += 1
        return batch

    def _result_rows(self, batch: Batch, index: int, run_id: str, key: str, value, stats: Stats) -> None:
        stage = STAGES[self.models[index].stage]
        rows = [{"run_id": run_id, "image_id": key, **row} for row in stage.to_rows(value)]
        batch.add(stage.table, rows)
        if stage.tally is not None:
            stats.count(stage.tally(rows, self.face_min_score))
