"""The report's templates: values escaped unless we made them, the page one file with its CSS,
JavaScript and chart specs inside, and every template and static file shipped in the wheel.

A warehouse of two hand-made marts whose dataset, model and class names are HTML: the page
shows them as text and the chart specs carry them intact."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import duckdb
from markupsafe import Markup

from ingest.outputs.report import build_report
from ingest.outputs.report.blocks import Section
from ingest.outputs.report.render import fragment, static

PACKAGE = Path(__file__).resolve().parents[4] / "ingest"
EVIL = "<script>alert(1)</script>"


def test_values_are_escaped_and_our_markup_is_not():
    cell = fragment("table.html.j2", heading="a <b>", head=["<th>"], rows=[[(EVIL, False)]], more="")
    assert EVIL not in cell and "<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>" in cell
    assert "<h3>a &lt;b&gt;</h3>" in cell and "<th>&lt;th&gt;</th>" in cell
    section = Section("x", "X").no_data([EVIL], "is <empty>")
    assert section.blocks == [Markup('<p class="nodata">No data: <code>&lt;script&gt;alert(1)&lt;/script&gt;</code> '
                                     "is &lt;empty&gt;.</p>")]
    assert "</style" not in static("report.css") and "</script" not in static("report.js")


def test_names_that_are_html_stay_text(tmp_path):
    db = tmp_path / "w.duckdb"
    con = duckdb.connect(str(db))
    con.execute("create table main.annotator_coverage as select $1 as annotator, 'faces' as stage, $1 as dataset, "
                "10 as n_images_ok, 0 as n_images_error", [EVIL])
    con.execute("create table main.class_census as select $1 as annotator, $1 as dataset, wnid, 'train' as split, "
                "5 as n_images, 3 as n_faces, eta, skew as gender_skewness, 0.4 as mean_gender "
                "from (values ($1, 0.6, 0.5), ('n01440764', 0.2, -0.3)) as t(wnid, eta, skew)", [EVIL])
    con.close()
    page = build_report(db, dataset=EVIL)
    assert EVIL not in page and "alert(1)</script" not in page
    assert "Dataset audit report: dataset &lt;script&gt;alert(1)&lt;/script&gt;</h1>" in page
    assert "<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>" in page  # a table cell
    assert "Highest eta: &lt;script&gt;alert(1)&lt;/script&gt; (0.60" in page  # a reading
    specs = re.findall(r'<script type="application/json" id="spec-[^"]+">(.*?)</script>', page)
    assert len(specs) == page.count('<div class="chart"') >= 2
    rows = [row for spec in map(json.loads, specs) for data in spec["datasets"].values() for row in data]
    assert any(row.get("class") == EVIL for row in rows)  # the chart draws the name as it is
    assert page.count("<script") == len(specs) + 2  # the specs, the Vega bundle, report.js


def test_templates_and_static_files_ship_in_the_package():
    pyproject = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())
    globs = pyproject["tool"]["setuptools"]["package-data"]["ingest"]
    files = [p for folder in ("templates", "static") for p in (PACKAGE / "outputs" / "report" / folder).rglob("*")
             if p.is_file()]
    assert any(p.name == "report.html.j2" for p in files) and any(p.name == "report.css" for p in files)
    for path in files:
        relative = path.relative_to(PACKAGE)
        assert any(relative.match(glob) and len(relative.parts) == len(Path(glob).parts) for glob in globs), relative
