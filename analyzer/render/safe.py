"""The one boundary where text from inputs becomes output.

Tags, owner descriptions, Mapped_Driver text, file and archive member names and
warning snippets all come from files a user was handed: they are untrusted.  Every
renderer passes such text through one of these functions before writing it:

- :func:`terminal_text` — control characters (C0, DEL, C1, and the bidirectional
  overrides that reorder what a reader sees) become visible escapes such as ``\\u001b``
  and ``\\u202e`` (JSON's spelling, so JSON output stays valid), so OSC window titles,
  OSC 8 hyperlinks and CSI sequences from an input never reach a terminal as live sequences.
- :func:`csv_cell` — a spreadsheet formula guard: a text cell starting with ``=``,
  ``+``, ``-``, ``@``, a tab or a carriage return gets a leading ``'``, which
  Excel, LibreOffice and Google Sheets show as plain text (docs/cli.md).
- :func:`markdown_text` — inline Markdown that renders exactly as the text: no links,
  autolinks, images, HTML, entities or emphasis from the input.

:class:`EscapingStream` applies :func:`terminal_text` to everything the command line
writes to stdout and stderr, so text a renderer forgot to escape is still shown
inert; on a terminal it lets the colour and cursor sequences of our own renderers
(CSI) through, and those renderers escape input text cell by cell.
"""

from __future__ import annotations

import io
import re
from typing import Any

#: C0 controls, DEL, C1 controls, and the Unicode bidi embeddings, overrides and isolates.
_CONTROL = r"\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069"
_UNSAFE = re.compile(f"[{_CONTROL}]")
#: The same, but keeping line ends and tabs (for whole documents rather than cells).
_UNSAFE_IN_TEXT = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
#: What our own renderers write on a terminal: CSI sequences (colour, cursor moves, erase) and CR.
_OWN_SEQUENCE = re.compile(r"\x1b\[[0-9;:?<=>]*[ -/]*[@-~]|\r")


def _visible(match: re.Match[str]) -> str:
    # \uXXXX for every one: readable, and inside a JSON string it is the same character.
    return f"\\u{ord(match.group()):04x}"


def terminal_text(text: object) -> str:
    """One cell of terminal output: every control character shown as a visible escape."""
    s = text if isinstance(text, str) else str(text)
    return _UNSAFE.sub(_visible, s) if _UNSAFE.search(s) else s


def terminal_document(text: str) -> str:
    """Several lines of terminal output: like :func:`terminal_text` but keeping newlines and tabs."""
    return _UNSAFE_IN_TEXT.sub(_visible, text) if _UNSAFE_IN_TEXT.search(text) else text


#: First characters a spreadsheet reads as the start of a formula (or strips before one).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """A CSV cell a spreadsheet cannot run: text starting with = + - @ tab or CR gets a leading '.

    Numbers (int, float) are written as they are, so negative changes stay numbers.
    """
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def csv_text(value: str) -> str:
    """A text cell neutralised by :func:`csv_cell` and quoted as csv's QUOTE_MINIMAL would."""
    if value.startswith(FORMULA_START):
        value = "'" + value
    if any(ch in value for ch in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


# The ASCII punctuation that can open markup inside a line: emphasis, code, links, images,
# raw HTML, entities, table cells, strikethrough, and GitHub's #123 and @user references.
# Cells and list items never start a line, so "-", "+" and "1." need no escape.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~&@])")
# GFM's extended autolinks: "scheme://..." and "www." are split by an escaped ":" or ".";
# a bare address (name@host.domain) becomes a mailto: link whatever is escaped around it,
# so its "@" goes in a code span of its own, which keeps the text as written and links nothing.
_MD_AUTOLINK = re.compile(r"(?i)(:)(?=/)|(?<=www)(\.)|(?<=[a-z0-9.+_-])(\\@)(?=(?:\\?[a-z0-9_-])+\\?\.)")


def _md_unlink(match: re.Match[str]) -> str:
    return "`@`" if match.group(3) else "\\" + match.group()


def markdown_text(text: object) -> str:
    """Inline Markdown that renders exactly as ``text``: one line, no markup, links, images or HTML."""
    s = str(text).replace("\r\n", " ").replace("\r", " ").replace("\n", " ").replace("\t", " ")
    s = _MD_SPECIAL.sub(r"\\\1", terminal_text(s))
    return _MD_AUTOLINK.sub(_md_unlink, s)


def markdown_code(text: object) -> str:
    """A code span showing ``text`` literally: its fence grows past any backtick run inside."""
    s = terminal_text(str(text).replace("\r\n", " ").replace("\r", " ").replace("\n", " "))
    longest = max((len(m) for m in re.findall(r"`+", s)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if s.startswith("`") or s.endswith("`") or not s.strip() else ""
    return f"{fence}{pad}{s}{pad}{fence}"


class EscapingStream(io.TextIOBase):
    """A text stream that writes :func:`terminal_document` of what it is given.

    ``allow_own`` keeps CSI sequences and CR (what our colour and progress output
    uses) and is meant only for a terminal, where renderers escape input text themselves.
    """

    def __init__(self, inner: Any, allow_own: bool = False) -> None:
        super().__init__()
        self._inner = inner
        self._allow_own = allow_own

    def write(self, s: str) -> int:  # type: ignore[override]
        if not isinstance(s, str):
            raise TypeError(f"write() argument must be str, not {type(s).__name__}")
        if self._allow_own and ("\x1b" in s or "\r" in s):
            pieces, pos = [], 0
            for m in _OWN_SEQUENCE.finditer(s):
                pieces.append(terminal_document(s[pos : m.start()]))
                pieces.append(m.group())
                pos = m.end()
            pieces.append(terminal_document(s[pos:]))
            self._inner.write("".join(pieces))
        else:
            self._inner.write(terminal_document(s))
        return len(s)

    def flush(self) -> None:
        self._inner.flush()

    def isatty(self) -> bool:
        return bool(getattr(self._inner, "isatty", lambda: False)())

    def fileno(self) -> int:
        return int(self._inner.fileno())

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._inner, "encoding", None) or "utf-8"

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return getattr(self._inner, "errors", None)

    def close(self) -> None:
        # Closing our wrapper must not close the process's real stream.
        self.flush()

    @property
    def inner(self) -> Any:
        return self._inner


_console_class: Any = None


def escaping_console(**kwargs: Any) -> Any:
    """A rich Console whose text segments pass :func:`terminal_document` as they are written.

    Renderers still escape cells themselves (so columns stay aligned); this catches any
    input text that reaches a rich renderable some other way.
    """
    global _console_class
    if _console_class is None:
        from rich.console import Console
        from rich.segment import Segment

        class EscapingConsole(Console):
            def _render_buffer(self, buffer: Any) -> str:
                return super()._render_buffer(
                    seg if seg.control else Segment(terminal_document(seg.text), seg.style, seg.control)
                    for seg in buffer
                )

        _console_class = EscapingConsole
    return _console_class(**kwargs)
