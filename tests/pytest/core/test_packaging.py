"""A non-editable install works: the schema and the class list ship inside the package and
are read through importlib.resources, never through the source checkout. And each fact
Python shares with dbt has one home that a test ties to dbt's."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import duckdb
import pytest
import yaml

from ingest.core.config import FACE_MIN_SCORE, IMAGENET_CLASSES_CSV, SCHEMA_SQL

REPO = Path(__file__).resolve().parents[3]
DBT_PROJECT = yaml.safe_load((REPO / "dbt_project.yml").read_text())
PACKAGE_DATA = ("ingest/data/schema.sql", "ingest/data/imagenet_classes.csv",
                "ingest/data/imagenet_sample_faces_dev.csv", "ingest/data/imagenet_sample_faces_dev.md",
                "ingest/review/templates/review.html", "ingest/review/static/review.js")  # the review page


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The package built as a wheel (from a copy of the sources, so the checkout gets no
    build/ folder) and installed without its dependencies into a folder of its own."""
    base = tmp_path_factory.mktemp("packaging")
    source = base / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    shutil.copytree(REPO / "ingest", source / "ingest", ignore=shutil.ignore_patterns("__pycache__"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", "--quiet"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(base / "dist"),
                    str(source)], check=True, capture_output=True, timeout=300)
    (wheel,) = (base / "dist").glob("census_warehouse-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        assert set(PACKAGE_DATA) <= set(archive.namelist())
    target = base / "site"
    subprocess.run([*pip, "install", "--no-deps", "--no-index", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    return target


def run_installed(target: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """python with the installed copy first on the path, from a folder outside the checkout
    (the dependencies come from this interpreter's environment)."""
    env = {**os.environ, "PYTHONPATH": str(target)}
    env.pop("CENSUS_DB", None)
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_the_installed_package_reads_its_data_from_itself(installed, tmp_path):
    found = run_installed(installed, tmp_path, "-c", "import ingest, ingest.core.config as c; "
                          "print(ingest.__file__); print(c.SCHEMA_SQL); print(c.IMAGENET_CLASSES_CSV)")
    assert found.returncode == 0, found.stderr
    assert all(Path(line).is_relative_to(installed) for line in found.stdout.split()), found.stdout


def test_the_installed_package_runs_init_and_models(installed, tmp_path):
    db = tmp_path / "w.duckdb"
    init = run_installed(installed, tmp_path, "-m", "ingest.cli", "init", "--db", str(db))
    assert init.returncode == 0, init.stderr
    con = duckdb.connect(str(db), read_only=True)
    tables = {r[0] for r in con.execute(
        "select table_name from information_schema.tables where table_schema = 'raw'").fetchall()}
    con.close()
    assert {"runs", "images", "image_runs", "faces", "nsfw", "predictions"} <= tables
    models = run_installed(installed, tmp_path, "-m", "ingest.cli", "models", "--json")
    assert models.returncode == 0, models.stderr
    assert '"annotator": "dlib/age-and-gender-v1"' in models.stdout


def test_each_packaged_file_has_one_home_that_dbt_reads_too():
    assert Path(str(SCHEMA_SQL)) == REPO / "ingest" / "data" / "schema.sql"
    assert not (REPO / "warehouse" / "schema.sql").exists()
    seeds = [REPO / folder / "imagenet_classes.csv" for folder in DBT_PROJECT["seed-paths"]]
    assert [p for p in seeds if p.exists()] == [Path(str(IMAGENET_CLASSES_CSV))]


def test_the_face_threshold_is_dbts():
    from ingest.models.faces_dlib import det_score_of
    from ingest.pipeline.runner import RunOptions

    assert DBT_PROJECT["vars"]["face_min_score"] == FACE_MIN_SCORE
    assert RunOptions(dataset_root=REPO).face_min_score == FACE_MIN_SCORE
    # dlib's score is calibrated so that its own acceptance (margin 0) sits at the threshold
    assert det_score_of(0.0) == FACE_MIN_SCORE and det_score_of(-1e-9) < FACE_MIN_SCORE
