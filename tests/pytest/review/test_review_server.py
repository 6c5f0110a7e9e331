"""`ingest review serve` over HTTP: queues, answers that never overwrite, resumable
progress, only the dataset's queued images (no traversal, no links out), a page that keeps
working while another process holds the warehouse, landing in raw.reviews, and a port in
use as one sentence."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import duckdb
import numpy as np
import pytest
from PIL import Image
from review_world import ASTRONAUT, DATASET, FACES_A, FACES_B, PNG, ROTATED, SURVEYED
from typer.testing import CliRunner

from ingest.cli import app
from ingest.review.land import land_reviews
from ingest.review.server import running, start_site

runner = CliRunner()



def get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def post(url: str, body, content_type: str = "application/json") -> tuple[int, dict]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": content_type}, method="POST")
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def raw_get(url: str, path: str, host: str | None = None) -> int:
    """A GET of an exact request path: http.client sends it as written (no dot-segment clean-up)."""
    address = url.split("//")[1]
    con = http.client.HTTPConnection(*address.rsplit(":", 1))
    con.request("GET", path, headers={"Host": host} if host else {})
    response = con.getresponse()
    response.read()
    con.close()
    return response.status


def next_item(url: str, question: str, reviewer: str) -> dict:
    status, data = get(f"{url}/api/next?question={question}&reviewer={reviewer}")
    assert status == 200, data
    return data


def test_answers_are_recorded_once_per_reviewer_and_never_overwritten(served):
    url, site, db = served
    first = next_item(url, "nsfw_category", "carol")
    # alice and bob answered SURVEYED and ASTRONAUT already (raw.reviews): items lacking two labels come first
    assert first["item"]["rel_path"] == PNG and first["progress"] == {"total": 4, "mine": 0, "complete": 2}
    key = first["item"]["key"]
    assert post(f"{url}/api/answer", {"reviewer": "carol", "item": key, "answer": "upskirt"})[0] == 201
    status, data = post(f"{url}/api/answer", {"reviewer": "carol", "item": key, "answer": "not_nsfw"})
    assert status == 409 and "never overwritten" in data["error"]
    assert post(f"{url}/api/answer", {"reviewer": "dave", "item": key, "answer": "not_nsfw"})[0] == 201
    answers = site.store.answers()
    assert sorted(zip(answers.reviewer, answers.answer, strict=True)) == [("carol", "upskirt"), ("dave", "not_nsfw")]
    # resumable: carol's next item is another one, and alice never sees the items she answered before
    assert next_item(url, "nsfw_category", "carol")["item"]["rel_path"] == ROTATED
    for expected in (ROTATED, PNG):  # PNG has two labels now: ROTATED, which lacks them, comes first
        item = next_item(url, "nsfw_category", "alice")["item"]
        assert item["rel_path"] == expected
        assert post(f"{url}/api/answer", {"reviewer": "alice", "item": item["key"], "answer": "upskirt"})[0] == 201
    done = next_item(url, "nsfw_category", "alice")
    assert done["done"] and done["progress"]["mine"] == 4
    face = next_item(url, "is_face", "carol")["item"]
    assert face["annotator"] in (FACES_A, FACES_B) and face["face_idx"] is not None and "item=" in face["thumb"]


def test_bad_answers_get_one_sentence_and_write_nothing(served):
    url, site, _ = served
    key = next_item(url, "is_face", "carol")["item"]["key"]
    cases = [
        ({"reviewer": "carol", "item": key, "answer": "unsure"}, 400, "is not an answer to is_face"),
        ({"reviewer": "", "item": key, "answer": "yes"}, 400, "reviewer name is needed"),
        ({"reviewer": "x" * 65, "item": key, "answer": "yes"}, 400, "at most 64"),
        ({"reviewer": "carol", "item": "is_face/0000/0/nobody", "answer": "yes"}, 404, "not in this dataset"),
        ({"reviewer": "carol", "item": key, "answer": "yes", "note": "n" * 1001}, 400, "at most 1000"),
        ([1, 2], 400, "not a JSON object"),
    ]
    for body, status, message in cases:
        got, data = post(f"{url}/api/answer", body)
        assert got == status and message in data["error"], (body, data)
    got, data = post(f"{url}/api/answer", b"reviewer=carol&answer=yes", "application/x-www-form-urlencoded")
    assert got == 415  # a cross-site form cannot answer
    assert get(f"{url}/api/next?question=colour&reviewer=carol")[0] == 404
    with urllib.request.urlopen(f"{url}/review/is_face?reviewer=%3Cb%3Ex%3C/b%3E") as response:
        page = response.read().decode()
        assert "&lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page  # names are escaped
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert site.store.answers().empty


def test_only_queued_images_inside_the_root_are_served(review_world, tmp_path):
    root = tmp_path / DATASET
    shutil.copytree(review_world.root, root)
    outside = tmp_path / "outside.jpg"
    shutil.copy(root / PNG, outside)
    (root / PNG).unlink()
    (root / PNG).symlink_to(outside)  # a queued image that is a link out of the root
    (root / "train" / "secret.jpg").symlink_to(outside)
    site = start_site(root, DATASET, review_world.writable(tmp_path), tmp_path / "answers.sqlite")
    with running(site) as url:
        assert raw_get(url, f"/thumb/{SURVEYED}") == 200
        for path in [f"/thumb/{PNG}", "/thumb/../../../etc/passwd", f"/thumb/train/../{SURVEYED}",
                     "/thumb/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/thumb/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
                     "/thumb//etc/passwd", "/thumb/%2Fetc%2Fpasswd", f"/thumb/{outside}", "/thumb/train/secret.jpg",
                     "/thumb/README.txt", "/thumb/train/n02123045/n02123045_1.JPEG", "/thumb/./" + SURVEYED,
                     "/thumb/%252e%252e/etc/passwd", "/thumb/train%00/x"]:
            assert raw_get(url, path) == 404, path
        assert raw_get(url, "/", host="attacker.example") == 400  # DNS rebinding: only loopback names
        assert raw_get(url, "/", host=url.split("//")[1]) == 200


def _sharpness(data: bytes) -> float:
    import io

    pixels = np.asarray(Image.open(io.BytesIO(data)).convert("L"), dtype=float)
    return float(np.abs(np.diff(pixels, axis=1)).mean())


def test_thumbnails_are_blurred_until_revealed_and_show_the_box(served):
    url, _, _ = served
    item = next_item(url, "apparent_minor", "carol")["item"]
    with urllib.request.urlopen(url + item["thumb"]) as response:
        blurred = response.read()
        assert response.headers["Cache-Control"] == "no-store"
    with urllib.request.urlopen(url + item["thumb"] + "&reveal=1") as response:
        revealed = response.read()
    assert _sharpness(blurred) < 0.5 * _sharpness(revealed)
    with urllib.request.urlopen(url + item["thumb"].split("?")[0] + "?reveal=1") as response:
        no_box = np.asarray(Image.open(__import__("io").BytesIO(response.read())).convert("RGB"), dtype=float)
    with_box = np.asarray(Image.open(__import__("io").BytesIO(revealed)).convert("RGB"), dtype=float)
    changed = np.abs(with_box - no_box).sum(axis=2) > 60
    assert changed.any()  # the face box is drawn in the item's thumbnail only
    ys, xs = np.nonzero(changed)
    assert item["rel_path"] == ROTATED  # youngest first: age 8 on the EXIF-rotated copy
    assert xs.min() > 0.3 * with_box.shape[1] and xs.max() < 0.5 * with_box.shape[1]  # T1 face 3, upright


def test_the_page_works_while_another_process_holds_the_warehouse(served):
    url, site, db = served
    hold = "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('ready', flush=True); time.sleep(60)"
    holder = subprocess.Popen([sys.executable, "-c", hold, str(db)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        status, data = post(f"{url}/api/refresh", {})
        assert status == 200 and "busy" in data["notice"]
        with urllib.request.urlopen(url + "/?reviewer=carol") as response:
            assert response.status == 200 and "busy" in response.read().decode()
        item = next_item(url, "nsfw_category", "carol")["item"]
        assert post(f"{url}/api/answer", {"reviewer": "carol", "item": item["key"], "answer": "upskirt"})[0] == 201
        with pytest.raises(Exception, match="in use by another process"):
            land_reviews(db, site.store.path)
        # a server started while the warehouse is busy starts all the same, and says so
        late = start_site(site.root, DATASET, db, site.store.path.with_name("late.sqlite"))
        assert "busy" in late.notice and "no queue is loaded yet" in late.notice
    finally:
        holder.kill()
        holder.wait()
    assert post(f"{url}/api/refresh", {})[1]["notice"] is None
    assert land_reviews(db, site.store.path) == {"pending": 1, "landed": 1, "already": 0}
    assert land_reviews(db, site.store.path)["landed"] == 0
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute("select reviewer, answer, question from raw.reviews where reviewer = 'carol'").fetchall()
    finally:
        con.close()
    assert rows == [("carol", "upskirt", "nsfw_category")]
    # carol's landed answer is part of the next queue copy: still never asked twice
    assert next_item(url, "nsfw_category", "carol")["item"]["key"] != item["key"]


def test_a_port_in_use_is_one_sentence_and_nothing_is_written(review_world, tmp_path):
    import socket

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    port = taken.getsockname()[1]
    store = tmp_path / "answers.sqlite"
    try:
        result = runner.invoke(app, ["review", "serve", str(review_world.root), "--port", str(port), "--store",
                                     str(store), "--db", str(review_world.db)])
    finally:
        taken.close()
    assert result.exit_code == 2
    assert f"Port {port} on 127.0.0.1 is already in use" in result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert not store.exists()


def test_listens_on_loopback_by_default_and_refuses_a_missing_folder(review_world, tmp_path):
    import inspect

    from ingest.cli.review import review_serve

    assert inspect.signature(review_serve).parameters["host"].default == "127.0.0.1"
    result = runner.invoke(app, ["review", "serve", str(tmp_path / "nope")])
    assert result.exit_code == 2 and "does not exist" in result.output
    empty = tmp_path / "w.duckdb"
    duckdb.connect(str(empty)).close()
    result = runner.invoke(app, ["review", "serve", str(review_world.root), "--port", "0", "--db", str(empty),
                                 "--store", str(tmp_path / "s.sqlite")])
    assert result.exit_code == 2 and "run `dbt build` first" in result.output
    assert not (tmp_path / "s.sqlite").exists()


def test_land_needs_no_store_and_lands_answers_of_a_stopped_server(review_world, tmp_path):
    db = review_world.writable(tmp_path)
    result = runner.invoke(app, ["review", "land", "--db", str(db), "--store", str(tmp_path / "none.sqlite")])
    assert result.exit_code == 0 and "Landed 0 answers" in result.output
    site = start_site(review_world.root, DATASET, db, tmp_path / "s.sqlite")
    item = site.store.next_item(DATASET, "is_face", "erin")
    site.store.add_answer(DATASET, "erin", item, "no", "a shadow")
    result = runner.invoke(app, ["review", "land", "--db", str(db), "--store", str(tmp_path / "s.sqlite")])
    assert result.exit_code == 0 and "Landed 1 answers" in result.output
    con = duckdb.connect(str(db), read_only=True)
    try:
        row = con.execute("select annotator, face_idx, answer, note from raw.reviews "
                          "where reviewer = 'erin'").fetchone()
    finally:
        con.close()
    assert row == (item["annotator"], item["face_idx"], "no", "a shadow")
    assert os.path.basename(item["rel_path"]) in {Path(p).name for p in (SURVEYED, PNG, ROTATED, ASTRONAUT)} | {
        "n04350905_1.JPEG"}
