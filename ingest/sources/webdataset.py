"""Webdataset tar shards (what img2dataset writes): samples of ``<key>.<ext>`` members.

Listing reads each shard once as a stream (``tarfile`` mode ``r|``, nothing unpacked to disk):
a sample's key is its member name up to the first dot of the base name; its image is the
member with an image extension, its caption the ``.txt`` member and its metadata the
``.json`` member. An image's locator (its rel_path) is ``<shard rel_path>#<key>``.

Decoding reads one sample's image bytes from the shard: each process keeps the member index
of the shard it read last (headers only), so a run reads every header of a shard once per
worker, never the whole archive per image.
"""

from __future__ import annotations

import json
import os
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..images.decode import MAX_FILE_BYTES, NotRead, contained_file, is_image

SEPARATOR = "#"
CAPTION_EXTENSIONS = (".txt", ".caption", ".cap")
META_EXTENSIONS = (".json",)


@dataclass(frozen=True, slots=True)
class Sample:
    """One sample of a shard: its key, the image member, its caption and metadata (text)."""

    key: str
    member: str
    caption: str | None
    meta: str | None


def split_key(name: str) -> tuple[str, str]:
    """``dir/00001.jpg`` -> (``dir/00001``, ``.jpg``): the key ends at the base name's first dot."""
    path = PurePosixPath(name)
    base, dot, rest = path.name.partition(".")
    key = str(path.parent / base) if str(path.parent) != "." else base
    return key, f".{rest.lower()}" if dot else ""


def iter_samples(
    shard: Path, is_image: Callable[[str], bool], on_skip: Callable[[str, str], None]
) -> Iterator[Sample]:
    """Every sample with an image in a shard, in the shard's order, each key once. What is left
    out (members of no image sample, a second image of a key, a later sample repeating a key, a
    shard that ends early) goes to ``on_skip(reason, member)``; the samples before a truncation
    are still yielded. A key's first image member is the one :func:`read_sample` reads."""
    current: str | None = None
    member: str | None = None
    texts: dict[str, str] = {}
    seen: set[str] = set()  # keys yielded: a locator names one sample, so a repeat is left out

    def flush() -> Iterator[Sample]:
        if current is None:
            return
        if member is None:
            on_skip("no_image_sample", current)
            return
        if current in seen:
            on_skip("duplicate_key", current)
            return
        seen.add(current)
        yield Sample(current, member, texts.get("caption"), texts.get("meta"))

    try:
        with tarfile.open(shard, mode="r|") as archive:
            for info in archive:
                if not info.isfile():
                    continue
                key, ext = split_key(info.name)
                if key != current:
                    yield from flush()
                    current, member, texts = key, None, {}
                if is_image(info.name):
                    if member is None:
                        member = info.name
                    else:
                        on_skip("second_image", info.name)
                elif ext.endswith(CAPTION_EXTENSIONS) or ext.endswith(META_EXTENSIONS):
                    handle = archive.extractfile(info)
                    text = handle.read(1_000_000).decode("utf-8", "replace") if handle else ""
                    texts["meta" if ext.endswith(META_EXTENSIONS) else "caption"] = text
                else:
                    on_skip("not_image", info.name)
    except (tarfile.TarError, EOFError, OSError) as error:
        yield from flush()
        current = None
        on_skip("truncated", f"{shard.name} ({error})")
        return
    yield from flush()


def meta_json(text: str | None) -> str | None:
    """A sample's .json as canonical JSON text, or the raw text wrapped when it is not JSON."""
    if text is None:
        return None
    try:
        return json.dumps(json.loads(text), sort_keys=True)
    except ValueError:
        return json.dumps({"unparsed": text})


_INDEX: dict[str, tuple[float, dict[str, tarfile.TarInfo]]] = {}


def _index(path: str) -> dict[str, tarfile.TarInfo]:
    """key -> the image member of a shard, for the shard read last in this process."""
    stamp = os.stat(path).st_mtime
    cached = _INDEX.get(path)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    members: dict[str, tarfile.TarInfo] = {}
    with tarfile.open(path, mode="r:") as archive:
        try:
            for info in archive:
                if info.isfile() and is_image(info.name):
                    members.setdefault(split_key(info.name)[0], info)
        except (tarfile.TarError, EOFError, OSError):
            pass  # a truncated shard: the members whose headers were read
    _INDEX.clear()
    _INDEX[path] = (stamp, members)
    return members


def read_sample(shard: Path, key: str, root: Path) -> bytes:
    """The image bytes of one sample of a shard inside ``root``; NotRead or OSError otherwise."""
    real = contained_file(shard, root, "shard")
    try:
        info = _index(real).get(key)
    except (tarfile.TarError, EOFError) as error:
        raise NotRead(f"cannot read the tar shard: {error}") from None
    if info is None:
        raise NotRead(f"no image member with key {key!r} in the shard")
    if info.size > MAX_FILE_BYTES:
        raise NotRead(f"the member holds more than the {MAX_FILE_BYTES // 2**20} MiB read limit; not read",
                      info.size)
    with open(real, "rb") as handle:
        handle.seek(info.offset_data)
        data = handle.read(info.size)
    if len(data) < info.size:
        raise NotRead(f"truncated tar member: {len(data)} of {info.size} bytes present", info.size)
    return data
