"""No input gives exit 0 with zero rows and no warning: a reader that found nothing must say so.

Checked over every sample and over small inputs that hold the headings of a family and little
else, through the CLI (exit status) and the JSON contract (rows, warnings).
"""

from __future__ import annotations

import json

import pytest
from cli_helpers import fixed_sample_tree, invoke, sample_inputs

HEADINGS_ONLY = {
    "poolmon_header.txt": (
        " Memory: 8388020K Avail: 3125332K  PageFlts:   412   InRam Krnl: 5124K P:61312K\n"
        " Commit:4411208K Limit:9830400K Peak:5120332K            Pool N:310228K P:402116K\n"
        " System pool information\n"
        " Tag  Type     Allocs            Frees            Diff   Bytes       Per Alloc\n"
    ),
    "poolused_header.txt": "0: kd> !poolused 2\n Sorting by NonPaged Pool Consumed\n\n"
                           "               NonPaged                  Paged\n"
                           " Tag     Allocs         Used     Allocs         Used\n\n",
    "slabinfo_header.txt": "slabinfo - version: 2.1\n# name <active_objs> <num_objs> <objsize> <objperslab> "
                           "<pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata "
                           "<active_slabs> <num_slabs> <sharedavail>\n",
    "slabtop_header.txt": "  OBJS ACTIVE  USE OBJ SIZE  SLABS OBJ/SLAB CACHE SIZE NAME\n",
    "transcript_no_pool.txt": "0: kd> !vm\nNonPagedPool Usage:    123456 (   493824 Kb)\n0: kd> lm\n"
                              "start             end                 module name\n",
    "pscsv_header.txt": '"DateTime","DateTimeUTC","Tag","PagedAllocs","PagedFrees","PagedDiff","PagedUsedBytes",'
                        '"NonPagedAllocs","NonPagedFrees","NonPagedDiff","NonPagedUsedBytes","TotalUsedBytes"\n',
    "poolmonx_header.csv": "Tag,Value,Paged Allocs,Paged Frees,Paged Diff,Paged Usage,Non Paged Allocs,"
                           "Non Paged Frees,Non Paged Diff,Non Paged Usage,Source,Description\n",
    "pooltracker_header.txt": "Tag    NpAllocs NpFrees  NpBytes  PgAllocs PgFrees  PgBytes\n",
    "bigpools_header.txt": "Offset\tTag\tPoolType\tNumberOfBytes\tStatus\n",
    "perf_header.csv": '"(PDH-CSV 4.0)","\\\\S\\Memory\\Pool Nonpaged Bytes"\n',
}


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory):
    root = fixed_sample_tree(tmp_path_factory.mktemp("empty"))
    odd = root / "odd"
    odd.mkdir()
    for name, text in HEADINGS_ONLY.items():
        (odd / name).write_text(text, encoding="utf-8")
    return root


def _check(tree, name: str) -> None:
    run = invoke(tree, "parse", "--format", "json", name)
    if run.code != 0:
        assert run.code == 2 and run.err.strip(), name  # an input error: one line, exit 2
        return
    data = json.loads(run.out)
    rows = sum(len(s["rows"]) for s in data["snapshots"])
    assert rows > 0 or data["warnings"], f"{name}: exit 0, no rows and no warning"


@pytest.mark.parametrize("sample", sample_inputs())
def test_no_sample_is_silently_empty(tree, sample):
    _check(tree, sample)


@pytest.mark.parametrize("name", sorted(HEADINGS_ONLY))
def test_headings_alone_are_never_a_silent_success(tree, name):
    _check(tree, f"odd/{name}")
