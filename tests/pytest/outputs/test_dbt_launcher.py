"""How `--build` and `ingest evaluate` start dbt: one function, four cases."""

import importlib.util
import shutil

import pytest

from ingest.core.errors import CensusError
from ingest.outputs import marts


@pytest.fixture()
def python(tmp_path, monkeypatch):
    """A Python in a bin/ of its own, with nothing beside it."""
    executable = tmp_path / "bin" / "python"
    executable.parent.mkdir()
    executable.touch()
    monkeypatch.setattr(marts.sys, "executable", str(executable))
    return executable


def test_the_dbt_beside_this_python_first(python):
    (python.parent / "dbt").touch()
    assert marts.dbt_executable("dbt build") == [str(python.parent / "dbt")]


def test_else_the_dbt_module_under_this_python(python):
    assert importlib.util.find_spec("dbt") is not None  # installed in the test environment
    assert marts.dbt_executable("dbt build") == [str(python), "-m", "dbt.cli.main"]


def test_else_a_dbt_on_path(python, monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    monkeypatch.setattr(shutil, "which", lambda name: "/opt/pipx/bin/dbt" if name == "dbt" else None)
    assert marts.dbt_executable("dbt build") == ["/opt/pipx/bin/dbt"]


def test_else_one_sentence_with_the_command_to_run_elsewhere(python, monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(CensusError, match=r"dbt is not installed here .*`dbt build --select \+x` where it is"):
        marts.dbt_executable("dbt build --select +x")
