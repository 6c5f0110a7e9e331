"""The census marts as the rest of the world sees them: which tables of a warehouse are marts,
and their documentation (model and column descriptions) taken from the dbt docs.

Definitions come from the models' .yml files under ``models/marts/`` (the source of `dbt docs
generate`), so they are available without a build; a ``target/manifest.json`` is the fallback
when the package runs without its dbt project beside it. Marts land in the warehouse's
default schema ``main`` (DESIGN.md); staging, intermediate and seeds live in other schemas.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import duckdb

from ..core.errors import CensusError

#: the dbt project this package belongs to (a source checkout), else the current folder
PROJECT_DIR = next((p for p in (Path(__file__).resolve().parents[2], Path.cwd())
                    if (p / "dbt_project.yml").is_file()), Path.cwd())
MART_SCHEMA = "main"


def dbt_executable(instead: str) -> list[str]:
    """How to start dbt: the `dbt` beside this Python (a virtual environment's bin/), else dbt's
    module under this Python, else a `dbt` on PATH (installed apart, e.g. with pipx); where none
    is, a CensusError that says to run ``instead`` (a dbt command line) where dbt is."""
    dbt = Path(sys.executable).with_name("dbt")
    if dbt.exists():
        return [str(dbt)]
    if importlib.util.find_spec("dbt") is not None:
        return [sys.executable, "-m", "dbt.cli.main"]
    if found := shutil.which("dbt"):
        return [found]
    raise CensusError(f"dbt is not installed here (pip install dbt-duckdb): run `{instead}` where it is.")


@dataclass(frozen=True)
class MartDoc:
    name: str
    area: str
    description: str
    columns: dict[str, str] = field(default_factory=dict)


def _clean(text: str | None) -> str:
    return " ".join((text or "").split())


def _from_yml(models_dir: Path) -> dict[str, MartDoc]:
    import yaml

    docs: dict[str, MartDoc] = {}
    for path in sorted(models_dir.rglob("*.yml")):
        content = yaml.safe_load(path.read_text()) or {}
        for model in content.get("models") or []:
            columns = {c["name"]: _clean(c.get("description")) for c in model.get("columns") or [] if "name" in c}
            docs[model["name"]] = MartDoc(model["name"], path.parent.name, _clean(model.get("description")), columns)
    return docs


def _from_manifest(manifest: Path) -> dict[str, MartDoc]:
    nodes = json.loads(manifest.read_text()).get("nodes", {})
    docs = {}
    for node in nodes.values():
        fqn = node.get("fqn") or []
        if node.get("resource_type") != "model" or "marts" not in fqn:
            continue
        area = fqn[fqn.index("marts") + 1] if len(fqn) > fqn.index("marts") + 2 else ""
        columns = {name: _clean(col.get("description")) for name, col in (node.get("columns") or {}).items()}
        docs[node["name"]] = MartDoc(node["name"], area, _clean(node.get("description")), columns)
    return docs


@cache
def mart_docs(project_dir: Path = PROJECT_DIR) -> dict[str, MartDoc]:
    """Every mart's documentation by name: the .yml files, else target/manifest.json, else none."""
    models_dir = project_dir / "models" / "marts"
    if models_dir.is_dir():
        return _from_yml(models_dir)
    manifest = project_dir / "target" / "manifest.json"
    return _from_manifest(manifest) if manifest.is_file() else {}


def built_marts(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Tables (not views) in the marts' schema, sorted: every mart that `dbt build` has made."""
    rows = con.execute(
        "select table_name from information_schema.tables where table_schema = ? and table_type = 'BASE TABLE' "
        "order by table_name", [MART_SCHEMA]).fetchall()
    return [r[0] for r in rows]


def columns_of(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    """(column, DuckDB type) of a mart, in table order."""
    return [(r[0], r[1]) for r in con.execute(
        "select column_name, data_type from information_schema.columns where table_schema = ? and table_name = ? "
        "order by ordinal_position", [MART_SCHEMA, table]).fetchall()]
