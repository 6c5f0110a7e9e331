"""The label-space audit: WordNet 3.0 (Debian's wordnet-base through nltk) on ILSVRC-1k and
ImageNet-21k, and its rows in raw.label_synsets."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from ingest.labels.label_audit import WORDNET_DIR, audit, label_set, write
from ingest.warehouse.db import init_schema

pytest.importorskip("nltk")
pytestmark = pytest.mark.skipif(not (WORDNET_DIR / "data.noun").is_file(),
                                reason="WordNet 3.0 (wordnet-base) not installed: make wordnet")


def test_label_sets_ship_in_the_package():
    assert len(label_set("ilsvrc1k")) == 1000
    wnids = label_set("imagenet21k")
    assert len(wnids) == 21843 and wnids[0] == "n00004475"


def test_a_wnid_file(tmp_path: Path):
    wnids = tmp_path / "mine.txt"
    # person, a scuba diver, a slang noun (gat), a tabby cat, and a wnid WordNet 3.0 lacks
    wnids.write_text("n00007846\nn10565667\nn03427202\nn02123045\nn99999999\n")
    rows = {r.wnid: r for r in audit(str(wnids))}
    assert rows["n00007846"].synset == "person.n.01" and rows["n00007846"].is_person
    assert rows["n00007846"].lexname == "noun.Tops"
    assert rows["n10565667"].is_person and rows["n10565667"].lexname == "noun.person"
    assert rows["n03427202"].slang and rows["n03427202"].usage_domains == "slang.n.02"
    assert not rows["n02123045"].is_person and rows["n02123045"].lexname == "noun.animal"
    assert rows["n02123045"].depth > 5
    assert not rows["n99999999"].in_wordnet and rows["n99999999"].label_set == "mine"


def test_imagenet21k_person_subtree_and_rows_replace(tmp_path: Path):
    rows = audit("imagenet21k")
    assert all(r.in_wordnet for r in rows)
    # the 2019 paper counts 2,833 synsets in ImageNet's person subtree
    assert 2800 <= sum(r.is_person for r in rows) <= 2900
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    init_schema(con)
    write(con, rows)
    write(con, rows)  # a rerun replaces the label set's rows
    assert con.execute("select count(*), count(distinct wnid) from raw.label_synsets").fetchall() == [(21843, 21843)]
