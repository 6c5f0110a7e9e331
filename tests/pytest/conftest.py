"""Shared fixtures: real sample photos from installed packages and small datasets built from them."""

from __future__ import annotations

from pathlib import Path

import pytest
from photos import build_small_ilsvrc
from review_world import review_world  # noqa: F401 (the review tests' session fixture)

from ingest.devtools.demo import source_path


@pytest.fixture(scope="session")
def t1_path() -> Path:
    """insightface's sample photo with six faces."""
    path = source_path("insightface", "images/t1.jpg")
    assert path.is_file()
    return path


@pytest.fixture()
def small_ilsvrc(tmp_path: Path) -> Path:
    return build_small_ilsvrc(tmp_path / "ilsvrc")


@pytest.fixture()
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "census.duckdb"
    monkeypatch.setenv("CENSUS_DB", str(path))
    return path


@pytest.fixture()
def toy_stage():
    """The toy stage (tests/pytest/toy_stage.py: its model file and one registry line), removed after."""
    import importlib

    import toy_stage as toy

    importlib.reload(toy)  # registers again if an earlier test removed it
    from ingest.core.stages import STAGES
    from ingest.models import REGISTRY

    yield toy
    STAGES.pop("brightness", None)
    REGISTRY.pop(toy.MeanBrightness.annotator, None)
