"""``ingest export marts``: the census marts as meta-datasets, one file per mart (Parquet or CSV), and a
README listing each file's columns with their definitions from the dbt docs (the 2020 paper's
Table 2 set of ``df_*.csv`` files). Only documented marts are exported, never raw rows, face
crops or embeddings of faces. Marts with one row per image or face (the human-review work lists:
an image_id column, with file paths, face boxes and reviewers) point at individual photos and
people; they are left out unless asked for with ``image_rows=True``. One dataset is exported
(``ingest.outputs.scope``: the one named, else the only one; several: refused with their list), and
--annotator keeps one model's rows where a mart names it; marts without a dataset column are
exported whole, and the README says which. CSV text cells that a
spreadsheet would run as a formula get a leading ``'`` (``csv_safe``); Parquet keeps raw values."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ..core.csv_safe import sql_cell
from ..core.errors import CensusError
from ..core.quoting import quote_identifier, quote_literal
from .card import CAVEAT
from .freshness import stale_sentence
from .marts import MART_SCHEMA, mart_docs
from .reader import MartReader
from .scope import resolve

FORMATS = ("parquet", "csv")
#: the 2020 paper's meta-dataset (its Table 2) that a mart corresponds to, where one does
PAPER_COUNTERPART = {
    "class_census": "df_insightface_stats.csv, df_audit_age_gender_dex.csv (one annotator each)",
    "class_nsfw": "df_nsfw.csv",
    "class_accuracy": "df_acc_classwise_resnet50.csv, df_acc_classwise_NasNet_mobile.csv",
    "class_semantics": "df_imagenet_names_umap.csv",
    "hand_survey_check": "df_hand_survey.csv",
    "dog_group_gender": "df_dog_analysis.csv (Figure 14a)",
}


def _copy_sql(table: str, path: Path, fmt: str, columns: list[tuple[str, str]], relation: str | None = None) -> str:
    """Parquet keeps the raw values; CSV text cells are made spreadsheet-safe (``csv_safe``).
    relation: the rows to copy (default: the whole mart)."""
    target = quote_literal(str(path))
    source = relation or quote_identifier(MART_SCHEMA, table)
    if fmt == "parquet":
        return f"copy (select * from {source}) to {target} (format parquet)"
    select = ", ".join(sql_cell(name, ctype) for name, ctype in columns)
    return f"copy (select {select} from {source}) to {target} (format csv, header true)"


def export_marts(out: Path, fmt: str = "parquet", db: Path | None = None, image_rows: bool = False,
                 dataset: str | None = None, annotator: str | None = None) -> list[Path]:
    """Write every built, documented mart to out/<mart>.<fmt> and out/README.md; returns the files.
    Image-level marts (with an image_id column) only with image_rows. The rows of one dataset (the
    one named, else the only one) and, with annotator, of one model where a mart names it."""
    if fmt not in FORMATS:
        raise CensusError(f"Unknown export format {fmt!r}: use one of {', '.join(FORMATS)}.")
    docs = mart_docs()
    with MartReader.open(db, reads="this export") as reader:
        con = reader.con
        built = sorted(reader.built)
        marts = [t for t in built if t in docs]
        per_image = [t for t in marts if "image_id" in reader.columns(t)]
        if not image_rows:
            marts = [t for t in marts if t not in per_image]
        if not marts:
            raise CensusError("No census mart is built in this warehouse: run `dbt build --profiles-dir .` first.")
        reader = reader.within(resolve(con, dataset, annotator))
        scope = reader.scope
        whole = [t for t in marts if scope.dataset is not None and "dataset" not in reader.columns(t)]
        out.mkdir(parents=True, exist_ok=True)
        written, sections, index = [], [], []
        for mart in marts:
            path = out / f"{mart}.{fmt}"
            tmp = path.with_name(f".{path.name}.tmp")
            columns = list(reader.columns(mart).items())
            con.execute(_copy_sql(mart, tmp, fmt, columns, reader.relation(mart)))
            tmp.replace(path)
            written.append(path)
            n_rows = reader.count(mart)
            doc = docs[mart]
            index.append(f"| [{path.name}](#{mart}) | {doc.area} | {n_rows:,} | {PAPER_COUNTERPART.get(mart, '')} |")
            rows = [f"| `{name}` | {ctype} | {_md(doc.columns.get(name) or '(not documented)')} |"
                    for name, ctype in columns]
            sections += [f"## {mart}", "", _md(doc.description), "",
                         "| column | type | definition |", "|---|---|---|", *rows, ""]
        missing = sorted(set(docs) - set(built))
        readme = [
            "# Census meta-datasets", "",
            f"Exported by `ingest export marts --format {fmt}` on {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC: "
            f"one file per census mart (dbt models under `models/marts/`), {len(marts)} in all. "
            "Definitions are the dbt docs of each model (`models/marts/<area>/_<area>.yml`). "
            "Class-level and model-level aggregates only: no raw rows, no face crops, no face embeddings.", "",
            f"> {CAVEAT}", "",
        ]
        if scope.describe():
            readme += [f"Rows of {_md(scope.describe())} only." + (
                " Marts without a dataset column, exported whole: " + ", ".join(f"`{m}`" for m in whole) + "."
                if whole else ""), ""]
        stale = stale_sentence(con)
        if stale:
            readme += [f"> **Stale.** {_md(stale)}", ""]
        readme += ["| file | area | rows | the 2020 paper's counterpart (Table 2) |", "|---|---|---:|---|", *index, ""]
        if per_image and not image_rows:
            readme += ["Not exported: marts with one row per image or face (" + ", ".join(f"`{m}`" for m in per_image)
                       + "): they name individual photos, face boxes and reviewers. `ingest export "
                       "marts --with-image-rows` includes them.", ""]
        if missing:
            readme += ["Documented marts not built in this warehouse (not exported): "
                       + ", ".join(f"`{m}`" for m in missing) + ".", ""]
        (out / "README.md").write_text("\n".join(readme + sections))
        return written


def _md(text: str) -> str:
    return text.replace("|", "\\|")
