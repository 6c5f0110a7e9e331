"""`ingest export croissant`: the review world's dataset as Croissant 1.0 JSON-LD with the census
in the RAI vocabulary, validated by mlcroissant with the network cut off, its numbers checked
against the marts it was written from."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import duckdb
import mlcroissant as mlc
import pandas as pd
import pytest
from review_world import DATASET, FACES_A, FACES_B, NSFW
from typer.testing import CliRunner

from ingest.cli import app
from ingest.outputs.card import CAVEAT
from ingest.outputs.exports.croissant import CROISSANT, CROISSANT_RAI

runner = CliRunner()
#: mlcroissant's own dependencies warn about their future versions while it reads the file
pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning:rdflib.*"),
              pytest.mark.filterwarnings("ignore:The inplace keyword in DataFrame.reset_index")]
#: what the census cannot know about the audited dataset (mlcroissant's only warnings)
UNKNOWN = {"citeAs", "datePublished", "license", "version"}


@pytest.fixture()
def offline(monkeypatch):
    """No connection leaves the process: validation must work from the file alone."""
    def refuse(*args, **kwargs):
        raise OSError("the network is cut off in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def query(db: Path, sql: str, params=()) -> pd.DataFrame:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, list(params)).df()
    finally:
        con.close()


def export(db: Path, out: Path, *extra: str):
    return runner.invoke(app, ["export", "croissant", "--out", str(out), "--db", str(db), *extra])


def written(out: Path) -> dict:
    return json.loads((out / "croissant.json").read_text())


def validated(path: Path) -> mlc.Dataset:
    """mlcroissant's static validation: no error, and warnings only for what the census cannot know."""
    dataset = mlc.Dataset(jsonld=path)
    issues = dataset.metadata.ctx.issues
    assert not issues.errors, issues.report()
    assert all(any(f"/{name}\"" in w for name in UNKNOWN) for w in issues.warnings), issues.report()
    return dataset


def entry(values: list[str], start: str) -> str:
    found = [v for v in values if v.startswith(start)]
    assert len(found) == 1, (start, values)
    return found[0]


def test_the_description_validates_and_holds_the_marts_numbers(review_world, tmp_path, offline):
    root = tmp_path / DATASET
    shutil.copytree(review_world.root, root)  # the file at the dataset root, so its FileSet finds the images
    result = export(review_world.db, root)
    assert result.exit_code == 0, result.output
    assert "license, citeAs, version and datePublished" in result.output
    dataset = validated(root / "croissant.json")
    doc = written(root)
    assert doc["name"] == DATASET and doc["conformsTo"] == [CROISSANT, CROISSANT_RAI]
    assert "6 images, processed by 2 face models, 1 NSFW model" in doc["description"]
    meta = dataset.metadata
    assert meta.data_biases == doc["rai:dataBiases"] and meta.annotations_per_item == doc["rai:annotationsPerItem"]

    demographics = query(review_world.db, "select * from demographics order by annotator")
    for r in demographics.itertuples():
        text = entry(meta.data_biases, f"Apparent gender (face model {r.annotator})")
        assert (f"{r.pct_female:.1f} % of {r.n_faces} kept faces are read as female "
                f"(95 % interval {r.pct_female_lo:.1f}-{r.pct_female_hi:.1f} %") in text
        assert f"{r.pct_over_60:.1f} % read as over 60" in text and f"mean apparent age {r.mean_age:.1f}" in text
        if getattr(r, "pct_over_60_interval", None) == "wilson":  # how the mart made the interval, said
            assert (f"({r.pct_over_60_lo:.1f}-{r.pct_over_60_hi:.1f} %, Wilson score interval over images)"
                    .replace("(", "(95 % interval ") in text)
    assert "skewed towards apparent men" in entry(meta.data_biases, f"Apparent gender (face model {FACES_B})")
    assert "no skew beyond chance" in entry(meta.data_biases, f"Apparent gender (face model {FACES_A})")
    top = query(review_world.db, "select wnid, mean_nsfw, n_scored from class_nsfw order by mean_nsfw desc").iloc[0]
    nsfw = entry(meta.data_biases, f"NSFW classes (model {NSFW};")
    assert nsfw.index(f"{top.wnid} bikini") < nsfw.index("n04350905")  # highest first
    assert f"{top.mean_nsfw:.2f} over {top.n_scored} images" in nsfw
    assert "beach_voyeur on 1 image" in entry(meta.data_biases, "NSFW categories confirmed by reviewers")
    assert CAVEAT in meta.data_biases and CAVEAT in meta.data_limitations

    minors = query(review_world.db, "select annotator, sum(n_minors) as n, sum(n_faces_with_age) as aged "
                                    "from class_minors group by annotator")
    for r in minors.itertuples():
        assert f"{int(r.n)} of {int(r.aged)} kept faces with an apparent age are read as under 18" in entry(
            meta.personal_sensitive_information, f"Apparent minors (face model {r.annotator})")
    overview = query(review_world.db, "select * from census_overview where annotator = ?", [FACES_A]).iloc[0]
    assert (f"{overview.n_faces} kept faces in {overview.n_images_with_faces} of {overview.n_images} images"
            in entry(meta.personal_sensitive_information, f"Faces of people (face model {FACES_A})"))
    assert "Reviewers confirmed an apparent minor in 1 image" in meta.personal_sensitive_information[-1]
    assert "not measured: no reference labels imported" in entry(meta.personal_sensitive_information,
                                                                 "Face share corrected")

    coverage = query(review_world.db, "select * from annotator_coverage")
    assert len(meta.machine_annotation_tools) == len(coverage) == 3  # every model, once
    for r in coverage.itertuples():
        text = entry(meta.machine_annotation_tools, f"{r.annotator} (")
        assert f"{r.n_images_ok} images processed, {r.n_images_error} never processed" in text
    assert "precision and recall not measured: no reference labels imported" in entry(
        meta.machine_annotation_tools, f"{FACES_A} (face model)")

    agreement = query(review_world.db, "select * from review_agreement where question = 'nsfw_category'").iloc[0]
    assert (f"Krippendorff's alpha {agreement.krippendorff_alpha:.2f} (nominal) over {agreement.n_items} items"
            in entry(meta.data_annotation_analysis, "Reviewer agreement on nsfw_category"))
    assert "not measured: no item has two labels yet" in entry(meta.data_annotation_analysis,
                                                               "Reviewer agreement on is_face")
    assert "nsfw_category 4 labels on 2 items (2.00 per item)" in meta.annotations_per_item

    # the FileSet finds exactly the census' images (README.txt is no image), read with no network
    rel_paths = {r["images/rel_path"].decode() for r in dataset.records("images")}
    assert rel_paths == set(query(review_world.db, "select rel_path from raw.images").rel_path)
    # the census tables beside it hold the marts' rows of the dataset, as the RecordSet reads them
    rows = pd.DataFrame([{k.split("/", 1)[1]: v.decode() if isinstance(v, bytes) else v for k, v in r.items()}
                         for r in dataset.records("demographics")])
    pd.testing.assert_frame_equal(rows.sort_values("annotator").reset_index(drop=True),
                                  demographics[rows.columns], check_dtype=False)


def test_measured_precision_and_recall_are_named_per_model(review_world, tmp_path):
    db = review_world.writable(tmp_path)
    con = duckdb.connect(str(db))
    con.execute("""insert into corrected_face_share (annotator, reference, dataset, n_images, n_images_with_faces,
                       n_faces, eta_observed, eta_observed_lo, eta_observed_hi, reference_datasets, reference_kind,
                       n_images_evaluated, precision, recall, image_precision, image_precision_lo, image_precision_hi,
                       image_recall, image_recall_lo, image_recall_hi, eta_corrected, eta_corrected_lo,
                       eta_corrected_hi)
                   values (?, 'reference/hand', ?, 6, 5, 17, 0.8333, 0.44, 0.97, 'hand-set', 'faces', 40, 0.8125,
                           0.65, 0.9, 0.74, 0.97, 0.7, 0.52, 0.83, 1.0, 0.56, 1.0)""", [FACES_A, DATASET])
    # a classifier, measured against the dataset's own labels (class_accuracy)
    con.execute("insert into annotator_coverage values ('test/clf', 'classify', ?, 4, 1, 20)", [DATASET])
    con.execute("create table class_accuracy as select * from (values ('test/clf', ?, 'n1', 'train', 3, 1 / 3, 2 / 3),"
                " ('test/clf', ?, 'n2', 'train', 1, 1.0, 1.0)) as t(annotator, dataset, wnid, split, n_images, top1, "
                "top5)", [DATASET, DATASET])
    con.close()
    out = tmp_path / "out"
    result = export(db, out)
    assert result.exit_code == 0, result.output
    validated(out / "croissant.json")
    doc = written(out)
    tools = entry(doc["rai:machineAnnotationTools"], f"{FACES_A} (face model)")
    assert "against reference/hand (faces, 40 images of hand-set): precision 0.81 and recall 0.65" in tools
    assert "image precision 0.90 (95 % Wilson interval 0.74-0.97), image recall 0.70 (95 % Wilson interval " \
           "0.52-0.83)" in tools
    assert "no reference labels imported" in entry(doc["rai:machineAnnotationTools"], f"{FACES_B} (face model)")
    assert entry(doc["rai:machineAnnotationTools"], "test/clf") == (
        "test/clf (classifier model): 4 images processed, 1 never processed (errors); top-1 accuracy 0.50 and "
        "top-5 accuracy 0.75 against the dataset's own class labels on 4 images.")
    assert "1 image could not be processed by test/clf (classify)" in " ".join(doc["rai:dataLimitations"])
    shares = doc["rai:personalSensitiveInformation"]
    assert "100.0 % of images show a face (95 % interval 56.0-100.0 %; observed 83.3 %)" in entry(
        shares, f"Face share of model {FACES_A} corrected")
    assert any(t.startswith("A corrected face share assumes") for t in doc["rai:dataLimitations"])


def test_several_datasets_are_refused_with_their_list(review_world, tmp_path):
    db = review_world.writable(tmp_path)
    con = duckdb.connect(str(db))
    con.execute("insert into raw.images (image_id, dataset, split, wnid, rel_path) "
                "values ('other-1', 'other', 'train', 'n01440764', 'a.jpg')")
    con.close()
    result = export(db, tmp_path / "out")
    assert result.exit_code == 2
    assert "This warehouse holds 2 datasets (other, reviewds): choose one with --dataset NAME." in result.output
    assert "Traceback" not in result.output and not (tmp_path / "out" / "croissant.json").exists()

    result = export(db, tmp_path / "other", "--dataset", "other")
    assert result.exit_code == 2 and "The marts hold nothing about dataset 'other' yet" in result.output

    result = export(db, tmp_path / "out", "--dataset", DATASET)
    assert result.exit_code == 0, result.output
    limits = written(tmp_path / "out")["rai:dataLimitations"]
    assert any("The marts are older than the raw rows (raw.images changed" in t for t in limits)  # said, not hidden


def test_missing_marts_are_one_sentence(tmp_path):
    db = tmp_path / "census.duckdb"
    assert runner.invoke(app, ["init", "--db", str(db)]).exit_code == 0
    result = export(db, tmp_path / "out")
    assert result.exit_code == 2
    assert "The census marts are not built yet: run `dbt build --profiles-dir .` first" in result.output
    assert "Traceback" not in result.output

    (tmp_path / "file").write_text("x")
    result = export(db, tmp_path / "file")
    assert result.exit_code == 2 and "is a file" in result.output and "Traceback" not in result.output


def test_a_missing_or_empty_mart_is_named_not_dropped(review_world, tmp_path, offline):
    db = review_world.writable(tmp_path)
    out = tmp_path / "out"
    assert export(db, out).exit_code == 0 and (out / "census" / "demographics.parquet").is_file()
    con = duckdb.connect(str(db))
    con.execute("drop table demographics")
    con.execute("drop table class_minors")
    con.execute("delete from review_agreement")
    con.close()
    result = export(db, out)  # again, into the same folder
    assert result.exit_code == 0, result.output
    validated(out / "croissant.json")
    doc = written(out)
    build = "(run `dbt build --profiles-dir .`)"
    assert f"Apparent gender and age: not measured: the demographics mart is not built {build}." \
        in doc["rai:dataBiases"]
    assert f"Apparent minors: not measured: the class_minors mart is not built {build}." \
        in doc["rai:personalSensitiveInformation"]
    assert "Reviewer agreement: not measured: no review answers landed" in doc["rai:dataAnnotationAnalysis"][0]
    assert "Human labels: not measured: no review answers landed" in doc["rai:annotationsPerItem"]
    assert sorted(o["contentUrl"] for o in doc["distribution"] if o["@type"] == "cr:FileObject") == [
        "census/class_census.parquet", "census/class_nsfw.parquet"]
    assert sorted(p.name for p in (out / "census").iterdir()) == ["class_census.parquet", "class_nsfw.parquet"]


def test_a_mart_of_an_older_build_is_one_sentence(review_world, tmp_path):
    db = review_world.writable(tmp_path)
    con = duckdb.connect(str(db))
    con.execute("alter table review_agreement drop column n_items_one_label")
    con.close()
    result = export(db, tmp_path / "out")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "The review_agreement mart lacks a column this export reads" in result.output
    assert "rebuild the marts with `dbt build --profiles-dir .`" in result.output


def test_container_members_and_files_without_extension_are_described(review_world, tmp_path, offline):
    db = review_world.writable(tmp_path)
    con = duckdb.connect(str(db))
    for number, rel_path in enumerate(["shards/a-000.tar#k1.jpg", "shards/a-000.tar#k2.jpg",
                                       "shards/a-001.tar#k1.jpg", "data/part.parquet#7", "train/n1/no_extension"]):
        con.execute("insert into raw.images (image_id, dataset, split, wnid, rel_path) values (?, ?, 'train', 'n1', ?)",
                    [f"extra-{number}", DATASET, rel_path])
    con.close()
    out = tmp_path / "out"
    assert export(db, out).exit_code == 0
    validated(out / "croissant.json")
    doc = written(out)
    sets = {s["@id"]: s for s in doc["distribution"] if s["@type"] == "cr:FileSet"}
    assert sets["image-files"]["includes"] == ["**/*.JPEG", "**/*.png"]
    assert sets["image-files"]["encodingFormat"] == ["image/jpeg", "image/png"]
    containers = {s["encodingFormat"]: s for s in sets.values() if s["@id"].startswith("image-containers-")}
    assert containers["application/x-tar"]["includes"] == ["**/*.tar"]
    assert containers["application/x-tar"]["description"].startswith("2 container files holding 3 images")
    assert containers["application/x-parquet"]["description"].startswith("1 container file holding 1 image")
    assert "1 image file without an extension not matched by the patterns." in doc["description"]
