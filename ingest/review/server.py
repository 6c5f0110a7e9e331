"""``ingest review serve``: the reviewer's page, a Starlette app on uvicorn.

Safe by default: it listens on 127.0.0.1 and answers only requests addressed to a loopback
name (no DNS rebinding); it serves only the images of the dataset's review queue (files
under the dataset root and members of its tar shards and Parquet files, ``thumbs.source``),
as thumbnails made in memory, blurred until the reviewer reveals one. Every POST (an answer,
a refresh of the queue) passes ``read_json``: JSON from the page's own origin only, at most
MAX_BODY bytes. Answers insert into the review store and never overwrite an answer. See
``ingest/review/__init__`` for how the page stays off the warehouse lock."""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from ..core.classes import named
from ..core.errors import CensusError, WarehouseBusy
from . import queues
from .questions import MAX_NOTE, QUESTIONS, check_reviewer
from .store import LABELS_PER_ITEM, AlreadyAnswered, ReviewStore
from .thumbs import source, thumbnail

HERE = Path(__file__).parent
LOOPBACK_NAMES = ["127.0.0.1", "localhost", "::1", "[::1]"]
#: the largest POST body read (an answer with its note is well under 2 KB)
MAX_BODY = 64 * 1024
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self'; script-src 'self'; style-src 'self'; "
                               "frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


@dataclass
class ReviewSite:
    """What one server reviews: a dataset's folder, its warehouse and its answer store."""

    root: Path
    dataset: str
    store: ReviewStore
    db: Path | None = None
    notice: str | None = None
    _refresh_lock: threading.Lock = field(default_factory=threading.Lock)

    def refresh(self) -> str | None:
        """Copy the queue from the warehouse; a note (not an error) when that is not possible now."""
        with self._refresh_lock:
            try:
                snapshot = queues.refresh(self.store, self.dataset, self.db)
            except WarehouseBusy:
                kept = self.store.snapshot(self.dataset)
                since = f"the queue copied at {kept.taken_at[:19]} UTC is shown" if kept else "no queue is loaded yet"
                self.notice = (f"The warehouse is busy (an `ingest run` or `dbt build` holds it): {since}. "
                               "Answers are saved all the same; press Refresh later.")
            except CensusError as error:
                self.notice = str(error)
            else:
                self.notice = None if snapshot.n_items else (
                    f"The review queue of {self.dataset} is empty: nothing is flagged for review.")
            return self.notice


def _json_error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _cross_site(request: Request) -> bool:
    """Whether a browser sent the request from another site's page: its Origin (browsers send
    one with every POST) names another host than the one addressed. No Origin: not a browser."""
    origin = request.headers.get("origin")
    if origin is None:
        return False
    return urlsplit(origin).netloc.lower() != request.headers.get("host", "").lower()


async def read_json(request: Request) -> object:
    """The JSON body of a POST, or the error response: the one gate of every POST.

    Only ``application/json`` from the page's own origin (a cross-site form cannot send that
    type, and a cross-site fetch of it is stopped by the browser's preflight and by Origin);
    at most MAX_BODY bytes, refused on a larger Content-Length before a byte is read and
    otherwise as soon as the stream passes the limit, so a huge body is never buffered."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        return _json_error(415, "Send the request as JSON (Content-Type: application/json).")
    if _cross_site(request):
        return _json_error(403, "The request came from another site's page; use the review page itself.")
    too_large = _json_error(413, f"The request body is too large: at most {MAX_BODY // 1024} KB.")
    declared = request.headers.get("content-length")
    if declared is not None:
        if not (declared.isascii() and declared.strip().isdigit()):
            return _json_error(400, "The request's Content-Length is not a number.")
        if int(declared) > MAX_BODY:
            return too_large
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_BODY:
            return too_large
    try:
        return json.loads(data)
    except RecursionError:
        return _json_error(400, "The request's JSON is nested too deeply.")
    except ValueError:  # also UnicodeDecodeError: bytes that are no JSON text
        return _json_error(400, "The request is not valid JSON.")


def create_app(site: ReviewSite, *, allowed_hosts: list[str] | None = None) -> Starlette:
    templates = Jinja2Templates(directory=str(HERE / "templates"))

    def queue_summaries(reviewer: str | None) -> list[dict]:
        progress = site.store.progress(site.dataset, reviewer)
        return [{"name": name, "prompt": q.prompt, **progress[name]} for name, q in QUESTIONS.items()]

    def page(request: Request, name: str, context: dict) -> Response:
        response = templates.TemplateResponse(request, name, {"dataset": site.dataset, "notice": site.notice,
                                                              "labels_per_item": LABELS_PER_ITEM, **context})
        response.headers.update(SECURITY_HEADERS)
        return response

    def index(request: Request) -> Response:
        reviewer = request.query_params.get("reviewer", "").strip()
        if reviewer and check_reviewer(reviewer):
            reviewer = ""
        return page(request, "index.html", {"reviewer": reviewer, "queues": queue_summaries(reviewer or None),
                                            "snapshot": site.store.snapshot(site.dataset)})

    def review(request: Request) -> Response:
        question = request.path_params["question"]
        reviewer = request.query_params.get("reviewer", "").strip()
        if question not in QUESTIONS:
            return Response("Not Found", status_code=404)
        if check_reviewer(reviewer):
            return RedirectResponse("/", status_code=303)
        spec = QUESTIONS[question]
        return page(request, "review.html", {"reviewer": reviewer, "question": spec, "answers": spec.labels()})

    def api_next(request: Request) -> Response:
        question = request.query_params.get("question", "")
        reviewer = request.query_params.get("reviewer", "").strip()
        if question not in QUESTIONS:
            return _json_error(404, f"Unknown question {question!r}.")
        problem = check_reviewer(reviewer)
        if problem:
            return _json_error(400, f"{problem[0].upper()}{problem[1:]}.")
        item = site.store.next_item(site.dataset, question, reviewer)
        progress = site.store.progress(site.dataset, reviewer)[question]
        payload = {"done": item is None, "progress": progress, "notice": site.notice}
        if item is not None:
            payload["item"] = {
                "key": item["item_key"], "question": question, "rel_path": item["rel_path"],
                "thumb": f"/thumb/{quote(item['rel_path'])}?item={quote(item['item_key'], safe='')}",
                "wnid": item["wnid"], "class_name": named(item["wnid"]), "split": item["split"],
                "reason": item["reason"],
                "nsfw_score": item["nsfw_score"], "det_score": item["det_score"], "age": item["age"],
                "annotator": item["annotator"], "face_idx": item["face_idx"], "n_labels": item["n_labels"],
            }
        return JSONResponse(payload)

    async def api_answer(request: Request) -> Response:
        body = await read_json(request)
        if isinstance(body, Response):
            return body
        if not isinstance(body, dict):
            return _json_error(400, "The request is not a JSON object.")
        reviewer = str(body.get("reviewer") or "").strip()
        problem = check_reviewer(reviewer)
        if problem:
            return _json_error(400, f"{problem[0].upper()}{problem[1:]}.")
        item = await run_in_threadpool(site.store.item, site.dataset, str(body.get("item") or ""))
        if item is None:
            return _json_error(404, "That item is not in this dataset's review queue.")
        spec = QUESTIONS[item["question"]]
        given = str(body.get("answer") or "").strip()
        answer = spec.answer_for(given)
        if answer is None:
            return _json_error(400, f"{given!r} is not an answer to {spec.name}: use {spec.choices()}.")
        note = str(body.get("note") or "").strip()
        if len(note) > MAX_NOTE:
            return _json_error(400, f"A note has at most {MAX_NOTE} characters.")
        try:
            review_id = await run_in_threadpool(site.store.add_answer, site.dataset, reviewer, item, answer, note)
        except AlreadyAnswered:
            return _json_error(409, "You have answered this item already; answers are never overwritten.")
        progress = (await run_in_threadpool(site.store.progress, site.dataset, reviewer))[item["question"]]
        return JSONResponse({"ok": True, "review_id": review_id, "progress": progress}, status_code=201)

    async def api_refresh(request: Request) -> Response:
        body = await read_json(request)  # the same gate as answers: no cross-site page can start copies
        if isinstance(body, Response):
            return body
        notice = await run_in_threadpool(site.refresh)
        snapshot = await run_in_threadpool(site.store.snapshot, site.dataset)
        return JSONResponse({"notice": notice, "snapshot": _snapshot_dict(snapshot)})

    def thumb(request: Request) -> Response:
        rel_path = request.path_params["rel_path"]
        image = source(site.root, rel_path, lambda p: site.store.has_image(site.dataset, p))
        if image is None:
            return Response("Not Found", status_code=404)
        item = site.store.item(site.dataset, request.query_params.get("item", ""))
        box = None
        if item is not None and item["rel_path"] == rel_path:
            box = (item["x1"], item["y1"], item["x2"], item["y2"])
        reveal = request.query_params.get("reveal") == "1"
        try:
            body = thumbnail(image, reveal=reveal, box=box)
        except Exception:  # noqa: BLE001 - an unreadable image is simply not shown
            return Response("Not Found", status_code=404)
        return Response(body, media_type="image/jpeg",
                        headers={"Cache-Control": "no-store", **SECURITY_HEADERS})

    routes = [
        Route("/", index),
        Route("/review/{question}", review),
        Route("/api/next", api_next),
        Route("/api/answer", api_answer, methods=["POST"]),
        Route("/api/refresh", api_refresh, methods=["POST"]),
        Route("/thumb/{rel_path:path}", thumb),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    middleware = [Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts or ["*"])]
    return Starlette(routes=routes, middleware=middleware)


def _snapshot_dict(snapshot) -> dict | None:
    return None if snapshot is None else {"taken_at": snapshot.taken_at, "n_items": snapshot.n_items}


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening socket, or one sentence when the port is taken or the address is wrong."""
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise CensusError(f"Cannot listen on {host}: {error.strerror}.") from None
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(128)
    except OSError as error:
        sock.close()
        if error.errno == errno.EADDRINUSE:
            raise CensusError(f"Port {port} on {host} is already in use (another server?); "
                              "choose another with --port.") from None
        raise CensusError(f"Cannot listen on {host}:{port}: {error.strerror}.") from None
    return sock


def _server(site: ReviewSite, host: str):
    import uvicorn

    allowed = LOOPBACK_NAMES if is_loopback(host) else ["*"]
    config = uvicorn.Config(create_app(site, allowed_hosts=allowed), log_level="warning", access_log=False,
                            lifespan="off", timeout_graceful_shutdown=5)
    return uvicorn.Server(config)


def start_site(root: Path, dataset: str, db: Path | None, store_path: Path) -> ReviewSite:
    """The site with its first queue copy; one sentence when there is nothing to review."""
    if not root.is_dir():
        raise CensusError(f"The dataset folder {root} does not exist.")
    new = not Path(store_path).exists()
    store = ReviewStore(store_path)
    site = ReviewSite(root=root, dataset=dataset, store=store, db=db)
    notice = site.refresh()
    if notice and store.snapshot(dataset) is None and "busy" not in notice:
        if new:  # nothing to review: leave no empty store behind
            for suffix in ("", "-wal", "-shm"):
                Path(f"{store_path}{suffix}").unlink(missing_ok=True)
        raise CensusError(notice)
    return site


def serve(site: ReviewSite, sock: socket.socket, host: str) -> None:
    """Serve until Ctrl-C (blocking)."""
    _server(site, host).run(sockets=[sock])


@contextlib.contextmanager
def running(site: ReviewSite, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve in a background thread (tests, screenshots); yields the base URL."""
    sock = bind(host, port)
    server = _server(site, host)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        for _ in range(500):
            if server.started:
                break
            threading.Event().wait(0.01)
        name = sock.getsockname()
        yield f"http://{'[' + name[0] + ']' if ':' in name[0] else name[0]}:{name[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
