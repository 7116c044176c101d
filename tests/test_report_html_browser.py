"""The HTML report opened in headless Chromium: charts drawn, screenshot taken, no console errors."""

from __future__ import annotations

import os
import shutil
import struct
import zlib
from pathlib import Path

import pytest
from report_helpers import hostile_result, leak_result

from analyzer.render.report import ReportOptions, build_report, render

pytestmark = pytest.mark.browser

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


@needs_browser
def test_html_report_renders_charts_in_chromium(tmp_path: Path, driver) -> None:
    report = build_report(leak_result(), ReportOptions(use_default_tags=False))
    page = tmp_path / "report.html"
    page.write_text(render(report, "html"), encoding="utf-8")
    driver.get(page.as_uri())
    assert driver.execute_script("return document.documentElement.getAttribute('data-ready')") == "1"

    charts = driver.execute_script(
        """
        return Array.from(document.querySelectorAll('.chart svg')).map(function (svg) {
          var r = svg.getBoundingClientRect();
          var drawn = Array.from(svg.querySelectorAll('path')).filter(function (p) {
            var b = p.getBBox(); return b.width > 0 || b.height > 0;
          }).length;
          return {w: r.width, h: r.height, paths: drawn};
        });
        """
    )
    # One chart per suspect and one of the pool totals.
    assert len(charts) == len(report.suspects) + 1 >= 2
    for c in charts:
        assert c["w"] > 100 and c["h"] > 50
        assert c["paths"] > 10

    # The sortable table sorts when its heading is clicked.
    from selenium.webdriver.common.by import By

    th = driver.find_elements(By.CSS_SELECTOR, "#diff-table th")[0]
    th.click()
    tags = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#diff-table tbody tr td:first-child")]
    assert tags == sorted(tags, key=str.lower)
    assert th.get_attribute("aria-sort") == "ascending"
    th.click()
    tags = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#diff-table tbody tr td:first-child")]
    assert tags == sorted(tags, key=str.lower, reverse=True)

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
    assert driver.execute_script("return document.querySelectorAll('script').length") == 1
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
    cases = {
        "untimed": (ParseResult(untimed, [], []), 2),  # one suspect chart and the totals chart
        "single": (ParseResult(leak_snapshots(1), [], []), 1),  # the totals chart only
    }
    for name, (result, n_charts) in cases.items():
        page = tmp_path / f"{name}.html"
        page.write_text(render(build_report(result, ReportOptions(use_default_tags=False)), "html"), encoding="utf-8")
        driver.get(page.as_uri())
        sizes = driver.execute_script(
            "return Array.from(document.querySelectorAll('.chart svg')).map(function (s) {"
            " var r = s.getBoundingClientRect(); return [r.width, r.height]; });"
        )
        assert len(sizes) == n_charts, name
        assert all(w > 100 and h > 50 for w, h in sizes), name
        assert [e for e in driver.get_log("browser") if e["level"] == "SEVERE"] == [], name
