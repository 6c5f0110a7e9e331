"""A toy engine, as a newcomer would add one: its module (this one) and its registry line
(``ENTRY``, a line of ``ingest/pipeline/engines/registry.py``). Nothing else in the package
changes; pipeline/engines/test_toy_engine.py proves it end to end."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ingest.pipeline.engines.base import Engine
from ingest.pipeline.engines.registry import EngineSpec
from ingest.pipeline.prepare import Prepared, infer_batch, prepare_item
from ingest.pipeline.worklist import WorkItem


class OneByOne(Engine):
    """Every image alone, in this process: decode, prepare, infer."""

    name = "toy"

    def start(self) -> None:
        for model in self.plan.models:
            model.load()

    def results(self, items: Iterable[WorkItem]) -> Iterator[Prepared]:
        plan = self.plan
        for item in items:
            prepared = prepare_item(plan.root, plan.models, item, plan.max_side)
            infer_batch(plan.models, [prepared])
            yield prepared


def choose(device: str, workers: int, address: str | None = None) -> type[OneByOne]:
    return OneByOne


ENTRY = EngineSpec("toy", "every image alone, in this process", "toy_engine:choose", workers="none")
