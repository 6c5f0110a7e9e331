"""The dbt analyses in ``analyses/`` (the papers' tables as queries), rendered to plain SQL for
`ingest analyses run`.

The files are Jinja, as dbt compiles them: ``{{ ref('m') }}`` becomes the relation
``"<catalog>"."<schema>"."m"`` (the schema from dbt_project.yml's folder configs, as the
project's generate_schema_name macro names it), ``{{ source('s', 't') }}`` the source's
table and ``{{ var('v') }}`` the default in dbt_project.yml. This small renderer stands in for
`dbt compile --select NAME`, which takes 5-10 s per call, opens the warehouse for writing
(creating the file when it is missing) and writes target/; a test holds the renderer's SQL to
dbt's own compiled SQL for every analysis."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import jinja2
import yaml

from ..core.errors import CensusError
from ..core.quoting import quote_identifier
from .marts import MART_SCHEMA, PROJECT_DIR


@dataclass(frozen=True)
class Analysis:
    name: str
    path: Path

    @property
    def summary(self) -> str:
        """The header comment's first sentence (what the analysis reproduces)."""
        lines = []
        for line in self.path.read_text().splitlines():
            if not line.startswith("--"):
                break
            lines.append(line.removeprefix("--").strip())
        return " ".join(lines).split(". ")[0]


def available(project_dir: Path = PROJECT_DIR) -> dict[str, Analysis]:
    """Every analysis by name (the file stem), sorted."""
    folder = project_dir / _project(project_dir).get("analysis-paths", ["analyses"])[0]
    analyses = {p.stem: Analysis(p.stem, p) for p in sorted(folder.glob("*.sql"))} if folder.is_dir() else {}
    if not analyses:
        raise CensusError(f"No analyses in {folder}: they live in the dbt project's analyses/ folder; run "
                          "`ingest analyses` from the source checkout (or the folder holding dbt_project.yml).")
    return analyses


def find(name: str, project_dir: Path = PROJECT_DIR) -> Analysis:
    """The analysis NAME (``analyses/NAME.sql`` and ``NAME.sql`` are accepted too)."""
    analyses = available(project_dir)
    stem = Path(name).name.removesuffix(".sql")
    if stem not in analyses:
        raise CensusError(f"No analysis named {name!r}; the analyses are: {', '.join(analyses)}.")
    return analyses[stem]


@cache
def _project(project_dir: Path) -> dict:
    path = project_dir / "dbt_project.yml"
    return (yaml.safe_load(path.read_text()) or {}) if path.is_file() else {}


def _schema(configs: dict, folders: tuple[str, ...], default: str) -> str:
    """The +schema a resource gets from the nested folder configs of dbt_project.yml."""
    schema, level = configs.get("+schema", default), configs
    for folder in folders:
        level = level.get(folder) if isinstance(level.get(folder), dict) else None
        if level is None:
            break
        schema = level.get("+schema", schema)
    return schema


@cache
def _resources(project_dir: Path) -> dict[str, tuple[str, ...]]:
    """Every model and seed of the dbt project by name: (config key, folders under its path)."""
    project = _project(project_dir)
    found: dict[str, tuple[str, ...]] = {}
    for paths, key, suffixes in (("seed-paths", "seeds", (".csv",)), ("model-paths", "models", (".sql", ".py"))):
        for root in project.get(paths, []):
            for path in sorted((project_dir / root).rglob("*")):
                if path.suffix in suffixes:
                    found[path.stem] = (key, *path.relative_to(project_dir / root).parent.parts)
    return found


def _custom_schema(project_dir: Path, key: str, folders: tuple[str, ...]) -> str | None:
    """The +schema dbt_project.yml gives a resource through its nested folder configs."""
    project = _project(project_dir)
    level = (project.get(key) or {}).get(project.get("name", "")) or {}
    schema = level.get("+schema")
    for folder in folders:
        level = level.get(folder)
        if not isinstance(level, dict):
            break
        schema = level.get("+schema", schema)
    return schema


@cache
def _sources(project_dir: Path) -> dict[tuple[str, str], tuple[str, str]]:
    """(source, table) -> (schema, identifier), from the models' .yml files."""
    found = {}
    for root in _project(project_dir).get("model-paths", ["models"]):
        for path in sorted((project_dir / root).rglob("*.yml")):
            for source in (yaml.safe_load(path.read_text()) or {}).get("sources") or []:
                for table in source.get("tables") or []:
                    found[(source["name"], table["name"])] = (source.get("schema", source["name"]),
                                                              table.get("identifier", table["name"]))
    return found


class _Return(Exception):  # noqa: N818 (dbt's `return()` leaves a macro with a value)
    def __init__(self, value: object) -> None:
        self.value = value


def _raise_return(value: object) -> None:
    raise _Return(value)


def _macro(macro: jinja2.runtime.Macro):
    def call(*args, **kwargs):
        try:
            return macro(*args, **kwargs)
        except _Return as result:
            return result.value

    return call


def _environment(project_dir: Path, catalog: str, where: str) -> jinja2.Environment:
    """A Jinja environment as dbt's for an analysis: ref, source, var, target, return and the
    project's macros (macro-paths)."""
    project = _project(project_dir)
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False,
                             extensions=["jinja2.ext.do", "jinja2.ext.loopcontrols"])

    def ref(*args: str, **_: object) -> str:
        name = args[-1]
        if name not in _resources(project_dir):
            raise CensusError(f"{where} reads ref({name!r}), which is no model or seed of the dbt project.")
        key, *folders = _resources(project_dir)[name]
        custom = _custom_schema(project_dir, key, tuple(folders))
        return quote_identifier(catalog, str(env.globals["generate_schema_name"](custom, None)).strip(), name)

    def source(source_name: str, table: str) -> str:
        found = _sources(project_dir).get((source_name, table))
        if found is None:
            raise CensusError(f"{where} reads source({source_name!r}, {table!r}), which no sources .yml declares.")
        return quote_identifier(catalog, *found)

    def var(name: str, default: object = None) -> object:
        value = (project.get("vars") or {}).get(name, default)
        if value is None:
            raise CensusError(f"{where} uses var({name!r}), which dbt_project.yml does not define.")
        return value

    env.globals.update(ref=ref, source=source, var=var, config=lambda *_, **__: "", target=_TARGET,
                       generate_schema_name=_default_schema_name, **{"return": _raise_return})
    for root in project.get("macro-paths", []):
        for path in sorted((project_dir / root).rglob("*.sql")):
            try:
                tree = env.parse(path.read_text())
            except jinja2.TemplateSyntaxError:
                continue  # generic tests ({% test %} blocks, dbt's own tag) are for dbt build only
            # one template per macro, as dbt compiles them: a macro calling its neighbour in
            # the file goes through the globals (and its return()), not the file's local name
            for node in tree.body:
                if isinstance(node, jinja2.nodes.Macro):
                    template = env.template_class.from_code(
                        env, env.compile(jinja2.nodes.Template([node], lineno=1)), env.make_globals(None))
                    env.globals[node.name] = _macro(getattr(template.module, node.name))
    return env


#: what an analysis sees of dbt's target (profiles.yml: the DuckDB file, schema main)
_TARGET = {"schema": MART_SCHEMA, "type": "duckdb", "name": "dev"}


def _default_schema_name(custom_schema_name: str | None, node: object = None) -> str:
    """dbt's default generate_schema_name, in case the project does not define its own."""
    return MART_SCHEMA if custom_schema_name is None else f"{MART_SCHEMA}_{custom_schema_name.strip()}"


def render(analysis: Analysis, catalog: str, project_dir: Path = PROJECT_DIR) -> str:
    """The analysis as plain SQL for the warehouse whose catalog (database) is ``catalog``."""
    where = f"analyses/{analysis.path.name}"
    try:
        env = _environment(project_dir, catalog, where)
        return env.from_string(analysis.path.read_text()).render()
    except jinja2.TemplateError as error:
        raise CensusError(f"{where} uses Jinja that `ingest analyses run` cannot render ({error}); compile "
                          f"it with `dbt compile --select {analysis.name}` and run the SQL it writes with "
                          "`ingest sql -c`.") from error
