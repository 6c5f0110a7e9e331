"""The page: every section built from the marts of one warehouse, the method, and the Vega
JavaScript, rendered into one HTML file."""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Callable
from pathlib import Path

from ...core.classes import UNLABELLED
from ...core.config import DEFAULT_DB, FACE_MIN_SCORE, database_path
from ...core.errors import CensusError
from ...warehouse.db import connect
from ..card import CAVEAT
from ..freshness import stale_sentence
from ..marts import PROJECT_DIR
from ..reader import NOT_BUILT
from ..scope import resolve
from .blocks import Chart, Section
from .reader import Marts, MartShapeError
from .render import fragment, prose, static
from .sections import SECTIONS
from .vega import javascript
from .words import MIN_CLASSES_R

REPORT_FILE = "report.html"


def method() -> Section:
    section = Section("method", "Method and limits")
    section.blocks.append(prose("method", face_min_score=FACE_MIN_SCORE, min_classes_r=MIN_CLASSES_R,
                                unlabelled=UNLABELLED, caveat=CAVEAT))
    return section


def _section(build: Callable[[Marts], Section], marts: Marts) -> Section:
    """One section; a mart of another shape (rebuild it with this project's dbt) says so in place."""
    try:
        return build(marts)
    except MartShapeError as error:
        message = f"the mart {error.mart} lacks {error.detail}; rebuild the marts with this project's dbt build"
    except Exception as error:  # a bug in one section must not cost the whole report
        warnings.warn(f"report section {build.__name__} failed: {error!r}", stacklevel=2)
        message = f"this section could not be built ({type(error).__name__}: {error})"
    key = build.__name__.lstrip("_")
    return Section(key, key.replace("_", " ").capitalize()).nothing_because(f"{message}.")


def warehouse_words(db: Path | None) -> str:
    """Which warehouse file the page describes: its path (relative to the project or the
    current folder where it lies inside one, else with ~ for the home folder), and "the
    default warehouse" only where it is the default (no --db, no CENSUS_DB elsewhere)."""
    path = Path(db) if db else database_path()
    resolved = path.expanduser().resolve()
    for base in (PROJECT_DIR, Path.cwd()):
        if resolved.is_relative_to(base.resolve()):
            shown = str(resolved.relative_to(base.resolve()))
            break
    else:
        home = Path.home().resolve()
        shown = "~/" + str(resolved.relative_to(home)) if resolved.is_relative_to(home) else str(resolved)
    return f"the default warehouse ({shown})" if resolved == DEFAULT_DB.resolve() else shown


def build_report(db: Path | None = None, dataset: str | None = None, annotator: str | None = None) -> str:
    """The report's HTML for one dataset (the one named, else the only one; several: a
    CensusError listing them). Built but empty marts give sections that say "no data"; a
    warehouse without any mart is a CensusError."""
    con = connect(db, read_only=True)
    try:
        marts = Marts(con)
        if not marts.built:
            raise CensusError(NOT_BUILT)
        scope = resolve(con, dataset, annotator)
        stale = stale_sentence(con)
        marts = marts.within(scope)
        sections = [_section(build, marts) for build in SECTIONS]
    finally:
        con.close()
    sections.append(method())
    bundle, versions = javascript()
    return str(fragment(
        "report.html.j2", sections=sections, scope=scope.describe(), stale=stale, warehouse=warehouse_words(db),
        built=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), caveat=CAVEAT, versions=versions,
        n_charts=sum(isinstance(b, Chart) for s in sections for b in s.blocks), bundle=bundle,
        css=static("report.css"), script=static("report.js"))) + "\n"


def write_report(out: Path, db: Path | None = None, dataset: str | None = None,
                 annotator: str | None = None) -> Path:
    """Write out/report.html (atomically) and return its path."""
    text = build_report(db, dataset, annotator)
    out.mkdir(parents=True, exist_ok=True)
    path = out / REPORT_FILE
    tmp = path.with_name(f".{REPORT_FILE}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path
