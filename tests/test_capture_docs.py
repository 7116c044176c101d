"""docs/capture.md keeps up with the capture and top commands."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from analyzer.cli import LazyGroup

DOC = (Path(__file__).resolve().parent.parent / "docs" / "capture.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ["capture", "top"])
def test_every_option_is_documented(name: str) -> None:
    cmd = LazyGroup._load(name)
    assert cmd is not None
    assert f"poolscope {name}" in DOC
    for param in cmd.params:
        if isinstance(param, click.Option):
            assert max(param.opts, key=len) in DOC, f"{name} {param.opts} missing from docs/capture.md"


def test_docs_say_what_ran_on_windows() -> None:
    assert "Nothing in this area has been run on a real Windows kernel." in DOC


def test_public_api_is_what_the_docs_promise() -> None:
    import inspect

    from analyzer.live import capture

    for name in ("snapshot", "backend_name", "available_sources", "CaptureWriter", "run_capture",
                 "capture_around"):
        assert name in capture.__all__
        assert f"capture.{name}" in DOC or name in DOC
    assert list(inspect.signature(capture.snapshot).parameters) == ["source", "session"]
    assert inspect.signature(capture.snapshot).parameters["source"].default == "auto"
    assert capture.SOURCES == ("auto", "windows", "poolmon", "slabinfo")
