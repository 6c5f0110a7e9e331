"""`--engine ray` on a local Ray with 2 CPUs: the local engine's rows, row for row; resumable;
an actor killed mid-run loses no image, and an image that kills its actor again becomes an
error row."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import crashers
import pandas as pd
import pytest
from PIL import Image
from runs import KEYS, count, ingest, table

from ingest.core.errors import CensusError
from ingest.core.ids import image_id
from ingest.pipeline.engines.base import EnginePlan
from ingest.pipeline.worklist import WorkItem
from ingest.sources.layouts import list_images

ray = pytest.importorskip("ray")

from ingest.pipeline.engines.ray_data import ACTOR_DIED, RayData, init_ray  # noqa: E402

TABLES = list(KEYS)


@pytest.fixture(scope="module")
def local_ray(tmp_path_factory):
    """One quiet local Ray with 2 CPUs for the module; its actors import the tests' crash models."""
    marker = tmp_path_factory.mktemp("ray") / "crashed-once"
    with pytest.MonkeyPatch.context() as env:  # the local Ray's processes inherit this environment
        env.setenv(crashers.ONCE_MARKER, str(marker))
        env.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(Path(crashers.__file__).parent),
                                                               os.environ.get("PYTHONPATH")])))
        env.delenv("RAY_ADDRESS", raising=False)
        started = init_ray(num_cpus=2)
        try:
            yield marker
        finally:
            if started:
                ray.shutdown()


def test_ray_engine_gives_the_local_engines_rows_and_resumes(local_ray, tmp_path):
    from photos import build_small_ilsvrc

    root = build_small_ilsvrc(tmp_path / "ilsvrc")
    local = tmp_path / "local.duckdb"
    assert ingest(root, local).stats.seen == 8
    db, parts = tmp_path / "ray.duckdb", tmp_path / "parts"
    summary = ingest(root, db, engine="ray", workers=2, batch_size=2, parts=parts)
    assert summary.stats.seen == 8 and summary.stats.errors == 0 and summary.landed
    for name in TABLES:  # row for row, run ids aside; answers within float tolerance
        pd.testing.assert_frame_equal(table(db, name), table(local, name), check_dtype=False, rtol=1e-4, atol=1e-6)
    assert count(db, "select distinct status, params->>'engine' from raw.runs") == [("complete", "ray")]
    again = ingest(root, db, engine="ray", workers=2, batch_size=2, parts=parts)
    assert again.todo == 0 and again.skipped == 8


def _dataset(root: Path, widths: list[int]) -> list[WorkItem]:
    folder = root / "train" / "n01440764"
    folder.mkdir(parents=True)
    for i, width in enumerate(widths):
        Image.new("RGB", (width, 40), (i * 20, 90, 160)).save(folder / f"n01440764_{i}.JPEG")
    return [WorkItem(ref, image_id("ds", ref.rel_path), (0,)) for ref in list_images(root)]


def test_a_killed_actor_loses_nothing_and_an_image_that_kills_again_is_an_error(local_ray, tmp_path):
    widths = [60, crashers.POISON_WIDTH, 62, crashers.ONCE_WIDTH, 64, 65, 66, 67]
    items = _dataset(tmp_path, widths)
    plan = EnginePlan(tmp_path, crashers.crash_once_models(), crashers.crash_once_models, 2, None, 2)
    with RayData(plan) as engine:
        out = list(engine.results(items))
    assert local_ray.exists(), "the transient crash did not happen"
    assert Counter(p.item for p in out) == Counter(items)  # every image exactly once
    died = {p.item.ref.rel_path for p in out if p.decoded.error == ACTOR_DIED}
    assert died == {items[1].ref.rel_path}  # the poison image, and only it
    fine = [p for p in out if p.decoded.error is None]
    assert len(fine) == len(widths) - 1  # the image whose first try killed its actor was retried
    assert all(p.outcomes[0]["nsfw_score"] == p.decoded.width / 1000 for p in fine)


def test_actors_that_cannot_load_the_models_stop_the_run_with_one_sentence(local_ray, tmp_path):
    items = _dataset(tmp_path, [60, 61, 62])
    plan = EnginePlan(tmp_path, crashers.fails_to_load_models(), crashers.fails_to_load_models, 1, None, 2)
    with pytest.raises(CensusError) as raised, RayData(plan) as engine:
        list(engine.results(items))
    assert str(raised.value) == "A Ray worker could not load the models: RuntimeError: broken weights"
