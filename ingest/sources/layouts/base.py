"""What every layout yields and records: image references, stored paths, and what a listing left out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

UNLABELLED = ""  # the label of an image of a dataset without labels (raw.images.wnid is NOT NULL)
ALL_SPLIT = "all"

#: ``on_text(rel_path, caption, meta_json)``: a sample's caption and metadata, as it is listed
OnText = Callable[[str, "str | None", "str | None"], None]


def stored_path(fs_path: str) -> str:
    r"""A file-system path (undecodable bytes held as surrogates) as valid UTF-8 text, losslessly.

    A path that is valid UTF-8 and holds no backslash is stored as it is. Any other path is
    stored with each backslash doubled (``\\``) and each undecodable byte as ``\xNN``: every
    such stored path holds a backslash and the escapes can be undone, so two different files
    never share a rel_path (or an image_id).
    """
    try:
        fs_path.encode("utf-8")
    except UnicodeEncodeError:
        pass
    else:
        if "\\" not in fs_path:
            return fs_path
    escaped = fs_path.replace("\\", "\\\\")
    return escaped.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


@dataclass(frozen=True, slots=True)
class ImageRef:
    """One image to process: where it is relative to the dataset root and what it is labelled."""

    rel_path: str  # as the file system names it (may hold undecodable bytes, escaped)
    split: str
    wnid: str

    @property
    def stored_path(self) -> str:
        """rel_path as valid UTF-8 text (see :func:`stored_path`)."""
        return stored_path(self.rel_path)


@dataclass
class Ignored:
    """What a listing left out, by reason, so that a run can say so: nothing is dropped silently.

    Pass one to :func:`iter_images` or :func:`list_images`, then print :meth:`messages`.
    """

    counts: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, reason: str, rel_path: str) -> None:
        self.counts[reason] = self.counts.get(reason, 0) + 1
        shown = self.examples.setdefault(reason, [])
        if len(shown) < 3:
            shown.append(stored_path(rel_path))

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def messages(self) -> list[str]:
        """One sentence per reason, e.g. "2 file(s) that are not images ... (e.g. a.txt, b)."."""
        from .listing import ignored_sentences  # the layouts' sentences; listing imports this module

        sentences = ignored_sentences()
        return [
            sentences[reason].format(n=n, ex=", ".join(self.examples[reason]))
            for reason, n in self.counts.items()
        ]
