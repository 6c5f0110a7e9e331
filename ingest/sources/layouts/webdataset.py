"""``webdataset``: every ``.tar`` shard under the root (read by ``ingest/sources/webdataset.py``), one
image per sample, rel_path ``shard.tar#key``, split ``all``, label ``''``; captions and .json kept."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ...images.decode import is_image
from .base import ALL_SPLIT, UNLABELLED, ImageRef, stored_path
from .containers import SENTENCES, container_files
from .protocol import Layout, Peek, Source
from .scan import SIDECAR_EXTENSIONS


class Webdataset(Layout):
    container = ".tar"
    ignored = {
        **SENTENCES,
        "no_image_sample": "{n} webdataset sample(s) without an image member were ignored (e.g. {ex}).",
        "second_image": "{n} further image member(s) of a sample that already has one were ignored (e.g. {ex}); "
                        "one image is read per webdataset key.",
        "duplicate_key": "{n} webdataset sample(s) repeating the key of an earlier sample of the same shard were "
                         "ignored (e.g. {ex}); the first sample with a key is read, so give every sample its own "
                         "key.",
        "truncated": "{n} shard(s) end early (truncated or corrupt) and were read up to the break (e.g. {ex}); "
                     "the samples before it are processed, a member cut short is recorded as an error.",
    }

    def detect(self, peek: Peek) -> bool:
        """Only shards, and sidecar files other than Parquet, at the top level."""
        kinds = peek.kinds
        return not peek.has_folders and ".tar" in kinds and kinds <= {".tar"} | SIDECAR_EXTENSIONS - {".parquet"}

    def images(self, source: Source) -> Iterator[ImageRef]:
        """One image per sample of every .tar shard under the root, shards sorted by path."""
        from ..webdataset import iter_samples, meta_json

        scan = source.scan
        for shard in container_files(scan, ".tar"):
            shard_rel = scan.rel(shard)

            def skip(reason: str, member: str, shard_rel: str = shard_rel) -> None:
                scan.ignored.add(reason, member if reason == "truncated" else f"{shard_rel}#{member}")

            for sample in iter_samples(shard, is_image, skip):
                rel = f"{shard_rel}#{sample.key}"
                if source.on_text is not None and (sample.caption is not None or sample.meta is not None):
                    source.on_text(stored_path(rel), sample.caption, meta_json(sample.meta))
                yield ImageRef(rel, ALL_SPLIT, UNLABELLED)

    def read(self, container: Path, member: str, root: Path) -> bytes:
        from ..webdataset import read_sample

        return read_sample(container, member, root)


LAYOUT = Webdataset()
