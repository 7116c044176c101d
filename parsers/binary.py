"""Binary inputs (event traces) beside the text ones.

Most inputs are text and go through :func:`parsers.textio.decode_bytes`; a few families are
binary files that must not be decoded.  Each registers a signature test here, so the reader
hands their bytes over untouched (as a :class:`BinarySource`) instead of calling them
"binary data, not text".
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from .textio import TextSource

#: Binary format name -> "module:function" that takes the first bytes of a file and says
#: whether they carry that format's signature.  Modules are imported on first use.
_SIGNATURES: dict[str, str] = {
    "etl": "parsers.etw.etl:looks_like_etl",
}

#: How many leading bytes a signature test sees.
SIGNATURE_BYTES = 4096


class BinarySource(TextSource):
    """A binary input: its bytes (or a read-only memory map of the file) and the format they carry."""

    def __init__(
        self, name: str, data: Any, binary_format: str, mtime: datetime | None = None, path: Path | None = None
    ) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "text", "")
        object.__setattr__(self, "encoding", "binary")
        object.__setattr__(self, "mtime", mtime)
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "data", data)
        object.__setattr__(self, "binary_format", binary_format)

    def __repr__(self) -> str:
        return f"BinarySource(name={self.name!r}, format={self.binary_format!r}, bytes={len(self.data)})"


def signature_format(head: bytes) -> str | None:
    """The binary format whose signature ``head`` carries, or None for text (and unknown binaries)."""
    for name, target in _SIGNATURES.items():
        module, _, attr = target.partition(":")
        test: Callable[[bytes], bool] = getattr(importlib.import_module(module), attr)
        if test(head[:SIGNATURE_BYTES]):
            return name
    return None
