"""The scenario generator of the benchmark writes real PoolMon text, and trend reads it correctly."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from analyzer.analysis.trend import analyze
from bench.scenarios import LEAK_KINDS, ScenarioConfig, generate, write_scenario
from parsers import parse


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    # No reboot: verdicts are per boot segment, and a reboot at 60 % of this 2.5-hour log leaves less than an
    # hour, in which one step of a staircase leak cannot be told from a lookaside list filling up.
    cfg = ScenarioConfig(seed=11, snapshots=150, background=40, per_kind=2, reboot=False)
    folder = tmp_path_factory.mktemp("scenario")
    log, labels = write_scenario(cfg, folder, "s11")
    return cfg, log, json.loads(labels.read_text())


def test_log_parses_back_to_the_generated_numbers(scenario):
    cfg, log, labels = scenario
    _, _, mats = generate(cfg)
    result = parse([log])
    assert not result.warnings
    assert len(result.snapshots) == cfg.snapshots
    names = [(t["tag"], t["pool"]) for t in labels["tags"]]
    for t in (0, cfg.snapshots // 2, cfg.snapshots - 1):
        snap = result.snapshots[t]
        for c, (tag, pool) in enumerate(names):
            row = snap.rows.get(tag, pool)
            if not mats["present"][t, c]:
                assert row is None
                continue
            assert row.bytes == mats["bytes"][t, c]
            assert row.outstanding == (row.allocs - row.frees) % 2**32
    assert result.snapshots[1].timestamp - result.snapshots[0].timestamp == timedelta(seconds=cfg.interval_s)
    assert "avail_kb" in result.snapshots[0].totals


def test_labels_stay_out_of_the_log(scenario):
    _, log, labels = scenario
    text = log.read_text(encoding="ascii")
    for word in ("leak", "cache", "warmup", "burst", "label"):
        assert word not in text.lower()
    assert {t["kind"] for t in labels["tags"]} >= {"leak", "cache", "warmup", "burst", "wrap", "background"}


def test_trend_finds_the_leaks_and_spares_caches_warmups_and_bursts(scenario):
    _, log, labels = scenario
    verdicts = {(r.tag, r.pool): r.verdict for r in analyze(parse([log]).snapshots).rows}
    for t in labels["tags"]:
        v = verdicts[(t["tag"], t["pool"])]
        # A staircase of two or three steps in this 2.5-hour log carries the evidence of two or three jumps,
        # which a lookaside list ratcheting up also makes: it is no longer called a leak with certainty.
        if t["kind"] in ("leak", "wrap-leak"):
            assert v == "leak", t
        if t["kind"] in ("cache", "warmup", "burst", "wrap"):
            assert v != "leak", t
    assert set(LEAK_KINDS) <= {t["kind"] for t in labels["tags"]}
