"""A hostile web page, a hostile client and a wrong --store against the review server: a
refresh only by a same-origin JSON POST, bodies of at most 64 KB (refused before they are
buffered), deeply nested JSON as a 400, a store that is not one as one sentence, and
thumbnails of container members (tar shards, Parquet rows) blurred like those of files.

No warehouse and no dbt here: each server runs on a review store filled directly."""

from __future__ import annotations

import asyncio
import http.client
import io
import json
import sqlite3
import tarfile
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image
from typer.testing import CliRunner

from ingest.cli import app
from ingest.review.questions import item_key
from ingest.review.server import MAX_BODY, ReviewSite, create_app, running
from ingest.review.store import QUEUE_COLUMNS, ReviewStore

runner = CliRunner()
DATASET = "hostile"
PLAIN = "train/n01/plain.png"
SHARD = "shards/00000.tar"
MEMBER = f"{SHARD}#n01/k0"
PARQUET = "rows/part.parquet"
ROW = f"{PARQUET}#1"


def _checkerboard() -> bytes:
    """A sharp PNG (blurring it is easy to measure)."""
    cells = (np.indices((96, 128)).sum(axis=0) // 4 % 2 * 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(cells).convert("RGB").save(buffer, "PNG")
    return buffer.getvalue()


def _build_root(root: Path) -> None:
    picture = _checkerboard()
    (root / "train" / "n01").mkdir(parents=True)
    (root / PLAIN).write_bytes(picture)
    (root / "shards").mkdir()
    with tarfile.open(root / SHARD, "w") as archive:
        for name, data in (("n01/k0.png", picture), ("n01/k0.txt", b"a caption")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    (root / "rows").mkdir()
    pq.write_table(pa.table({"image": pa.array([b"not an image", picture], type=pa.binary())}), root / PARQUET)


def _queue(rel_paths: list[str]) -> pd.DataFrame:
    rows = []
    for priority, rel in enumerate(rel_paths):
        row = dict.fromkeys(QUEUE_COLUMNS)
        row.update(question="nsfw_category", image_id=f"img{priority}", rel_path=rel, split="train", wnid="n01",
                   nsfw_score=0.9, reason="score", priority=priority)
        rows.append(row)
    return pd.DataFrame(rows, columns=list(QUEUE_COLUMNS))


@pytest.fixture()
def site(tmp_path) -> ReviewSite:
    root = tmp_path / DATASET
    _build_root(root)
    store = ReviewStore(tmp_path / "answers.sqlite")
    queued = [PLAIN, MEMBER, ROW, "rows/part.parquet#0", "../outside.tar#k0", "shards/link.tar#n01/k0"]
    prior = pd.DataFrame(columns=["reviewer", "question", "image_id", "annotator", "face_idx"])
    store.replace_queue(DATASET, _queue(queued), prior, "none")
    return ReviewSite(root=root, dataset=DATASET, store=store, db=tmp_path / "no-warehouse.duckdb")


def request(url: str, path: str, body: bytes = b"", headers: dict | None = None,
            method: str = "POST") -> tuple[int, bytes]:
    address = url.split("//")[1]
    con = http.client.HTTPConnection(*address.rsplit(":", 1), timeout=10)
    try:
        con.request(method, path, body=body, headers=headers or {})
        response = con.getresponse()
        return response.status, response.read()
    finally:
        con.close()


def error_of(data: bytes) -> str:
    message = json.loads(data)["error"]
    assert message.endswith(".") and "Traceback" not in message
    return message


# ---------------------------------------------------------------- refresh: same-origin JSON only
def test_refresh_needs_a_same_origin_json_post(site):
    calls = []
    site.refresh = lambda: calls.append(1)  # count the queue copies a request would start
    with running(site) as url:
        for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
            status, data = request(url, "/api/refresh", b"{}", {"Content-Type": content_type})
            assert status == 415 and "JSON" in error_of(data), content_type
        status, data = request(url, "/api/refresh", b"{}", {"Content-Type": "application/json",
                                                             "Origin": "https://evil.example"})
        assert status == 403 and "another site" in error_of(data)
        status, data = request(url, "/api/answer", b"{}", {"Content-Type": "application/json", "Origin": "null"})
        assert status == 403
        assert calls == []
        status, _ = request(url, "/api/refresh", b"{}", {"Content-Type": "application/json", "Origin": url})
        assert status == 200 and calls == [1]
        status, _ = request(url, "/api/refresh", b"{}", {"Content-Type": "application/json"})
        assert status == 200 and calls == [1, 1]  # no Origin: not a browser's cross-site request


# ---------------------------------------------------------------- hostile bodies
@pytest.mark.parametrize("path", ["/api/answer", "/api/refresh"])
def test_deeply_nested_json_is_a_400_sentence(site, path):
    with running(site) as url:
        deep = b"[" * 30_000 + b"]" * 30_000  # under the size limit, far over Python's recursion limit
        status, data = request(url, path, deep, {"Content-Type": "application/json"})
        assert status == 400 and "nested too deeply" in error_of(data)
        status, data = request(url, path, b"[" * 100_000 + b"]" * 100_000, {"Content-Type": "application/json"})
        assert status == 413 and "at most 64 KB" in error_of(data)


def test_a_declared_oversized_body_is_refused_before_it_is_sent(site):
    with running(site) as url:
        address = url.split("//")[1]
        con = http.client.HTTPConnection(*address.rsplit(":", 1), timeout=10)
        try:
            con.putrequest("POST", "/api/answer")
            con.putheader("Content-Type", "application/json")
            con.putheader("Content-Length", str(400 * 2**20))
            con.endheaders()  # not a byte of the 400 MB follows: the server must not wait for them
            response = con.getresponse()
            assert response.status == 413 and "at most 64 KB" in error_of(response.read())
        finally:
            con.close()
        assert request(url, "/api/answer", b"{}", {"Content-Type": "application/json",
                                                    "Content-Length": "banana"})[0] == 400


def test_an_undeclared_oversized_body_is_not_buffered(site):
    """A body without Content-Length (chunked) is read a chunk at a time and refused once past
    the limit: the rest of a 400 MB stream is never asked for."""
    chunk = b" " * 65_536
    sent: list[int] = []
    messages: list[dict] = []

    async def receive() -> dict:
        sent.append(len(chunk))
        return {"type": "http.request", "body": chunk, "more_body": len(sent) < 6_400}

    async def send(message: dict) -> None:
        messages.append(message)

    scope = {"type": "http", "method": "POST", "path": "/api/refresh", "raw_path": b"/api/refresh",
             "query_string": b"", "root_path": "", "scheme": "http", "http_version": "1.1",
             "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json"),
                         (b"transfer-encoding", b"chunked")],
             "client": ("127.0.0.1", 5), "server": ("127.0.0.1", 80)}
    site.refresh = lambda: pytest.fail("an oversized refresh must not copy the queue")
    asyncio.run(create_app(site)(scope, receive, send))
    assert messages[0]["status"] == 413
    assert sum(sent) <= MAX_BODY + 2 * len(chunk)


def test_bad_bodies_still_answer_in_sentences(site):
    with running(site) as url:
        status, data = request(url, "/api/answer", b"\xff\xfe{", {"Content-Type": "application/json"})
        assert status == 400 and "not valid JSON" in error_of(data)
        status, data = request(url, "/api/answer", b"[1]", {"Content-Type": "application/json"})
        assert status == 400 and "not a JSON object" in error_of(data)


# ---------------------------------------------------------------- --store that is not a review store
@pytest.mark.parametrize("content", [b"PK\x03\x04 a zip, not SQLite" * 100, "answers table of another kind"])
def test_a_store_that_is_not_one_is_one_sentence(tmp_path, content):
    store = tmp_path / "store.sqlite"
    if isinstance(content, bytes):
        store.write_bytes(content)
    else:
        con = sqlite3.connect(store)
        con.execute("create table answers (id integer, text text)")
        con.close()
    before = store.read_bytes()
    root = tmp_path / DATASET
    _build_root(root)
    for args in (["review", "serve", str(root), "--port", "0"], ["review", "land"]):
        result = runner.invoke(app, [*args, "--store", str(store), "--db", str(tmp_path / "none.duckdb")])
        assert result.exit_code == 2, result.output
        assert "is not a review store" in result.output and "--store" in result.output
        assert len(result.output.strip().splitlines()) <= 2 and "Traceback" not in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
    assert store.read_bytes() == before  # nothing written into someone else's file


# ---------------------------------------------------------------- thumbnails of container members
def _sharpness(data: bytes) -> float:
    pixels = np.asarray(Image.open(io.BytesIO(data)).convert("L"), dtype=float)
    return float(np.abs(np.diff(pixels, axis=1)).mean())


def _get(url: str) -> tuple[int, bytes, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read(), response.headers["Content-Type"]
    except urllib.error.HTTPError as error:
        return error.code, b"", ""


def test_thumbnails_of_shard_and_parquet_members_are_served_blurred(site, tmp_path):
    outside = tmp_path / "outside.tar"
    (site.root / SHARD).rename(outside)
    (site.root / SHARD).symlink_to(outside)  # the queued shard itself is a link out of the root
    with running(site) as url:
        assert _get(f"{url}/thumb/{SHARD.replace('.tar', '.tar%23n01/k0')}")[0] == 404
    (site.root / SHARD).unlink()
    outside.rename(site.root / SHARD)
    (site.root / "shards" / "link.tar").symlink_to(outside.with_name("gone.tar"))
    with running(site) as url:
        for rel in (PLAIN, MEMBER, ROW):
            item = site.store.item(DATASET, item_key("nsfw_category", f"img{[PLAIN, MEMBER, ROW].index(rel)}",
                                                     None, None))
            thumb = f"/thumb/{urllib.request.quote(rel)}?item={urllib.request.quote(item['item_key'], safe='')}"
            status, blurred, kind = _get(url + thumb)
            assert status == 200 and kind == "image/jpeg", rel
            status, revealed, _ = _get(url + thumb + "&reveal=1")
            assert status == 200 and _sharpness(blurred) < 0.5 * _sharpness(revealed), rel
        for rel in ("rows/part.parquet#0", "rows/part.parquet#9", "shards/00000.tar#n01/zz", "../outside.tar#k0",
                    "shards/link.tar#n01/k0", "shards/00000.tar%23..%2F..%2Fetc%2Fpasswd"):
            assert _get(f"{url}/thumb/{rel.replace('#', '%23')}")[0] == 404, rel  # unreadable, unqueued, outside
