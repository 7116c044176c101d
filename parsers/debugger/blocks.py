"""Split a debugger log into commands: each prompt line starts one, its output runs to the next prompt.

Output pasted without its prompt line (a forum post, a mail) is cut by its own shape: the
first line that only ``!vm``, ``!verifier``, ``!poolused``, ``!pool``, ``!poolfind`` or ``lm``
prints starts a block with that command name, marked ``inferred``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from .common import PROMPT_RE


@dataclass
class CommandBlock:
    """One command and its output; ``line`` is the 1-based line of the prompt (0 for the preamble).

    For an ``inferred`` block (no prompt line was pasted) ``line`` is the first line of its output.
    """

    command: str | None
    prompt: str | None
    line: int
    output: list[str] = field(default_factory=list)
    inferred: bool = False

    @property
    def first_output_line(self) -> int:
        if self.inferred:
            return self.line
        return self.line + 1 if self.command is not None else 1

    @property
    def name(self) -> str:
        """The command word, lower case (``!poolused``, ``lm``, ``s``, ``!analyze``), or ``""``."""
        if not self.command:
            return ""
        return self.command.split(None, 1)[0].lower()

    @property
    def text(self) -> str:
        return "\n".join(self.output)


#: The first line only one command prints -> that command.
SHAPES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^\s*\*\*\*\s*Virtual Memory Usage\s*\*\*\*|^\s*Physical Memory:\s+\d+\s+\(", re.I), "!vm"),
    (re.compile(r"^\s*Verify (?:Flags )?Level\s+(?:0x)?[0-9a-f]+", re.I), "!verifier"),
    (re.compile(r"^\s*Sorting\s+by\s+(?:Tag|NonPaged|Paged)\b|^\s*Pool Used:\s*$", re.I), "!poolused"),
    (re.compile(r"^\s*Pool page\s+\S+\s+region is\b", re.I), "!pool"),
    (re.compile(r"^\s*Scanning large pool allocation table|^\s*Searching\s+(?:NonPaged|Paged|Session)\w*\s+pool",
                re.I), "!poolfind"),
    (re.compile(r"^\s*start\s+end\s+module name\s*$", re.I), "lm"),
)
_POOLUSED_HEADER = re.compile(r"^\s*Tag\s+Allocs\s+(?:Frees\s+Diff\s+)?Used\b")
_POOLS_LINE = re.compile(r"^\s*NonPaged\s+Paged\s*$", re.I)


def shape_of(line: str) -> str | None:
    """The command whose output starts with ``line``, or None."""
    for pattern, command in SHAPES:
        if pattern.match(line):
            return command
    if _POOLUSED_HEADER.match(line) or _POOLS_LINE.match(line):
        return "!poolused"
    return None


def _split_by_shape(block: CommandBlock) -> list[CommandBlock]:
    """Cut a block of prompt-less text where a known command's output begins."""
    out = [CommandBlock(None, None, block.line)]
    first = block.first_output_line
    for offset, line in enumerate(block.output):
        command = shape_of(line)
        current = out[-1]
        # A !poolused table's own lines (sort line, pools line, header) continue the block they started.
        continues_table = (command == "!poolused" and current.command == "!poolused"
                           and not any(_POOLUSED_HEADER.match(x) for x in current.output))
        if command is not None and not continues_table:
            out.append(CommandBlock(command, None, first + offset, inferred=True))
        out[-1].output.append(line)
    if not out[0].output or not any(x.strip() for x in out[0].output):
        out.pop(0)
    return out


def split_commands(lines: Sequence[str]) -> list[CommandBlock]:
    """Cut ``lines`` at every prompt; text before the first prompt is a preamble block (command None)."""
    blocks = [CommandBlock(None, None, 0)]
    for i, line in enumerate(lines, start=1):
        m = PROMPT_RE.match(line)
        if m:
            blocks.append(CommandBlock(m.group("command").strip(), m.group("prompt"), i))
        else:
            blocks[-1].output.append(line)
    if not blocks[0].output or not any(x.strip() for x in blocks[0].output):
        blocks.pop(0)
    if blocks and blocks[0].command is None:
        blocks[0:1] = _split_by_shape(blocks[0])
    return blocks
