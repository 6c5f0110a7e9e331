"""One grammar for the command line: `--out DIR` everywhere (fixed file names, a file name
refused with one sentence), plain metavars in --help, `ingest export` a group only, review
answers by key or by word, ties that list every answer, import sentences that name the field
that is missing, a rerun with nothing to do that loads no model, a layout that finds nothing
suggesting the one that would, and the Ray engine's note on one machine."""

from __future__ import annotations

import tarfile
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import typer
from photos import noise_jpeg
from review_world import ASTRONAUT, DATASET
from runs import ingest
from typer.testing import CliRunner

from ingest.cli import app
from ingest.core.errors import CensusError
from ingest.core.import_checks import Problems
from ingest.review.importer import review_rows
from ingest.review.server import running, start_site
from ingest.sources.layouts import list_images

runner = CliRunner()


def commands(command=None, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command and group of the CLI, as the words that call it."""
    command = command or typer.main.get_command(app)
    found = [path]
    for name, sub in getattr(command, "commands", {}).items():
        found += commands(sub, (*path, name))
    return found


def test_help_shows_plain_metavars_never_python_types():
    for path in commands():
        result = runner.invoke(app, [*path, "--help"], terminal_width=200)
        assert result.exit_code == 0, (path, result.output)
        assert "list[" not in result.output, (path, result.output)
    land = runner.invoke(app, ["land", "--help"], terminal_width=200).output
    assert "parts... <path> " in land
    assert "--model <str>" in runner.invoke(app, ["run", "--help"], terminal_width=200).output


#: every command with --out, a file name given instead of a folder, and the file it writes there
FILE_NAMES = [
    (["card"], "card.md", "audit_card.md"),
    (["report"], "report.html", "report.html"),
    (["export", "marts"], "marts.csv", "README.md"),
    (["export", "blocklist"], "blocklist.csv", "blocklist.csv and blocklist.parquet"),
    (["export", "blurred", "dataset"], "copy.csv", "the blurred copy"),
    (["export", "croissant"], "croissant.json", "croissant.json"),
    (["sql", "-c", "select 1", "--format", "csv"], "result.csv", "query.csv"),
    (["analyses", "run", "table4_humans_of_imagenet", "--format", "parquet"], "t4.parquet",
     "table4_humans_of_imagenet.parquet"),
    (["labels", "embed"], "umap.csv", "imagenet_label_umap.csv"),
    (["labels", "supercategories"], "super.csv", "imagenet_supercategories.csv"),
]


@pytest.mark.parametrize(("command", "name", "writes"), FILE_NAMES, ids=[" ".join(c[0][:2]) for c in FILE_NAMES])
def test_out_takes_a_folder_and_a_file_name_is_refused_in_one_sentence(tmp_path, command, name, writes):
    db = ["--db", str(tmp_path / "none.duckdb")] if command[0] not in ("labels",) else []
    result = runner.invoke(app, [*command, "--out", str(tmp_path / name), *db])
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert "--out takes a folder" in text and writes in text, text
    assert "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []  # nothing written, no warehouse made


def test_out_that_is_an_existing_file_is_refused(tmp_path):
    existing = tmp_path / "notes"
    existing.write_text("mine")
    result = runner.invoke(app, ["card", "--out", str(existing), "--db", str(tmp_path / "none.duckdb")])
    assert result.exit_code == 2 and "is a file" in result.output and "audit_card.md" in result.output
    assert existing.read_text() == "mine"


def test_card_and_blocklist_write_their_fixed_names_into_the_out_folder(review_world, tmp_path, monkeypatch):
    import ingest.outputs.card

    # the card's content is test_report.py's; here only where it goes
    monkeypatch.setattr(ingest.outputs.card, "build_card", lambda *args, **kwargs: "# Audit card\n")
    card = runner.invoke(app, ["card", "--out", str(tmp_path / "card"), "--db", str(review_world.db)])
    assert card.exit_code == 0, card.output
    assert (tmp_path / "card" / "audit_card.md").read_text() == "# Audit card\n"
    assert str(tmp_path / "card" / "audit_card.md") in " ".join(card.output.split())
    blocklist = runner.invoke(app, ["export", "blocklist", "--out", str(tmp_path / "bl"), "--db",
                                    str(review_world.db)])
    assert blocklist.exit_code == 0, blocklist.output
    assert sorted(p.name for p in (tmp_path / "bl").iterdir()) == ["blocklist.csv", "blocklist.parquet"]


def test_export_is_a_group_and_the_marts_are_its_subcommand(review_world, tmp_path):
    alone = runner.invoke(app, ["export"])
    for sub in ("marts", "blocklist", "blurred", "croissant"):
        assert f"  {sub} " in alone.output, alone.output
    old = runner.invoke(app, ["export", "--out", str(tmp_path / "e"), "--format", "csv"])
    assert old.exit_code == 2 and "ingest export marts --out DIR" in " ".join(old.output.split())
    assert not (tmp_path / "e").exists()
    marts = runner.invoke(app, ["export", "marts", "--out", str(tmp_path / "m"), "--format", "csv", "--db",
                                str(review_world.db)])
    assert marts.exit_code == 0, marts.output
    assert "`ingest export marts --format csv`" in (tmp_path / "m" / "README.md").read_text()


@pytest.fixture()
def served(review_world, tmp_path):
    db = review_world.writable(tmp_path)
    site = start_site(review_world.root, DATASET, db, tmp_path / "answers.sqlite")
    with running(site) as url:
        yield url, site


def _post(url: str, body: dict) -> tuple[int, dict]:
    import json
    import urllib.error
    import urllib.request

    request = urllib.request.Request(f"{url}/api/answer", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _next_key(url: str, question: str, reviewer: str) -> str:
    import json
    import urllib.request

    with urllib.request.urlopen(f"{url}/api/next?question={question}&reviewer={reviewer}") as response:
        return json.loads(response.read())["item"]["key"]


def test_review_api_takes_the_documented_keys_and_the_words(served):
    url, site = served
    given = [("nsfw_category", "1", "beach_voyeur"), ("nsfw_category", "0", "not_nsfw"),
             ("is_face", "Y", "yes"), ("is_face", "no", "no"), ("apparent_minor", "u", "unsure"),
             ("nsfw_category", "not nsfw", "not_nsfw")]
    for n, (question, answer, stored) in enumerate(given):
        reviewer = f"keys-{n}"
        status, data = _post(url, {"reviewer": reviewer, "item": _next_key(url, question, reviewer),
                                   "answer": answer})
        assert status == 201, data
        answers = site.store.answers()
        assert answers[answers.reviewer == reviewer].answer.tolist() == [stored]
    status, data = _post(url, {"reviewer": "keys-x", "item": _next_key(url, "is_face", "keys-x"), "answer": "7"})
    assert status == 400 and data["error"] == "'7' is not an answer to is_face: use yes (y), no (n)."


def test_a_tie_in_review_consensus_lists_every_tied_answer(review_world):
    con = duckdb.connect(str(review_world.db), read_only=True)
    try:
        tie = con.execute("select answer, is_tie, share, n_labels, reviewers from review_consensus c "
                          "where question = 'nsfw_category' and rel_path = ?", [ASTRONAUT]).fetchall()
    finally:
        con.close()
    assert tie == [("not_nsfw|upskirt", True, 0.5, 2, "alice, bob")]


def _problems(frame: dict) -> str:
    problems = Problems(2)
    review_rows(pd.DataFrame(frame), pd.Series(["img"] * len(next(iter(frame.values())))), problems,
                dataset="d", default_annotator=None)
    with pytest.raises(CensusError) as caught:
        problems.raise_if_any(Path("reviews.csv"))
    return str(caught.value)


@pytest.mark.parametrize(("frame", "says", "never"), [
    ({"reviewer": ["r"], "question": ["is_face"], "answer": ["yes"], "annotator": ["A"], "face_idx": [""]},
     "row 2: a face question needs face_idx (the face box it is about)", "needs annotator"),
    ({"reviewer": ["r"], "question": ["is_face"], "answer": ["yes"], "annotator": [""], "face_idx": ["1"]},
     "row 2: a face question needs annotator (the face annotator of the box, or --annotator)", "face_idx"),
    ({"reviewer": ["r"], "question": ["is_face"], "answer": ["yes"], "annotator": ["A"], "face_idx": ["abc"]},
     "row 2: face_idx is not a number", "needs"),
    ({"reviewer": ["r"], "question": ["apparent_minor"], "answer": ["no"]},
     "row 2: a face question needs annotator and face_idx (the face box it is about)", "is not one of"),
    ({"reviewer": ["r"], "question": ["nsfw_category"], "answer": ["upskirt"], "face_idx": ["1"]},
     "row 2: an image question (nsfw_category) leaves face_idx empty", "annotator"),
    ({"reviewer": ["r"], "question": [""], "answer": ["yes"]}, "row 2: question is empty", "is not one of"),
])
def test_import_reviews_names_the_field_that_is_missing(frame, says, never):
    message = _problems(frame)
    assert says in message and never not in message.split("rejected, nothing was imported:")[1], message


def test_a_rerun_with_nothing_to_do_loads_no_model(tmp_path, monkeypatch):
    from PIL import Image

    from ingest.models import REGISTRY

    root = tmp_path / "ds" / "train" / "n04350905"
    root.mkdir(parents=True)
    Image.new("RGB", (64, 48), (120, 80, 40)).save(root / "a.jpg")
    db = tmp_path / "census.duckdb"
    options = {"stages": ["faces"], "overrides": {"faces": "dlib/age-and-gender-v1"}, "precision": "int8"}
    assert ingest(tmp_path / "ds", db, **options).todo == 1

    def refuse(self):
        raise AssertionError(f"{self.annotator} was loaded although every image is done")

    for cls in REGISTRY.values():
        monkeypatch.setattr(cls, "load", refuse)
    again = ingest(tmp_path / "ds", db, **options)
    assert (again.todo, again.skipped) == (0, 1)
    result = runner.invoke(app, ["run", str(tmp_path / "ds"), "--dataset", "ds", "--stages", "faces", "--model",
                                 "faces=dlib/age-and-gender-v1", "--precision", "int8", "--workers", "0",
                                 "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "loading the models" not in result.output and "nothing to do" in result.output


def test_a_layout_that_finds_nothing_names_the_one_that_would(tmp_path):
    flat = tmp_path / "flat"
    flat.mkdir()
    noise_jpeg(flat / "a.jpg", (64, 48))
    noise_jpeg(flat / "b.jpg", (64, 48), seed=1)
    with pytest.raises(CensusError, match=r"No images found .*\(layout folders\).*--layout images"):
        list_images(flat, "folders")
    with pytest.raises(CensusError, match=r"--layout images"):
        ingest(flat, tmp_path / "w.duckdb", stages=["nsfw"], layout="folders")
    shards = tmp_path / "shards"
    shards.mkdir()
    with tarfile.open(shards / "000.tar", "w") as tar:
        tar.add(flat / "a.jpg", arcname="000001.jpg")
    with pytest.raises(CensusError, match=r"\(layout images\).*--layout webdataset"):
        list_images(shards, "images")
    classes = tmp_path / "classes"
    (classes / "cats").mkdir(parents=True)
    noise_jpeg(classes / "cats" / "c.jpg", (64, 48))
    with pytest.raises(CensusError, match=r"\(layout webdataset\).*--layout folders"):
        list_images(classes, "webdataset")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CensusError) as caught:
        list_images(empty, "folders")
    assert "--layout" not in str(caught.value)  # nothing else would find an image either


def test_ray_on_one_machine_says_the_default_engine_is_faster(tmp_path, monkeypatch):
    import ingest.pipeline.runner as runner_module
    from ingest.pipeline.runner import RunOptions, run_dataset

    monkeypatch.delenv("RAY_ADDRESS", raising=False)

    def stop(*args, **kwargs):
        raise CensusError("stopped before the models")

    monkeypatch.setattr(runner_module, "build_models", stop)
    for address, expected in ((None, 1), ("head:6379", 0)):
        notes: list[str] = []
        with pytest.raises(CensusError, match="stopped before the models"):
            run_dataset(RunOptions(dataset_root=tmp_path, engine="ray", ray_address=address, workers=0),
                        on_notice=notes.append)
        ray_notes = [n for n in notes if "cluster" in n]
        assert len(ray_notes) == expected, notes
        if expected:
            assert "--ray-address" in ray_notes[0] and "default engine is faster" in ray_notes[0]
    help_text = " ".join(runner.invoke(app, ["run", "--help"], terminal_width=200).output.split())
    assert "pays off on a cluster" in help_text
