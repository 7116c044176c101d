"""``poolscope report``: golden terminal and Markdown output, JSON shape, escaping, format choice, progress."""

from __future__ import annotations

import io
import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from report_helpers import HOSTILE_ATTR, HOSTILE_FILE, HOSTILE_TAG, hostile_result, leak_result, leak_snapshots

from analyzer.cli import cli
from analyzer.render.report import ReportOptions, build_report, render
from analyzer.render.report.markdown import md_escape
from analyzer.render.report.progress import terminal_progress
from analyzer.render.report.text import sparkline
from parsers import parse

REPO = Path(__file__).resolve().parent.parent
GOLDEN = REPO / "tests" / "golden" / "report"
SAMPLE = "samples/leak_appended.log"


def run(*args: str, tmp_path: Path) -> tuple[int, str, str]:
    env = {k: None for k in os.environ if k.startswith("POOLSCOPE_")}
    env.update({"NO_COLOR": "1", "COLUMNS": "80", "POOLSCOPE_DATA_DIR": str(tmp_path / "userdata")})
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def check_golden(name: str, text: str) -> None:
    """Compare with tests/golden/report/NAME; POOLSCOPE_UPDATE_GOLDEN=1 rewrites it (review the diff)."""
    path = GOLDEN / name
    if os.environ.get("POOLSCOPE_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


@pytest.fixture
def in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)


# -- golden output ---------------------------------------------------------------------


def test_terminal_report_golden(tmp_path: Path, in_repo: None) -> None:
    code, out, err = run("report", SAMPLE, tmp_path=tmp_path)
    assert code == 0
    assert all(len(line) <= 80 for line in out.splitlines())
    assert "\x1b[" not in out  # no colour off a terminal
    check_golden("leak_appended.txt", out)
    # Warnings are part of the report itself, not repeated on stderr.
    assert err == ""


def test_markdown_report_golden(tmp_path: Path, in_repo: None) -> None:
    code, out, _ = run("report", SAMPLE, "--format", "markdown", tmp_path=tmp_path)
    assert code == 0
    check_golden("leak_appended.md", out)


def test_markdown_report_renders_as_tables_and_details(tmp_path: Path, in_repo: None) -> None:
    from markdown_it import MarkdownIt

    _, out, _ = run("report", SAMPLE, "--format", "markdown", tmp_path=tmp_path)
    html = MarkdownIt("gfm-like").render(out)
    tree = Elements.of(html)
    assert tree.count("table") >= 5
    assert tree.count("details") == 1 and tree.count("summary") == 1
    # Only <details>/<summary> were written as HTML: every other element came from Markdown syntax.
    raw_html = set(re.findall(r"^<(\w+)", out, re.MULTILINE))
    assert raw_html <= {"details", "summary"}
    assert "Wdrq" in tree.text


def test_json_report_shape(tmp_path: Path, in_repo: None) -> None:
    code, out, _ = run("report", SAMPLE, "--format", "json", tmp_path=tmp_path)
    assert code == 0
    data = json.loads(out)
    assert set(data) == {
        "report_version",
        "verdict",
        "level",
        "read",
        "suspects",
        "totals",
        "diff",
        "trend",
        "next_steps",
    }
    assert data["level"] == "leak"
    assert data["read"]["snapshots"] == 14
    # The format name parse prints for these snapshots (poolmon /n output), not the reader family.
    assert data["read"]["inputs"] == [{"name": SAMPLE, "format": "poolsnap", "encoding": "utf-8", "snapshots": 14}]
    top = data["suspects"][0]
    assert (top["tag"], top["pool"], top["verdict"]) == ("Wdrq", "nonpaged", "leak")
    assert top["rate_bytes_per_hour"] > 0
    assert len(top["series"]["times"]) == len(top["series"]["values"]) == 14
    assert top["series"]["values"][-1] == top["bytes_last"]
    assert {t["pool"] for t in data["totals"]} == {"nonpaged", "paged"}
    assert data["diff"]["before"].endswith("#0") and data["diff"]["after"].endswith("#13")
    assert data["diff"]["rows"][0]["tag"] == "Wdrq"
    assert any(step["command"] == "!poolfind Wdrq 0" for step in data["next_steps"])


# -- format choice and files ------------------------------------------------------------


def test_output_suffix_chooses_format(tmp_path: Path, in_repo: None) -> None:
    for name, marker in (("r.html", "<!DOCTYPE html>"), ("r.md", "## poolscope report"), ("r.json", '"verdict"')):
        target = tmp_path / name
        code, out, err = run("report", SAMPLE, "-o", str(target), tmp_path=tmp_path)
        assert code == 0 and out == ""
        assert marker in target.read_text(encoding="utf-8")
        assert err.splitlines()[-1] == f"report written to {target}"
        assert err.splitlines()[-2].startswith("Likely leak: Wdrq (nonpaged")
    # --format wins over the suffix.
    code, _, _ = run("report", SAMPLE, "-o", str(tmp_path / "x.html"), "--format", "markdown", tmp_path=tmp_path)
    assert (tmp_path / "x.html").read_text().startswith("## poolscope report")


def test_unknown_suffix_and_bad_input_are_one_line_errors(tmp_path: Path, in_repo: None) -> None:
    code, _, err = run("report", SAMPLE, "-o", str(tmp_path / "r.pdf"), tmp_path=tmp_path)
    assert code == 2
    assert err.splitlines()[-1] == (
        f"Error: cannot tell the format from '{tmp_path / 'r.pdf'}': use a .html, .md or .json name, or --format"
    )
    bad = tmp_path / "bad.log"
    bad.write_text("hello\nthis is not pool data\n")
    code, out, err = run("report", str(bad), tmp_path=tmp_path)
    assert code == 2 and out == ""
    assert err.startswith(f"Error: {bad}: not pool data")
    assert "Traceback" not in err and len(err.splitlines()) == 1


# -- verdicts for thin inputs ------------------------------------------------------------


def test_one_snapshot_and_untimed_inputs() -> None:
    from parsers import ParseResult, SourceInfo

    one = leak_snapshots(1)
    report = build_report(
        ParseResult(one, [], [SourceInfo("one.log", "poolmon", "utf-8", 1)]), ReportOptions(use_default_tags=False)
    )
    assert report.level == "insufficient-data"
    assert report.verdict.startswith("Only one snapshot was read")
    assert report.diff_rows == []
    assert [r.tag for r in report.largest][:2] == ["CM  ", "Io  "]
    text = render(report, "table")
    assert "Largest consumers in the last snapshot:" in text

    untimed = leak_snapshots(10)
    for s in untimed:
        s.timestamp = None
    report = build_report(ParseResult(untimed, [], []), ReportOptions(use_default_tags=False))
    assert not report.timed
    assert report.next_steps[0].command == "poolscope report INPUT... --interval 5m"
    assert report.suspects[0].series.times == list(range(1, 11))
    assert "no timestamps" in render(report, "markdown")


def test_clean_log_says_no_leak() -> None:
    from parsers import ParseResult

    snaps = leak_snapshots(10)
    flat = [s for s in snaps]
    for s in flat:
        s.rows = s.rows.take([i for i, t in enumerate(s.rows.tags) if t == "Io  "])
    report = build_report(ParseResult(flat, [], []), ReportOptions(use_default_tags=False))
    assert report.level == "clean"
    assert report.verdict == "No leak found: no tag grew steadily over 4h30m (10 snapshots)."
    assert report.suspects == []


# -- escaping --------------------------------------------------------------------------


class Elements(HTMLParser):
    """Every element and the text of a document, as the browser's tokenizer would see them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False
        self.chunks: list[str] = []
        self.row_widths: list[list[int]] = []  # per table, the cell count of each row

    @classmethod
    def of(cls, html: str) -> Elements:
        parser = cls()
        parser.feed(html)
        parser.close()
        return parser

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"
        if tag == "table":
            self.row_widths.append([])
        elif tag == "tr":
            self.row_widths[-1].append(0)
        elif tag in ("td", "th"):
            self.row_widths[-1][-1] += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)
        else:
            self.chunks.append(data)

    @property
    def text(self) -> str:
        return "".join(self.chunks)

    def count(self, name: str) -> int:
        return sum(1 for t, _ in self.tags if t == name)


def test_html_report_escapes_hostile_tags_descriptions_and_file_names(tmp_path: Path) -> None:
    from analyzer.render.report.html import _SCRIPT

    result, tag_file = hostile_result(tmp_path)
    report = build_report(result, ReportOptions(tag_files=[tag_file], use_default_tags=False))
    assert report.suspects[0].tag == HOSTILE_TAG
    assert report.owners[("Late", "paged")].startswith('evil"><img')
    html = render(report, "html")
    doc = Elements.of(html)
    # Our script, and the chart data as JSON (a data block the browser never runs) with no "<" in it.
    assert doc.count("script") == 2 and doc.scripts[-1] == _SCRIPT
    kinds = [a.get("type") for t, a in doc.tags if t == "script"]
    assert kinds == ["application/json", None]
    data = json.loads(doc.scripts[0])
    assert "<" not in doc.scripts[0] and any(r["tag"] == HOSTILE_TAG for r in data["rows"])
    assert doc.count("img") == 0 and doc.count("b") == 0
    for _, attrs in doc.tags:
        assert not any(name.startswith("on") for name in attrs), attrs
        assert not any("javascript:" in (value or "") for value in attrs.values())
    # The hostile strings are there, as text.
    assert HOSTILE_TAG in doc.text
    assert HOSTILE_ATTR in doc.text
    assert HOSTILE_FILE in doc.text
    assert "[x](javascript:alert(1))" in doc.text
    # Strict CSP: only our script by hash, nothing from the network.
    csp = next(a["content"] for t, a in doc.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy")
    assert "default-src 'none'" in csp and "script-src 'sha256-" in csp and "unsafe-inline" not in csp.split(";")[1]
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html)


def test_markdown_report_escapes_hostile_text(tmp_path: Path) -> None:
    from markdown_it import MarkdownIt

    result, tag_file = hostile_result(tmp_path)
    report = build_report(result, ReportOptions(tag_files=[tag_file], use_default_tags=False))
    md = render(report, "markdown")
    # Rendered with raw HTML allowed, as a permissive tracker would: nothing hostile becomes markup.
    doc = Elements.of(MarkdownIt("gfm-like").render(md))
    names = {t for t, _ in doc.tags}
    assert not names & {"script", "img", "b", "a", "em", "s", "del"}
    assert "*bold*" in doc.text and "@someone #12" in doc.text
    assert HOSTILE_TAG in doc.text and HOSTILE_ATTR in doc.text and HOSTILE_FILE in doc.text
    # Every table row keeps its column count although a description holds a pipe.
    assert doc.row_widths and all(len(set(widths)) == 1 for widths in doc.row_widths)


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        "a|b",
        "*x* _y_ `z`",
        "[l](javascript:x)",
        "![i](x)",
        "&lt;",
        "@user #1",
        "~~s~~",
        "back\\slash",
        "line\nbreak",
    ],
)
def test_md_escape_round_trips_as_plain_text(text: str) -> None:
    from markdown_it import MarkdownIt

    html = MarkdownIt("gfm-like").render(f"| h |\n| --- |\n| {md_escape(text)} |\n")
    doc = Elements.of(html)
    # A bare address's "@" sits in a code span of its own (GFM would link it otherwise).
    assert {t for t, _ in doc.tags} - {"code"} == {"table", "thead", "tr", "th", "tbody", "td"}
    assert doc.text.replace("\n", "").strip().removeprefix("h") == text.replace("\n", " ")


# -- bits ------------------------------------------------------------------------------


def test_terminal_colours_growth_only_when_asked(tmp_path: Path) -> None:
    from rich.console import Console

    from analyzer.render.report.terminal import render_terminal

    report = build_report(leak_result(), ReportOptions(use_default_tags=False))
    buf = io.StringIO()
    render_terminal(report, Console(file=buf, width=80, force_terminal=True, color_system="standard"))
    coloured = buf.getvalue()
    assert re.search(r"\x1b\[31m\+625\.0 KB/h", coloured)  # growth in red
    assert re.search(r"\x1b\[1;31mleak", coloured)
    assert "\x1b[" not in render(report, "table")


def test_sparkline_scales_and_buckets() -> None:
    assert sparkline([0, 1, 2, 3, 4, 5, 6, 7]) == "▁▂▃▄▅▆▇█"
    assert sparkline([5, 5, 5]) == "▁▁▁"
    assert sparkline([None, 1, None, 3]) == " ▁ █"
    assert len(sparkline(list(range(1000)), width=16)) == 16
    assert sparkline([]) == ""


def test_progress_reports_each_source_by_bytes(tmp_path: Path) -> None:
    from report_helpers import poolmon_log

    snaps = leak_snapshots(4)
    files = []
    for i in range(3):
        f = tmp_path / f"part{i}.log"
        f.write_text(poolmon_log(snaps[i : i + 2]))
        files.append(f)
    calls: list[tuple[str, float, float | None, str | None]] = []
    result = parse(files, progress=lambda *a: calls.append(a))
    assert len(result.snapshots) == 6
    total = float(sum(f.stat().st_size for f in files))
    reads = [c for c in calls if c[0] == "read"]
    assert [c[1] for c in reads] == [0.0, files[0].stat().st_size, total - files[2].stat().st_size, total]
    assert all(c[2] == total for c in reads)
    assert reads[0][3] == "reading part0.log"

    # The rich bars draw on the given stream and are erased at the end.
    stream = io.StringIO()
    with terminal_progress(True, stream=stream) as callback:
        assert callback is not None
        build_report(files, ReportOptions(use_default_tags=False, progress=callback))
    drawn = stream.getvalue()
    assert "reading part0.log" in drawn and "analysing trends" in drawn
    assert "━" in drawn  # the bar itself
    with terminal_progress(False) as callback:
        assert callback is None


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs")), max_size=40))
def test_md_escape_any_text_stays_literal(text: str) -> None:
    """Whatever a tag or description holds, a table cell shows exactly that text and no markup."""
    from markdown_it import MarkdownIt

    html = MarkdownIt("gfm-like").render(f"| h |\n| --- |\n| {md_escape(text)} |\n")
    doc = Elements.of(html)
    # A bare address's "@" sits in a code span of its own (GFM would link it otherwise).
    assert {t for t, _ in doc.tags} - {"code"} == {"table", "thead", "tr", "th", "tbody", "td"}
    assert doc.row_widths == [[1, 1]]
    cell = doc.text.replace("\n", "").removeprefix("h")
    assert cell.strip() == text.strip()  # a cell drops the whitespace at its edges


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30))
def test_html_cells_escape_any_text(text: str) -> None:
    from analyzer.render.report.html import _cell

    doc = Elements.of(f"<table><tr>{_cell(text)}</tr></table>")
    assert [t for t, _ in doc.tags] == ["table", "tr", "td"]
    assert doc.text == text.replace("\r\n", "\n").replace("\r", "\n") or doc.text == text


def test_slab_caches_get_linux_next_steps(in_repo: None) -> None:
    report = build_report(["samples/slabinfo_series.txt"], ReportOptions(use_default_tags=False))
    assert report.level == "leak"
    assert report.verdict.startswith("Likely leak: kmalloc-256 (slab cache) grew steadily at")
    commands = [s.command for s in report.next_steps if s.command]
    assert commands[0] == "sort -rn /sys/kernel/slab/kmalloc-256/alloc_calls | head"
    assert "echo scan > /sys/kernel/debug/kmemleak && cat /sys/kernel/debug/kmemleak" in commands
    assert not any("poolfind" in c or "verifier" in c for c in commands)
    assert {s.where for s in report.next_steps} <= {"linux", "poolscope"}


def test_too_few_snapshots_names_the_largest_growth() -> None:
    report = build_report(leak_result(3), ReportOptions(use_default_tags=False))
    assert report.level == "insufficient-data"
    assert report.verdict == (
        "Too few snapshots over 60m (3 snapshots) to judge any tag; the largest growth from first to last "
        "was Abcd (nonpaged, +625.0 KB); capture for longer."
    )
    assert report.next_steps[-1].command == "poolscope capture --interval 5m --duration 6h -o pool-capture.log"


def test_mixed_scopes_report_one_and_say_so() -> None:
    from dataclasses import replace

    from parsers import ParseResult

    snaps = leak_snapshots(10)
    session = [replace(s, scope="session:1", index=s.index + 100) for s in leak_snapshots(3, leak_tag="Sess")]
    report = build_report(ParseResult(snaps + session, [], []), ReportOptions(use_default_tags=False))
    assert report.snapshot_count == 10
    assert report.notes == ["3 snapshots of other pool scopes (session:1) left out; this report covers system"]
    assert report.to_dict()["read"]["notes"] == report.notes
    assert "Sess" not in {r.tag for r in report.diff_rows}
    assert "- 3 snapshots of other pool scopes (session:1) left out; this report covers system" in render(
        report, "markdown"
    )


def test_markdown_full_tables_are_capped_for_issue_comments() -> None:
    from analyzer.render.report.markdown import render_markdown_report

    report = build_report(leak_result(), ReportOptions(use_default_tags=False))
    md = render_markdown_report(report, full_rows=2)
    assert "#### Top 2 of 5 tags by suspicion" in md
    # Rows whose allocations and frees moved with a 0 B change (churn) are no change worth a row.
    assert "#### Top 2 of 3 changes by size, leak.log\\#0 → leak.log\\#9" in md
    assert md.count("3 more rows are left out here; `--format html` or `--format json` lists them all.") == 1
    assert md.count("1 more rows are left out here; `--format html` or `--format json` lists them all.") == 1
    full = render_markdown_report(report)
    assert "#### Trend of every tag" in full and "more rows are left out" not in full


def test_progress_moves_while_one_big_file_is_parsed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from report_helpers import poolmon_log

    import parsers.textio as textio

    log = tmp_path / "big.log"
    log.write_text(poolmon_log(leak_snapshots(12)))
    size = log.stat().st_size
    # Stream it in small pieces, as a file of hundreds of megabytes would be.
    monkeypatch.setattr(textio, "STREAM_BYTES", 1024)
    monkeypatch.setattr(textio, "CHUNK_CHARS", 2048)
    calls: list[tuple[float, float | None]] = []
    result = parse([log], progress=lambda phase, done, total, label: calls.append((done, total)))
    assert len(result.snapshots) == 12
    middle = [done for done, total in calls[1:-1]]
    assert len(middle) >= 3 and all(0 < d <= size for d in middle) and middle[0] < size / 2
    assert middle == sorted(middle)
    assert all(total == size for _, total in calls)
    assert calls[-1] == (size, size)


def test_exhaustion_wording() -> None:
    from analyzer.render.report.text import exhaustion_text

    ex = {
        "resource": "available memory",
        "headroom_bytes": 3 * 1024**3,
        "hours": 41.5,
        "hours_low": 30.0,
        "hours_high": 80.0,
        "at": "2026-11-23T08:00:00",
    }
    assert exhaustion_text(ex) == (
        "available memory (3.0 GB left) runs out in about 41h30m at this rate (between 30h and 3.3d), "
        "around 2026-11-23 08:00"
    )
    assert exhaustion_text(ex | {"hours_high": None}) == (
        "available memory (3.0 GB left) runs out in about 41h30m at this rate (at the earliest in 30h), "
        "around 2026-11-23 08:00"
    )
    assert exhaustion_text({"resource": "commit limit", "headroom_bytes": 1024, "hours": 1e6}) == (
        "commit limit (1.0 KB left) would last over a year at this rate"
    )
    assert exhaustion_text(None) == ""


def test_interval_step_repeats_the_inputs(tmp_path: Path) -> None:
    from report_helpers import poolmon_log

    log = tmp_path / "untimed.log"
    text = "\n".join(line for line in poolmon_log(leak_snapshots(10)).splitlines() if not line.startswith("====="))
    log.write_text(text + "\n")
    report = build_report([log], ReportOptions(use_default_tags=False))
    assert not report.timed  # one file without markers: file order, no clock
    assert report.next_steps[0].command == f"poolscope report {log} --interval 5m"


def test_tag_filter_restricts_the_report() -> None:
    from analyzer.analysis.filters import TagFilter

    report = build_report(leak_result(), ReportOptions(use_default_tags=False, tag_filter=TagFilter(exclude=["Ab*"])))
    assert {r.tag for r in report.trend_rows} == {"Io  ", "CM  ", "Qrst", "Late"}
    assert report.suspects == [] and report.level == "clean"
