"""Image-level face labels (DESIGN.md, "Image-level reference labels"): whether each image
shows a real human face, as a person labelled it, without boxes.

A file of them (columns ``file_name`` or ``rel_path`` or ``image_id``; ``label`` yes, no,
depiction or unsure; optionally ``n_faces`` and ``note``) lands as one run of the stage
``image_faces`` of a reference annotator (``reference/<name>``) in ``raw.image_face_labels``,
through `ingest import --kind image_face_labels` like every import: validated first, every bad
row named, nothing lands unless all are good. ``annotator_image_evaluation`` compares every face
model with it.

The shipped development labels of a real ImageNet sample (``ingest/data/
imagenet_sample_faces_dev.csv``, see its .md) are the built-in label set ``imagenet-sample-dev``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .config import PACKAGE_DATA
from .errors import CensusError
from .import_checks import INT32_MAX, REFERENCE_PREFIX, ImportContext, Problems, duplicates, numeric

LABELS = ("yes", "no", "depiction", "unsure")
#: labels that say the image shows no real face, so n_faces must be 0
NO_REAL_FACE = ("no", "depiction")
#: built-in label sets: name -> (file in the package data, reference annotator)
BUILT_IN = {"imagenet-sample-dev": ("imagenet_sample_faces_dev.csv", "reference/imagenet-sample-dev")}


def image_face_labels_rows(frame: pd.DataFrame, keys: pd.Series, problems: Problems,
                           context: ImportContext | None = None) -> pd.DataFrame:
    """raw.image_face_labels rows: label (yes/no/depiction/unsure, any case), n_faces (a whole
    number >= 0, or blank; 0 for no and depiction, at least 1 for yes), note; one row per image."""
    if context is None or not context.is_reference:
        raise CensusError(f"Image-level face labels are ground truth: name their annotator {REFERENCE_PREFIX}<name> "
                          "(e.g. --annotator reference/my-labels). Nothing was imported.")
    if "label" not in frame.columns:
        raise CensusError(f"An image-level labels file needs a label column ({', '.join(LABELS)}); "
                          "nothing was imported.")
    label = frame["label"].astype(str).str.strip().str.lower()
    problems.add(frame.index[~label.isin(LABELS)], f"label is not one of {', '.join(LABELS)}")
    n_faces = numeric(frame, "n_faces", problems, required=False, low=0, integer=True)
    problems.add(frame.index[label.isin(NO_REAL_FACE) & (n_faces > 0)],
                 "n_faces counts real faces, so it is 0 for a no or depiction label")
    problems.add(frame.index[label.eq("yes") & (n_faces == 0)], "a yes label needs n_faces of at least 1 (or blank)")
    whole = n_faces.where((n_faces % 1 == 0) & n_faces.between(0, INT32_MAX))  # bad ones are reported above
    rows = pd.DataFrame({"image_id": keys, "label": label, "n_faces": whole.astype("Int64"), "note": _notes(frame)})
    duplicates(rows[["image_id"]], problems, "image (one label per image)")
    return rows


def _notes(frame: pd.DataFrame) -> pd.Series:
    """The note column as text, None where blank or absent."""
    if "note" not in frame.columns:
        return pd.Series(None, index=frame.index, dtype=object)
    text = frame["note"].astype(str).str.strip()
    return text.where(frame["note"].notna() & text.ne(""), None)


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
