"""One audit per dataset, as a user reads it (DESIGN.md, "One dataset at a time").

The walkthrough: the demo's rows (marts_data's three datasets, two face models, an NSFW model,
two classifiers, plus an imported reference/demo-labels and an NSFW-only dataset) and a user's
own photos ("my_photos": the same face, NSFW and classifier names as the demo's, and the most
explicit classes without a single face) in ONE warehouse, beside a warehouse holding only the
user's photos. Every headline mart, the summary, the card, the report and the export of the
user's dataset must read the same in both. The user-only warehouse is built by `ingest summary
--build` (so --build is pinned too), the pooled one by dbt (models and seeds; `make dbt-test`
runs the dbt tests on the demo).
"""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from marts_data import CLF_A, FACES_A, NSFW, build_raw, image_id, query, run_dbt, write_raw
from rich.console import Console
from typer.testing import CliRunner

from ingest.cli import app
from ingest.outputs.card import build_card
from ingest.outputs.export import export_marts
from ingest.outputs.freshness import stale_sentence
from ingest.outputs.marts import mart_docs
from ingest.outputs.report import build_report
from ingest.outputs.summary import print_summary

runner = CliRunner()
USER = "my_photos"
REFERENCE = "reference/demo-labels"
NSFW_ONLY = "nsfw_only"
MINISKIRT, BIKINI, HAMMERHEAD, SUIT = "n03770439", "n02837789", "n01494475", "n04350905"
#: the user's classes: (wnid, mean NSFW level, share of images with faces, apparent gender level)
USER_CLASSES = [(MINISKIRT, 0.95, 0.0, None), (BIKINI, 0.55, 0.0, None), (HAMMERHEAD, 0.13, 0.5, 0.3),
                (SUIT, 0.08, 0.9, 0.8), ("n03000134", 0.05, 0.6, 0.5), ("n02804414", 0.04, 0.7, 0.4),
                ("n03452741", 0.03, 0.4, 0.6), ("n01440764", 0.02, 0.3, 0.7)]
CENSUS_SECTIONS = ("coverage", "humans", "demographics", "classes", "agreement", "nsfw", "semantics",
                   "cooccurrence", "human_delta", "minors")


def user_rows(seed: int = 11) -> dict[str, pd.DataFrame]:
    """The user's photos: faces, NSFW and classifier runs named as the demo's models."""
    rng = np.random.default_rng(seed)
    images, faces, nsfw, predictions, image_runs = [], [], [], [], []
    runs = pd.DataFrame([("user-faces", "faces", FACES_A, USER, "2025-05-01 10:00:00", "complete"),
                         ("user-nsfw", "nsfw", NSFW, USER, "2025-05-01 10:00:00", "complete"),
                         ("user-clf", "classify", CLF_A, USER, "2025-05-01 10:00:00", "complete")],
                        columns=["run_id", "stage", "annotator", "dataset", "started_at", "status"])
    runs["started_at"] = pd.to_datetime(runs["started_at"])
    wnids = [w for w, *_ in USER_CLASSES]
    for wnid, level, face_share, gender in USER_CLASSES:
        for split, n in (("train", 7), ("val", 3)):
            for i in range(n):
                rel = f"{split}/{wnid}/{i}.jpg"
                iid = image_id(USER, rel)
                images.append((USER, split, wnid, rel, iid, 50_000))
                image_runs += [(run, iid, "ok", None) for run in ("user-faces", "user-nsfw", "user-clf")]
                nsfw.append(("user-nsfw", iid, float(np.clip(level + rng.normal(0, 0.03), 0, 1))))
                if gender is not None and rng.random() < face_share:
                    for idx in range(int(rng.integers(1, 3))):
                        faces.append(("user-faces", iid, idx, 0.97, float(rng.uniform(8, 70)),
                                      float(np.clip(gender + rng.normal(0, 0.2), 0, 1))))
                picks = [wnid] + list(rng.choice([w for w in wnids if w != wnid], 4, replace=False))
                if rng.random() < 0.4:
                    picks = picks[1:] + picks[:1]
                predictions += [("user-clf", iid, rank, w, 0.5 / rank) for rank, w in enumerate(picks, start=1)]
    return {
        "runs": runs,
        "images": pd.DataFrame(images, columns=["dataset", "split", "wnid", "rel_path", "image_id", "file_bytes"]),
        "image_runs": pd.DataFrame(image_runs, columns=["run_id", "image_id", "status", "error"]),
        "faces": pd.DataFrame(faces, columns=["run_id", "image_id", "face_idx", "det_score", "age", "gender_score"]),
        "nsfw": pd.DataFrame(nsfw, columns=["run_id", "image_id", "nsfw_score"]),
        "predictions": pd.DataFrame(predictions, columns=["run_id", "image_id", "rank", "wnid", "prob"]),
        "label_synsets": label_synsets(),
    }


def label_synsets() -> pd.DataFrame:
    flags = {"in_wordnet": True, "is_person": False, "ethnic_slur": False, "obscenity": False,
             "disparagement": False, "vulgarism": False, "slang": False, "colloquialism": False}
    return pd.DataFrame([{"label_set": "ilsvrc1k", "wnid": w, **flags} for w, *_ in USER_CLASSES])


def demo_extras(demo: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """An imported reference on the demo's first 30 images (one labelled face each, some with a
    very low NSFW class), and a dataset only an NSFW model processed."""
    ids = list(demo["images"].loc[demo["images"].dataset == "imagenet", "image_id"].iloc[:30])
    runs = pd.DataFrame([("ref-1", "faces", REFERENCE, "imagenet", "2024-04-01 10:00:00", "complete"),
                         ("nsfw-only", "nsfw", NSFW, NSFW_ONLY, "2024-04-02 10:00:00", "complete")],
                        columns=["run_id", "stage", "annotator", "dataset", "started_at", "status"])
    runs["started_at"] = pd.to_datetime(runs["started_at"])
    faces = pd.DataFrame([("ref-1", iid, 0, 1.0, 10.0, 10.0, 50.0, 50.0, 30.0, float(i % 2))
                          for i, iid in enumerate(ids)],
                         columns=["run_id", "image_id", "face_idx", "det_score", "x1", "y1", "x2", "y2", "age",
                                  "gender_score"])
    images = pd.DataFrame([(NSFW_ONLY, "train", w, f"{w}/{i}.jpg", image_id(NSFW_ONLY, f"{w}/{i}.jpg"), 1000)
                           for w in (MINISKIRT, SUIT, HAMMERHEAD) for i in range(4)],
                          columns=["dataset", "split", "wnid", "rel_path", "image_id", "file_bytes"])
    image_runs = [("ref-1", iid, "ok", None) for iid in ids] + [("nsfw-only", iid, "ok", None)
                                                                 for iid in images.image_id]
    nsfw = pd.DataFrame([("nsfw-only", iid, 0.9 if MINISKIRT in rel else 0.05)
                         for iid, rel in zip(images.image_id, images.rel_path, strict=True)],
                        columns=["run_id", "image_id", "nsfw_score"])
    return {"runs": runs, "images": images, "faces": faces, "nsfw": nsfw,
            "image_runs": pd.DataFrame(image_runs, columns=["run_id", "image_id", "status", "error"])}


def pooled_rows() -> dict[str, pd.DataFrame]:
    demo = build_raw()
    tables = [demo, demo_extras(demo), user_rows()]
    names = {name for rows in tables for name in rows}
    return {name: pd.concat([rows[name] for rows in tables if name in rows], ignore_index=True) for name in names}


def dbt_models(db: Path, work: Path) -> None:
    """Seeds and models (no dbt tests: `make dbt-test` runs those on the demo)."""
    result = run_dbt(db, work, "build", "--resource-type", "seed", "--resource-type", "model")
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]


@pytest.fixture(scope="module")
def pooled(tmp_path_factory) -> Path:
    """The demo's rows and the user's photos in one warehouse."""
    work = tmp_path_factory.mktemp("pooled")
    db = work / "census.duckdb"
    write_raw(db, pooled_rows())
    dbt_models(db, work)
    return db


@pytest.fixture(scope="module")
def user_only(tmp_path_factory) -> Path:
    """The user's photos alone, built by `ingest summary --build` (dbt build, tests included)."""
    work = tmp_path_factory.mktemp("user_only")
    db = work / "census.duckdb"
    write_raw(db, user_rows())
    env = {"CENSUS_DB": str(db), "DBT_TARGET_PATH": str(work / "target"), "DBT_LOG_PATH": str(work / "logs"),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    result = runner.invoke(app, ["summary", "--build"], env=env)
    assert result.exit_code == 0, result.output[-5000:]
    assert "stale" not in result.output and "my_photos" in result.output
    return db


def dataset_marts(db: Path) -> list[str]:
    """Census marts (not the evaluation against a reference: by design it measures a model on
    the reference's images, wherever they are) with a dataset column."""
    docs = mart_docs()
    rows = query(db, "select table_name from information_schema.columns where table_schema = 'main' "
                     "and column_name = 'dataset' order by 1")
    return [t for t in rows.table_name if t in docs and docs[t].area != "evaluation"]


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.drop(columns=[c for c in frame.columns if c == "dataset"])
    keys = list(frame.columns)
    return frame.sort_values(keys, key=lambda s: s.astype(str)).reset_index(drop=True)


# ---------------------------------------------------------------- the marts


def test_every_headline_mart_reads_per_dataset_as_if_alone(pooled, user_only):
    marts = dataset_marts(pooled)
    for mart in ("demographics", "demographics_age_gender", "label_audit", "census_overview", "class_census",
                 "synset_gender_rank", "annotator_agreement", "dog_group_gender", "instrument_gender_skew",
                 "class_nsfw", "class_accuracy", "human_delta_ttest", "nsfw_clusters", "review_queue"):
        assert mart in marts, mart
    for mart in marts:
        together = query(pooled, f'select * from main."{mart}" where dataset = \'{USER}\'')
        alone = query(user_only, f'select * from main."{mart}"')
        assert set(alone.get("dataset", pd.Series([USER]))) <= {USER}, mart
        pd.testing.assert_frame_equal(_sorted(together), _sorted(alone), check_exact=False, rtol=1e-9,
                                      check_dtype=False, obj=mart)
    # the headline that was pooled: the user's own share, not the demo counted in
    demo = query(user_only, "select * from main.demographics")
    assert list(demo.annotator) == [FACES_A] and demo.n_faces.iloc[0] > 0
    assert query(pooled, "select count(distinct dataset) as n from main.demographics").n.iloc[0] == 4


def test_reference_annotators_stay_out_of_census_marts(pooled):
    docs = mart_docs()
    columns = query(pooled, "select table_name, column_name from information_schema.columns "
                            "where table_schema = 'main' and column_name in ('annotator', 'annotator_a', "
                            "'annotator_b', 'face_annotator', 'nsfw_annotator', 'classifier_annotator')")
    for table, column in columns.itertuples(index=False):
        # evaluation and coverage describe the references; exports blur their (real) face boxes too
        if table not in docs or docs[table].area in ("evaluation", "coverage", "exports"):
            continue
        found = query(pooled, f'select count(*) as n from main."{table}" where "{column}" like \'reference/%\'')
        assert found.n.iloc[0] == 0, (table, column)
    # the reference is still evaluated: the evaluation marts hold it
    evaluated = query(pooled, "select distinct reference from main.annotator_evaluation")
    assert REFERENCE in set(evaluated.reference)


def test_the_nsfw_shortlist_and_queue_cover_classes_without_faces(user_only, pooled):
    clusters = query(user_only, "select * from main.nsfw_clusters")
    assert set(clusters.wnid) == {w for w, *_ in USER_CLASSES}  # every class, faces or not
    faceless = clusters[clusters.wnid.isin([MINISKIRT, BIKINI])]
    assert (faceless.n_faces == 0).all() and faceless.mean_gender.isna().all()
    shortlist = set(clusters.loc[clusters.is_review_shortlist, "wnid"])
    assert MINISKIRT in shortlist and HAMMERHEAD not in shortlist
    queued = query(user_only, "select wnid, reason from main.review_queue where question = 'nsfw_category'")
    assert MINISKIRT in set(queued.wnid)
    assert queued[queued.wnid == MINISKIRT].reason.str.contains("shortlist").all()
    # a dataset no face model processed is clustered on NSFW alone
    alone = query(pooled, f"select * from main.nsfw_clusters where dataset = '{NSFW_ONLY}'")
    assert len(alone) == 3 and alone.face_annotator.isna().all()
    assert set(alone.loc[alone.is_review_shortlist, "wnid"]) == {MINISKIRT}


# ---------------------------------------------------------------- what a user reads


def _rounded(value):
    """Floats to 9 significant digits (sums over a pooled table may differ in the last bit)."""
    if isinstance(value, float):
        return float(f"{value:.9g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items() if not (k == "name" and str(v).startswith("data-"))}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def sections(html: str) -> dict[str, tuple]:
    """Each census section of a report: its text outside the chart specs, and each chart spec
    with its data rows (floats rounded, data names dropped: they hash the rows)."""
    out = {}
    for key in CENSUS_SECTIONS:
        section = html[html.index(f'<section id="{key}"'):].split("</section>")[0]
        specs = re.findall(r'<script type="application/json" id="[^"]+">(.*?)</script>', section, flags=re.S)
        text = re.sub(r'<script type="application/json".*?</script>', "", section, flags=re.S)
        charts = []
        for spec in map(json.loads, specs):
            rows = [row for data in spec.pop("datasets", {}).values() for row in data]
            spec.pop("data", None)
            charts.append((_rounded(spec), sorted(json.dumps(_rounded(r), sort_keys=True) for r in rows)))
        out[key] = (text, charts)
    return out


def _without_section(card: str, heading: str) -> str:
    """The card without one `## ` section (the measured error: a reference on another dataset
    measures the model by design)."""
    return re.sub(rf"## {re.escape(heading)}.*?(?=\n## )", "", card, flags=re.S)


def test_card_summary_report_and_export_of_a_dataset_match_it_alone(pooled, user_only, tmp_path):
    together = build_card(pooled, dataset=USER)
    alone = build_card(user_only)
    assert together.startswith(f"# Dataset audit card: dataset {USER}")
    heading = "Measured error against reference labels"
    assert _without_section(together, heading) == _without_section(alone, heading)
    assert "miniskirt" in together and "No class has" not in together

    def summary(db: Path, **scope) -> list[str]:
        console = Console(file=io.StringIO(), record=True, width=250)
        print_summary(console, db, **scope)
        return [line for line in console.export_text().splitlines()
                if not line.startswith(("raw rows:", "measured error:"))]

    assert summary(pooled, dataset=USER) == summary(user_only)

    assert sections(build_report(pooled, dataset=USER)) == sections(build_report(user_only))

    files_together = export_marts(tmp_path / "together", "parquet", pooled, dataset=USER)
    files_alone = export_marts(tmp_path / "alone", "parquet", user_only)
    census = set(dataset_marts(pooled))
    for path in files_together:
        if path.stem in census:
            pd.testing.assert_frame_equal(_sorted(pd.read_parquet(path)),
                                          _sorted(pd.read_parquet(tmp_path / "alone" / path.name)),
                                          check_exact=False, rtol=1e-9, check_dtype=False, obj=path.stem)
    assert {p.name for p in files_alone} <= {p.name for p in files_together}
    assert f"Rows of dataset {USER} only." in (tmp_path / "together" / "README.md").read_text()


def test_commands_refuse_several_datasets_with_their_list(pooled, tmp_path):
    names = "imagenet, imagenet-copy, my_photos, nsfw_only, pets"
    for command in (["summary"], ["card"], ["report", "--out", str(tmp_path / "r")],
                    ["export", "marts", "--out", str(tmp_path / "e")]):
        result = runner.invoke(app, [*command, "--db", str(pooled)])
        assert result.exit_code == 2, (command, result.output)
        text = " ".join(result.output.split())
        assert f"holds 5 datasets ({names}): choose one with --dataset NAME." in text, text
        assert "Traceback" not in result.output
    wrong = runner.invoke(app, ["card", "--dataset", "mine", "--db", str(pooled)])
    assert wrong.exit_code == 2 and f"no dataset 'mine' (it holds {names})" in " ".join(wrong.output.split())
    model = runner.invoke(app, ["summary", "--dataset", USER, "--annotator", "faces/x", "--db", str(pooled)])
    assert model.exit_code == 2
    assert f"its models are {CLF_A}, {FACES_A}, {NSFW}" in " ".join(model.output.split())
    chosen = runner.invoke(app, ["report", "--dataset", USER, "--out", str(tmp_path / "ok"), "--db", str(pooled)])
    assert chosen.exit_code == 0, chosen.output
    assert f"Dataset audit report: dataset {USER}" in (tmp_path / "ok" / "report.html").read_text()


def test_annotator_narrows_to_one_model(pooled):
    card = build_card(pooled, dataset="imagenet", annotator=FACES_A)
    humans = card.split("## Humans")[1].split("## ")[0]
    assert FACES_A in humans and "test/faces-b" not in humans
    agreement = card.split("## Do two face models agree?")[1].split("## ")[0]
    assert "test/faces-b" in agreement  # a pair that names the model keeps its partner
    coverage = card.split("## Coverage")[1].split("## ")[0]
    assert FACES_A in coverage and "test/faces-b" not in coverage
    shortlist = card.split("## NSFW review shortlist")[1].split("## ")[0]
    assert FACES_A in shortlist and "test/faces-b" not in shortlist


def test_report_refuses_a_warehouse_without_marts(tmp_path):
    db = tmp_path / "fresh.duckdb"
    write_raw(db, user_rows())
    for command in (["report", "--out", str(tmp_path / "r")], ["card"]):
        result = runner.invoke(app, [*command, "--db", str(db)])
        assert result.exit_code == 2, result.output
        assert "The census marts are not built yet: run `dbt build --profiles-dir .` first" in result.output
    assert not (tmp_path / "r" / "report.html").exists()


# ---------------------------------------------------------------- stale marts


def test_stale_marts_are_named_in_one_sentence(user_only, tmp_path):
    db = tmp_path / "later.duckdb"
    shutil.copy(user_only, db)
    con = duckdb.connect(str(db))
    assert stale_sentence(con) is None
    # a run landed from another machine, started before the build: a count catches it
    con.execute("insert into raw.runs (run_id, stage, annotator, dataset, started_at, status) values "
                "('late', 'nsfw', 'x/nsfw', ?, timestamp '2020-01-01', 'complete')", [USER])
    sentence = stale_sentence(con)
    con.close()
    assert sentence.startswith("The marts are older than the raw rows (raw.runs changed since the build of ")
    assert sentence.endswith("run `dbt build --profiles-dir .`, or add --build, to bring them up to date.")
    assert sentence.count(". ") == 0
    assert f"**Stale.** {sentence}" in build_card(db)
    assert "Stale." in build_report(db)
    result = runner.invoke(app, ["summary", "--db", str(db)])
    assert result.exit_code == 0 and "stale: The marts are older" in " ".join(result.output.split())
    exported = runner.invoke(app, ["export", "marts", "--out", str(tmp_path / "e"), "--db", str(db)])
    assert exported.exit_code == 0 and "stale:" in exported.output
    assert "**Stale.**" in (tmp_path / "e" / "README.md").read_text()


def test_build_without_the_project_is_one_sentence(tmp_path):
    from ingest.core.errors import CensusError
    from ingest.outputs.freshness import build

    with pytest.raises(CensusError, match=r"--build needs the dbt project \(dbt_project.yml\), not found in"):
        build(tmp_path / "w.duckdb", project_dir=tmp_path)


def test_a_dataset_name_with_quotes_selects_its_rows_only(tmp_path):
    from ingest.outputs.scope import Scope

    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("create table main.class_census as select * from (values ('it''s', 'a', 1), ('x', 'a', 2)) "
                "t(dataset, annotator, n)")
    scope = Scope("it's", None)
    assert con.execute(f"select n from {scope.relation(con, 'class_census')}").fetchall() == [(1,)]
    hostile = Scope("x' or 1=1 --", None)
    assert con.execute(f"select n from {hostile.relation(con, 'class_census')}").fetchall() == []
    con.close()
