"""Image-level reference labels: their import, annotator_image_evaluation, the per-supercategory
face share beside Yang et al. 2022 (Table 2), the correction of the face share with the
image-level error, `ingest evaluate faces`, the card and the report.

One small fabricated warehouse goes through `ingest evaluate faces` once (the import, dbt build
of the evaluation marts, the printed table); the marts are then checked against counts made
here from the fabricated rows. Nothing needs the sample photos.
"""

from __future__ import annotations

import csv
import hashlib
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from marts_data import read_mart
from typer.testing import CliRunner

from ingest.cli import app
from ingest.core.errors import CensusError
from ingest.warehouse.db import connect, init_schema

REPO = Path(__file__).resolve().parents[3]
SEEDS = REPO / "seeds"
Z = 1.959964
TOL = 1e-9
SAMPLE, OTHER = "sample", "other"
DET_A, DET_B = "test/det-a", "test/det-b"
REF_LABELS, REF_BOXES = "reference/labels", "reference/boxes"
runner = CliRunner()


def image_id(dataset: str, rel: str) -> str:
    return hashlib.sha256(f"{dataset}/{rel}".encode()).hexdigest()[:16]


def seed(name: str) -> pd.DataFrame:
    return pd.read_csv(SEEDS / f"{name}.csv", dtype=str, keep_default_na=False)


def wilson(k: int, n: int) -> tuple[float | None, float | None]:
    if n == 0:
        return None, None
    p = k / n
    center = (p + Z**2 / (2 * n)) / (1 + Z**2 / n)
    half = Z / (1 + Z**2 / n) * math.sqrt(p * (1 - p) / n + Z**2 / (4 * n**2))
    return max(center - half, 0.0) if k else 0.0, min(center + half, 1.0) if k < n else 1.0


def ratio(k: int, n: int) -> float | None:
    return k / n if n else None


# ---------------------------------------------------------------- the fabricated world


@dataclass(frozen=True)
class Photo:
    rel: str
    wnid: str
    supercategory: str
    label: str  # the reference's image-level label
    det_a: bool  # det-a keeps a face
    det_b: bool | None  # det-b keeps a face; None: det-b never processed it ok


def photos() -> list[Photo]:
    """44 photos of `sample`: clothing (2 classes), bird, dog. Per group: (label, det-a face)
    counts chosen so that clothing has its own rates (14 tp, 4 fp, 2 fn) and bird and dog not."""
    sc = seed("imagenet_supercategories")
    clothing = list(sc.loc[sc.supercategory == "clothing", "wnid"].iloc[:2])
    bird = sc.loc[sc.supercategory == "bird", "wnid"].iloc[0]
    dog = sc.loc[sc.supercategory == "dog", "wnid"].iloc[0]
    plan = (
        [(clothing[i % 2], "clothing", "yes", i < 14, None) for i in range(16)]
        + [(clothing[i % 2], "clothing", "no", i < 4, None) for i in range(6)]
        + [(clothing[0], "clothing", "depiction", True, None), (clothing[1], "clothing", "unsure", False, None)]
        + [(bird, "bird", "no", i == 0, False) for i in range(10)]
        + [(dog, "dog", "yes", i == 0, True) for i in range(2)]
        + [(dog, "dog", "no", i < 3, False) for i in range(8)]
    )
    return [Photo(f"photos/{wnid}_{k}.JPEG", wnid, group, label, a, b)
            for k, (wnid, group, label, a, b) in enumerate(plan)]


def write_world(db: Path) -> None:
    """Raw rows: det-a on every sample photo (and 3 photos of a non-ImageNet dataset), det-b on the
    bird and dog photos (one clothing photo failed), a face-box reference on the dog photos."""
    con = connect(db)
    init_schema(con)
    runs = [("run-a", "faces", DET_A, SAMPLE), ("run-a-other", "faces", DET_A, OTHER),
            ("run-b", "faces", DET_B, SAMPLE), ("run-boxes", "faces", REF_BOXES, SAMPLE)]
    for run_id, stage, annotator, dataset in runs:
        con.execute("insert into raw.runs (run_id, stage, annotator, dataset, started_at, status) "
                    "values (?, ?, ?, ?, '2024-01-01', 'complete')", [run_id, stage, annotator, dataset])

    def face(run: str, dataset: str, rel: str, idx: int, score: float) -> None:
        con.execute("insert into raw.faces (run_id, image_id, face_idx, det_score, x1, y1, x2, y2) "
                    "values (?, ?, ?, ?, 10, 10, 40, 40)", [run, image_id(dataset, rel), idx, score])

    for photo in photos():
        iid = image_id(SAMPLE, photo.rel)
        con.execute("insert into raw.images (image_id, dataset, split, wnid, rel_path) values (?, ?, 'val', ?, ?)",
                    [iid, SAMPLE, photo.wnid, photo.rel])
        con.execute("insert into raw.image_runs (run_id, image_id, status) values ('run-a', ?, 'ok')", [iid])
        if photo.det_a:
            face("run-a", SAMPLE, photo.rel, 0, 0.97)
        else:
            face("run-a", SAMPLE, photo.rel, 0, 0.5)  # under face_min_score: not kept
        if photo.det_b is not None:
            con.execute("insert into raw.image_runs (run_id, image_id, status) values ('run-b', ?, 'ok')", [iid])
            if photo.det_b:
                face("run-b", SAMPLE, photo.rel, 0, 0.99)
        if photo.supercategory == "dog":
            con.execute("insert into raw.image_runs (run_id, image_id, status) values ('run-boxes', ?, 'ok')", [iid])
            if photo.label == "yes":
                face("run-boxes", SAMPLE, photo.rel, 0, 1.0)
    failed = photos()[0]
    con.execute("insert into raw.image_runs (run_id, image_id, status, error) values ('run-b', ?, 'error', 'x')",
                [image_id(SAMPLE, failed.rel)])
    for k in range(3):
        rel = f"cat_{k}.jpg"
        con.execute("insert into raw.images (image_id, dataset, split, wnid, rel_path) values (?, ?, 'all', 'cat', ?)",
                    [image_id(OTHER, rel), OTHER, rel])
        con.execute("insert into raw.image_runs (run_id, image_id, status) values ('run-a-other', ?, 'ok')",
                    [image_id(OTHER, rel)])
        if k == 0:
            face("run-a-other", OTHER, rel, 0, 0.95)
    con.close()


def write_labels(path: Path) -> Path:
    """The image-level labels of every sample photo, by file name (base name, as the shipped file)."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file_name", "label", "n_faces", "note"])
        for photo in photos():
            writer.writerow([photo.rel.split("/")[-1], photo.label, 1 if photo.label == "yes" else 0, ""])
    return path


@dataclass(frozen=True)
class World:
    db: Path
    labels: Path
    output: str  # what `ingest evaluate faces` printed


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    work = tmp_path_factory.mktemp("image_evaluation")
    db = work / "census.duckdb"
    write_world(db)
    labels = write_labels(work / "labels.csv")
    with pytest.MonkeyPatch.context() as patch:  # dbt's own files stay in the test's folder
        patch.setenv("DBT_TARGET_PATH", str(work / "target"))
        patch.setenv("DBT_LOG_PATH", str(work / "logs"))
        result = runner.invoke(app, ["evaluate", "faces", str(labels), "--dataset", SAMPLE, "--reference", "labels",
                                     "--db", str(db)])
    assert result.exit_code == 0, result.output
    return World(db, labels, result.output)


mart = read_mart


def counts(pairs: list[tuple[str, bool]]) -> dict:
    """Expected image-level counts from (label, predicted) pairs."""
    decided = [(label, p) for label, p in pairs if label in ("yes", "no")]
    tp = sum(label == "yes" and p for label, p in decided)
    fp = sum(label == "no" and p for label, p in decided)
    fn = sum(label == "yes" and not p for label, p in decided)
    return {"n_images": len(decided), "n_excluded": len(pairs) - len(decided),
            "n_depiction": sum(label == "depiction" for label, _ in pairs),
            "n_depiction_predicted": sum(label == "depiction" and p for label, p in pairs),
            "n_positive_reference": tp + fn, "n_predicted_positive": tp + fp, "tp": tp, "fp": fp, "fn": fn,
            "tn": len(decided) - tp - fp - fn, "precision": ratio(tp, tp + fp), "recall": ratio(tp, tp + fn),
            "precision_lo": wilson(tp, tp + fp)[0], "precision_hi": wilson(tp, tp + fp)[1],
            "recall_lo": wilson(tp, tp + fn)[0], "recall_hi": wilson(tp, tp + fn)[1]}


def expected_evaluation() -> pd.DataFrame:
    rows = []
    truth = {
        (DET_A, REF_LABELS): [(p, p.label, p.det_a) for p in photos()],
        (DET_B, REF_LABELS): [(p, p.label, p.det_b) for p in photos() if p.det_b is not None],
        (DET_A, REF_BOXES): [(p, p.label, p.det_a) for p in photos() if p.supercategory == "dog"],
        (DET_B, REF_BOXES): [(p, p.label, p.det_b) for p in photos() if p.supercategory == "dog"],
    }
    for (annotator, reference), items in truth.items():
        groups = {"all": items}
        for photo, label, predicted in items:
            groups.setdefault(photo.supercategory, []).append((photo, label, predicted))
        for group, members in groups.items():
            rows.append({"annotator": annotator, "reference": reference, "dataset": SAMPLE,
                         "group_kind": "all" if group == "all" else "supercategory", "group_value": group,
                         "reference_kind": "image_labels" if reference == REF_LABELS else "faces",
                         **counts([(label, predicted) for _, label, predicted in members])})
    return pd.DataFrame(rows)


def assert_rows_match(actual: pd.DataFrame, expected: pd.DataFrame, keys: list[str]) -> None:
    merged = expected.merge(actual, on=keys, how="outer", suffixes=("_want", "_got"), indicator=True)
    assert (merged["_merge"] == "both").all(), merged.loc[merged["_merge"] != "both", [*keys, "_merge"]]
    for column in expected.columns:
        if column in keys:
            continue
        for want, got, key in zip(merged[f"{column}_want"], merged[f"{column}_got"],
                                  merged[keys].itertuples(index=False), strict=True):
            if want is None or (isinstance(want, float) and math.isnan(want)):
                assert got is None or pd.isna(got), (column, key, got)
            elif isinstance(want, float):
                assert abs(want - got) < TOL, (column, key, want, got)
            else:
                assert want == got, (column, key, want, got)


# ---------------------------------------------------------------- the marts


def test_image_evaluation_matches_counts_made_here(world):
    """Every face model against the image-level reference and the face-box reference, overall and per
    supercategory: counts, precision, recall and their Wilson intervals; depiction and unsure apart;
    det-b's failed image and the images it never processed are not counted; no reference is evaluated."""
    actual = mart(world.db, "annotator_image_evaluation")
    assert_rows_match(actual, expected_evaluation(), ["annotator", "reference", "dataset", "group_kind",
                                                      "group_value"])
    assert not actual["annotator"].str.startswith("reference/").any()


def test_supercategory_face_share_beside_yang_2022(world):
    actual = mart(world.db, "supercategory_face_share").set_index(["annotator", "dataset", "supercategory"])
    published = {"clothing": 0.589, "bird": 0.017, "dog": None}
    for group in ("clothing", "bird", "dog"):
        members = [p for p in photos() if p.supercategory == group]
        row = actual.loc[(DET_A, SAMPLE, group)]
        k, n = sum(p.det_a for p in members), len(members)
        assert (row["n_images"], row["n_images_with_faces"]) == (n, k)
        assert abs(row["share"] - k / n) < TOL and abs(row["share_lo"] - wilson(k, n)[0]) < TOL
        assert abs(row["share_hi"] - wilson(k, n)[1]) < TOL
        want = published[group]
        assert (pd.isna(row["published_share"]) if want is None else abs(row["published_share"] - want) < TOL)
    assert not any(a.startswith("reference/") for a, _, _ in actual.index)
    assert OTHER not in {d for _, d, _ in actual.index}  # a class outside ILSVRC-2012 is in no group


def test_corrected_shares_use_the_image_level_error(world):
    """corrected_face_share takes its rates from the image-level evaluation (the image-level
    reference too, which has no face-level rates), says where they were measured, and corrects
    each supercategory with its own rates where the reference has enough of its images."""
    observed = {g: [p for p in photos() if p.supercategory == g] for g in ("clothing", "bird", "dog")}
    evaluation = expected_evaluation().set_index(["annotator", "reference", "group_value"])
    overall = evaluation.loc[(DET_A, REF_LABELS, "all")]
    clothing = evaluation.loc[(DET_A, REF_LABELS, "clothing")]
    assert (clothing["tp"], clothing["fp"], clothing["fn"]) == (14, 4, 2)  # both rates rest on >= 10 images

    groups = mart(world.db, "corrected_supercategory_share").set_index(["annotator", "reference", "supercategory"])
    total = 0.0
    for group, members in observed.items():
        row = groups.loc[(DET_A, REF_LABELS, group)]
        rates = clothing if group == "clothing" else overall
        assert row["rates_from"] == ("supercategory" if group == "clothing" else "all")
        assert row["n_images_evaluated"] == rates["n_images"]
        factor = rates["precision"] / rates["recall"]
        share = sum(p.det_a for p in members) / len(members)
        assert abs(row["share_corrected"] - min(max(share * factor, 0), 1)) < TOL, group
        total += len(members) * min(max(share * factor, 0), 1)

    shares = mart(world.db, "corrected_face_share").set_index(["annotator", "reference", "dataset"])
    row = shares.loc[(DET_A, REF_LABELS, SAMPLE)]
    assert row["reference_kind"] == "image_labels" and row["reference_datasets"] == SAMPLE
    assert (row["n_images_evaluated"], row["n_images_excluded"]) == (overall["n_images"], 2)
    assert abs(row["image_precision"] - overall["precision"]) < TOL
    assert abs(row["image_recall"] - overall["recall"]) < TOL
    assert abs(row["image_precision_lo"] - overall["precision_lo"]) < TOL
    assert pd.isna(row["precision"]) and pd.isna(row["n_faces_corrected"])  # no boxes, no face-level rates
    eta = sum(p.det_a for p in photos()) / len(photos())
    assert abs(row["eta_observed"] - eta) < TOL
    assert abs(row["eta_corrected"] - min(eta * overall["precision"] / overall["recall"], 1)) < TOL
    assert abs(row["eta_corrected_by_supercategory"] - total / len(photos())) < TOL
    # the non-ImageNet dataset has no supercategory: corrected overall only
    other = shares.loc[(DET_A, REF_LABELS, OTHER)]
    assert abs(other["eta_observed"] - 1 / 3) < TOL and pd.isna(other["eta_corrected_by_supercategory"])
    # the face-box reference keeps its face-level rates
    boxes = shares.loc[(DET_A, REF_BOXES, SAMPLE)]
    assert boxes["reference_kind"] == "faces" and boxes["n_images_evaluated"] == 10 and boxes["n_reference"] == 2


# ---------------------------------------------------------------- the command, the card, the report


def test_evaluate_prints_precision_and_recall_per_supercategory(world):
    text = " ".join(world.output.split())
    assert f"Imported 44 image labels of {world.labels} as {REF_LABELS}" in text
    assert f"{DET_A} against {REF_LABELS} on {SAMPLE}" in text and f"{DET_B} against {REF_LABELS}" in text
    # det-a overall: 15 tp, 8 fp, 3 fn of 42 decided images; precision 15/23 with its interval
    lo, hi = wilson(15, 23)
    assert f"│ all │ 42 │ 2 │ 18 │ 23 │ 15 │ 8 │ 3 │ 0.65 [{lo:.2f}, {hi:.2f}] │" in text
    # clothing: 14 tp, 4 fp, 2 fn; bird has no positive image: no recall
    lo, hi = wilson(14, 18)
    assert f"│ clothing │ 22 │ 2 │ 16 │ 18 │ 14 │ 4 │ 2 │ 0.78 [{lo:.2f}, {hi:.2f}] │" in text
    assert "│ bird │ 10 │ 0 │ 0 │ 1 │ 0 │ 1 │ 0 │ 0.00 [0.00, 0.79] │ - │" in text
    # again, without dbt: the same file is a note, the marts are read as they are
    again = runner.invoke(app, ["evaluate", "faces", str(world.labels), "--dataset", SAMPLE, "--reference", "labels",
                                "--no-build", "--db", str(world.db)])
    assert again.exit_code == 0, again.output
    assert "already imported as reference/labels" in " ".join(again.output.split())
    assert "│ clothing │ 22 │ 2 │ 16 │ 18 │ 14 │ 4 │ 2 │" in " ".join(again.output.split())


def test_evaluate_says_when_no_model_processed_the_labelled_images(world, tmp_path):
    """A reference nobody was run on gives a sentence, not an empty table."""
    db = tmp_path / "copy.duckdb"
    db.write_bytes(world.db.read_bytes())
    con = duckdb.connect(str(db))
    con.execute("insert into raw.images (image_id, dataset, split, wnid, rel_path) values ('lonely', 'lonely', 'val', "
                "'n01440764', 'x.jpg')")
    con.close()
    labels = tmp_path / "lonely.csv"
    labels.write_text("rel_path,label\nx.jpg,yes\n")
    result = runner.invoke(app, ["evaluate", "faces", str(labels), "--dataset", "lonely", "--no-build", "--db",
                                 str(db)])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "Imported 1 image labels of" in text and "as reference/lonely" in text
    assert "No face model has processed the labelled images of dataset lonely" in text


def test_card_names_the_reference_and_its_images(world):
    from ingest.outputs.card import _measured_error
    from ingest.outputs.reader import MartReader

    con = duckdb.connect(str(world.db), read_only=True)
    try:
        lines = _measured_error(MartReader(con))
    finally:
        con.close()
    text = "\n".join(lines)
    row = next(line for line in lines if line.startswith(f"| {DET_A} | {REF_LABELS} | {SAMPLE} |"))
    assert "42 images of sample (image labels); 2 depiction or unsure left out" in row
    lo, hi = wilson(15, 23)
    assert f"| {15 / 23:.2f} ({lo:.2f}-{hi:.2f}) |" in row  # image precision and its interval
    assert "\"this image shows a real face\"" in text and "annotator_image_evaluation" in text


def test_report_shows_the_supercategories_beside_yang_2022(world):
    from ingest.outputs.report import Marts, _supercategories

    con = duckdb.connect(str(world.db), read_only=True)
    try:
        section = _supercategories(Marts(con))
    finally:
        con.close()
    html = "".join(b if isinstance(b, str) else b.reading for b in section.blocks)
    assert "Yang et al. 2022" in section.title + section.intro
    assert "58.9 %" in html and "1.7 %" in html  # the published shares, from the seed
    assert f"{100 * 19 / 24:.1f} %" in html  # det-a's clothing share
    charts = [b for b in section.blocks if not isinstance(b, str)]
    assert charts and "clothing" in charts[0].reading


# ---------------------------------------------------------------- the import


@pytest.fixture()
def small_db(tmp_path) -> Path:
    """Three images: two share a base name in two folders."""
    db = tmp_path / "w.duckdb"
    con = connect(db)
    init_schema(con)
    for rel in ("a/n01440764_1.JPEG", "a/twin.JPEG", "b/twin.JPEG"):
        con.execute("insert into raw.images (image_id, dataset, split, wnid, rel_path) values (?, 'ds', 'val', "
                    "'n01440764', ?)", [image_id("ds", rel), rel])
    con.close()
    return db


def imported(db: Path) -> int:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("select count(*) from raw.image_face_labels").fetchone()[0] + con.execute(
            "select count(*) from raw.runs").fetchone()[0]
    finally:
        con.close()


def import_labels(db: Path, text: str, tmp_path: Path, annotator: str = "reference/x"):
    path = tmp_path / "labels.csv"
    path.write_text(text)
    return runner.invoke(app, ["import", str(path), "--kind", "image_face_labels", "--annotator", annotator,
                               "--dataset", "ds", "--db", str(db)])


def test_import_by_file_name_and_rel_path(small_db, tmp_path):
    result = import_labels(small_db, "file_name,label,n_faces,note\nn01440764_1.JPEG, Yes ,2,two anglers\n", tmp_path)
    assert result.exit_code == 0, result.output
    result = import_labels(small_db, "rel_path,label\nb/twin.JPEG,depiction\n", tmp_path, "reference/y")
    assert result.exit_code == 0, result.output
    con = duckdb.connect(str(small_db), read_only=True)
    rows = con.execute("select r.annotator, r.stage, i.rel_path, l.label, l.n_faces, l.note "
                       "from raw.image_face_labels l join raw.runs r using (run_id) "
                       "join raw.images i using (image_id) order by 1").fetchall()
    ok = con.execute("select count(*) from raw.image_runs where status = 'ok'").fetchone()[0]
    con.close()
    assert rows == [("reference/x", "image_faces", "a/n01440764_1.JPEG", "yes", 2, "two anglers"),
                    ("reference/y", "image_faces", "b/twin.JPEG", "depiction", None, None)]
    assert ok == 2  # only the labelled images are the reference's


@pytest.mark.parametrize(("text", "message"), [
    ("file_name,label\nn01440764_1.JPEG,maybe\n", "row 2: label is not one of yes, no, depiction, unsure"),
    ("file_name,label,n_faces\nn01440764_1.JPEG,yes,-1\n", "row 2: n_faces is below 0"),
    ("file_name,label,n_faces\nn01440764_1.JPEG,yes,1.5\n", "row 2: n_faces is not a whole number"),
    ("file_name,label,n_faces\nn01440764_1.JPEG,no,2\n", "row 2: n_faces counts real faces, so it is 0 for a no"),
    ("file_name,label,n_faces\nn01440764_1.JPEG,yes,0\n", "row 2: a yes label needs n_faces of at least 1"),
    ("file_name,label\nmissing.JPEG,no\n", "row 2: file_name is not an image of dataset ds"),
    ("file_name,label\ntwin.JPEG,no\n", "row 2: file_name names several images of dataset ds; give their rel_path"),
    ("rel_path,label\nc/none.JPEG,no\n", "row 2: rel_path is not an image of dataset ds"),
    ("file_name,label\nn01440764_1.JPEG,no\nn01440764_1.JPEG,yes\n", "row 3: duplicate image (one label per image)"),
    ("file_name,n_faces\nn01440764_1.JPEG,1\n", "needs a label column"),
    ("name,label\nx,yes\n", "needs an image_id or a rel_path column to name each image, or a file_name column"),
])
def test_bad_labels_are_refused_with_one_sentence(small_db, tmp_path, text, message):
    result = import_labels(small_db, text, tmp_path)
    assert result.exit_code == 2, result.output
    output = " ".join(result.output.split())
    assert message in output and "Traceback" not in output
    assert output.count("error:") == 1
    assert imported(small_db) == 0


def test_image_labels_belong_to_a_reference_annotator(small_db, tmp_path):
    result = import_labels(small_db, "file_name,label\nn01440764_1.JPEG,yes\n", tmp_path, annotator="dex/2019")
    assert result.exit_code == 2
    assert "name their annotator reference/<name>" in " ".join(result.output.split())
    assert imported(small_db) == 0


def test_the_stage_is_imported_never_run(tmp_path):
    """`--stages` does not offer it; a shard written before its table existed still merges."""
    from ingest.models.profiles import parse_stages
    from ingest.warehouse.merge import merge_warehouse

    assert "image_faces" not in parse_stages(None)
    with pytest.raises(CensusError, match="Unknown stage"):
        parse_stages("image_faces")
    shard = tmp_path / "old.duckdb"
    con = connect(shard)
    init_schema(con)
    con.execute("drop table raw.image_face_labels")
    con.close()
    merge_warehouse(shard, tmp_path / "target.duckdb")


# ---------------------------------------------------------------- the shipped data


def test_the_development_labels_ship_in_the_package():
    data = resources.files("ingest") / "data"
    with (data / "imagenet_sample_faces_dev.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 512 and set(rows[0]) == {"file_name", "label", "n_faces", "note"}
    assert {r["label"] for r in rows} <= {"yes", "no", "depiction", "unsure"}
    # the development half: sha256 of the file name, as an integer, is even
    assert all(int(hashlib.sha256(r["file_name"].encode()).hexdigest(), 16) % 2 == 0 for r in rows)
    assert "EliSchwartz/imagenet-sample-images" in (data / "imagenet_sample_faces_dev.md").read_text()
    project = (REPO / "dbt_project.yml").read_text()
    assert "imagenet_sample_faces_dev:\n      +enabled: false" in project  # package data, not a dbt seed


def test_the_supercategory_seed_follows_yang_2022(tmp_path):
    """Yang et al.'s five groups have their class counts (49, 44, 26, 59, 27) and the published shares;
    where WordNet 3.0 is installed, the seed regenerates byte for byte."""
    sc = seed("imagenet_supercategories")
    classes = pd.read_csv(REPO / "ingest" / "data" / "imagenet_classes.csv", dtype=str, keep_default_na=False)
    assert list(sc["wnid"]) == list(classes["wnid"]) and list(sc["label"]) == list(classes["label"])
    sizes = sc["supercategory"].value_counts()
    assert [sizes[g] for g in ("clothing", "wheeled vehicle", "musical instrument", "bird", "insect")] == [
        49, 44, 26, 59, 27]
    published = seed("yang2022_table2").set_index("supercategory")["published_pct"].astype(float).to_dict()
    assert published == {"clothing": 58.9, "wheeled vehicle": 35.3, "musical instrument": 47.6, "bird": 1.7,
                         "insect": 1.8}
    from ingest.labels.label_audit import WORDNET_DIR

    if not (WORDNET_DIR / "data.noun").is_file():
        pytest.skip("WordNet 3.0 is not installed (make wordnet)")
    from ingest.labels.supercategories import write_seed

    out = tmp_path / "supercategories.csv"
    write_seed(out)
    assert out.read_bytes() == (SEEDS / "imagenet_supercategories.csv").read_bytes()
