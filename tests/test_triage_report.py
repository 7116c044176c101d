"""poolscope triage: the case each kind of crash makes, golden reports, and the CLI."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from debugger_helpers import check_golden, sample

from analyzer.analysis.triage import triage_transcript
from analyzer.cli import cli
from analyzer.render.tables import render_json
from analyzer.render.triage_text import render_markdown, render_text
from parsers.transcript import read_text
from poolscope import triage


@pytest.fixture(autouse=True)
def _no_local_tag_files(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Owner answers must come from the inputs only, whatever the machine has installed."""
    monkeypatch.delenv("POOLSCOPE_TAGS", raising=False)
    monkeypatch.setenv("POOLSCOPE_DATA_DIR", str(tmp_path / "data"))


def test_0x41_names_the_exhausted_pool_and_the_top_tag_with_its_owner() -> None:
    report = triage(str(sample("windbg_0x41.txt")))
    assert report.category == "exhaustion"
    assert report.exhausted_pool == "nonpaged"
    top = report.top("nonpaged")
    assert top is not None
    assert (top.tag, top.bytes, top.owner) == ("Abcd", 201326400, "abcfilt.sys - Abc request buffers")
    assert report.pools[0].percent == 99.8
    assert report.summary == (
        "nonpaged pool exhausted, 99.8% of its maximum (261,648 KB of 262,144 KB); top tag Abcd "
        "(abcfilt.sys - Abc request buffers) holds 201,326,400 bytes, 79.7% of the pool"
    )
    assert report.suspects == ["abcfilt.sys"]
    assert "!poolfind Abcd 0" in report.next_commands


def test_owner_from_a_tag_file_wins_over_the_dump_description(tmp_path) -> None:  # type: ignore[no-untyped-def]
    tags = tmp_path / "pooltag.txt"
    tags.write_text("Abcd - abcfilt.sys - Abc filter request buffers (vendor list)\n")
    report = triage(str(sample("windbg_0x41.txt")), tag_files=[str(tags)])
    top = report.top("nonpaged")
    assert top is not None and top.owner == "abcfilt.sys - Abc filter request buffers (vendor list)"
    assert top.owner_source is not None and "pooltag.txt" in top.owner_source
    # Every candidate stays in the JSON row, the tag file first, then the dump's own description.
    candidates = top.to_dict()["owner_candidates"]
    assert [(c["binary"], c["description"]) for c in candidates] == [
        ("abcfilt.sys", "Abc filter request buffers (vendor list)"),
        ("abcfilt.sys", "Abc request buffers"),
    ]
    assert candidates[0]["source"] == f"--tags: {tags}"
    assert candidates[1]["source"].startswith("input evidence:")


@pytest.mark.parametrize(("name", "fmt"), [
    ("windbg_0x41.txt", "table"), ("windbg_0x41.txt", "json"), ("windbg_0x41.txt", "markdown"),
    ("windbg_transcript_all.txt", "table"), ("windbg_transcript_all.txt", "json"),
    ("windbg_0x19.txt", "table"),
])
def test_cli_output_matches_golden(name: str, fmt: str) -> None:
    result = CliRunner().invoke(cli, ["triage", str(sample(name)), "--format", fmt], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    text = result.output.replace(str(sample(name)), f"samples/{name}")
    ext = {"table": "txt", "json": "json", "markdown": "md"}[fmt]
    check_golden(f"triage_{name.replace('.txt', '')}.{ext}", text)


def test_unload_leak_points_at_the_driver_and_verifier() -> None:
    report = triage(str(sample("windbg_transcript_all.txt")))
    assert report.category == "leak-at-unload"
    assert report.suspects == ["abcfilt.sys"]
    # The log already holds `!verifier 3` with the leaked allocations and `lm` with the unloaded
    # modules: neither is suggested again.
    assert not any(c.startswith(("!verifier 3", "lm")) for c in report.next_commands)
    assert report.next_commands[0].startswith("dt nt!_UNICODE_STRING")
    assert "unloaded module: oldfilt.sys" in report.findings


CORRUPTION = """\
0: kd> !analyze -v
BAD_POOL_HEADER (19)
The pool is already corrupt at the time of the current request.
Arguments:
Arg1: 0000000000000020, a pool block header size is corrupt.
Arg2: ffffa2052f0e8000, The pool entry we were looking for within the page.
Arg3: ffffa2052f0e8110, The next pool entry.
Arg4: 0000000004110000, (reserved)

IMAGE_NAME:  qrstdrv.sys
MODULE_NAME: qrstdrv
"""


def test_corruption_says_trend_will_not_help_and_asks_for_special_pool() -> None:
    report = triage_transcript(read_text(CORRUPTION, "c.log"))
    assert report.category == "corruption"
    assert "trend analysis will not help" in report.summary
    assert report.suspects == ["qrstdrv.sys"]
    assert report.next_commands[0] == "!pool 0xffffa2052f0e8000"
    assert "!analyze -v" not in report.next_commands  # the log holds it already
    assert "verifier /flags 0x1 /driver qrstdrv.sys   (Special Pool, then reboot and reproduce)" in report.next_commands


def test_corruption_names_the_tag_of_the_damaged_block() -> None:
    report = triage(str(sample("windbg_0x19.txt")))
    assert report.category == "corruption"
    assert report.findings[2] == (
        "!pool: the block at 0xffffa2052f0e8000 (0x110 bytes) is tagged 'Qrst' (owner unknown); "
        "the header of the block after it is damaged (parameter 1 = 0x20)"
    )
    assert any("/v PoolTag /t REG_DWORD /d 0x74737251" in c for c in report.next_commands)


def test_bad_pool_caller_new_style_is_corruption() -> None:
    text = "0: kd> !analyze -v\nBUGCHECK_CODE:  c2\nBUGCHECK_P1: 7\nBUGCHECK_P2: 1200\nBUGCHECK_P3: 0\n" \
           "BUGCHECK_P4: ffffa2052f0e8010\nIMAGE_NAME:  abcfilt.sys\n"
    report = triage_transcript(read_text(text, "c2.log"))
    assert (report.category, report.bugcheck_name) == ("corruption", "BAD_POOL_CALLER")


def test_event_2020_without_a_crash_is_paged_exhaustion() -> None:
    text = (
        "Event ID: 2020  Source: Srv  The server was unable to allocate from the system paged pool "
        "because the pool was empty.\n"
        "lkd> !vm\n"
        "PagedPool Usage:        91900 (    367600 Kb)\n"
        "PagedPool Maximum:      92160 (    368640 Kb)\n"
    )
    report = triage_transcript(read_text(text, "ev.log"))
    assert (report.category, report.exhausted_pool) == ("exhaustion", "paged")
    assert report.summary.startswith("paged pool exhausted, 99.7% of its maximum")
    assert "no !poolused output in this log: top consumers unknown" in report.findings


def test_healthy_log_without_bug_check() -> None:
    report = triage(str(sample("windbg_poolused_modern.txt")))
    assert report.category == "no-bug-check"
    assert report.summary == "no bug check and no sign of pool exhaustion in this log"
    assert report.next_commands == ["!analyze -v", "!vm", "!poolused 2", "!poolused 4"]


def test_renderers_agree_on_content() -> None:
    report = triage(str(sample("windbg_0x41.txt")))
    assert "Abcd" in render_text(report) and "Abcd" in render_markdown(report)
    assert '"exhausted_pool": "nonpaged"' in render_json(report.to_dict())


def test_missing_file_is_one_line_exit_2() -> None:
    result = CliRunner().invoke(cli, ["triage", "does-not-exist.log"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1].startswith("Error: does-not-exist.log")


def test_docs_describe_every_triage_option() -> None:
    from debugger_helpers import ROOT

    from analyzer.cli.triage_cmd import triage_command

    doc = (ROOT / "docs" / "debugger.md").read_text()
    for param in triage_command.params:
        for opt in getattr(param, "opts", []):
            if opt.startswith("--"):
                assert f"`{opt}" in doc, f"{opt} is not documented in docs/debugger.md"


def test_archive_with_several_logs_asks_for_one(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import zipfile

    archive = tmp_path / "case.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(sample("windbg_0x41.txt"), "a.log")
        zf.write(sample("windbg_transcript_all.txt"), "b.log")
    result = CliRunner().invoke(cli, ["triage", str(archive)])
    assert result.exit_code == 2
    assert result.output.strip() == f"Error: {archive}: holds 2 files; name the one debugger log to read"


def test_gzipped_log_is_read(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import gzip

    path = tmp_path / "kd.log.gz"
    path.write_bytes(gzip.compress(sample("windbg_0x41.txt").read_bytes()))
    assert triage(str(path)).exhausted_pool == "nonpaged"


def test_live_session_with_two_tables_shows_growth() -> None:
    def table(abcd: int) -> str:
        return (
            "lkd> !poolused 2\n"
            " Tag     Allocs         Used     Allocs         Used\n"
            f" Abcd   {abcd // 320:7d} {abcd:12d}          0            0\tAbc request buffers , Binary: abcfilt.sys\n"
            " Efgh      2201     70432000          0            0\tSome subsystem , Binary: nt!xyz\n"
            f" TOTAL  {abcd // 320 + 2201:7d} {abcd + 70432000:12d}          0            0\n"
        )

    report = triage_transcript(read_text(table(3_200_000) + table(9_600_000), "live.log"))
    top = report.top("nonpaged")
    assert top is not None and top.tag == "Efgh"
    abcd = next(c for c in report.consumers if c.tag == "Abcd")
    assert abcd.evidence[0] == "+6,400,000 bytes since the !poolused at line 1"
    assert next(c for c in report.consumers if c.tag == "Efgh").evidence[0] == "+0 bytes since the !poolused at line 1"


def test_untrusted_vm_usage_falls_back_to_the_poolused_total() -> None:
    text = (
        "1: kd> !vm\n"
        "Physical Memory: 2097038 ( 8388152 Kb)\n"
        "NonPagedPool Usage: 29559056 ( 118236224 Kb)\n"
        "NonPagedPoolNx Usage: 32908 ( 131632 Kb)\n"
        "NonPagedPool Max: 1561080 ( 6244320 Kb)\n"
        "********** Excessive NonPaged Pool Usage *****\n"
        "1: kd> !poolused 2\n"
        " Tag     Allocs         Used     Allocs         Used\n"
        " Abcd  18874368   6039797760          0            0\tAbc request buffers , Binary: abcfilt.sys\n"
        " TOTAL 18874368   6039797760          0            0\n"
    )
    report = triage_transcript(read_text(text, "nx.log"))
    assert (report.category, report.exhausted_pool) == ("exhaustion", "nonpaged")
    state = report.pools[0]
    assert (state.usage_kb, state.max_kb, state.percent, state.source) == (
        5898240, 6244320, 94.5, "!poolused TOTAL, max from !vm"
    )
    assert "!vm figures not trusted: nonpaged_usage_kb (above its maximum)" in report.findings
