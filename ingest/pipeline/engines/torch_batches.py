"""`--engine torch` (and `--device cuda` when torch sees a GPU): the default profile's networks in
PyTorch, in this process, on whole batches. Threads read the files; a background thread decodes
batch n+1 (on CUDA: nvjpeg, on its own stream) while the networks run on batch n; no worker
processes and no dlib. On a CPU it runs the same code (that is how the tests compare it with the
onnxruntime path)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ...models.torch.profile import NETWORKS_OF, TorchProfile, run_isolated
from ...models.torch.stream import Loader
from ..prepare import Prepared
from ..worklist import WorkItem
from .base import Engine


def engine_device(models) -> str:
    """Where the networks run: CUDA when the run's models were built for it."""
    return "cuda" if any(m.device == "cuda" for m in models) else "cpu"


class TorchBatches(Engine):
    name = "torch"
    profile: TorchProfile | None = None

    def start(self) -> None:
        self.profile = TorchProfile(self.plan.models, engine_device(self.plan.models))
        self.profile.load()  # a model that cannot load stops here, before any row lands

    def run_params(self, model) -> dict:
        """The runtime, and the model's networks that run in fp16 (on CUDA: those in FP16_NETWORKS,
        measured to agree with fp32 within the limits in BENCHMARKS.md; the annotator stays the same)."""
        half = [name for name in NETWORKS_OF[type(model)] if name in self.profile.fp16_networks]
        return {"runtime": "torch", **({"precision": "fp16", "fp16_networks": half} if half else {})}

    def close(self) -> None:
        self.profile = None  # the networks' device memory goes back with them

    def results(self, items: Iterable[WorkItem]) -> Iterator[Prepared]:
        plan, profile = self.plan, self.profile
        loader = Loader(plan.root, ((item, item.ref.rel_path) for item in items), plan.batch_size, profile.device,
                        plan.max_side)
        for batch in loader:
            done = [Prepared(item, facts) for item, facts in zip(batch.items, batch.facts, strict=True)]
            ok = [i for i, image in enumerate(batch.images) if image is not None]
            outcomes, errors = run_isolated(profile, [batch.images[i] for i in ok],
                                            [done[i].item.stages for i in ok], [batch.scales[i] for i in ok])
            decode_share = batch.seconds / len(done)
            for prepared in done:
                prepared.seconds["decode"] = decode_share
            shares = {f"torch.{stage}": seconds / len(ok) for stage, seconds in profile.last_seconds.items()} \
                if ok else {}
            for i, outcome, error in zip(ok, outcomes, errors, strict=True):
                done[i].outcomes.update(outcome)
                done[i].errors.update(error)
                done[i].seconds.update(shares)
            yield from done


def choose(device: str, workers: int, address: str | None = None) -> type[TorchBatches]:
    """`--engine torch`: the networks in PyTorch in this process, whatever the device."""
    return TorchBatches
