"""Image-level face labels (DESIGN.md, "Image-level reference labels"): whether each image
shows a real human face, as a person labelled it, without boxes.

A file of them (columns ``file_name`` or ``rel_path`` or ``image_id``; ``label`` yes, no,
depiction or unsure; optionally ``n_faces`` and ``note``) lands as one run of the stage
``image_faces`` of a reference annotator (``reference/<name>``) in ``raw.image_face_labels``,
through `ingest import --kind image_face_labels` like every import: validated first, every bad
row named, nothing lands unless all are good. ``annotator_image_evaluation`` compares every face
model with it. The rows' check (``image_face_labels_rows``) sits with the other import checks in
``ingest/core/import_checks.py``, where the stage registry finds it.

The shipped development labels of a real ImageNet sample (``ingest/data/
imagenet_sample_faces_dev.csv``, see its .md) are the built-in label set ``imagenet-sample-dev``.
"""

from __future__ import annotations

from pathlib import Path

from ..core.config import PACKAGE_DATA
from ..core.errors import CensusError
from ..core.import_checks import REFERENCE_PREFIX

#: built-in label sets: name -> (file in the package data, reference annotator)
BUILT_IN = {"imagenet-sample-dev": ("imagenet_sample_faces_dev.csv", "reference/imagenet-sample-dev")}


def resolve_labels(name: str) -> tuple[Path, str]:
    """The labels file and its default reference annotator: a built-in label set by name, else a
    file (reference/<its stem>)."""
    if name in BUILT_IN:
        file_name, reference = BUILT_IN[name]
        return Path(str(PACKAGE_DATA / file_name)), reference
    path = Path(name)
    if not path.is_file():
        raise CensusError(f"No labels file {name}: give a CSV or Parquet file of image-level labels or the built-in "
                          f"set {', '.join(BUILT_IN)}.")
    return path, f"{REFERENCE_PREFIX}{path.stem}"
