"""Where a run's rows go: the warehouse itself, or Parquet parts (``parts.PartsSink``) that
``ingest land`` loads later. The runner writes through this one narrow interface and does not
know which it has."""

from __future__ import annotations

from typing import Protocol

import duckdb

from .db import Batch, finish_run, insert_run, write_batch


class Sink(Protocol):
    def start_runs(self, runs: list[dict]) -> None:
        """Record the run's raw.runs rows (``warehouse.run_row``), status ``running``."""

    def write(self, batch: Batch) -> None:
        """Land one batch of finished images whole: all of its rows or none of them."""

    def finish(self, status: str) -> None:
        """Close the runs: ``complete`` when every image was done, else ``failed``."""


class WarehouseSink:
    """Straight into the warehouse: one transaction per batch, the warehouse held all run long."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.run_ids: list[str] = []

    def start_runs(self, runs: list[dict]) -> None:
        self.run_ids = [insert_run(self.con, row) for row in runs]

    def write(self, batch: Batch) -> None:
        write_batch(self.con, batch)

    def finish(self, status: str) -> None:
        for run_id in self.run_ids:
            finish_run(self.con, run_id, status)
