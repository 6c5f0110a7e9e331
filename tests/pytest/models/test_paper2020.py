"""The paper2020 profile end to end on a CPU with fabricated weights that have the real
signatures: insightface routes the ONNX graphs as SCRFD and genderage; Keras builds the real
ResNet50, NASNetMobile and MobileNetV2 architectures from the .h5 files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fabricate import genderage, paper2020_models_dir
from runs import count, ingest

from ingest.core.errors import ModelUnavailable
from ingest.models import REGISTRY

pytest.importorskip("tensorflow")


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory) -> Path:
    return paper2020_models_dir(tmp_path_factory.mktemp("weights"))


@pytest.fixture(scope="module")
def paper_run(models_dir, tmp_path_factory):
    from photos import build_small_ilsvrc

    base = tmp_path_factory.mktemp("paper")
    root = build_small_ilsvrc(base / "ds")
    db = base / "paper.duckdb"
    summary = ingest(root, db, profile="paper2020", models_dir=models_dir)
    return db, summary


def test_paper_profile_lands_rows_with_provenance(paper_run):
    db, summary = paper_run
    assert summary.stats.seen == 8 and summary.stats.errors == 0
    runs = count(db, "select stage, annotator, status, length(model_digest) from raw.runs order by 2")
    assert runs == [
        ("faces", "insightface/buffalo_l", "complete", 64),
        ("classify", "keras/nasnetmobile", "complete", 64),
        ("nsfw", "keras/nsfw-mobilenet-v2", "complete", 64),
        ("classify", "keras/resnet50", "complete", 64),
    ]
    assert count(db, "select count(*) from raw.image_runs where status = 'ok'") == [(32,)]


def test_paper_profile_faces_nsfw_predictions_shapes(paper_run):
    db, _ = paper_run
    faces = count(db, "select count(*), min(det_score), max(det_score), min(gender_score), max(gender_score), "
                      "min(age), min(x2 - x1) from raw.faces")[0]
    assert faces[0] > 0
    assert 0.5 <= faces[1] <= faces[2] <= 1 and 0 <= faces[3] <= faces[4] <= 1
    assert faces[5] == pytest.approx(31.0, abs=0.5)  # age = 100 x the third output (bias 0.31)
    assert faces[6] > 0
    (probs,) = count(db, "select probs from raw.nsfw limit 1")[0]
    probs = json.loads(probs)
    assert sorted(probs) == ["drawings", "hentai", "neutral", "porn", "sexy"]
    assert count(db, "select count(*) from raw.nsfw where abs(nsfw_score - ((probs->>'hentai')::double + "
                     "(probs->>'porn')::double + (probs->>'sexy')::double)) > 1e-6") == [(0,)]
    per_model = count(db, "select r.annotator, count(*), min(rank), max(rank) from raw.predictions "
                          "join raw.runs r using (run_id) group by 1 order by 1")
    assert per_model == [("keras/nasnetmobile", 40, 1, 5), ("keras/resnet50", 40, 1, 5)]


def test_profiles_can_mix(models_dir, tmp_path):
    from photos import build_small_ilsvrc

    from ingest.models.profiles import build_models

    models = build_models("paper2020", stages=["faces", "nsfw"], models_dir=models_dir,
                          overrides={"nsfw": "yahoo/open_nsfw"})
    assert [m.annotator for m in models] == ["insightface/buffalo_l", "yahoo/open_nsfw"]
    root = build_small_ilsvrc(tmp_path / "ds")
    summary = ingest(root, tmp_path / "mix.duckdb", profile="paper2020", models_dir=models_dir,
                     stages=["faces", "nsfw"], overrides={"nsfw": "yahoo/open_nsfw"})
    assert summary.stats.errors == 0


def test_missing_wrong_or_truncated_weights_are_named(models_dir, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    model = REGISTRY["insightface/buffalo_l"](models_dir=empty)
    with pytest.raises(ModelUnavailable, match="det_10g.onnx are missing"):
        model.check()
    wrong = tmp_path / "wrong" / "buffalo_l"
    wrong.mkdir(parents=True)
    genderage(wrong / "det_10g.onnx")  # a genderage graph where the detector should be
    genderage(wrong / "genderage.onnx")
    with pytest.raises(ModelUnavailable, match="not an SCRFD detector"):
        REGISTRY["insightface/buffalo_l"](models_dir=wrong.parent).check()
    short = tmp_path / "short"
    short.mkdir()
    (short / "NASNet-mobile.h5").write_bytes(b"\x89HDF" * 8)
    with pytest.raises(ModelUnavailable, match="truncated"):
        REGISTRY["keras/nasnetmobile"](models_dir=short).check()
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "resnet50_weights_tf_dim_ordering_tf_kernels.h5").write_bytes(b"0" * 200_000)
    with pytest.raises(ModelUnavailable, match="not an HDF5"):
        REGISTRY["keras/resnet50"](models_dir=bad).load()
    # an HDF5 file of the wrong network: NASNetMobile weights where ResNet50's belong
    import shutil

    shutil.copy(models_dir / "NASNet-mobile.h5", bad / "resnet50_weights_tf_dim_ordering_tf_kernels.h5")
    with pytest.raises(ModelUnavailable, match="could not be loaded"):
        REGISTRY["keras/resnet50"](models_dir=bad).load()


def test_missing_weights_stop_the_run_before_any_row(tmp_path):
    from photos import build_small_ilsvrc

    root = build_small_ilsvrc(tmp_path / "ds")
    db = tmp_path / "none.duckdb"
    with pytest.raises(ModelUnavailable, match="buffalo_l"):
        ingest(root, db, profile="paper2020", models_dir=tmp_path / "nowhere")
    assert not db.exists()


def test_a_network_that_fails_to_load_in_a_worker_stops_the_run_before_any_row(models_dir, tmp_path):
    """On a CPU the workers load the networks; a file that passes the checks but does not load
    (NASNetMobile's weights where ResNet50's belong) stops the run with one sentence."""
    import shutil

    from photos import build_small_ilsvrc

    from ingest.core.errors import CensusError

    bad = tmp_path / "weights"
    shutil.copytree(models_dir, bad)
    shutil.copy(bad / "NASNet-mobile.h5", bad / "resnet50_weights_tf_dim_ordering_tf_kernels.h5")
    root = build_small_ilsvrc(tmp_path / "ds")
    db = tmp_path / "bad.duckdb"
    with pytest.raises(CensusError, match="could not load the models.*could not be loaded"):
        ingest(root, db, profile="paper2020", models_dir=bad, stages=["classify"], workers=1)
    assert count(db, "select (select count(*) from raw.images) + (select count(*) from raw.runs)") == [(0,)]
