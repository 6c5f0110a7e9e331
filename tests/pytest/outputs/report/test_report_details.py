"""What a reader of the audit report sees, at ImageNet-like size and on a small folder of
photos in the same warehouse.

One warehouse, built once for the module: the synthetic ImageNet (`ingest synth --scale
0.01`: the 1,000 ILSVRC classes, two face models, NSFW, two classifiers) and a second dataset,
`photos`, a user's folder: 46 images filed under no class, six classes whose long names share
their first 40 characters, ILSVRC's two "crane" classes; every kept face an apparent man, one
apparent minor (in the unlabelled images), a gender skewness defined in two classes only.
Both reports are rendered in headless Chromium: every chart's labels must be distinct, uncut
and drawn apart (report_browser.label_problems), and a full-page screenshot of the ImageNet
report is taken (with CENSUS_SCREENSHOTS=DIR it is written there as report_full.png, the
README's). The sentences built from the data must hold in the degenerate cases.
"""

from __future__ import annotations

import hashlib
import html
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from report_browser import label_problems, render
from rich.console import Console
from test_report import dbt_build_models

from ingest.core.classes import UNLABELLED, class_names, named, short_name
from ingest.devtools.synthetic import generate_warehouse
from ingest.outputs.card import build_card
from ingest.outputs.report import build_report, warehouse_words, write_report
from ingest.outputs.report.words import r_text, short_labels
from ingest.outputs.summary import print_summary

PHOTOS = "photos"
LONG = "holiday photos from the summer trip to the seaside, album {}"
CRANES = ("n02012849", "n03126707")  # the bird and the machine: one first lemma
PHOTO_RUNS = (("photos-faces-a", "faces", "synthetic/faces-a"), ("photos-faces-b", "faces", "synthetic/faces-b"),
              ("photos-nsfw", "nsfw", "synthetic/nsfw"))
WNID = re.compile(r"\bn\d{8}\b")


def add_photos(db: Path) -> None:
    """The second dataset: a user's folder of photos (split `all`), processed by the same models."""
    classes = [("", 46)] + [(LONG.format(i), 8) for i in range(1, 7)] + [(w, 6) for w in CRANES]
    images, image_runs, faces, nsfw = [], [], [], []
    for wnid, n in classes:
        for i in range(n):
            rel_path = f"{wnid or 'loose'}/{i}.jpg"
            image_id = hashlib.sha256(f"{PHOTOS}/{rel_path}".encode()).hexdigest()[:16]
            images.append((image_id, PHOTOS, "all", wnid, rel_path))
            for run_id, stage, _ in PHOTO_RUNS:
                image_runs.append((run_id, image_id, "ok"))
                if stage == "nsfw":
                    nsfw.append((run_id, image_id, 0.5 if not wnid else 0.1 + 0.01 * i))
                    continue
                shift = 0.02 if run_id.endswith("b") else 0.0
                if not wnid:  # one apparent man each; the first image's is an apparent minor
                    faces.append((run_id, image_id, 0, 0.99, 10.0 if i == 0 else 35.0, 0.8))
                elif wnid == LONG.format(1) and i < 3:
                    faces.append((run_id, image_id, 0, 0.99, 30.0 + i, (0.6, 0.7, 0.95)[i] + shift))
                elif wnid == LONG.format(2) and i < 3:
                    faces.append((run_id, image_id, 0, 0.99, 40.0 + i, (0.6, 0.9, 0.95)[i] - shift))
    con = duckdb.connect(str(db))
    try:
        con.executemany("insert into raw.runs (run_id, stage, annotator, dataset, started_at, finished_at, status) "
                        "values (?, ?, ?, ?, timestamp '2024-02-01 00:00:00', timestamp '2024-02-01 01:00:00', "
                        "'complete')", [(r, s, a, PHOTOS) for r, s, a in PHOTO_RUNS])
        con.executemany("insert into raw.images (image_id, dataset, split, wnid, rel_path) values (?, ?, ?, ?, ?)",
                        images)
        con.executemany("insert into raw.image_runs (run_id, image_id, status) values (?, ?, ?)", image_runs)
        con.executemany("insert into raw.faces (run_id, image_id, face_idx, det_score, age, gender_score) "
                        "values (?, ?, ?, ?, ?, ?)", faces)
        con.executemany("insert into raw.nsfw (run_id, image_id, nsfw_score) values (?, ?, ?)", nsfw)
    finally:
        con.close()


@pytest.fixture(scope="module")
def two_datasets(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("two_datasets")
    db = work / "two.duckdb"
    generate_warehouse(db, scale=0.01, seed=0)
    add_photos(db)
    dbt_build_models(db, work)
    return db


class Tables(HTMLParser):
    """The header row and first column cells of every <table> of a page."""

    def __init__(self):
        super().__init__()
        self.tables: list[dict] = []
        self._cell: str | None = None
        self._row: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append({"head": [], "rows": []})
        elif tag in ("th", "td"):
            self._cell = ""
        elif tag == "tr":
            self._row = []

    def handle_endtag(self, tag):
        if tag in ("th", "td") and self._cell is not None:
            self._row.append(self._cell.strip())
            self._cell = None
        elif tag == "tr" and self.tables:
            table = self.tables[-1]
            if table["head"]:
                table["rows"].append(self._row)
            else:
                table["head"] = self._row

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def tables_of(page: str) -> list[dict]:
    parser = Tables()
    parser.feed(page)
    return parser.tables


def readings(page: str) -> list[str]:
    return re.findall(r'<p class="reading">(.*?)</p>', page)


# ---------------------------------------------------------------- in the browser
def test_imagenet_size_report_full_page(two_datasets, tmp_path, monkeypatch):
    """1,000 classes, two face models, the warehouse holding a second dataset: every chart
    draws, no label is cut, repeated or drawn over another, and the full page is captured."""
    shots = os.environ.get("CENSUS_SCREENSHOTS")
    target = Path(shots).resolve() if shots else None
    monkeypatch.chdir(two_datasets.parent)  # the header names the file as two.duckdb
    path = write_report(tmp_path / "imagenet", two_datasets, dataset="imagenet")
    assert "from the census marts of two.duckdb;" in path.read_text()
    shot = tmp_path / "report_full.png"
    seen = render(path, screenshot=shot)
    assert seen.console_errors == [] and seen.foreign_requests == []
    assert seen.expected == len(seen.charts) >= 13
    for chart in seen.charts:
        assert chart["rendered"] == "ok" and chart["marks"] > 0, chart["id"]
        assert label_problems(chart) == [], chart["id"]
    from PIL import Image

    with Image.open(shot) as image:
        width, height = image.size
    assert width == 1200 and height > 8000, (width, height)
    if target is not None:  # the README's copy: 128 colours keep it near 0.6 MB
        target.mkdir(parents=True, exist_ok=True)
        with Image.open(shot) as image:
            image.convert("RGB").quantize(colors=128).save(target / "report_full.png", optimize=True)


def test_photos_report_reads_cleanly_in_the_browser(two_datasets, tmp_path):
    """The small folder: six long class names stay distinct on the axes, the unlabelled images
    read "(unlabelled)", never an empty bar."""
    path = write_report(tmp_path / "photos", two_datasets, dataset=PHOTOS)
    seen = render(path)
    assert seen.console_errors == []
    drawn = {c["id"]: c for c in seen.charts}
    for chart in seen.charts:
        assert chart["rendered"] == "ok", chart["id"]
        assert label_problems(chart) == [], chart["id"]
    eta = [t["text"] for t in drawn["chart-eta_top"]["texts"] if "axis-label" in t["role"]]
    albums = [label for label in eta if label.startswith("holiday")]
    assert len(albums) == len(set(albums)) == 6, eta
    assert UNLABELLED in eta and "" not in eta
    minors = [t["text"] for t in drawn["chart-minors"]["texts"] if "axis-label" in t["role"]]
    assert UNLABELLED in minors


# ---------------------------------------------------------------- the page's text
def test_degenerate_sentences_and_intervals(two_datasets):
    page = build_report(two_datasets, dataset=PHOTOS)
    said = html.unescape(" ".join(readings(page)))
    assert "the most: (" not in said and ":  (" not in said and "most: ," not in said
    assert "the most apparent minors: the unlabelled images (1 face)" in said
    assert "1 class has at least one apparent minor for synthetic/faces-a, outside the paper's" in said
    assert "Highest eta: the unlabelled images (1.00; 46 images)" in said
    assert "1 of 2 classes with a defined skewness leans toward apparent women" in said
    assert " to 49.1 %" not in said
    # Pearson r from two classes is given with its n and a caveat, never bare
    assert re.search(r"gender skewness r = -?1\.00 from only 2 classes: too few to mean anything", said), said
    assert not re.search(r"Pearson r = -?1\.000 \(|\(Pearson r = -?1\.000, 2 classes\)", page)
    # 0 % apparent women over 52 faces in 52 images: Wilson's interval over the images, not [0.00, 0.00]
    assert "[0.00, 0.00]" not in page
    upper = 100 * 1.959964**2 / (52 + 1.959964**2)
    assert f"0.00 % [0.00, {upper:.2f}] Wilson" in page
    assert "every image agrees" in page
    assert not re.search(r"(?<!\()\bn\d{8}\b", said), said  # classes by name; a wnid only in brackets


def test_every_table_names_its_dataset(two_datasets):
    for dataset in ("imagenet", PHOTOS):
        page = build_report(two_datasets, dataset=dataset)
        tables = tables_of(page)
        assert tables
        for table in tables:
            assert table["head"][0] == "dataset", table["head"]
            assert {row[0] for row in table["rows"]} == {dataset}, table["head"]
    page = build_report(two_datasets, dataset="imagenet")
    heads = [t["head"] for t in tables_of(page)]
    assert any("NSFW model" in h and "class" in h for h in heads)  # the hand survey
    assert any("face model" in h and "mean NSFW" in h for h in heads)  # the shortlist


def test_classes_are_named_with_their_wnid_kept(two_datasets):
    page = build_report(two_datasets, dataset=PHOTOS)
    for table in tables_of(page):
        if "class" in table["head"]:
            i = table["head"].index("class")
            assert all(not WNID.fullmatch(row[i]) and row[i] for row in table["rows"]), table["head"]
    assert "crane (n02012849)" in page and "crane (n03126707)" in page
    card = build_card(two_datasets, dataset=PHOTOS)
    assert f"| {UNLABELLED} |" in card  # the minors' class, not an empty cell
    console = Console(record=True, width=250)
    print_summary(console, two_datasets, dataset=PHOTOS)
    summary = console.export_text()
    assert UNLABELLED in summary and re.search(r"┃ class +┃", summary)
    imagenet_card = build_card(two_datasets, dataset="imagenet")
    assert not re.search(r"\| n\d{8} ", imagenet_card)  # "name (wnid)", not "wnid name"
    assert re.search(r"\| [^|]+ \(n\d{8}\) \|", imagenet_card)


def test_header_names_the_warehouse_file(two_datasets, tmp_path, monkeypatch):
    monkeypatch.setenv("CENSUS_DB", str(two_datasets))
    page = build_report(None, dataset=PHOTOS)
    assert "default warehouse" not in page
    assert f"from the census marts of {warehouse_words(two_datasets)};" in page
    assert warehouse_words(two_datasets).endswith("two.duckdb")
    repo = Path(__file__).resolve().parents[4]
    assert warehouse_words(repo / "warehouse" / "other.duckdb") == "warehouse/other.duckdb"
    monkeypatch.delenv("CENSUS_DB")
    assert warehouse_words(None) == "the default warehouse (warehouse/census.duckdb)"


# ---------------------------------------------------------------- units
def test_short_labels_stay_distinct():
    names = [LONG.format(i) for i in range(1, 7)] + ["bus", "x" * 80, "x" * 79 + "y"]
    cuts = short_labels(names)
    assert len(set(cuts.values())) == len(names)
    assert cuts["bus"] == "bus" and all(len(c) < len(n) for n, c in cuts.items() if len(n) > 40)
    assert all(not c.endswith("…") for c in cuts.values())


def test_class_names():
    assert short_name("") == short_name(None) == UNLABELLED
    assert short_name("n01440764") == "tench"
    assert short_name("n09999999", {"n09999999": "sea_urchin, echinoid"}) == "sea urchin"
    assert short_name("n09999999") == "n09999999" and short_name("my cats") == "my cats"
    names = class_names(["n02012849", "n03126707", "crane", "", "n01440764"])
    assert names == {"n02012849": "crane (n02012849)", "n03126707": "crane (n03126707)", "crane": "crane",
                     "": UNLABELLED, "n01440764": "tench"}
    assert class_names(["n02012849"]) == {"n02012849": "crane (n02012849)"}  # the same name in every chart
    assert named("n01440764") == "tench (n01440764)" and named("") == UNLABELLED and named("cats") == "cats"


def test_pearson_r_text():
    assert r_text(1.0, 2) == "r = 1.000 from only 2 classes: too few to mean anything"
    assert r_text(0.82, 1000) == "r = 0.820 (1,000 classes)"
    assert r_text(float("nan"), 1) == "r undefined (from 1 class)"
    assert r_text(pd.NA, 5).startswith("r undefined")


def test_other_wnids_are_named_from_the_label_audit(tmp_path):
    """An ImageNet-21k wnid outside ILSVRC reads as WordNet's first lemma where `ingest labels
    audit` put it in the label_audit mart, else as itself."""
    from ingest.outputs.report import Marts

    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("create table main.label_audit as select * from (values ('imagenet21k', 'n09999999', "
                "'sea_urchin, echinoid')) as t(label_set, wnid, lemmas)")
    frame = pd.DataFrame({"wnid": ["n09999999", "n09999998", "n01440764", None]})
    named_frame = Marts(con).name_classes(frame)
    con.close()
    assert list(named_frame["class"]) == ["sea urchin", "n09999998", "tench", UNLABELLED]
