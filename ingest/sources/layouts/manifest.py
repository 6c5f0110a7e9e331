"""``manifest``: a CSV or Parquet file (``--manifest FILE``) with columns rel_path, split, label,
read relative to the dataset root."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from ...core.errors import CensusError
from .base import ImageRef
from .protocol import Layout, Peek, Source

MANIFEST_COLUMNS = ("rel_path", "split", "label")
MANIFEST_SAMPLE = 100  # listed files checked before a manifest's root is trusted


class Manifest(Layout):
    def detect(self, peek: Peek) -> bool:
        return peek.root.is_file()

    def images(self, source: Source) -> Iterator[ImageRef]:
        if source.manifest is None:
            raise CensusError("The manifest layout needs --manifest FILE (CSV or Parquet).")
        yield from read_manifest(source.root, source.manifest)


def safe_rel_path(value: str) -> str | None:
    """The normalised relative path, or None when it is absolute or escapes the root."""
    text = str(value).replace("\\", "/").strip()
    if not text or text.startswith("/") or re.match(r"^[A-Za-z]:", text):
        return None
    parts = PurePosixPath(text).parts
    if any(part == ".." for part in parts):
        return None
    return PurePosixPath(*[p for p in parts if p != "."]).as_posix()


def _manifest_columns(manifest: Path) -> tuple[dict[str, list], int]:
    """The manifest's three columns as plain Python values, and the number of its first row
    (CSV: the line number after the header; Parquet: 1)."""
    try:
        if manifest.suffix.lower() == ".parquet":
            import pyarrow.parquet as pq

            table = pq.read_table(manifest)
            names, first = table.column_names, 1
            columns = {c: table.column(c).to_pylist() for c in MANIFEST_COLUMNS if c in names}
        else:
            import pandas as pd

            frame = pd.read_csv(manifest, dtype=str, keep_default_na=False)
            names, first = list(frame.columns), 2
            columns = {c: frame[c].tolist() for c in MANIFEST_COLUMNS if c in names}
    except Exception as error:  # noqa: BLE001 - any parser failure is a bad manifest
        raise CensusError(f"Cannot read the manifest {manifest}: {error}") from error
    missing = [c for c in MANIFEST_COLUMNS if c not in names]
    if missing:
        raise CensusError(
            f"The manifest {manifest} lacks column(s) {', '.join(missing)}; "
            "it needs rel_path, split and label."
        )
    return columns, first


def _not_text(value: object) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "empty (null)"
    return f"a {type(value).__name__} ({value!r:.30}), not text"


def _manifest_row(number: int, rel_path: object, split: object, label: object) -> ImageRef | str:
    """One manifest row as an ImageRef, or the sentence saying what is wrong with it."""
    for column, value in zip(MANIFEST_COLUMNS, (rel_path, split, label), strict=True):
        if not isinstance(value, str):
            return f"row {number}: {column} is {_not_text(value)}"
        if not value.strip():
            return f"row {number}: {column} must not be empty"
    rel = safe_rel_path(rel_path)
    if rel is None:
        return f"row {number}: path {rel_path!r} is absolute or leaves the root"
    return ImageRef(rel, split.strip(), label.strip())


def _bad_rows(manifest: Path, problems: list[str]) -> CensusError:
    shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
    return CensusError(f"The manifest {manifest} has bad rows ({shown}); nothing was written.")


def _check_files_exist(root: Path, manifest: Path, refs: list[ImageRef]) -> None:
    """A root under which no listed file exists is a mistyped root, not a dataset of missing
    files: a sample is checked first, and every file only when none of the sample exists."""
    step = max(1, len(refs) // MANIFEST_SAMPLE)
    sample = refs[::step]
    if any(os.path.lexists(root / r.rel_path) for r in sample):
        return
    if any(os.path.lexists(root / r.rel_path) for r in refs):
        return
    raise CensusError(
        f"None of the {len(refs)} file(s) the manifest {manifest} lists exists under {root} "
        f"(e.g. {refs[0].rel_path}); pass the folder the rel_paths are relative to as the dataset root."
    )


def read_manifest(root: Path, manifest: Path) -> list[ImageRef]:
    if not manifest.is_file():
        raise CensusError(f"The manifest {manifest} does not exist.")
    columns, first = _manifest_columns(manifest)
    rows = zip(*(columns[c] for c in MANIFEST_COLUMNS), strict=True)
    refs: list[ImageRef] = []
    problems: list[str] = []
    for number, row in enumerate(rows, start=first):
        result = _manifest_row(number, *row)
        if isinstance(result, str):
            problems.append(result)
        else:
            refs.append(result)
    if problems:
        raise _bad_rows(manifest, problems)
    if not refs:
        raise CensusError(f"The manifest {manifest} lists no images; add rows of rel_path, split and label.")
    if len({r.rel_path for r in refs}) != len(refs):
        raise CensusError(f"The manifest {manifest} lists a rel_path twice; nothing was written.")
    _check_files_exist(root, manifest, refs)
    return refs


LAYOUT = Manifest()
