"""The review page in a real browser: Debian's Chromium (/usr/bin/chromium; `make test` and
.ci/run install it) driven by Playwright. A reviewer loads a queue, reveals a thumbnail and
answers by keyboard; two reviewers work through one queue at once and their answers land in
raw.reviews once each.

With CENSUS_SCREENSHOTS=DIR set, the page's screenshots for the README are written there
(blurred thumbnails only): CENSUS_SCREENSHOTS=docs .venv/bin/pytest tests/pytest/review/test_review_browser.py"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest
from review_world import DATASET

from ingest.review.land import land_reviews

CHROMIUM = Path("/usr/bin/chromium")
playwright = pytest.importorskip("playwright.sync_api")
if not CHROMIUM.exists():
    if os.environ.get("CI"):
        raise RuntimeError("/usr/bin/chromium is missing: `apt-get install -y chromium` (the Makefile's test target "
                           "does) before the browser test")
    pytest.skip("no /usr/bin/chromium (apt-get install -y chromium)", allow_module_level=True)

SHOTS = os.environ.get("CENSUS_SCREENSHOTS")


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        yield browser
        browser.close()



def shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / name))


def open_queue(browser, url: str, reviewer: str, question: str):
    # the page's CSP forbids eval, which Playwright's wait_for_function needs: bypassed for the test only
    page = browser.new_page(viewport={"width": 1180, "height": 720}, bypass_csp=True)
    page.goto(url + "/")
    page.fill("#reviewer", reviewer)
    page.click("#who button[type=submit]")
    page.wait_for_selector(f"tr[data-queue={question}] a.start")
    return page


def wait_ready(page, previous: str | None = None) -> str:
    """Wait until the next item is shown and its thumbnail has loaded; returns the item key."""
    page.wait_for_function(
        "prev => document.body.dataset.state === 'done' || (document.body.dataset.state === 'ready'"
        " && document.body.dataset.item !== prev && document.getElementById('thumb').complete"
        " && document.getElementById('thumb').naturalWidth > 0)", arg=previous)
    return page.evaluate("document.body.dataset.state === 'done' ? null : document.body.dataset.item")


def test_a_reviewer_reveals_and_answers_by_keyboard(browser, served):
    url, site, _ = served
    page = open_queue(browser, url, "erin", "nsfw_category")
    shot(page, "review-queues.png")
    page.click("tr[data-queue=nsfw_category] a.start")
    key = wait_ready(page)
    thumb = page.locator("#thumb")
    assert thumb.get_attribute("data-revealed") == "0" and "reveal=1" not in thumb.get_attribute("src")
    assert page.locator("#blur-state").inner_text() == "blurred"
    page.keyboard.press("r")
    page.wait_for_function("document.getElementById('thumb').src.includes('reveal=1')"
                           " && document.getElementById('thumb').complete"
                           " && document.getElementById('thumb').naturalWidth > 0")
    assert page.locator("#blur-state").inner_text() == "revealed"
    page.keyboard.press("r")  # blurred again
    assert "reveal=1" not in thumb.get_attribute("src")
    page.keyboard.press("t")
    page.keyboard.type("swimwear, beach")
    page.keyboard.press("Escape")
    page.keyboard.press("1")
    answered = [key]
    key = wait_ready(page, key)
    for press in ("0", "3", "4"):
        page.keyboard.press(press)
        answered.append(key)
        key = wait_ready(page, key)
    assert key is None and page.locator("#done").is_visible()
    assert "answered by you: 4 of 4" in page.locator("#progress-text").inner_text()
    answers = site.store.answers().set_index("reviewer").loc[["erin"]]
    by_item = {f"nsfw_category/{row.image_id}": (row.answer, row.note) for row in answers.itertuples()}
    assert [by_item[k][0] for k in answered] == ["beach_voyeur", "not_nsfw", "upskirt", "verifiably_pornographic"]
    assert by_item[answered[0]][1] == "swimwear, beach"
    page.close()


def test_two_reviewers_at_once_land_once_each(browser, served):
    url, site, db = served
    pages = {name: open_queue(browser, url, name, "is_face") for name in ("frank", "gina")}
    keys = {}
    for name, page in pages.items():
        page.click("tr[data-queue=is_face] a.start")
        keys[name] = wait_ready(page)
    shot(pages["frank"], "review-face-blurred.png")
    assert keys["frank"] == keys["gina"]  # both on the same queue, at the same item
    seen = {name: [] for name in pages}
    while any(keys.values()):
        for name, page in pages.items():  # interleaved: each answers while the other's page is open
            if keys[name] is None:
                continue
            page.keyboard.press("y" if name == "frank" else "n")
            seen[name].append(keys[name])
            keys[name] = wait_ready(page, keys[name])
    total = site.store.progress(DATASET, "frank")["is_face"]["total"]
    assert len(seen["frank"]) == len(set(seen["frank"])) == total == len(seen["gina"]) == len(set(seen["gina"]))
    assert land_reviews(db, site.store.path) == {"pending": 2 * total, "landed": 2 * total, "already": 0}
    assert land_reviews(db, site.store.path)["landed"] == 0
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute("select reviewer, answer, count(*), count(distinct (image_id, annotator, face_idx)) "
                           "from raw.reviews where question = 'is_face' and reviewer in ('frank', 'gina') "
                           "group by reviewer, answer order by reviewer").fetchall()
    finally:
        con.close()
    assert rows == [("frank", "yes", total, total), ("gina", "no", total, total)]
    for page in pages.values():
        page.close()
