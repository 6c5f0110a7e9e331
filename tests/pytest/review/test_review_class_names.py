"""The review page names an item's class ("bikini (n02837789)") instead of its bare wnid: the
API gives the name beside the wnid, and the page shows it."""

from __future__ import annotations

from marts_data import REPO
from review_world import FLAGGED
from test_review_server import next_item

from ingest.core.classes import named


def test_the_review_item_carries_its_class_name(served):  # noqa: F811 (the imported fixture)
    url, _, _ = served
    item = next_item(url, "nsfw_category", "dana")["item"]
    assert item["wnid"] == FLAGGED
    assert item["class_name"] == named(FLAGGED) == f"bikini ({FLAGGED})"
    script = (REPO / "ingest" / "review" / "static" / "review.js").read_text()
    assert "item.class_name" in script and '["class", item.wnid' not in script
