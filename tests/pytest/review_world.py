"""A small world for the human-review tests: a dataset folder of package sample photos, its
raw rows written with plain INSERTs (no model runs) and one dbt build of the review marts
(and the marts they read), shared by the whole session (``pytest_plugins``).

The rows: two face annotators on insightface's six-person sample photo (t1.jpg) in four
copies (a JPEG named as one of the 2020 paper's hand-surveyed files, a PNG, a JPEG stored
rotated with EXIF orientation 6, and one in an unflagged class), scikit-image's astronaut
and cat; annotator A keeps four of six boxes (two near the threshold), B finds A's first four
plus a box of its own; an NSFW model flags the bikini class; and a few answers in
raw.reviews (alice and bob) that confirm an NSFW category, an apparent minor and a face.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from marts_data import run_dbt
from PIL import Image

from ingest.core.config import SCHEMA_SQL
from ingest.devtools.demo import source_path

DATASET = "reviewds"
FACES_A = "test/faces-a"
FACES_B = "test/faces-b"
NSFW = "test/nsfw"
FLAGGED = "n02837789"  # bikini: a hand-surveyed class of the 2020 paper
SURVEYED = f"train/{FLAGGED}/{FLAGGED}_11383.JPEG"  # a file of seeds/hand_survey_2020.csv (beach_voyeur)
PNG = f"train/{FLAGGED}/{FLAGGED}_3.png"
ROTATED = f"train/{FLAGGED}/{FLAGGED}_4.JPEG"
ASTRONAUT = f"train/{FLAGGED}/{FLAGGED}_2.JPEG"
SUIT = "train/n04350905/n04350905_1.JPEG"
CAT = "train/n02123045/n02123045_1.JPEG"
T1_IMAGES = (SURVEYED, PNG, ROTATED, SUIT)

#: t1.jpg's six faces as fractions of the width and height (dlib's HOG detector, upsampled once)
T1_BOXES = [(0.8734, 0.3194, 0.9578, 0.4402), (0.0523, 0.3194, 0.1367, 0.4402), (0.5656, 0.4142, 0.65, 0.535),
            (0.3516, 0.333, 0.4352, 0.4537), (0.6797, 0.0756, 0.7805, 0.2212), (0.2148, 0.1986, 0.2844, 0.2991)]
A_SCORES = [0.99, 0.97, 0.96, 0.92, 0.88, 0.6]  # kept: 0-3; near 0.9 +/- 0.05: 3 (0.92) and 4 (0.88)
A_AGES = [30.0, 12.0, 41.0, 8.0, 25.0, 52.0]  # minors: 1 and 3 (both kept)
B_EXTRA = (0.45, 0.7, 0.52, 0.8)  # a box only B finds
ASTRONAUT_BOX = (0.3418, 0.1484, 0.5176, 0.3242)
NSFW_SCORES = {SURVEYED: 0.95, ASTRONAUT: 0.91, PNG: 0.87, ROTATED: 0.83, SUIT: 0.1, CAT: 0.02}


def image_id(rel_path: str) -> str:
    return hashlib.sha256(f"{DATASET}/{rel_path}".encode()).hexdigest()[:16]


def _scaled(image: Image.Image, width: int) -> Image.Image:
    return image.resize((width, round(image.height * width / image.width)), Image.BICUBIC)


def build_dataset(root: Path) -> dict[str, tuple[int, int]]:
    """The files, and each image's (width, height) as the models see it (EXIF-oriented)."""
    t1 = Image.open(source_path("insightface", "images/t1.jpg")).convert("RGB")
    astronaut = Image.open(source_path("skimage", "astronaut.png")).convert("RGB")
    cat = Image.open(source_path("skimage", "chelsea.png")).convert("RGB")
    for folder in (FLAGGED, "n04350905", "n02123045"):
        (root / "train" / folder).mkdir(parents=True)
    exif = Image.Exif()
    exif[0x013B] = "census test"  # Artist: must survive the blurred copy
    sizes = {}

    def save(rel: str, image: Image.Image, **options) -> None:
        image.save(root / rel, **options)
        sizes[rel] = image.size

    save(SURVEYED, _scaled(t1, 500), quality=90, exif=exif)
    save(PNG, _scaled(t1, 420))
    save(SUIT, _scaled(t1, 480), quality=90)
    save(ASTRONAUT, _scaled(astronaut, 400), quality=90)
    save(CAT, _scaled(cat, 450), quality=90)
    oriented = _scaled(t1, 460)
    rotated = Image.Exif()
    rotated[0x0112] = 6  # stored pixels rotated: ImageOps.exif_transpose turns them upright
    oriented.transpose(Image.Transpose.ROTATE_90).save(root / ROTATED, quality=90, exif=rotated)
    sizes[ROTATED] = oriented.size
    (root / "README.txt").write_text("not an image; copied as it is\n")
    return sizes


def _box(fractions, size) -> tuple[float, float, float, float]:
    w, h = size
    return (fractions[0] * w, fractions[1] * h, fractions[2] * w, fractions[3] * h)


def raw_rows(sizes: dict[str, tuple[int, int]]) -> dict[str, pd.DataFrame]:
    images = pd.DataFrame([{"image_id": image_id(rel), "dataset": DATASET, "split": "train",
                            "wnid": rel.split("/")[1], "rel_path": rel, "width": w, "height": h}
                           for rel, (w, h) in sizes.items()])
    runs = pd.DataFrame([
        {"run_id": "run-a", "stage": "faces", "annotator": FACES_A, "dataset": DATASET, "status": "complete",
         "started_at": pd.Timestamp("2024-01-01 10:00")},
        {"run_id": "run-b", "stage": "faces", "annotator": FACES_B, "dataset": DATASET, "status": "complete",
         "started_at": pd.Timestamp("2024-01-01 11:00")},
        {"run_id": "run-n", "stage": "nsfw", "annotator": NSFW, "dataset": DATASET, "status": "complete",
         "started_at": pd.Timestamp("2024-01-01 12:00")},
    ])
    image_runs = pd.DataFrame([{"run_id": run, "image_id": image_id(rel), "status": "ok"}
                               for run in ("run-a", "run-b", "run-n") for rel in sizes])
    faces = []
    for rel in T1_IMAGES:
        for idx, fractions in enumerate(T1_BOXES):
            faces.append({"run_id": "run-a", "image_id": image_id(rel), "face_idx": idx,
                          "det_score": A_SCORES[idx], "age": A_AGES[idx], "gender_score": 0.3 + 0.1 * idx,
                          **dict(zip(["x1", "y1", "x2", "y2"], _box(fractions, sizes[rel]), strict=True))})
        for idx, fractions in enumerate([*T1_BOXES[:4], B_EXTRA]):
            shifted = _box(fractions, sizes[rel])
            shifted = (shifted[0] + 2, shifted[1] + 1, shifted[2] + 2, shifted[3] + 1)
            faces.append({"run_id": "run-b", "image_id": image_id(rel), "face_idx": idx, "det_score": 0.98,
                          "age": 30.0 + idx, "gender_score": 0.5,
                          **dict(zip(["x1", "y1", "x2", "y2"], shifted, strict=True))})
    for run in ("run-a", "run-b"):
        faces.append({"run_id": run, "image_id": image_id(ASTRONAUT), "face_idx": 0, "det_score": 0.99, "age": 35.0,
                      "gender_score": 0.1,
                      **dict(zip(["x1", "y1", "x2", "y2"], _box(ASTRONAUT_BOX, sizes[ASTRONAUT]), strict=True))})
    nsfw = pd.DataFrame([{"run_id": "run-n", "image_id": image_id(rel), "nsfw_score": score}
                         for rel, score in NSFW_SCORES.items()])
    reviews = pd.DataFrame([
        review("alice", SURVEYED, "nsfw_category", "beach_voyeur"),
        review("bob", SURVEYED, "nsfw_category", "beach_voyeur"),
        review("alice", ASTRONAUT, "nsfw_category", "upskirt"),
        review("bob", ASTRONAUT, "nsfw_category", "not_nsfw"),
        review("alice", SURVEYED, "apparent_minor", "yes", FACES_A, 1),
        review("bob", SURVEYED, "apparent_minor", "yes", FACES_A, 1),
        review("alice", SURVEYED, "is_face", "yes", FACES_A, 4),
        # an external tool's earlier answer under its own id: bob's later one above is his label
        {**review("bob", ASTRONAUT, "nsfw_category", "upskirt", at="2024-02-01 09:00:00"), "review_id": "external-1"},
    ])
    return {"runs": runs, "images": images, "image_runs": image_runs, "faces": pd.DataFrame(faces), "nsfw": nsfw,
            "reviews": reviews}


def review(reviewer, rel, question, answer, annotator=None, face_idx=None, at="2024-03-01 09:00:00") -> dict:
    from ingest.review.questions import review_id

    return {"review_id": review_id(DATASET, reviewer, question, image_id(rel), annotator, face_idx),
            "dataset": DATASET, "reviewer": reviewer, "image_id": image_id(rel), "annotator": annotator,
            "face_idx": face_idx, "question": question, "answer": answer, "reviewed_at": pd.Timestamp(at)}


def write_warehouse(db: Path, rows: dict[str, pd.DataFrame]) -> None:
    con = duckdb.connect(str(db))
    try:
        con.execute(SCHEMA_SQL.read_text())
        for table, frame in rows.items():
            con.register("frame", frame)
            columns = ", ".join(frame.columns)
            con.execute(f"insert into raw.{table} ({columns}) select {columns} from frame")
            con.unregister("frame")
    finally:
        con.close()


#: the marts the review tests read, with what they need; tests of other marts stay out
#: (the headline marts after class_census: the Croissant export's RAI fields, test_croissant.py)
SELECT = ["+review_queue", "+confirmed_flags", "+review_agreement", "+hand_survey_check", "+class_census",
          "+demographics", "+class_minors", "+annotator_coverage", "+census_overview", "+annotator_agreement",
          "+corrected_face_share", "+faces_to_blur"]


def dbt_build(db: Path, work: Path, select: list[str]) -> subprocess.CompletedProcess:
    """``dbt build`` of the selected models and the tests whose every parent is selected."""
    return run_dbt(db, work, "build", "--indirect-selection", "cautious", "--select", *select)


@dataclass(frozen=True)
class ReviewWorld:
    root: Path  # the dataset folder
    db: Path  # the warehouse, marts built: copy it before writing (``writable``)
    rows: dict[str, pd.DataFrame]
    target: Path  # dbt's target folder (compiled SQL)

    def writable(self, folder: Path) -> Path:
        """A copy of the warehouse a test may write."""
        copy = folder / "census.duckdb"
        shutil.copy(self.db, copy)
        return copy


@pytest.fixture(scope="session")
def review_world(tmp_path_factory) -> ReviewWorld:
    base = tmp_path_factory.mktemp("review")
    root = base / DATASET
    rows = raw_rows(build_dataset(root))
    db = base / "census.duckdb"
    write_warehouse(db, rows)
    result = dbt_build(db, base, select=SELECT)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    return ReviewWorld(root=root, db=db, rows=rows, target=base / "target")
