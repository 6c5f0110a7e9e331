"""`ingest synth`: the ImageNet-21k shape, and blocks that never change what is written."""

from __future__ import annotations

import duckdb
import pytest

from ingest.core.errors import CensusError
from ingest.devtools import synthetic

TABLES = {
    "images": "image_id, dataset, split, wnid, rel_path, file_bytes, width, height",
    "image_runs": "run_id, image_id, status, error",
    "faces": "run_id, image_id, face_idx, det_score, age, gender_score",
    "nsfw": "run_id, image_id, nsfw_score",
    "predictions": "run_id, image_id, rank, class_index, wnid, prob",
}


def test_the_21k_shape_has_its_classes_and_classifiers_that_know_1k_of_them(tmp_path):
    db = tmp_path / "w.duckdb"
    counts = synthetic.generate_warehouse(db, scale=0.0005, classes="21k")
    assert counts["images"] == round(synthetic.N_21K * 0.0005)
    con = duckdb.connect(str(db), read_only=True)
    wnids_21k = {w for _, w in synthetic._classes_21k()}
    wnids_1k = {w for _, w in synthetic._classes()}
    assert len(wnids_21k) == 21843
    labels = {w for (w,) in con.execute("select distinct wnid from raw.images").fetchall()}
    assert labels <= wnids_21k and len(labels) == counts["images"]  # fewer images than classes: one each
    assert con.execute("select count(*) from raw.images where split <> 'train'").fetchone()[0] == 0
    predicted = {w for (w,) in con.execute("select distinct wnid from raw.predictions").fetchall()}
    assert predicted <= wnids_1k
    right = con.execute("""select count(*) from raw.predictions p join raw.images i using (image_id)
                           where p.wnid = i.wnid""").fetchone()[0]
    outside = con.execute("""select count(*) from raw.predictions p join raw.images i using (image_id)
                             where p.wnid = i.wnid and i.wnid not in (select unnest(?))""",
                          [sorted(wnids_1k)]).fetchone()[0]
    assert right > 0 and outside == 0
    assert counts["faces"] > 0 and counts["nsfw"] > 0


def test_blocks_write_the_same_rows_as_one_statement(tmp_path, monkeypatch):
    whole, blocked = tmp_path / "whole.duckdb", tmp_path / "blocked.duckdb"
    synthetic.generate_warehouse(whole, scale=0.002)
    monkeypatch.setattr(synthetic, "BLOCK", 997)
    synthetic.generate_warehouse(blocked, scale=0.002)
    con = duckdb.connect(str(blocked), read_only=True)
    con.execute(f"attach '{whole}' as whole (read_only)")
    for table, cols in TABLES.items():
        for a, b in (("raw", "whole.raw"), ("whole.raw", "raw")):
            extra = con.execute(f"select count(*) from (select {cols} from {a}.{table} "
                                f"except all select {cols} from {b}.{table})").fetchone()[0]
            assert extra == 0, (table, a)


def test_an_unknown_class_set_is_one_sentence(tmp_path):
    with pytest.raises(CensusError, match="--classes must be one of 1k, 21k"):
        synthetic.generate_warehouse(tmp_path / "w.duckdb", scale=0.001, classes="5k")
