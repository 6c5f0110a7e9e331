"""Per-image work shared by every engine: decode once, each stage's CPU preparation, and the
networks, on one image or on a batch of prepared images."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..images.decode import Decoded
from ..models import Model
from ..sources.locators import decode_ref
from .worklist import WorkItem


@dataclass(slots=True)
class Prepared:
    """One image on its way through the models; an engine hands it on with no inputs left."""

    item: WorkItem
    decoded: Decoded  # rgb dropped before it crosses back to the main process
    inputs: dict[int, Any] = field(default_factory=dict)  # prepared, not yet inferred
    outcomes: dict[int, Any] = field(default_factory=dict)  # inferred
    errors: dict[int, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def prepare_item(
    root: Path, models: list[Model], item: WorkItem, max_side: int | None, infer: bool = False
) -> Prepared:
    """Decode the image once and run each of its stages' preparation (and networks, if ``infer``)."""
    started = time.perf_counter()
    decoded = decode_ref(root, item.ref.rel_path, max_side)
    result = Prepared(item, decoded)
    result.seconds["decode"] = time.perf_counter() - started
    if decoded.error is None:
        for index in item.stages:
            model = models[index]
            t0 = time.perf_counter()
            try:
                result.inputs[index] = model.prepare(decoded)
            except Exception as error:  # noqa: BLE001 - one bad image never stops a run
                result.errors[index] = f"{model.stage} preparation failed: {error}"
            result.seconds[f"{model.stage}.prepare"] = time.perf_counter() - t0
    decoded.rgb = None
    if infer:
        infer_one(models, result)
    return result


def infer_one(models: list[Model], result: Prepared) -> None:
    """Run each network on this one image, in this process."""
    for index, value in list(result.inputs.items()):
        model = models[index]
        t0 = time.perf_counter()
        try:
            result.outcomes[index] = model.infer([value])[0]
        except Exception as error:  # noqa: BLE001 - one bad image never stops a run
            result.errors[index] = f"{model.stage} inference failed: {error}"
        result.seconds[f"{model.stage}.infer"] = time.perf_counter() - t0
    result.inputs.clear()


def infer_batch(models: list[Model], prepared: list[Prepared]) -> None:
    """Run every model on its share of a batch of prepared images, in this process. A batch
    that fails is retried image by image, so only the bad image gets an error. Each image
    is charged an equal share of its batch's time."""
    for index, model in enumerate(models):
        members = [p for p in prepared if index in p.inputs]
        if not members:
            continue
        t0 = time.perf_counter()
        _infer_isolated(model, index, members)
        share = (time.perf_counter() - t0) / len(members)
        key = f"{model.stage}.infer"
        for p in members:
            p.seconds[key] = p.seconds.get(key, 0.0) + share
    for p in prepared:
        p.inputs.clear()


def _infer_isolated(model: Model, index: int, members: list[Prepared]) -> None:
    step = model.cpu_batch if model.device == "cpu" else len(members)
    try:
        values = []
        for start in range(0, len(members), step):
            values.extend(model.infer([p.inputs[index] for p in members[start : start + step]]))
        for p, value in zip(members, values, strict=True):
            p.outcomes[index] = value
    except Exception:  # noqa: BLE001
        for p in members:
            try:
                p.outcomes[index] = model.infer([p.inputs[index]])[0]
            except Exception as error:  # noqa: BLE001
                p.errors[index] = f"{model.stage} inference failed: {error}"
