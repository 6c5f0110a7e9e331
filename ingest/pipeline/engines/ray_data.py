"""Ray Data (`--engine ray`): the work items go, a block of ``batch_size`` images at a time, to
a pool of Ray actors, one CPU each (one GPU each with `--device cuda`), on this machine (a local
Ray) or on every machine of a running cluster (`--ray-address`). Each actor builds the models
once, then decodes, prepares and infers block after block; the finished images stream back to
this process (the driver), where the runner maps them to rows and writes Parquet parts, and
lands them at the end. Results are a few rows per image, so one driver keeps up with many
machines, and the parts have one writer: a block that Ray retried is never written twice.

Failures are Ray's to retry: an actor that dies (a native crash, out of memory, a lost node) is
restarted and its block retried. A retried block goes image by image, recording which image an
actor is on in a small bookkeeping actor, and an image that kills its actor again becomes an
error row (``ACTOR_DIED``) instead of stopping the run, as the local worker pool does. Nothing is
lost: an image Ray never returned becomes an error row too; nothing is written twice: the driver
keeps the first result of each image.

Every machine needs this package installed and the dataset at the same path (shared storage);
results come back in the order they finish, not in work-list order."""

from __future__ import annotations

import functools
import logging
import os
import pickle
from collections.abc import Iterable, Iterator
from itertools import islice

import pyarrow as pa

from ...core.config import RAY_ENV, ray_address, set_env_defaults
from ...core.errors import CensusError
from ...images.decode import Decoded
from ...sources.layouts import ImageRef
from ..prepare import Prepared, infer_batch, prepare_item
from ..worklist import WorkItem
from .base import Engine, EnginePlan

ACTOR_DIED = ("a Ray worker died twice while processing this image (a crash in a native library, or out of "
              "memory); the image was skipped and the run went on")
NO_RESULT = "Ray returned no result for this image; rerun to retry it"


def _ray():
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise CensusError("--engine ray needs Ray: pip install 'census-warehouse[ray]' (or `make setup`).") from None
    return ray


def init_ray(address: str | None = None, num_cpus: int | None = None) -> bool:
    """Connect to the cluster at ``address`` (else $RAY_ADDRESS), or start a quiet local Ray with
    ``num_cpus`` and no dashboard. Returns whether this call started it (so should stop it)."""
    ray = _ray()
    if ray.is_initialized():
        return False
    address = address or ray_address()
    # Ray's C++ core logs notes meant for Ray's developers on stderr; the run's own errors still come through
    set_env_defaults(RAY_ENV)
    quiet = {"include_dashboard": False, "logging_level": logging.ERROR, "log_to_driver": False}
    try:
        if address:
            ray.init(address=address, **quiet)
        else:
            ray.init(num_cpus=num_cpus, **quiet)
    except (ConnectionError, ValueError, RuntimeError) as error:
        where = f"the Ray cluster at {address}" if address else "a local Ray"
        hint = (" (a cluster started with token authentication, Ray's default, also needs RAY_AUTH_MODE=token "
                "and its token in ~/.ray/auth_token or $RAY_AUTH_TOKEN here)") if address else ""
        raise CensusError(f"Cannot start or reach {where}: {str(error).strip().splitlines()[0]}{hint}.") from None
    return True


def _quiet_ray_data() -> None:
    ray = _ray()
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # the runner has its own progress bar
    context.print_on_execution_start = False
    context.raise_original_map_exception = True  # a CensusError from an actor reaches the user as it is
    logging.getLogger("ray.data").setLevel(logging.CRITICAL)  # its errors reach the runner as exceptions


# -- work items as Arrow blocks ---------------------------------------------------------------
def _block(numbered: list[tuple[int, WorkItem]]) -> pa.Table:
    return pa.table({
        "idx": pa.array([i for i, _ in numbered], pa.int64()),
        "fs_path": pa.array([os.fsencode(w.ref.rel_path) for _, w in numbered], pa.binary()),
        "split": pa.array([w.ref.split for _, w in numbered], pa.string()),
        "wnid": pa.array([w.ref.wnid for _, w in numbered], pa.string()),
        "image_id": pa.array([w.image_id for _, w in numbered], pa.string()),
        "stages": pa.array([list(w.stages) for _, w in numbered], pa.list_(pa.int32())),
    })


def _items(block: pa.Table) -> list[tuple[int, WorkItem]]:
    columns = block.to_pydict()
    return [(idx, WorkItem(ImageRef(os.fsdecode(path), split, wnid), image_id, tuple(stages)))
            for idx, path, split, wnid, image_id, stages in zip(
                columns["idx"], columns["fs_path"], columns["split"], columns["wnid"], columns["image_id"],
                columns["stages"], strict=True)]


def _failed(root, item: WorkItem, error: str) -> Prepared:
    try:
        size: int | None = (root / item.ref.rel_path).stat().st_size
    except OSError:
        size = None
    return Prepared(item, Decoded(file_bytes=size, sha256=None, width=None, height=None, error=error))


# -- the actors --------------------------------------------------------------------------------
class Attempts:
    """Bookkeeping shared by the actors (a Ray actor itself): how often a block was started, and
    which images were started without finishing (their actor died on them)."""

    def __init__(self) -> None:
        self.blocks: dict[int, int] = {}
        self.unfinished: dict[int, int] = {}

    def block(self, key: int) -> int:
        self.blocks[key] = self.blocks.get(key, 0) + 1
        return self.blocks[key]

    def start(self, idx: int) -> int:
        """Record that an actor starts this image; returns how often one started it and died."""
        before = self.unfinished.get(idx, 0)
        self.unfinished[idx] = before + 1
        return before

    def finish(self, idx: int) -> None:
        self.unfinished.pop(idx, None)


class CensusActor:
    """One Ray actor: the models built and loaded once, then block after block of work items."""

    def __init__(self, root, make, max_side, batch_size, attempts) -> None:
        from ...models.runtime import set_inference_threads

        self.root, self.max_side, self.batch_size, self.attempts = root, max_side, batch_size, attempts
        self.models: list = []
        self.load_error: str | None = None
        try:
            self.models = make()
            for model in self.models:
                model.load()
        except Exception as error:  # noqa: BLE001 - reported with the first block, one sentence
            self.load_error = f"{type(error).__name__}: {error}"
        self.cpu = all(m.device == "cpu" for m in self.models)
        if self.cpu:
            set_inference_threads(1)  # one CPU per actor

    def __call__(self, block: pa.Table) -> pa.Table:
        import ray

        if self.load_error:
            raise CensusError(f"A Ray worker could not load the models: {self.load_error}")
        items = _items(block)
        first_try = ray.get(self.attempts.block.remote(items[0][0])) == 1
        done = self._all(items) if first_try else [self._alone(idx, item) for idx, item in items]
        return pa.table({"idx": pa.array([idx for idx, _ in items], pa.int64()),
                         "result": pa.array([pickle.dumps(p, protocol=5) for p in done], pa.binary())})

    def _all(self, items: list[tuple[int, WorkItem]]) -> list[Prepared]:
        if self.cpu:  # each image from file to answers, the networks on one image (the fastest on a CPU)
            return [prepare_item(self.root, self.models, item, self.max_side, infer=True) for _, item in items]
        prepared = [prepare_item(self.root, self.models, item, self.max_side) for _, item in items]
        for start in range(0, len(prepared), self.batch_size):
            infer_batch(self.models, prepared[start:start + self.batch_size])
        return prepared

    def _alone(self, idx: int, item: WorkItem) -> Prepared:
        """After the block's actor died: one image at a time, and an image that killed an actor
        on its own before becomes an error row."""
        import ray

        if ray.get(self.attempts.start.remote(idx)) > 0:
            result = _failed(self.root, item, ACTOR_DIED)
        else:
            result = prepare_item(self.root, self.models, item, self.max_side, infer=True)
        ray.get(self.attempts.finish.remote(idx))
        return result


# -- the engine ----------------------------------------------------------------------------------
class RayData(Engine):
    name = "ray"

    def __init__(self, plan: EnginePlan, address: str | None = None) -> None:
        super().__init__(plan)
        self.address = address
        self._owns_ray = False
        self._attempts = None
        self._streams: list = []  # open result streams, closed before Ray stops (else they restart it)

    @property
    def device(self) -> str:
        return "cpu" if all(m.device == "cpu" for m in self.plan.models) else "cuda"

    def start(self) -> None:
        ray = _ray()
        self._owns_ray = init_ray(self.address, self.plan.workers or None)
        _quiet_ray_data()
        self._attempts = ray.remote(num_cpus=0)(Attempts).remote()

    def close(self) -> None:
        ray = _ray()
        while self._streams:  # a run cut short (Ctrl-C): stop Ray Data's executor while Ray is up
            self._streams.pop().close()
        if self._attempts is not None:
            ray.kill(self._attempts)
            self._attempts = None
        if self._owns_ray:
            ray.shutdown()
            self._owns_ray = False

    def actors(self) -> int:
        """Actors in the pool: --workers, else one per CPU (per GPU with --device cuda) of the cluster."""
        resources = _ray().cluster_resources()
        unit = "GPU" if self.device != "cpu" else "CPU"
        available = int(resources.get(unit, 0))
        if available < 1:
            raise CensusError(f"The Ray cluster has no {unit} for the census actors (it has "
                              f"{', '.join(f'{k} {v:g}' for k, v in resources.items() if k in ('CPU', 'GPU'))}).")
        return min(self.plan.workers, available) if self.plan.workers > 0 else available

    def results(self, items: Iterable[WorkItem]) -> Iterator[Prepared]:
        ray = _ray()
        plan = self.plan
        iterator = iter(items)
        chunks, count = [], 0  # the work list as Arrow (~100 bytes an image), numbered
        while numbered := list(enumerate(islice(iterator, 65_536), count)):
            chunks.append(_block(numbered))
            count += len(numbered)
        if not count:
            return iter(())
        actors = self.actors()
        # Ray tasks of whole batches, about four per actor, at most 32 batches (a retry redoes one task)
        per_task = plan.batch_size * max(1, min(32, count // (4 * actors * plan.batch_size)))
        work = pa.concat_tables(chunks)
        chunks.clear()
        starts = list(range(0, count, per_task))
        # take() copies: a slice would carry (and pickle) the whole work list into every block
        refs = [ray.put(work.take(pa.array(range(s, min(s + per_task, count))))) for s in starts]
        del work
        gpu = self.device != "cpu"
        dataset = ray.data.from_arrow_refs(refs).map_batches(
            CensusActor, batch_size=plan.batch_size, batch_format="pyarrow", zero_copy_batch=True,
            compute=ray.data.ActorPoolStrategy(size=actors),
            num_cpus=1, num_gpus=1 if gpu else None,
            fn_constructor_kwargs={"root": plan.root, "make": plan.make, "max_side": plan.max_side,
                                   "batch_size": plan.batch_size, "attempts": self._attempts},
        )
        stream = self._collect(dataset, refs, starts, count)
        self._streams.append(stream)
        return stream

    def _collect(self, dataset, refs: list, starts: list[int], count: int) -> Iterator[Prepared]:
        ray = _ray()
        seen = bytearray(count)
        try:
            for batch in dataset.iter_batches(batch_size=None, batch_format="pyarrow", prefetch_batches=2):
                for idx, blob in zip(batch["idx"].to_pylist(), batch["result"].to_pylist(), strict=True):
                    if not seen[idx]:  # a result Ray delivered twice is kept once
                        seen[idx] = 1
                        yield pickle.loads(blob)
        except CensusError as error:  # from an actor (Ray's wrapper subclasses it): its own sentence
            text = str(getattr(error, "cause", None) or error).strip()
            raise CensusError(text.splitlines()[0] if text else type(error).__name__) from None
        except ray.exceptions.RayError as error:
            line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise CensusError(f"The Ray run stopped: {line}") from None
        for block_no, start in enumerate(starts):  # never silent: what Ray did not return is an error row
            end = starts[block_no + 1] if block_no + 1 < len(starts) else count
            if all(seen[start:end]):
                continue
            for idx, item in _items(ray.get(refs[block_no])):
                if not seen[idx]:
                    yield _failed(self.plan.root, item, NO_RESULT)


def choose(device: str, workers: int, address: str | None = None):
    """`--engine ray`: the actor pool, on the cluster at ``address`` (else $RAY_ADDRESS, else a local Ray)."""
    return functools.partial(RayData, address=address)
