"""What every engine does: carry work items through the models and hand back, in work-list
order (Ray: in the order they finish), each image once with its outcomes (or errors) and no
inputs left to infer."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from ...models import Model
from ..prepare import Prepared, infer_batch
from ..worklist import WorkItem


@dataclass(frozen=True)
class EnginePlan:
    root: Path  # the dataset root every rel_path is under
    models: list[Model]  # this process's models (not yet loaded)
    make: Callable[[], list[Model]]  # builds the same models in a worker process
    workers: int  # worker processes (0: none)
    max_side: int | None  # longest side the decoder must keep for every stage
    batch_size: int  # images per inference batch where this process runs the networks


class Engine(ABC):
    """Start with ``with``: the engine loads models or starts workers there, and stops them on exit."""

    #: what ``raw.runs.params.engine`` records (local engines record nothing)
    name: str = "local"

    def __init__(self, plan: EnginePlan) -> None:
        self.plan = plan

    def __enter__(self) -> Engine:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        """Load the networks or start the workers; a model that cannot load raises here."""

    def run_params(self, model: Model) -> dict:
        """What this engine changes about how ``model`` runs, for ``raw.runs.params`` (after start)."""
        return {}

    def close(self) -> None:
        """Stop what ``start`` started."""

    @abstractmethod
    def results(self, items: Iterable[WorkItem]) -> Iterator[Prepared]: ...


def infer_in_batches(models: list[Model], prepared: Iterable[Prepared], size: int) -> Iterator[Prepared]:
    """Run the networks here on batches of ``size`` prepared images; images come out in order.
    Images with nothing left to infer (a decode error) wait for their batch to keep the order."""
    iterator = iter(prepared)
    while batch := list(islice(iterator, size)):
        infer_batch(models, batch)
        yield from batch
