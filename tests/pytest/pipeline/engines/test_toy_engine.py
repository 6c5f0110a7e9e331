"""The engine registry drives --engine's choices, help and policy: a toy engine
(tests/pytest/toy_engine.py) added with its module and one registry line runs a dataset, and
nothing else changes."""

from __future__ import annotations

import json

import duckdb
import pytest
from PIL import Image

import ingest.pipeline.engines.registry as registry
from ingest.core.errors import CensusError
from ingest.pipeline.runner import RunOptions


@pytest.fixture()
def toy_engine(monkeypatch):
    import toy_engine as toy

    monkeypatch.setattr(registry, "REGISTRY", (*registry.REGISTRY, toy.ENTRY))
    return toy



def test_the_registry_names_every_engine_once_and_writes_the_help():
    assert registry.names() == ("local", "ray", "torch")
    assert [kind.value for kind in registry.EngineKind] == list(registry.names())
    assert registry.help_text().startswith("local: this machine's processes")
    assert registry.addressed() == ("ray",)


def test_an_engine_the_registry_lacks_is_one_sentence(tmp_path):
    with pytest.raises(CensusError, match=r"^--engine 'toy' is not one of local, ray, torch\.$"):
        RunOptions(dataset_root=tmp_path, engine="toy")
    with pytest.raises(CensusError, match=r"^--ray-address is for --engine ray\.$"):
        RunOptions(dataset_root=tmp_path, engine="torch", ray_address="head:6379")


def test_a_run_goes_through_the_toy_engine(toy_engine, toy_stage, tmp_path):
    from ingest.pipeline.runner import run_dataset

    root = tmp_path / "photos"
    root.mkdir()
    for i in range(3):
        Image.new("RGB", (40, 30), (i * 80, 90, 140)).save(root / f"{i}.jpg")
    db = tmp_path / "census.duckdb"
    options = RunOptions(dataset_root=root, dataset="ds", device="cpu", db=db, workers=4, layout="images",
                         engine="toy", stages=["brightness"],
                         overrides={"brightness": toy_stage.MeanBrightness.annotator})
    assert options.engine is toy_engine.ENTRY
    summary = run_dataset(options)
    assert (summary.stats.seen, summary.stats.errors, summary.workers) == (3, 0, 0)  # its policy: no workers
    con = duckdb.connect(str(db), read_only=True)
    params = json.loads(con.execute("select params from raw.runs").fetchone()[0])
    count = con.execute("select count(*) from raw.brightness").fetchone()[0]
    con.close()
    assert params["engine"] == "toy" and count == 3
