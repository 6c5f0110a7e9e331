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
    svg: (r => [r.left, r.top, r.right, r.bottom])(el.querySelector('svg.marks') ?
      el.querySelector('svg.marks').getBoundingClientRect() : el.getBoundingClientRect()),
    texts: Array.from(el.querySelectorAll('svg.marks text'))
      .filter(t => t.getAttribute('opacity') !== '0' && getComputedStyle(t).opacity !== '0' && t.textContent.trim())
      .map(t => ({text: t.textContent, role: (t.closest('g[class*="role-"]') || {getAttribute: () => ''})
                    .getAttribute('class').split(' ').filter(c => c.startsWith('role-')).join(' '),
                  axis: t.closest('g.role-axis, g.role-legend, g.role-column-header, g.role-row-header') ?
                    Array.from(el.querySelectorAll('g.role-axis, g.role-legend, g.role-column-header, '
                      + 'g.role-row-header')).indexOf(t.closest('g.role-axis, g.role-legend, g.role-column-header, '
                      + 'g.role-row-header')) : -1,
                  box: (r => [r.left, r.top, r.right, r.bottom])(t.getBoundingClientRect())})),
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


def _number(text: str) -> bool:
    try:
        float(text.replace(",", "").replace("%", "").replace("−", "-"))
    except ValueError:
        return False
    return True


def _overlap(a: list[float], b: list[float], slack: float = 0.5) -> bool:
    return a[0] + slack < b[2] and b[0] + slack < a[2] and a[1] + slack < b[3] and b[1] + slack < a[3]


def label_problems(chart: dict) -> list[str]:
    """What a reader of one drawn chart would trip over, from its SVG text elements: two labels
    of one axis, legend or facet header that read the same, a label Vega cut short (it ends
    in an ellipsis), two texts drawn over each other, a text outside the chart's drawing."""
    problems = []
    texts = chart["texts"]
    groups: dict[int, list[str]] = {}
    for t in texts:
        if t["axis"] >= 0 and "label" in t["role"] or "header" in t["role"]:
            groups.setdefault(t["axis"], []).append(t["text"])
        if t["text"].endswith("…"):
            problems.append(f"cut by Vega: {t['text']!r}")
        left, top, right, bottom = chart["svg"]
        x0, y0, x1, y1 = t["box"]
        if x0 < left - 1 or x1 > right + 1 or y0 < top - 1 or y1 > bottom + 1:
            problems.append(f"outside the drawing: {t['text']!r}")
    for labels in groups.values():
        if all(_number(label) for label in labels):
            continue  # a quantitative axis may repeat a value (the pyramid's |x| on both sides)
        repeated = sorted({label for label in labels if labels.count(label) > 1})
        if repeated:
            problems.append(f"labels that read the same: {repeated}")
    for i, a in enumerate(texts):
        for b in texts[i + 1:]:
            if _overlap(a["box"], b["box"]):
                problems.append(f"{a['text']!r} ({a['role']}) drawn over {b['text']!r} ({b['role']})")
    return problems
