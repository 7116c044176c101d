"""The HTML report opened in headless Chromium: charts drawn, screenshot taken, no console errors."""

from __future__ import annotations

import os
import re
import shutil
import struct
import zlib
from pathlib import Path

import pytest
from capture_helpers import socket_churn
from report_helpers import hostile_result

from analyzer.render.report import ReportOptions, build_report, render

pytestmark = pytest.mark.browser

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "leak_appended.log"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

needs_browser = pytest.mark.skipif(
    not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)),
    reason="needs Debian chromium and chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver)",
)


@pytest.fixture
def driver(tmp_path: Path):
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        "--window-size=1200,900",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    with socket_churn():  # a browser opens sockets of its own: not while a real-leak test measures them
        drv = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
        drv.set_page_load_timeout(60)
        try:
            yield drv
        finally:
            drv.quit()


def png_is_not_blank(data: bytes) -> bool:
    """Decode the PNG's pixels (8-bit RGB/RGBA, non-interlaced) and check they are not all one colour."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    assert header is not None
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0
    channels = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * channels
    # Rows are filtered, but any row whose filtered bytes differ from the first pixel's
    # repetition shows content; unfiltering fully is not needed for "not blank".
    rows = {raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)] for y in range(0, height, 7)}
    first = raw[1 : 1 + channels]
    return len(rows) > 1 or any(row != first * width for row in rows)


def _visible_tip(driver) -> str:
    return driver.execute_script(
        "var t = Array.from(document.querySelectorAll('.tip')).find(function (e) { return !e.hidden; });"
        "return t ? t.textContent : '';"
    )


@needs_browser
def test_html_report_interactions_in_chromium(tmp_path: Path, driver) -> None:
    """Charts drawn, hover values, the time-window brush, a tag charted on click, owners grouped."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    report = build_report([str(SAMPLE)], ReportOptions(use_default_tags=False))
    page = tmp_path / "report.html"
    page.write_text(render(report, "html"), encoding="utf-8")
    driver.get(page.as_uri())
    assert driver.execute_script("return document.documentElement.getAttribute('data-ready')") == "1"

    # Small multiples: every suspect, then the top movers, each with a drawn line.
    cards = driver.execute_script(
        """
        return Array.from(document.querySelectorAll('#multiples .card')).map(function (c) {
          var svg = c.querySelector('svg'), r = svg.getBoundingClientRect();
          var line = svg.querySelector('path.series');
          return {key: c.getAttribute('data-key'), w: r.width, h: r.height,
                  line: line ? line.getBBox().width : 0};
        });
        """
    )
    assert [c["key"] for c in cards[: len(report.suspects)]] == [f"{s.tag}\u0000{s.pool}" for s in report.suspects]
    assert len(cards) == len(report.suspects) + 12
    assert all(c["w"] > 200 and c["h"] > 100 and c["line"] > 100 for c in cards)

    # One axis per pool: the nonpaged chart's scale is its own, so its +2.5 MB change fills the chart.
    axes = driver.execute_script(
        """
        return Array.from(document.querySelectorAll('#pool-charts .card')).map(function (c) {
          return [c.getAttribute('data-pool'),
                  Array.from(c.querySelectorAll('text.axis')).map(function (t) { return t.textContent; })];
        });
        """
    )
    assert [pool for pool, _ in axes] == ["nonpaged", "paged"]
    labels = dict(axes)
    assert labels["nonpaged"] != labels["paged"]
    assert all(label.endswith("MB") and 210 < float(label.split()[0]) < 225
               for label in labels["nonpaged"] if label.endswith("MB"))

    # Hover: the time and the value under the mouse.
    first = driver.find_element(By.CSS_SELECTOR, "#multiples .card svg")
    ActionChains(driver).move_to_element_with_offset(first, 40, 0).perform()
    tip = _visible_tip(driver)
    assert re.match(r"^2026-11-21 \d\d:\d\d  \d+(\.\d)? (KB|MB)$", tip), tip

    # Brush: drag across the overview strip; every chart follows the window; double-click resets.
    overview = driver.find_element(By.CSS_SELECTOR, "#overview svg")
    width = overview.size["width"]
    (ActionChains(driver).move_to_element_with_offset(overview, -width // 4, 0).click_and_hold()
     .move_by_offset(width // 3, 0).release().perform())
    label = driver.find_element(By.ID, "window-label").text
    assert re.match(r"^2026-11-21 1\d:\d\d → 2026-11-21 1\d:\d\d$", label), label
    start = label.split(" → ")[0]
    ticks = driver.execute_script(
        "return Array.from(document.querySelectorAll('#multiples .card')).map(function (c) {"
        " return c.querySelectorAll('text.axis')[4].textContent; });"
    )
    assert set(ticks) == {start} and start != "2026-11-21 14:03"
    # Charts are redrawn for the window: find the strip again.
    ActionChains(driver).double_click(driver.find_element(By.CSS_SELECTOR, "#overview svg")).perform()
    assert driver.find_element(By.ID, "window-label").text == "the whole capture"

    # Any tag from the full table is charted on click.
    row = driver.find_element(By.CSS_SELECTOR, '#all-tags tbody tr[data-key^="Pool"]')
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", row)
    row.click()
    picked = driver.find_elements(By.CSS_SELECTOR, "#picked .card")
    assert len(picked) == 1 and picked[0].get_attribute("data-key").startswith("Pool")
    assert driver.execute_script("return document.querySelector('#picked path.series').getBBox().width") > 100

    # Owners: one row per driver; clicking one lists exactly its tags.
    owner_row = driver.find_element(By.CSS_SELECTOR, '#owner-table tbody tr[data-group="ndis.sys"]')
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", owner_row)
    owner_row.click()
    shown = driver.execute_script(
        "return Array.from(document.querySelectorAll('#all-tags tbody tr')).filter(function (r) {"
        " return !r.hidden; }).map(function (r) { return r.getAttribute('data-group'); });"
    )
    ndis = [r for r in report.trend_rows if (report.owners.get((r.tag, r.pool)) or "").startswith("ndis.sys")]
    assert shown == ["ndis.sys"] * len(ndis) and len(ndis) >= 2

    # The first -> last table still sorts on its headings.
    th = driver.find_elements(By.CSS_SELECTOR, "#diff-table th")[0]
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", th)
    th.click()
    tags = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#diff-table tbody tr td:first-child")]
    assert tags == sorted(tags, key=str.lower)
    assert th.get_attribute("aria-sort") == "ascending"

    driver.execute_script("window.scrollTo(0, 0)")
    shot = tmp_path / "report.png"
    assert driver.save_screenshot(str(shot))
    data = shot.read_bytes()
    assert len(data) > 10_000
    assert png_is_not_blank(data)

    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []


@needs_browser
def test_hostile_text_stays_text_in_chromium(tmp_path: Path, driver) -> None:
    result, tag_file = hostile_result(tmp_path)
    report = build_report(result, ReportOptions(tag_files=[tag_file], use_default_tags=False))
    page = tmp_path / "hostile.html"
    page.write_text(render(report, "html"), encoding="utf-8")
    driver.get(page.as_uri())
    # An alert would make any further command raise UnexpectedAlertPresentException.
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text  # noqa: B018 - reading it is what raises when no alert fired
    # One script runs; the other script element is the chart data, JSON that is never executed.
    runnable = "return document.querySelectorAll('script:not([type=\"application/json\"])').length"
    assert driver.execute_script(runnable) == 1
    assert driver.execute_script("return document.querySelectorAll('img').length") == 0
    assert driver.execute_script("return window.__pwned === undefined")
    body = driver.find_element(By.TAG_NAME, "body").text
    assert "<script>alert(1)</script>" in body
    assert '"><img src=x onerror=window.__pwned=1>' in body
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []


@needs_browser
def test_thin_inputs_render_without_errors(tmp_path: Path, driver) -> None:
    from report_helpers import leak_snapshots

    from parsers import ParseResult

    untimed = leak_snapshots(10)
    for s in untimed:
        s.timestamp = None
    cases = {"untimed": ParseResult(untimed, [], []), "single": ParseResult(leak_snapshots(1), [], [])}
    for name, result in cases.items():
        report = build_report(result, ReportOptions(use_default_tags=False))
        page = tmp_path / f"{name}.html"
        page.write_text(render(report, "html"), encoding="utf-8")
        driver.get(page.as_uri())
        charts = driver.execute_script(
            "return Array.from(document.querySelectorAll('svg.plot')).map(function (s) {"
            " var r = s.getBoundingClientRect(); return [s.closest('[id]').id, r.width, r.height,"
            " Array.from(s.querySelectorAll('text.axis')).map(function (t) { return t.textContent; })]; });"
        )
        pools = [c for c in charts if c[0] == "pool-charts"]
        assert len(pools) == len(report.totals) >= 1, name
        assert all(w > 100 and h > 50 for _, w, h, _ in charts), name
        if name == "untimed":
            # Without timestamps the axis counts snapshots.
            assert len([c for c in charts if c[0] == "multiples"]) >= len(report.suspects) >= 1
            assert "snapshot 1" in pools[0][3] and "snapshot 10" in pools[0][3]
        assert [e for e in driver.get_log("browser") if e["level"] == "SEVERE"] == [], name


def test_html_size_budget_for_3000_tags_over_1440_snapshots() -> None:
    """The page stays within 3 MB for a day of one-minute snapshots of 3,000 tags (downsampled series)."""
    from analyzer.render.report.chart_data import chart_document
    from analyzer.render.report.html import render_html
    from bench.report_bench import synthetic_report

    report = synthetic_report(3000, 1440)
    text = render_html(report)
    assert len(text.encode("utf-8")) <= 3_000_000
    doc = chart_document(report)
    assert doc["downsampled"] and len(doc["rows"]) == 3000 and len(doc["t"]) == 1440
    # Suspects and top movers stay exact at full resolution; the rest keep each bucket's maximum.
    assert len(doc["detail"]) == 5 + 12 and all(len(v) == 1440 for v in doc["detail"].values())
    series = report.extra["series_set"].values["bytes"]
    row = doc["rows"][7]
    import base64

    import numpy as np

    levels = np.frombuffer(base64.b64decode(row["q"]), dtype="<u2")
    decoded = row["lo"] + levels / 65534 * (row["hi"] - row["lo"])
    assert decoded.max() == pytest.approx(series[:, 7].max(), rel=1e-4)
    assert len(levels) == len(doc["bt"]) <= 240
