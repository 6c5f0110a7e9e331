"""On a GPU: worker processes decode and prepare, this process runs the networks on batches
that every stage shares (with `--workers 0`, this process prepares too)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ..pool import Workers
from ..prepare import Prepared, prepare_item
from ..worklist import WorkItem
from .base import Engine, infer_in_batches


class GpuBatches(Engine):
    pool: Workers | None = None

    def start(self) -> None:
        plan = self.plan
        if plan.workers > 0:  # started first: their imports and set-up overlap the model load here
            self.pool = Workers(plan.root, plan.make, plan.workers, plan.max_side, infer=False)
        for model in plan.models:
            model.load()  # a model that cannot load stops here, before any row lands

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()

    def results(self, items: Iterable[WorkItem]) -> Iterator[Prepared]:
        plan = self.plan
        if self.pool is not None:
            prepared = self.pool.stream(items)
        else:
            prepared = (prepare_item(plan.root, plan.models, item, plan.max_side) for item in items)
        return infer_in_batches(plan.models, prepared, plan.batch_size)
