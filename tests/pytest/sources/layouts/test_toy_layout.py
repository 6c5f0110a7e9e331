"""The layout registry drives --layout's choices, auto detection, listing, the ignored-file
sentences and the locators: a toy layout (tests/pytest/toy_layout.py) added with its module and
one registry line is offered, detected, listed, decoded and run, and nothing else changes."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import duckdb
import pytest
from PIL import Image

import ingest.sources.layouts.registry as registry
from ingest.core.errors import CensusError
from ingest.sources.layouts import Ignored, detect_layout, ignored_sentences, list_images, resolve_layout
from ingest.sources.locators import decode_ref, split_locator

TESTS = Path(__file__).resolve().parents[2]
REPO = TESTS.parents[1]


def jpeg(seed: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (seed * 60 % 256, 90, 140)).save(buffer, "JPEG")
    return buffer.getvalue()


def zip_dataset(root: Path) -> Path:
    root.mkdir()
    with zipfile.ZipFile(root / "a.zip", "w") as archive:
        archive.writestr("cats/0.jpg", jpeg(0))
        archive.writestr("cats/1.jpg", jpeg(1))
        archive.writestr("dogs/2.jpg", jpeg(2))
        archive.writestr("readme.txt", "not an image")
    return root


@pytest.fixture()
def toy_layout(monkeypatch):
    import toy_layout as toy

    monkeypatch.setattr(registry, "REGISTRY", (*registry.REGISTRY, toy.ENTRY))
    return toy



def test_the_registry_names_every_layout_once():
    assert registry.choices() == ("auto", "ilsvrc", "folders", "manifest", "images", "webdataset", "parquet")
    assert [m.value for m in registry.LayoutChoice] == list(registry.choices())
    assert list(registry.containers()) == [".tar", ".parquet"]
    sentences: dict[str, str] = {}
    for layout in registry.layouts().values():
        for reason, sentence in layout.ignored.items():
            assert sentences.setdefault(reason, sentence) == sentence, reason  # one reason, one sentence


def test_a_toy_layout_is_detected_listed_and_decoded(toy_layout, tmp_path):
    root = zip_dataset(tmp_path / "zips")
    assert detect_layout(root) == "zip"
    assert resolve_layout(root, "zip", None) == "zip"
    ignored = Ignored()
    refs = list_images(root, ignored=ignored)
    assert [(r.rel_path, r.split, r.wnid) for r in refs] == [
        ("a.zip#cats/0.jpg", "all", "cats"), ("a.zip#cats/1.jpg", "all", "cats"), ("a.zip#dogs/2.jpg", "all", "dogs")]
    assert ignored.messages() == ["1 zip member(s) that are not images were ignored (e.g. a.zip#readme.txt)."]
    assert split_locator("a.zip#cats/0.jpg") == ("a.zip", ".zip", "cats/0.jpg")
    decoded = decode_ref(root, "a.zip#dogs/2.jpg", None)
    assert decoded.error is None and decoded.rgb.shape[:2] == (30, 40)
    assert "zip_not_image" in ignored_sentences()


def test_without_its_line_the_toy_layout_is_unknown(tmp_path):
    root = zip_dataset(tmp_path / "zips")
    assert detect_layout(root) == "folders"
    assert split_locator("a.zip#cats/0.jpg") is None
    with pytest.raises(CensusError, match=re.escape("Unknown layout 'zip': use one of auto, ilsvrc, folders, "
                                                    "manifest, images, webdataset, parquet.")):
        resolve_layout(root, "zip", None)


def test_a_run_reads_the_toy_layout(toy_layout, toy_stage, tmp_path):
    from ingest.pipeline.runner import RunOptions, run_dataset

    root = zip_dataset(tmp_path / "zips")
    db = tmp_path / "census.duckdb"
    summary = run_dataset(RunOptions(dataset_root=root, dataset="ds", device="cpu", db=db, workers=0,
                                     stages=["brightness"],
                                     overrides={"brightness": toy_stage.MeanBrightness.annotator}))
    assert summary.stats.seen == 3 and summary.stats.errors == 0
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute("select i.rel_path, i.wnid from raw.brightness b join raw.images i using (image_id) "
                       "order by 1").fetchall()
    con.close()
    assert rows == [("a.zip#cats/0.jpg", "cats"), ("a.zip#cats/1.jpg", "cats"), ("a.zip#dogs/2.jpg", "dogs")]


# In a copy of the package, the toy's registry line is written into registry.py itself (its module
# stays importable from tests/pytest), and the command line is run there: --help offers it, a
# misspelt layout is refused with the choices, and `ingest run` reads it.
CLI = """
import json, sys
import toy_stage  # noqa: F401 (a stage that needs no weights)
from typer.testing import CliRunner
from ingest.cli import app
from ingest.sources.layouts import registry
runner = CliRunner()
root, db = sys.argv[1], sys.argv[2]
results = {"module": registry.__file__}
for name, args in (("help", ["run", "--help"]), ("bad", ["run", root, "--layout", "zap"]),
                   ("run", ["run", root, "--layout", "zip", "--stages", "brightness", "--model",
                            "brightness=toy/mean-brightness", "--workers", "0", "--device", "cpu",
                            "--db", db, "--json"])):
    result = runner.invoke(app, args, terminal_width=200)
    results[name] = [result.exit_code, result.output]
print(json.dumps(results))
"""


def test_one_registry_line_offers_the_toy_layout_on_the_command_line(tmp_path):
    package = tmp_path / "copy" / "ingest"
    shutil.copytree(REPO / "ingest", package, ignore=shutil.ignore_patterns("__pycache__"))
    source = package / "sources" / "layouts" / "registry.py"
    text = source.read_text()
    end = text.index("\n)\n", text.index("REGISTRY"))  # the tuple's closing line
    source.write_text(text[:end] + '\n    Entry("zip", "toy_layout", "zip archives of images"),' + text[end:])
    root = zip_dataset(tmp_path / "zips")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(package.parent), str(TESTS)]), COLUMNS="200",
               NO_COLOR="1", TERM="dumb")
    result = subprocess.run([sys.executable, "-c", CLI, str(root), str(tmp_path / "census.duckdb")], env=env,
                            cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.splitlines()[-1])
    assert outcome["module"] == str(source)
    code, text = outcome["help"]
    assert code == 0 and "--layout <auto|ilsvrc|folders|manifest|images|webdataset|parquet|zip>" in text, text
    code, text = outcome["bad"]
    assert code == 2 and "'zip'" in text, text
    code, text = outcome["run"]
    assert code == 0, text
    summary = json.loads(text.strip().splitlines()[-1])
    assert (summary["listed"], summary["ok"], summary["errors"]) == (3, 3, 0), text
    con = duckdb.connect(str(tmp_path / "census.duckdb"), read_only=True)
    assert con.execute("select rel_path, wnid from raw.images order by 1").fetchall() == [
        ("a.zip#cats/0.jpg", "cats"), ("a.zip#cats/1.jpg", "cats"), ("a.zip#dogs/2.jpg", "dogs")]
    con.close()
