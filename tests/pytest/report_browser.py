"""Render a report in headless Chromium (Debian's package, driven by Playwright) and say what a
person would see: which charts drew and how many marks each holds, the console's errors, any
request that left the file, and the text of each section."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")

# per chart container: its state, the Vega SVGs it holds, and the marks drawn inside them
PROBE = """() => ({
  charts: Array.from(document.querySelectorAll('div.chart')).map(el => ({
    id: el.id,
    rendered: el.getAttribute('data-rendered'),
    svgs: el.querySelectorAll('svg.marks').length,
    marks: el.querySelectorAll('svg.marks g.role-mark > *').length,
    title: Array.from(el.querySelectorAll('svg.marks g.role-title text')).map(t => t.textContent).join(' '),
    axes: Array.from(el.querySelectorAll('svg.marks g.role-axis-title text')).map(t => t.textContent),
    reading: (el.nextElementSibling && el.nextElementSibling.nextElementSibling || {}).textContent || '',
  })),
  expected: Number(document.body.getAttribute('data-chart-count')),
  sections: Object.fromEntries(Array.from(document.querySelectorAll('section[data-section]'))
                               .map(s => [s.id, s.innerText])),
})"""


@dataclass
class Rendered:
    charts: list[dict]
    expected: int
    sections: dict[str, str]
    console_errors: list[str]
    foreign_requests: list[str]
    seconds: float


def chromium_or_skip() -> Path:
    """The browser; a missing one fails under CI (make test installs it) and skips elsewhere."""
    if CHROMIUM.exists() or shutil.which("chromium"):
        return CHROMIUM if CHROMIUM.exists() else Path(shutil.which("chromium"))
    if os.environ.get("CI"):
        pytest.fail("Chromium is missing: `make browser` installs Debian's package.")
    pytest.skip("Chromium is not installed (`make browser`).")


def render(html_path: Path, screenshot: Path | None = None, timeout_s: float = 60) -> Rendered:
    import time

    from playwright.sync_api import sync_playwright

    executable = chromium_or_skip()
    start = time.monotonic()
    errors: list[str] = []
    foreign: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(executable), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: None if r.url.startswith(("file://", "data:", "blob:"))
                    else foreign.append(r.url))
            page.goto(html_path.resolve().as_uri())
            page.wait_for_selector("body[data-charts=done]", timeout=timeout_s * 1000)
            probe = page.evaluate(PROBE)
            if screenshot is not None:
                page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    return Rendered(probe["charts"], probe["expected"], probe["sections"], errors, foreign,
                    time.monotonic() - start)
