"""The layouts ``--layout`` offers, in order, one line each: adding a layout is its module (a
``LAYOUT``, see ``protocol.py``) and its line here. The choices, auto detection, the ignored-file
sentences and the locators' container kinds are all read from this tuple.

Kept free of heavy imports (the command line builds its ``--layout`` choices from it at start-up):
a layout's module is imported when the layout is first used."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING

from ...core.errors import CensusError

if TYPE_CHECKING:
    from .protocol import Layout


@dataclass(frozen=True, slots=True)
class Entry:
    name: str  # the --layout value
    module: str  # the module whose LAYOUT reads it: relative to this package, or absolute
    help: str  # what it reads, in a line


REGISTRY: tuple[Entry, ...] = (
    Entry("ilsvrc", ".ilsvrc", "ILSVRC-2012 train/<wnid>/ and val/ (wnid folders, or flat with its ground truth)"),
    Entry("folders", ".folders", "<split>/<class>/* or <class>/* (split train)"),
    Entry("manifest", ".manifest", "a CSV or Parquet file of rel_path, split and label (--manifest FILE)"),
    Entry("images", ".images", "a flat or nested folder of unlabelled images (split all, no label)"),
    Entry("webdataset", ".webdataset", "webdataset .tar shards (key.jpg + key.txt + key.json), read as streams"),
    Entry("parquet", ".parquet", "Parquet files with an image-bytes column, streamed by row group"),
)

AUTO = "auto"  # not a layout: the first layout in registry order whose detect claims the root, else FALLBACK
FALLBACK = "folders"
MANIFEST = "manifest"  # the layout that reads --manifest FILE


def layout_names() -> tuple[str, ...]:
    return tuple(entry.name for entry in REGISTRY)


def choices() -> tuple[str, ...]:
    """What ``--layout`` accepts: auto, then every layout."""
    return (AUTO, *layout_names())


def load(name: str) -> Layout:
    """The layout of that name (CensusError for a name the registry lacks)."""
    for entry in REGISTRY:
        if entry.name == name:
            return _layout(entry.module)
    raise CensusError(f"Unknown layout {name!r}: use one of {', '.join(choices())}.")


@cache
def _layout(module: str) -> Layout:
    return importlib.import_module(module, __package__).LAYOUT


def layouts() -> dict[str, Layout]:
    """Every layout by name, in registry order."""
    return {entry.name: _layout(entry.module) for entry in REGISTRY}


def containers() -> dict[str, Layout]:
    """Container extension (``.tar``) -> the layout that reads its members, in registry order."""
    return {layout.container: layout for layout in layouts().values() if layout.container}


#: the ``--layout`` choices as the enum the command line's options take
LayoutChoice = StrEnum("LayoutChoice", [(name, name) for name in choices()])
