"""The owner and scan APIs are what docs/owners.md and the other commands rely on."""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path

import click

from analyzer.cli.tags_cmd import tags_group
from analyzer.owners import OwnerCandidate, OwnerResolver, build_resolver
from analyzer.owners.scan import EVIDENCE_LEVELS, ROUTINES, ScanFinding, scan_paths

DOC = (Path(__file__).resolve().parent.parent / "docs" / "owners.md").read_text(encoding="utf-8")


def test_build_resolver_signature() -> None:
    sig = inspect.signature(build_resolver)
    params = sig.parameters
    assert list(params)[:3] == ["tag_files", "snapshots", "use_defaults"]
    assert params["tag_files"].default == ()
    assert params["snapshots"].default == ()
    assert params["use_defaults"].kind is inspect.Parameter.KEYWORD_ONLY
    assert params["use_defaults"].default is True


def test_resolver_methods() -> None:
    for name in ("best", "candidates", "annotate", "empty"):
        assert callable(getattr(OwnerResolver, name))
    assert isinstance(OwnerResolver.empty(), OwnerResolver)


def test_candidate_fields_and_dict() -> None:
    names = [f.name for f in dataclasses.fields(OwnerCandidate)]
    assert names[:5] == ["pattern", "binary", "description", "source", "line"]
    c = OwnerCandidate("Abcd", "a.sys", "d", "--tags: f", 3)
    assert c.to_dict() == {"pattern": "Abcd", "binary": "a.sys", "description": "d", "source": "--tags: f",
                           "line": 3}


def test_scan_api() -> None:
    params = inspect.signature(scan_paths).parameters
    assert list(params)[:2] == ["paths", "tags"]
    assert EVIDENCE_LEVELS == ("call-site", "immediate", "data", "string")
    assert set(ScanFinding("f", "Abcd", "string").to_dict()) == {
        "file", "tag", "evidence", "routines", "sites", "address", "arch", "data_address"}


def test_docs_name_every_routine_option_and_evidence_level() -> None:
    for name in ROUTINES:
        assert name in DOC, f"{name} missing from docs/owners.md"
    for level in EVIDENCE_LEVELS:
        assert f"`{level}`" in DOC
    ctx = click.Context(tags_group)
    for sub in tags_group.list_commands(ctx):
        assert f"poolscope tags {sub}" in DOC
        for param in tags_group.get_command(ctx, sub).params:
            if isinstance(param, click.Option):
                assert max(param.opts, key=len) in DOC, f"{param.opts} of tags {sub} missing from docs"
