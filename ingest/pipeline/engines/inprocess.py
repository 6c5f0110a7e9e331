"""All in this process: decode, prepare and infer, with the networks on batches (`--workers 0`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ..prepare import Prepared, prepare_item
from ..worklist import WorkItem
from .base import Engine, infer_in_batches


class InProcess(Engine):
    def start(self) -> None:
        for model in self.plan.models:
            model.load()  # a model that cannot load stops here, before any row lands

    def results(self, items: Iterable[WorkItem]) -> Iterator[Prepared]:
        plan = self.plan
        prepared = (prepare_item(plan.root, plan.models, item, plan.max_side) for item in items)
        return infer_in_batches(plan.models, prepared, plan.batch_size)
