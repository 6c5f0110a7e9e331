"""The pipeline gives the same answers as the papers' naive loop (one model, one full-size
image at a time), and the bench set has real faces in it."""

from __future__ import annotations

from ingest.devtools.bench import agreement, make_bench_set, naive_loop, pipeline_results
from ingest.models.profiles import build_models
from ingest.pipeline.runner import RunOptions, run_dataset


def test_pipeline_agrees_with_the_naive_loop(tmp_path):
    root = make_bench_set(tmp_path / "bench", 12, seed=3)
    naive, seconds, count = naive_loop(build_models("default"), root)
    assert count == 12 and seconds["faces.prepare"] > 0
    db = tmp_path / "b.duckdb"
    run_dataset(RunOptions(dataset_root=root, dataset="bench", device="cpu", db=db, workers=2, batch_size=5))
    report = agreement(naive, pipeline_results(db, "bench"))
    assert report["faces_compared"] > 0, "the bench set should contain detectable faces"
    assert report["images_face_count_mismatch"] == 0
    assert report["max_abs_age_diff"] < 1e-3 and report["max_abs_gender_diff"] < 1e-4
    assert report["max_abs_nsfw_diff"] < 1e-4 and report["top1_disagreements"] == 0


def test_decode_time_downscaling_changes_little(tmp_path):
    """Large images are decoded at reduced size (JPEG draft); answers stay close."""
    root = make_bench_set(tmp_path / "big", 6, seed=5, size=(2400, 1800))
    naive, _, _ = naive_loop(build_models("default"), root)
    db = tmp_path / "big.duckdb"
    run_dataset(RunOptions(dataset_root=root, dataset="bench", device="cpu", db=db, workers=0))
    report = agreement(naive, pipeline_results(db, "bench"))
    assert report["max_abs_nsfw_diff"] < 0.1
    assert report["images_face_count_mismatch"] <= 1


def test_bench_report_is_complete_and_within_its_cpu_bound():
    from ingest.devtools.bench import run_bench

    report = run_bench(4, None, workers=1, batch_size=4, skip_naive=False)
    assert report["images"] == 4
    # no run can beat the rate at which its own CPU time allows images through
    assert report["pipeline_images_per_s"] <= report["cpu_bound_images_per_s"] * 1.02
    assert report["pipeline_peak_memory_mb"] > 100  # the workers hold the networks
    assert set(report["pipeline_stage_seconds"]) >= {"decode", "faces.prepare", "nsfw.infer", "classify.infer"}


def test_images_dir_is_one_option_with_its_old_name():
    import typer.main

    from ingest.cli import app

    command = typer.main.get_command(app).commands["bench"]
    option = next(p for p in command.params if p.name == "images_dir")
    assert set(option.opts) == {"--images-dir", "--folder"}


def test_bench_on_a_flat_folder_reports_the_papers_loop_and_agreement(tmp_path):
    """The user's own JPEGs, in a flat folder: the papers' loop with the reference models
    beside the pipeline, and the agreement of the pipeline's answers with theirs."""
    import shutil

    from ingest.devtools.bench import REFERENCE, run_bench

    generated = make_bench_set(tmp_path / "gen", 3, seed=9)
    flat = tmp_path / "mine"
    flat.mkdir()
    for path in sorted(generated.rglob("*.JPEG")):
        shutil.copy(path, flat / path.name)
    # the pipeline with the reference models: every answer agrees (its graphs are rewritten, the loop's not)
    report = run_bench(3, flat, workers=0, batch_size=4, skip_naive=False, overrides=REFERENCE)
    assert report["images"] == 3 and report["images_source"] == str(flat.resolve())
    assert report["papers_loop_models"] == list(REFERENCE.values()) and not report["papers_loop_graph_rewrites"]
    assert report["naive_images_per_s"] == report["papers_loop_images_per_s"] > 0
    assert report["pipeline_images_per_s"] > 0 and report["pipeline_precision"] == "fp32"
    same = report["agreement"]
    assert same["face_count_agreement"] == 1.0 and same["reference_faces_found"] == 1.0
    assert same["age_mae_matched"] < 1e-3 and same["gender_flips_matched"] == 0
    assert same["top1_agreement"] == 1.0 and same["nsfw_abs_diff_p99"] < 1e-4


def test_agreement_pairs_faces_by_box_when_the_detectors_differ():
    def face(x, age, male):
        return {"x1": x, "y1": 10.0, "x2": x + 40.0, "y2": 50.0, "det_score": 0.99, "age": age, "gender_score": male}

    reference = {("faces", "a.jpg"): [face(0, 30, 0.9), face(100, 20, 0.2)], ("faces", "b.jpg"): [face(0, 40, 0.7)]}
    # the pipeline finds the second face of a.jpg (shifted 4 px) and one the reference missed, and b's face
    pipeline = {("faces", "a.jpg"): [face(300, 50, 0.5), face(104, 23, 0.6)], ("faces", "b.jpg"): [face(2, 41, 0.8)]}
    report = agreement(reference, pipeline)
    assert report["faces_compared"] == 2 and report["images_face_count_mismatch"] == 0
    assert report["reference_faces_found"] == report["pipeline_faces_in_reference"] == round(2 / 3, 4)
    assert report["age_mae_matched"] == 2.0 and report["max_abs_age_diff"] == 3.0
    assert report["gender_flips_matched"] == 0.5
