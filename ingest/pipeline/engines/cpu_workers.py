"""On a CPU: each worker process carries an image from file to answers (one decode, every
stage's preparation, each network on one thread); this process only lists and writes.
Batching makes CPU inference slower per image (BENCHMARKS.md), and a worker that does the
whole image keeps every core busy with no hand-off."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ..pool import Workers
from ..prepare import Prepared
from ..worklist import WorkItem
from .base import Engine


class CpuWorkers(Engine):
    pool: Workers | None = None

    def start(self) -> None:
        plan = self.plan
        self.pool = Workers(plan.root, plan.make, plan.workers, plan.max_side, infer=True)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()

    def results(self, items: Iterable[WorkItem]) -> Iterator[Prepared]:
        return self.pool.stream(items)
