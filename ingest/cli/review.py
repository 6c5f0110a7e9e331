"""`ingest review`: the reviewers' page and landing their answers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..core.errors import CensusError
from .app import group
from .console import notice, out
from .options import DbOption

review_app = group("Human review of the census flags: a reviewer's page and its answers.")
StoreOption = Annotated[Path | None, typer.Option(
    "--store", help="The review answers' SQLite file; default: <warehouse>.reviews.sqlite beside the warehouse.")]


@review_app.command("serve")
def review_serve(
    dataset_root: Annotated[Path, typer.Argument(help="The dataset folder (as given to `ingest run`).")],
    dataset: Annotated[str | None, typer.Option(help="Dataset name in the warehouse; default: folder name.")] = None,
    host: Annotated[str, typer.Option(help="Address to listen on (loopback only by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8765,
    land: Annotated[bool, typer.Option(help="Land the answers in raw.reviews when the server stops.")] = True,
    store: StoreOption = None,
    db: DbOption = None,
) -> None:
    """A local web page that walks reviewers through the review queues (dbt's review_queue:
    the NSFW shortlist, face boxes near the threshold or where detectors disagree, apparent
    minors in flagged classes). Thumbnails stay blurred until revealed; every answer has a key.

    Answers go to the review store, never to the warehouse, so `ingest run` and `dbt build`
    can run meanwhile; `ingest review land` (or stopping the server) puts them in raw.reviews.
    """
    from ..review.server import bind, is_loopback, serve, start_site
    from ..review.store import default_store_path

    name = dataset or dataset_root.resolve().name
    if not dataset_root.is_dir():
        raise CensusError(f"The dataset folder {dataset_root} does not exist.")
    sock = bind(host, port)  # first: a port in use is one sentence, before anything is written
    try:
        site = start_site(dataset_root, name, db, store or default_store_path(db))
    except BaseException:
        sock.close()
        raise
    if not is_loopback(host):
        notice(f"listening on {host}: anyone who can reach this machine can open the page and its images.")
    if site.notice:
        notice(site.notice)
    bound = sock.getsockname()
    shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
    out.print(f"Reviewing {name}: open http://{shown}:{bound[1]}/ (Ctrl-C to stop). "
              f"Answers are saved in {site.store.path}.", markup=False, highlight=False, soft_wrap=True)
    serve(site, sock, host)
    if land:
        _land_reviews(db, site.store.path, on_exit=True)


def _land_reviews(db: Path | None, store: Path | None, on_exit: bool = False) -> None:
    from ..core.errors import WarehouseBusy
    from ..review.land import land_reviews

    try:
        result = land_reviews(db, store)
    except WarehouseBusy:
        if not on_exit:
            raise
        notice("the warehouse is busy, so the answers stay in the review store: run `ingest review land` later.")
        return
    out.print(f"Landed {result['landed']:,} answers in raw.reviews "
              f"({result['already']:,} were there already).", markup=False, highlight=False)


@review_app.command("land")
def review_land(store: StoreOption = None, db: DbOption = None) -> None:
    """Put the answers given in the review page into raw.reviews (one transaction; landing
    twice adds nothing). Then `dbt build` updates review_agreement, review_consensus and
    confirmed_flags."""
    _land_reviews(db, store)
