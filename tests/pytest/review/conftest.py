"""The review tests' shared fixture: a reviewer's page served on a copy of the review world."""

from __future__ import annotations

import pytest
from review_world import DATASET

from ingest.review.server import running, start_site


@pytest.fixture()
def served(review_world, tmp_path):
    """A server on a copy of the warehouse and its own store; yields (url, site, db)."""
    db = review_world.writable(tmp_path)
    site = start_site(review_world.root, DATASET, db, tmp_path / "answers.sqlite")
    with running(site) as url:
        yield url, site, db
