"""What a layout is: the class every layout module's ``LAYOUT`` is an instance of, what it is
given to list a dataset (:class:`Source`), and what ``--layout auto`` shows it (:class:`Peek`)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from types import MappingProxyType

from ...images.decode import is_image
from ...images.decode import name_extension as extension
from .base import ImageRef, OnText
from .scan import Scan


@dataclass(frozen=True, slots=True)
class Source:
    """A dataset to list: its scan (root, what is left out), the manifest file and the caption sink."""

    scan: Scan
    manifest: Path | None = None
    on_text: OnText | None = None

    @property
    def root(self) -> Path:
        return self.scan.root


class Peek:
    """A dataset root as auto detection sees it; its top level is listed once, when first asked."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @cached_property
    def entries(self) -> list[Path]:
        return [] if self.root.is_file() else list(self.root.iterdir())

    @cached_property
    def folders(self) -> list[Path]:
        """The real (not linked) folders at the top level."""
        return [p for p in self.entries if p.is_dir() and not p.is_symlink()]

    @cached_property
    def has_folders(self) -> bool:
        """Whether any top-level entry is a folder, linked or not."""
        return any(p.is_dir() for p in self.entries)

    @cached_property
    def kinds(self) -> set[str]:
        """The extensions of the top-level names."""
        return {extension(p.name) for p in self.entries}

    @cached_property
    def loose(self) -> int:
        """How many top-level files are named as images."""
        return sum(1 for p in self.entries if not p.is_dir() and is_image(p.name))


class Layout(ABC):
    """One way a dataset is laid out. A module in this package defines a subclass and an instance
    ``LAYOUT``; one line in ``registry.py`` names it."""

    #: reason -> sentence for what its listing leaves out, beyond those every walk records
    #: (``scan.SENTENCES``); the same reason reads the same in every layout
    ignored: Mapping[str, str] = MappingProxyType({})
    #: the extension of its container files (``.tar``), or None: a member's rel_path is the
    #: locator ``<container rel_path>#<member>``, read by :meth:`read`
    container: str | None = None
    #: whether ``--labels auto`` checks every label against the 1,000 ILSVRC-2012 wnids
    imagenet_labels: bool = False

    def detect(self, peek: Peek) -> bool:
        """Whether ``--layout auto`` reads this root with this layout (never, unless overridden)."""
        return False

    @abstractmethod
    def images(self, source: Source) -> Iterator[ImageRef]:
        """Every image of the dataset in a deterministic order; what is left out goes to
        ``source.scan.skip``."""

    def read(self, container: Path, member: str, root: Path) -> bytes:
        """One member's bytes of a container file inside root (container layouts only);
        ``NotRead`` or ``OSError`` when it cannot be read."""
        raise NotImplementedError(f"{type(self).__name__} has no container files")
