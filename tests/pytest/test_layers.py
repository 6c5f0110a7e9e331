"""The layers of ARCHITECTURE.md (pyproject's [tool.importlinter]): the real tree keeps them, and a
layer-breaking import (a core module importing the CLI) breaks them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(package_parent: Path) -> subprocess.CompletedProcess:
    """lint-imports with the repository's contracts, on the ``ingest`` package under ``package_parent``
    (first on the path, and the working directory, so a copy there is the one analysed)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(package_parent),
                                                                     os.environ.get("PYTHONPATH")])))
    return subprocess.run([str(LINT_IMPORTS), str(REPO / "pyproject.toml"), "--no-cache", "--no-logo"],
                          cwd=package_parent, env=env, capture_output=True, text=True, timeout=300)


def test_the_package_keeps_its_layers():
    result = _lint(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_an_import_up_the_layers_breaks_the_contract(tmp_path):
    shutil.copytree(REPO / "ingest", tmp_path / "ingest", ignore=shutil.ignore_patterns("__pycache__"))
    errors = tmp_path / "ingest" / "core" / "errors.py"
    errors.write_text(errors.read_text() + "\n\ndef _up() -> None:\n    import ingest.cli  # noqa: F401\n")
    result = _lint(tmp_path)
    assert result.returncode != 0, result.stdout
    assert "ingest layers BROKEN" in result.stdout
    assert "ingest.core.errors -> ingest.cli" in result.stdout
