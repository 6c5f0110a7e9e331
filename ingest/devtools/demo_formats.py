"""The demo photos as users of large datasets hold them: one webdataset shard and one Parquet
file of image bytes (`ingest demo --formats`), censused by the same `ingest run`.

Built from the ILSVRC-layout demo (``ingest demo``): every image's bytes as they are, with a
caption and JSON metadata (webdataset: ``<key>.jpg`` + ``<key>.txt`` + ``<key>.json``;
Parquet: a Hugging Face ``image`` struct ``{bytes, path}``, ``caption``, ``wnid`` and
``source`` columns, two row groups)."""

from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ..core.errors import CensusError
from ..sources.layouts import list_images

WEBDATASET = "webdataset_demo"
PARQUET = "parquet_demo"
SHARD = "demo-000000.tar"
PARQUET_FILE = "demo-000000.parquet"


def _replace(path: Path, data: bytes) -> None:
    """Write a file atomically (a rerun rebuilds it in place)."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def _own_folder(folder: Path, name: str) -> None:
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise CensusError(f"{folder} exists and is not a folder; remove it or build the demo elsewhere.")
    strays = sorted(p.name for p in folder.iterdir() if p.name != name) if folder.is_dir() else []
    if strays:
        raise CensusError(f"{folder} holds files the demo did not write ({', '.join(strays[:3])}); "
                          "remove them or build the demo elsewhere.")
    folder.mkdir(parents=True, exist_ok=True)


def build_formats(source: Path, parent: Path) -> tuple[Path, Path]:
    """A webdataset shard and a Parquet file of the demo's images under ``parent``; returns
    their folders (the dataset roots to run)."""
    refs = list_images(source)
    wds, par = parent / WEBDATASET, parent / PARQUET
    _own_folder(wds, SHARD)
    _own_folder(par, PARQUET_FILE)
    shard = io.BytesIO()
    cells, captions, wnids, sources = [], [], [], []
    with tarfile.open(fileobj=shard, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for number, ref in enumerate(refs):
            data = (source / ref.rel_path).read_bytes()
            key = f"{number:06d}"
            caption = f"a photo filed under {ref.wnid} ({ref.split})"
            meta = {"key": key, "source": ref.rel_path, "wnid": ref.wnid, "split": ref.split}
            for name, blob in ((f"{key}.jpg", data), (f"{key}.txt", caption.encode()),
                               (f"{key}.json", json.dumps(meta, sort_keys=True).encode())):
                info = tarfile.TarInfo(name)
                info.size, info.mtime, info.mode = len(blob), 0, 0o644
                archive.addfile(info, io.BytesIO(blob))
            cells.append({"bytes": data, "path": f"{key}.jpg"})
            captions.append(caption)
            wnids.append(ref.wnid)
            sources.append(ref.rel_path)
    _replace(wds / SHARD, shard.getvalue())
    table = pa.table({"image": pa.array(cells), "caption": captions, "wnid": wnids, "source": sources})
    buffer = io.BytesIO()
    pq.write_table(table, buffer, row_group_size=max(1, (len(refs) + 1) // 2))
    _replace(par / PARQUET_FILE, buffer.getvalue())
    return wds, par
