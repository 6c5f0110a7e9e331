"""Dataset layouts: ILSVRC-2012 (folders, flat val + LOC csv, devkit), class folders, manifests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from photos import noise_jpeg

from ingest.core.errors import CensusError
from ingest.sources.layouts import detect_layout, list_images


def test_ilsvrc_layout_with_flat_val(small_ilsvrc: Path):
    refs = list_images(small_ilsvrc)
    assert detect_layout(small_ilsvrc) == "ilsvrc"
    assert len(refs) == 8
    by_path = {r.rel_path: r for r in refs}
    assert by_path["val/ILSVRC2012_val_00000001.JPEG"].wnid == "n04350905"
    assert by_path["train/n02123045/n02123045_2.png"].split == "train"
    # any case of extension is listed
    assert "train/n04350905/n04350905_3.JPG" in by_path
    assert all(not r.rel_path.startswith("/") for r in refs)


def test_ilsvrc_val_in_wnid_folders(tmp_path: Path):
    for split, wnid in (("train", "n01440764"), ("val", "n01440764")):
        folder = tmp_path / split / wnid
        folder.mkdir(parents=True)
        noise_jpeg(folder / f"{wnid}_1.JPEG")
    refs = list_images(tmp_path)
    assert sorted((r.split, r.wnid) for r in refs) == [("train", "n01440764"), ("val", "n01440764")]


def test_flat_val_without_ground_truth_is_one_clear_error(tmp_path: Path):
    (tmp_path / "train" / "n01440764").mkdir(parents=True)
    noise_jpeg(tmp_path / "train" / "n01440764" / "a.JPEG")
    (tmp_path / "val").mkdir()
    noise_jpeg(tmp_path / "val" / "ILSVRC2012_val_00000001.JPEG")
    with pytest.raises(CensusError, match="no ground truth"):
        list_images(tmp_path)


def test_devkit_ground_truth(tmp_path: Path):
    from scipy.io import savemat

    (tmp_path / "train" / "n01440764").mkdir(parents=True)
    noise_jpeg(tmp_path / "train" / "n01440764" / "a.JPEG")
    (tmp_path / "val").mkdir()
    for i in (1, 2):
        noise_jpeg(tmp_path / "val" / f"ILSVRC2012_val_{i:08d}.JPEG", seed=i)
    data = tmp_path / "ILSVRC2012_devkit_t12" / "data"
    data.mkdir(parents=True)
    synsets = np.zeros((2,), dtype=[("ILSVRC2012_ID", "O"), ("WNID", "O")])
    synsets[0] = (1, "n01751748")  # the devkit's ids are not in sorted-wnid order
    synsets[1] = (2, "n01440764")
    savemat(data / "meta.mat", {"synsets": synsets})
    (data / "ILSVRC2012_validation_ground_truth.txt").write_text("1\n2\n")
    refs = {r.rel_path: r.wnid for r in list_images(tmp_path)}
    assert refs["val/ILSVRC2012_val_00000001.JPEG"] == "n01751748"
    assert refs["val/ILSVRC2012_val_00000002.JPEG"] == "n01440764"


def test_generic_class_folders(tmp_path: Path):
    for name in ("cats", "dogs"):
        (tmp_path / name).mkdir()
        noise_jpeg(tmp_path / name / "x.jpg")
    (tmp_path / "dogs" / "notes.txt").write_text("not an image")
    refs = list_images(tmp_path)
    assert detect_layout(tmp_path) == "folders"
    assert sorted((r.wnid, r.split) for r in refs) == [("cats", "train"), ("dogs", "train")]


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_manifest(tmp_path: Path, suffix: str):
    (tmp_path / "img").mkdir()
    noise_jpeg(tmp_path / "img" / "a.jpg")
    frame = pd.DataFrame({"rel_path": ["img/a.jpg"], "split": ["val"], "label": ["n01440764"]})
    manifest = tmp_path / f"m{suffix}"
    frame.to_csv(manifest, index=False) if suffix == ".csv" else frame.to_parquet(manifest)
    (ref,) = list_images(tmp_path, manifest=manifest)
    assert (ref.rel_path, ref.split, ref.wnid) == ("img/a.jpg", "val", "n01440764")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("rel_path,split\nimg/a.jpg,train\n", "lacks column"),
        ("rel_path,split,label\n../etc/passwd,train,x\n", "leaves the root"),
        ("rel_path,split,label\n/abs/a.jpg,train,x\n", "absolute"),
        ("rel_path,split,label\na.jpg,train,x\na.jpg,val,y\n", "twice"),
        ("rel_path,split,label\na.jpg,,x\n", "must not be empty"),
    ],
)
def test_bad_manifest_is_one_clear_error(tmp_path: Path, content: str, message: str):
    manifest = tmp_path / "m.csv"
    manifest.write_text(content)
    with pytest.raises(CensusError, match=message):
        list_images(tmp_path, manifest=manifest)


def test_missing_dataset(tmp_path: Path):
    with pytest.raises(CensusError, match="does not exist"):
        list_images(tmp_path / "nope")


def test_unknown_wnids_are_refused_for_imagenet(tmp_path: Path):
    folder = tmp_path / "train" / "n99999999"
    folder.mkdir(parents=True)
    noise_jpeg(folder / "a.JPEG")
    (tmp_path / "train" / "n01440764").mkdir()
    noise_jpeg(tmp_path / "train" / "n01440764" / "b.JPEG")
    with pytest.raises(CensusError, match="not ILSVRC-2012 classes.*n99999999"):
        list_images(tmp_path)
    assert len(list_images(tmp_path, labels="any")) == 2  # e.g. an ImageNet-21k subset


def test_stray_folder_in_ilsvrc_train_is_not_silently_dropped(tmp_path: Path):
    for name in ("n01440764", "holiday_photos"):
        (tmp_path / "train" / name).mkdir(parents=True)
        noise_jpeg(tmp_path / "train" / name / "a.JPEG")
    with pytest.raises(CensusError, match="holiday_photos"):
        list_images(tmp_path)
    assert len(list_images(tmp_path, layout="folders")) == 2
