"""Where things live: the one place that resolves paths from the environment."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SCHEMA_SQL = REPO_ROOT / "warehouse" / "schema.sql"
DEFAULT_DB = REPO_ROOT / "warehouse" / "census.duckdb"


def database_path() -> Path:
    """The DuckDB file named by ``CENSUS_DB``, else ``warehouse/census.duckdb``."""
    return Path(os.environ.get("CENSUS_DB") or DEFAULT_DB)


def models_dir() -> Path | None:
    """The folder of user-supplied weights named by ``CENSUS_MODELS``, if any."""
    value = os.environ.get("CENSUS_MODELS")
    return Path(value) if value else None
