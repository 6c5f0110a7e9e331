"""Worker processes that die (killed for memory, a crash in a native library) never stop a
run and never lose an image: the images in flight are redone, and the one that kills its
worker becomes an error row."""

from __future__ import annotations

import crashers
import pytest
from PIL import Image

from ingest.core.errors import CensusError
from ingest.core.ids import image_id
from ingest.pipeline.pool import WORKER_DIED, Workers
from ingest.pipeline.worklist import WorkItem
from ingest.sources.layouts import list_images


def _dataset(root, widths):
    folder = root / "train" / "n01440764"
    folder.mkdir(parents=True)
    for i, width in enumerate(widths):
        Image.new("RGB", (width, 40), (i * 20, 90, 160)).save(folder / f"n01440764_{i}.JPEG")
    return [WorkItem(ref, image_id("ds", ref.rel_path), (0,)) for ref in list_images(root)]


def test_an_image_that_kills_its_worker_becomes_an_error_and_the_rest_go_on(tmp_path):
    widths = [60, 61, crashers.POISON_WIDTH, 63, 64, 65, 66, crashers.POISON_WIDTH, 68, 69, 70]
    items = _dataset(tmp_path, widths)
    with Workers(tmp_path, crashers.crasher_models, 2, None, infer=True) as pool:
        out = list(pool.stream(items, chunk=2, max_inflight=3))
    assert [p.item for p in out] == items  # every image once, in order
    died = [p for p in out if p.decoded.error == WORKER_DIED]
    poisoned = {f"n01440764_{i}.JPEG" for i, w in enumerate(widths) if w == crashers.POISON_WIDTH}
    assert {p.item.ref.rel_path.rsplit("/", 1)[1] for p in died} == poisoned
    assert all(p.decoded.width is None and p.decoded.file_bytes > 0 for p in died)
    fine = [p for p in out if p.decoded.error is None]
    assert len(fine) == len(widths) - 2
    assert all(p.outcomes[0]["nsfw_score"] == p.decoded.width / 1000 for p in fine)


def test_workers_that_die_as_they_start_stop_the_run_with_one_sentence(tmp_path):
    items = _dataset(tmp_path, [60, 61, 62])
    with pytest.raises(CensusError, match="die as soon as they start"), \
            Workers(tmp_path, crashers.dies_at_start, 1, None, infer=True) as pool:
        list(pool.stream(items, chunk=2))
