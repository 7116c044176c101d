"""Parse a PoolMon log and print each leaking tag with its owner: the library in ten lines."""

import sys

import poolscope

result = poolscope.parse(sys.argv[1:] or ["samples/leak_appended.log"])
resolver = poolscope.owners(snapshots=result.snapshots)
for row in poolscope.trend(result.snapshots, resolver=resolver).rows:
    if row.verdict in (poolscope.Verdict.LEAK, poolscope.Verdict.SUSPECT):
        print(f"{row.tag.rstrip():4} {row.pool:8} {row.verdict:7} {row.owner or '-'}: {row.reason}")
